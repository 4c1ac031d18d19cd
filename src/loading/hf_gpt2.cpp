#include "tlens/loading/hf_gpt2.h"

#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "tlens/error.h"
#include "tlens/linear.h"
#include "tlens/loading/hf_gpt2_config.h"
#include "tlens/loading/safetensors.h"
#include "tlens/loading/torch_io.h"
#include "tlens/tokenizer/bpe.h"

namespace fs = std::filesystem;

namespace tlens::loading {

namespace {
std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}
}  // namespace

std::map<std::string, torch::Tensor> load_hf_gpt2_weights(const std::string& dir,
                                                          const HookedTransformerConfig& cfg) {
  const std::string path = (fs::path(dir) / "model.safetensors").string();
  if (!fs::exists(path)) {
    bool has_bin = fs::exists(fs::path(dir) / "pytorch_model.bin");
    throw Error(path, "does not exist",
                has_bin ? "tlens reads safetensors only; convert pytorch_model.bin with "
                          "transformers' save_pretrained(dir, safe_serialization=True)"
                        : "a Hugging Face checkpoint folder holds config.json and model.safetensors");
  }
  auto file = safetensors::File::open(path);
  const std::string config_path = (fs::path(dir) / "config.json").string();
  const nlohmann::json config = read_config_json(dir);
  // GPT2LMHeadModel ties lm_head to wte unless config.json says tie_word_embeddings: false; then
  // the checkpoint carries its own lm_head.weight and TransformerLens unembeds with it.
  bool tied = true;
  if (config.contains("tie_word_embeddings")) {
    if (!config["tie_word_embeddings"].is_boolean())
      throw Error(config_path, "\"tie_word_embeddings\" must be true or false, found " +
                                   config["tie_word_embeddings"].dump(),
                  "fix config.json (true: lm_head is wte; false: the file has its own lm_head.weight)");
    tied = config["tie_word_embeddings"].get<bool>();
  }

  const int64_t d = cfg.d_model, H = cfg.n_heads, dh = cfg.d_head, L = cfg.n_layers;
  const std::string prefix = file.contains("transformer.wte.weight") ? "transformer." : "";
  // HF key (without prefix) -> expected shape.
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"wte.weight", {cfg.d_vocab, d}}, {"ln_f.weight", {d}}, {"ln_f.bias", {d}}};
  // lm_head sits outside the "transformer." prefix.
  const std::string lm_head = "lm_head.weight";
  for (int64_t l = 0; l < L; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    expected.push_back({h + "ln_1.weight", {d}});
    expected.push_back({h + "ln_1.bias", {d}});
    expected.push_back({h + "attn.c_attn.weight", {d, 3 * d}});
    expected.push_back({h + "attn.c_attn.bias", {3 * d}});
    expected.push_back({h + "attn.c_proj.weight", {d, d}});
    expected.push_back({h + "attn.c_proj.bias", {d}});
    expected.push_back({h + "ln_2.weight", {d}});
    expected.push_back({h + "ln_2.bias", {d}});
    expected.push_back({h + "mlp.c_fc.weight", {d, cfg.d_mlp}});
    expected.push_back({h + "mlp.c_fc.bias", {cfg.d_mlp}});
    expected.push_back({h + "mlp.c_proj.weight", {cfg.d_mlp, d}});
    expected.push_back({h + "mlp.c_proj.bias", {d}});
  }

  // Check everything before copying anything.
  std::vector<std::string> missing, wrong_shape, unexpected;
  std::set<std::string> known;
  if (!tied) {
    known.insert(lm_head);
    if (!file.contains(lm_head))
      missing.push_back(lm_head + " (config.json has tie_word_embeddings: false)");
    else if (file.info(lm_head).shape != std::vector<int64_t>{cfg.d_vocab, d})
      wrong_shape.push_back(lm_head + " is " + shape_string(file.info(lm_head).shape) +
                            ", config says " + shape_string({cfg.d_vocab, d}));
  }
  for (const auto& [key, shape] : expected) {
    known.insert(prefix + key);
    if (!file.contains(prefix + key)) {
      missing.push_back(prefix + key);
    } else if (file.info(prefix + key).shape != shape) {
      wrong_shape.push_back(prefix + key + " is " + shape_string(file.info(prefix + key).shape) +
                            ", config says " + shape_string(shape));
    }
  }
  // wpe may be longer than n_ctx (it is trimmed), never shorter.
  const std::string wpe = prefix + "wpe.weight";
  known.insert(wpe);
  if (!file.contains(wpe)) {
    missing.push_back(wpe);
  } else {
    const auto& shape = file.info(wpe).shape;
    if (shape.size() != 2 || shape[1] != d || shape[0] < cfg.n_ctx)
      wrong_shape.push_back(wpe + " is " + shape_string(shape) + ", config needs [>=" +
                            std::to_string(cfg.n_ctx) + ", " + std::to_string(d) + "]");
  }
  for (const auto& info : file.tensors()) {
    const std::string& name = info.name;
    auto ends_with = [&](const std::string& suffix) {
      return name.size() >= suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (known.count(name) || ends_with(".attn.bias") || ends_with(".attn.masked_bias")) continue;
    if (name == lm_head) {  // tied: HF replaces it by wte on load
      if (info.shape != std::vector<int64_t>{cfg.d_vocab, d})
        wrong_shape.push_back(name + " is " + shape_string(info.shape));
      continue;
    }
    unexpected.push_back(name);
  }
  if (!missing.empty() || !wrong_shape.empty() || !unexpected.empty()) {
    std::ostringstream problem;
    problem << "does not match its config.json (" << L << " layers, d_model " << d << ", d_mlp "
            << cfg.d_mlp << ", vocab " << cfg.d_vocab << ")";
    auto list = [&](const char* what, const std::vector<std::string>& keys) {
      if (keys.empty()) return;
      problem << "\n  " << what << " (" << keys.size() << "):";
      for (size_t i = 0; i < keys.size() && i < 12; ++i) problem << " " << keys[i] << (i + 1 < keys.size() ? "," : "");
      if (keys.size() > 12) problem << " ...";
    };
    list("missing keys", missing);
    list("wrong shapes", wrong_shape);
    list("unexpected keys", unexpected);
    throw Error(path, problem.str(),
                "config.json and model.safetensors must come from the same GPT-2 checkpoint");
  }

  auto get = [&](const std::string& key) { return load_weight(file, prefix + key, &std::cerr); };
  std::map<std::string, torch::Tensor> sd;
  sd["embed.W_E"] = get("wte.weight");                               // [d_vocab, d_model]
  sd["pos_embed.W_pos"] = get("wpe.weight").narrow(0, 0, cfg.n_ctx).contiguous();  // [n_ctx, d_model]
  for (int64_t l = 0; l < L; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    const std::string b = "blocks." + std::to_string(l) + ".";
    sd[b + "ln1.w"] = get(h + "ln_1.weight");
    sd[b + "ln1.b"] = get(h + "ln_1.bias");
    auto qkv = get(h + "attn.c_attn.weight").split(d, 1);  // 3 x [d_model, n_heads * d_head]
    auto heads = [&](const torch::Tensor& W) {
      // d_model (head_index d_head) -> head_index d_model d_head
      return W.view({d, H, dh}).permute({1, 0, 2}).contiguous();
    };
    sd[b + "attn.W_Q"] = heads(qkv[0]);
    sd[b + "attn.W_K"] = heads(qkv[1]);
    sd[b + "attn.W_V"] = heads(qkv[2]);
    auto qkv_bias = get(h + "attn.c_attn.bias").view({3, H, dh});  // [3, head_index, d_head]
    sd[b + "attn.b_Q"] = qkv_bias[0].contiguous();
    sd[b + "attn.b_K"] = qkv_bias[1].contiguous();
    sd[b + "attn.b_V"] = qkv_bias[2].contiguous();
    // (head_index d_head) d_model -> head_index d_head d_model
    sd[b + "attn.W_O"] = to_weight_layout(get(h + "attn.c_proj.weight")).view({H, dh, d});
    sd[b + "attn.b_O"] = get(h + "attn.c_proj.bias");
    sd[b + "ln2.w"] = get(h + "ln_2.weight");
    sd[b + "ln2.b"] = get(h + "ln_2.bias");
    // Stored transposed, as tlens's parameters are (linear.h's weight layout): set_data, no copy.
    sd[b + "mlp.W_in"] = to_weight_layout(get(h + "mlp.c_fc.weight"));    // [d_model, d_mlp]
    sd[b + "mlp.b_in"] = get(h + "mlp.c_fc.bias");      // [d_mlp]
    sd[b + "mlp.W_out"] = to_weight_layout(get(h + "mlp.c_proj.weight"));  // [d_mlp, d_model]
    sd[b + "mlp.b_out"] = get(h + "mlp.c_proj.bias");   // [d_model]
  }
  sd["ln_final.w"] = get("ln_f.weight");
  sd["ln_final.b"] = get("ln_f.bias");
  // [d_model, d_vocab], a copy of its own either way, stored as nn.Linear's [d_vocab, d_model]
  sd["unembed.W_U"] = tied ? sd["embed.W_E"].clone().t() : load_weight(file, lm_head, &std::cerr).t();
  sd["unembed.b_U"] = torch::zeros({cfg.d_vocab});
  return sd;
}

std::shared_ptr<const Tokenizer> read_hf_tokenizer(const std::string& dir,
                                                   std::optional<int64_t> d_vocab) {
  auto has = [&](const char* file) { return fs::exists(fs::path(dir) / file); };
  if ((has("vocab.json") && has("merges.txt")) || (has("encoder.json") && has("vocab.bpe")) ||
      has("tokenizer.json"))
    return std::make_shared<Tokenizer>(Tokenizer::from_directory(dir));
  if (!d_vocab) d_vocab = read_hf_gpt2_config(dir).d_vocab;
  if (*d_vocab != 50257) return nullptr;
  // A GPT-2 vocabulary size: GPT-2's tokenizer, shipped by scripts/setup.sh.
  auto vocab_dir = find_gpt2_vocab_dir();
  return vocab_dir ? std::make_shared<Tokenizer>(Tokenizer::from_directory(*vocab_dir)) : nullptr;
}

}  // namespace tlens::loading
