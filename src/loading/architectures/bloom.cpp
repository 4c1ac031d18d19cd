// BLOOM (BloomForCausalLM, model_type "bloom") -> TransformerLens: a LayerNorm on the embedding
// (embed.ln, never folded), ALiBi instead of positions (Hugging Face's slopes, also for head
// counts that are not powers of two, where TransformerLens 2.18's differ), q/k/v fused into
// self_attention.query_key_value with the output laid out (head, {q, k, v}, d_head), gelu_fast,
// no BOS by default.
#include <torch/torch.h>

#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

namespace {

// q/k/v fused into self_attention.query_key_value (added separately).
const LinearBlockNames kNames = {"input_layernorm", "post_attention_layernorm", "", "", "", "self_attention.dense",
                                 "mlp.dense_h_to_4h", "mlp.dense_4h_to_h"};

HookedTransformerConfig read_config(const nlohmann::json& json, const std::string& name,
                                    const std::string& context) {
  HfConfig config(json, context, "BLOOM");
  HookedTransformerConfig cfg;
  start_config(cfg, name, "BloomForCausalLM");
  cfg.d_model = config.required<int64_t>(config.has("hidden_size") ? "hidden_size" : "n_embed");
  cfg.n_heads = config.required<int64_t>("n_head");
  cfg.n_layers = config.required<int64_t>("n_layer");
  cfg.d_vocab = config.required<int64_t>("vocab_size");
  cfg.d_head = head_size(config, cfg.d_model, cfg.n_heads, "hidden_size", "n_head");
  cfg.d_mlp = 4 * cfg.d_model;
  cfg.n_ctx = config.optional<int64_t>("seq_length", 2048);  // ALiBi has no limit; TransformerLens uses 2048
  cfg.eps = config.optional<double>("layer_norm_epsilon", 1e-5);
  cfg.act_fn = "gelu_fast";
  cfg.normalization_type = "LN";
  cfg.positional_embedding_type = "alibi";
  cfg.post_embedding_ln = true;
  cfg.default_prepend_bos = false;
  if (config.optional<bool>("apply_residual_connection_post_layernorm", false))
    config.fail("has apply_residual_connection_post_layernorm: true", "tlens loads BLOOM models with pre-LayerNorm residuals");
  cfg.finalize();
  return cfg;
}

CheckpointLayout layout(const nlohmann::json& json, const std::string& context,
                        const HookedTransformerConfig& cfg, const std::function<bool(const std::string&)>& has) {
  const int64_t d = cfg.d_model, V = cfg.d_vocab;
  LayoutBuilder b;
  b.layout.prefix = has("transformer.word_embeddings.weight") ? "transformer." : "";
  b.layout.tied_embeddings = tied_embeddings(HfConfig(json, context, "BLOOM"), true);
  b.add("word_embeddings.weight", {V, d});
  auto ln = [&](const std::string& name) {
    b.add(name + ".weight", {d});
    b.add(name + ".bias", {d});
  };
  ln("word_embeddings_layernorm");
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    add_linear_block(b, p, kNames, cfg);
    b.add(p + "self_attention.query_key_value.weight", {3 * d, d});
    b.add(p + "self_attention.query_key_value.bias", {3 * d});
  }
  ln("ln_f");
  b.add_unprefixed("lm_head.weight", {V, d}, b.layout.tied_embeddings);
  return b.layout;
}

TensorMap to_transformer_lens(const TensorGetter& get_full, const CheckpointLayout& layout,
                              const HookedTransformerConfig& cfg) {
  const int64_t d = cfg.d_model;
  auto get = [&](const std::string& key) { return get_full(layout.prefix + key); };
  TensorMap sd;
  sd["embed.W_E"] = get("word_embeddings.weight");  // [d_vocab, d_model]
  sd["embed.ln.w"] = get("word_embeddings_layernorm.weight");
  sd["embed.ln.b"] = get("word_embeddings_layernorm.bias");
  sd["pos_embed.W_pos"] = torch::zeros({cfg.n_ctx, d});  // unused with ALiBi (TransformerLens has one)
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".", t = "blocks." + std::to_string(l) + ".";
    linear_block_to_transformer_lens(sd, get, p, t, kNames, cfg);
    fused_qkv_to_transformer_lens(sd, get(p + "self_attention.query_key_value.weight"),
                                  get(p + "self_attention.query_key_value.bias"), t, cfg);
  }
  sd["ln_final.w"] = get("ln_f.weight");
  sd["ln_final.b"] = get("ln_f.bias");
  sd["unembed.W_U"] = transposed(layout.tied_embeddings ? sd["embed.W_E"] : get_full("lm_head.weight"));
  sd["unembed.b_U"] = torch::zeros({cfg.d_vocab});
  return sd;
}

}  // namespace

const ArchitectureConverter& bloom() {
  static const ArchitectureConverter converter{"bloom", {"BloomForCausalLM"}, {"bloom"},
                                               read_config, layout, to_transformer_lens, nullptr, nullptr};
  return converter;
}

}  // namespace tlens::loading::architectures
