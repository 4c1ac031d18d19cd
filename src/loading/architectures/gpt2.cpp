// GPT-2 (GPT2LMHeadModel, model_type "gpt2") <-> TransformerLens.
//
// HF's Conv1D stores weights [in, out] (y = x @ W + b), TransformerLens's own layout: c_attn,
// c_proj and c_fc need no transpose, only a split into heads. Keys may carry the "transformer."
// prefix or not; attn.bias / attn.masked_bias (causal-mask buffers) are ignored. W_U is
// lm_head.weight^T: wte^T when tied (the default, as GPT2LMHeadModel loads it), the checkpoint's
// own lm_head.weight when config.json says tie_word_embeddings: false. wpe may be longer than
// n_ctx (trimmed), never shorter.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "loading/architectures/architectures.h"
#include "tlens/error.h"
#include "tlens/loading/hf_gpt2_config.h"

namespace tlens::loading::architectures {

namespace {

bool ends_with(const std::string& name, const std::string& suffix) {
  return name.size() >= suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool tie_word_embeddings(const nlohmann::json& config, const std::string& context) {
  if (!config.contains("tie_word_embeddings")) return true;
  if (!config["tie_word_embeddings"].is_boolean())
    throw Error(context, "\"tie_word_embeddings\" must be true or false, found " +
                             config["tie_word_embeddings"].dump(),
                "fix config.json (true: lm_head is wte; false: the file has its own lm_head.weight)");
  return config["tie_word_embeddings"].get<bool>();
}

CheckpointLayout layout(const nlohmann::json& config, const std::string& context,
                        const HookedTransformerConfig& cfg,
                        const std::function<bool(const std::string&)>& has) {
  const int64_t d = cfg.d_model, V = cfg.d_vocab, d_mlp = cfg.d_mlp;
  CheckpointLayout out;
  out.prefix = has("transformer.wte.weight") ? "transformer." : "";
  out.tied_embeddings = tie_word_embeddings(config, context);
  const std::string& p = out.prefix;
  out.keys = {{p + "wte.weight", {V, d}},
              {p + "wpe.weight", {cfg.n_ctx, d}, /*at_least_rows=*/true}};
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string h = p + "h." + std::to_string(l) + ".";
    for (const char* ln : {"ln_1", "ln_2"}) {
      out.keys.push_back({h + ln + ".weight", {d}});
      out.keys.push_back({h + ln + ".bias", {d}});
    }
    out.keys.push_back({h + "attn.c_attn.weight", {d, 3 * d}});
    out.keys.push_back({h + "attn.c_attn.bias", {3 * d}});
    out.keys.push_back({h + "attn.c_proj.weight", {d, d}});
    out.keys.push_back({h + "attn.c_proj.bias", {d}});
    out.keys.push_back({h + "mlp.c_fc.weight", {d, d_mlp}});
    out.keys.push_back({h + "mlp.c_fc.bias", {d_mlp}});
    out.keys.push_back({h + "mlp.c_proj.weight", {d_mlp, d}});
    out.keys.push_back({h + "mlp.c_proj.bias", {d}});
  }
  out.keys.push_back({p + "ln_f.weight", {d}});
  out.keys.push_back({p + "ln_f.bias", {d}});
  // lm_head sits outside the "transformer." prefix; when tied, HF replaces it by wte on load.
  if (out.tied_embeddings)
    out.keys.push_back({"lm_head.weight", {V, d}, false, /*optional=*/true});
  else
    out.keys.push_back({"lm_head.weight", {V, d}, false, false,
                        "(config.json has tie_word_embeddings: false)"});
  out.ignored = [](const std::string& name) {
    return ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias");
  };
  return out;
}

TensorMap to_transformer_lens(const TensorGetter& get_full, const CheckpointLayout& layout,
                              const HookedTransformerConfig& cfg) {
  const int64_t d = cfg.d_model, H = cfg.n_heads, dh = cfg.d_head;
  auto get = [&](const std::string& key) { return get_full(layout.prefix + key); };
  TensorMap sd;
  sd["embed.W_E"] = get("wte.weight");                                          // [d_vocab, d_model]
  sd["pos_embed.W_pos"] = get("wpe.weight").narrow(0, 0, cfg.n_ctx).contiguous();  // [n_ctx, d_model]
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    const std::string b = "blocks." + std::to_string(l) + ".";
    sd[b + "ln1.w"] = get(h + "ln_1.weight");  // [d_model]
    sd[b + "ln1.b"] = get(h + "ln_1.bias");    // [d_model]
    auto qkv = get(h + "attn.c_attn.weight").split(d, 1);  // 3 x [d_model, head_index * d_head]
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
    sd[b + "attn.W_O"] = get(h + "attn.c_proj.weight").view({H, dh, d});
    sd[b + "attn.b_O"] = get(h + "attn.c_proj.bias");       // [d_model]
    sd[b + "ln2.w"] = get(h + "ln_2.weight");               // [d_model]
    sd[b + "ln2.b"] = get(h + "ln_2.bias");                 // [d_model]
    sd[b + "mlp.W_in"] = get(h + "mlp.c_fc.weight");        // [d_model, d_mlp]
    sd[b + "mlp.b_in"] = get(h + "mlp.c_fc.bias");          // [d_mlp]
    sd[b + "mlp.W_out"] = get(h + "mlp.c_proj.weight");     // [d_mlp, d_model]
    sd[b + "mlp.b_out"] = get(h + "mlp.c_proj.bias");       // [d_model]
  }
  sd["ln_final.w"] = get("ln_f.weight");  // [d_model]
  sd["ln_final.b"] = get("ln_f.bias");    // [d_model]
  // [d_model, d_vocab], a copy of its own either way
  sd["unembed.W_U"] = (layout.tied_embeddings ? sd["embed.W_E"] : get_full("lm_head.weight"))
                          .t()
                          .contiguous();
  sd["unembed.b_U"] = torch::zeros({cfg.d_vocab});  // [d_vocab]
  return sd;
}

// --- the way back: a checkpoint GPT2LMHeadModel.from_pretrained loads ---

const torch::Tensor& find(const TensorMap& state_dict, const std::string& key) {
  auto it = state_dict.find(key);
  if (it == state_dict.end())
    throw Error("state dict", "has no '" + key + "'",
                "pass model->state_dict() of an unprocessed HookedTransformer");
  return it->second;
}

nlohmann::json config_json(const HookedTransformerConfig& cfg) {
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

TensorMap to_hf(const TensorMap& state_dict, const HookedTransformerConfig& cfg) {
  const int64_t d = cfg.d_model, H = cfg.n_heads, dh = cfg.d_head;
  TensorMap hf;
  auto take = [&](const std::string& key, torch::IntArrayRef shape) {
    const auto& tensor = find(state_dict, key);
    if (tensor.sizes() != shape)
      throw Error("state dict '" + key + "'",
                  "is " + c10::str(tensor.sizes()) + ", the config says " + c10::str(shape),
                  "the state dict and the config must describe the same model");
    return tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  };

  auto W_E = take("embed.W_E", {cfg.d_vocab, d});  // [d_vocab, d_model]
  // lm_head is wte in GPT-2: an untied unembedding cannot be written.
  auto W_U = take("unembed.W_U", {d, cfg.d_vocab});  // [d_model, d_vocab]
  auto b_U = take("unembed.b_U", {cfg.d_vocab});     // [d_vocab]
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
    // [d_model, 3 d_model]
    hf[h + "attn.c_attn.weight"] =
        torch::cat({columns("W_Q"), columns("W_K"), columns("W_V")}, 1).contiguous();
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

}  // namespace

const ArchitectureConverter& gpt2() {
  static const ArchitectureConverter converter{
      "gpt2", {"GPT2LMHeadModel", "GPT2Model"}, {"gpt2"}, hf_gpt2_config, layout,
      to_transformer_lens, config_json, to_hf};
  return converter;
}

}  // namespace tlens::loading::architectures
