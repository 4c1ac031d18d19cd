#include "tlens/loading/hf_gpt2_writer.h"

#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "tlens/error.h"
#include "tlens/loading/torch_io.h"

namespace fs = std::filesystem;

namespace tlens::loading {

namespace {

const torch::Tensor& get(const std::map<std::string, torch::Tensor>& state_dict,
                         const std::string& key) {
  auto it = state_dict.find(key);
  if (it == state_dict.end())
    throw Error("state dict", "has no '" + key + "'",
                "pass model->state_dict() of an unprocessed HookedTransformer");
  return it->second;
}

void check_shape(const torch::Tensor& tensor, const std::string& key, torch::IntArrayRef expected) {
  if (tensor.sizes() != expected)
    throw Error("state dict '" + key + "'",
                "is " + c10::str(tensor.sizes()) + ", the config says " + c10::str(expected),
                "the state dict and the config must describe the same model");
}

}  // namespace

nlohmann::json hf_gpt2_config_json(const HookedTransformerConfig& cfg) {
  const std::string what = "config of " + cfg.model_name;
  if (cfg.attn_only)
    throw Error(what, "is attention-only; a GPT-2 checkpoint has MLPs",
                "train with a d_mlp (small MLPs are fine)");
  if (cfg.normalization_type != "LN")
    throw Error(what, "has normalization_type '" + cfg.normalization_type + "', GPT-2 uses LN",
                "write the model before processing its weights (from_pretrained_no_processing)");
  if (cfg.d_head * cfg.n_heads != cfg.d_model)
    throw Error(what, "d_head * n_heads != d_model, which GPT-2's config cannot express",
                "use d_head = d_model / n_heads");
  if (cfg.d_vocab_out != cfg.d_vocab)
    throw Error(what, "d_vocab_out differs from d_vocab; GPT-2 ties the unembedding", "");
  if (cfg.positional_embedding_type != "standard" || cfg.parallel_attn_mlp || cfg.gated_mlp)
    throw Error(what, "is not a GPT-2 architecture", "");
  return {
      {"architectures", {"GPT2LMHeadModel"}},
      {"model_type", "gpt2"},
      {"vocab_size", cfg.d_vocab},
      {"n_positions", cfg.n_ctx},
      {"n_ctx", cfg.n_ctx},
      {"n_embd", cfg.d_model},
      {"n_layer", cfg.n_layers},
      {"n_head", cfg.n_heads},
      {"n_inner", cfg.d_mlp},
      {"activation_function", cfg.act_fn},
      {"layer_norm_epsilon", cfg.eps},
      {"initializer_range", cfg.initializer_range},
      {"scale_attn_by_inverse_layer_idx", cfg.scale_attn_by_inverse_layer_idx},
      {"resid_pdrop", 0.0},
      {"embd_pdrop", 0.0},
      {"attn_pdrop", 0.0},
      {"bos_token_id", cfg.d_vocab - 1},
      {"eos_token_id", cfg.d_vocab - 1},
      {"tie_word_embeddings", true},
      {"torch_dtype", "float32"},
  };
}

std::map<std::string, torch::Tensor> hf_gpt2_state_dict(
    const std::map<std::string, torch::Tensor>& state_dict, const HookedTransformerConfig& cfg) {
  const int64_t d = cfg.d_model, H = cfg.n_heads, dh = cfg.d_head;
  std::map<std::string, torch::Tensor> hf;
  auto take = [&](const std::string& key, torch::IntArrayRef shape) {
    const auto& tensor = get(state_dict, key);
    check_shape(tensor, key, shape);
    return tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  };

  auto W_E = take("embed.W_E", {cfg.d_vocab, d});  // [d_vocab, d_model]
  // lm_head is wte in GPT-2: an untied unembedding cannot be written.
  auto W_U = take("unembed.W_U", {d, cfg.d_vocab});
  auto b_U = take("unembed.b_U", {cfg.d_vocab});
  if (!torch::equal(W_U, W_E.t()) || b_U.abs().max().item<float>() != 0.0f)
    throw Error("state dict 'unembed.W_U'",
                "is not embed.W_E transposed (or b_U is not zero); GPT-2 ties them",
                "train with the tied unembedding (tlens::Trainer does), or copy W_E^T into W_U");
  hf["wte.weight"] = W_E;
  hf["wpe.weight"] = take("pos_embed.W_pos", {cfg.n_ctx, d});  // [n_ctx, d_model]
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    const std::string h = "h." + std::to_string(l) + ".";
    hf[h + "ln_1.weight"] = take(b + "ln1.w", {d});
    hf[h + "ln_1.bias"] = take(b + "ln1.b", {d});
    // head_index d_model d_head -> d_model (head_index d_head), for Q, K, V side by side.
    auto columns = [&](const std::string& name) {
      return take(b + "attn." + name, {H, d, dh}).permute({1, 0, 2}).reshape({d, H * dh});
    };
    hf[h + "attn.c_attn.weight"] =
        torch::cat({columns("W_Q"), columns("W_K"), columns("W_V")}, 1).contiguous();  // [d_model, 3 d_model]
    hf[h + "attn.c_attn.bias"] = torch::cat({take(b + "attn.b_Q", {H, dh}).reshape({H * dh}),
                                             take(b + "attn.b_K", {H, dh}).reshape({H * dh}),
                                             take(b + "attn.b_V", {H, dh}).reshape({H * dh})});  // [3 d_model]
    // head_index d_head d_model -> (head_index d_head) d_model
    hf[h + "attn.c_proj.weight"] = take(b + "attn.W_O", {H, dh, d}).reshape({H * dh, d});
    hf[h + "attn.c_proj.bias"] = take(b + "attn.b_O", {d});
    hf[h + "ln_2.weight"] = take(b + "ln2.w", {d});
    hf[h + "ln_2.bias"] = take(b + "ln2.b", {d});
    hf[h + "mlp.c_fc.weight"] = take(b + "mlp.W_in", {d, cfg.d_mlp});    // [d_model, d_mlp]
    hf[h + "mlp.c_fc.bias"] = take(b + "mlp.b_in", {cfg.d_mlp});
    hf[h + "mlp.c_proj.weight"] = take(b + "mlp.W_out", {cfg.d_mlp, d});  // [d_mlp, d_model]
    hf[h + "mlp.c_proj.bias"] = take(b + "mlp.b_out", {d});
  }
  hf["ln_f.weight"] = take("ln_final.w", {d});
  hf["ln_f.bias"] = take("ln_final.b", {d});
  return hf;
}

void write_hf_gpt2_checkpoint(const std::string& dir,
                              const std::map<std::string, torch::Tensor>& state_dict,
                              const HookedTransformerConfig& cfg) {
  auto config = hf_gpt2_config_json(cfg);
  auto hf = hf_gpt2_state_dict(state_dict, cfg);
  fs::create_directories(dir);
  const std::string config_path = (fs::path(dir) / "config.json").string();
  std::ofstream out(config_path);
  out << config.dump(2) << "\n";
  if (!out.flush())
    throw Error(config_path, "could not be written", "check the disk space and permissions");
  std::vector<std::pair<std::string, torch::Tensor>> ordered(hf.begin(), hf.end());
  save_tensors((fs::path(dir) / "model.safetensors").string(), ordered, {{"format", "pt"}});
}

void write_truncated_gpt2_vocab(const std::string& gpt2_vocab_dir, int64_t n_merges,
                                const std::string& out_dir) {
  const fs::path source(gpt2_vocab_dir);
  const fs::path vocab_path =
      fs::exists(source / "encoder.json") ? source / "encoder.json" : source / "vocab.json";
  const fs::path merges_path =
      fs::exists(source / "vocab.bpe") ? source / "vocab.bpe" : source / "merges.txt";
  std::ifstream vocab_in(vocab_path), merges_in(merges_path);
  if (!vocab_in || !merges_in)
    throw Error(gpt2_vocab_dir, "has no encoder.json + vocab.bpe (or vocab.json + merges.txt)",
                "run scripts/setup.sh, which installs GPT-2's vocabulary into third_party/assets");
  nlohmann::json vocab;
  vocab_in >> vocab;
  std::vector<std::string> merges;
  for (std::string line; std::getline(merges_in, line);) {
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    merges.push_back(line);
  }
  if (n_merges < 0 || n_merges > static_cast<int64_t>(merges.size()))
    throw Error("--vocab-merges " + std::to_string(n_merges),
                "must be in [0, " + std::to_string(merges.size()) + "]",
                "GPT-2 has 50000 merges; 2000-4000 make a small vocabulary");

  // id -> token for ids 0 .. 255 + n_merges, checking GPT-2's "merge i makes id 256 + i".
  std::vector<std::string> tokens(256 + n_merges);
  for (const auto& [token, id_json] : vocab.items()) {
    int64_t id = id_json.get<int64_t>();
    if (id < 256 + n_merges) tokens[id] = token;
  }
  for (int64_t i = 0; i < n_merges; ++i) {
    const auto& merge = merges[i];
    size_t space = merge.find(' ');
    if (space == std::string::npos || tokens[256 + i] != merge.substr(0, space) + merge.substr(space + 1))
      throw Error(merges_path.string(), "merge " + std::to_string(i) + " ('" + merge +
                                            "') does not make id " + std::to_string(256 + i),
                  "this is not GPT-2's vocabulary; truncation needs GPT-2's id order");
  }

  nlohmann::ordered_json out_vocab;
  for (int64_t id = 0; id < 256 + n_merges; ++id) out_vocab[tokens[id]] = id;
  out_vocab["<|endoftext|>"] = 256 + n_merges;
  fs::create_directories(out_dir);
  std::ofstream vocab_out(fs::path(out_dir) / "vocab.json");
  vocab_out << out_vocab.dump() << "\n";
  std::ofstream merges_out(fs::path(out_dir) / "merges.txt");
  merges_out << "#version: 0.2\n";
  for (int64_t i = 0; i < n_merges; ++i) merges_out << merges[i] << "\n";
  if (!vocab_out.flush() || !merges_out.flush())
    throw Error(out_dir, "vocab.json / merges.txt could not be written",
                "check the disk space and permissions");
}

}  // namespace tlens::loading
