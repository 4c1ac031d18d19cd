// Phi-1 / 1.5 / 2 (PhiForCausalLM, model_type "phi") -> TransformerLens: one LayerNorm feeding
// parallel attention and MLP (TransformerLens's ln2 is a copy of ln1), partial rotary
// (partial_rotary_factor of each head, pairs i, i + rotary_dim / 2), biases everywhere, the
// attention output named `dense`, lm_head with a bias. qk_layernorm is refused.
#include <torch/torch.h>

#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

namespace {

// One LayerNorm for attention and MLP (ln2 ""); the attention's output is `dense`.
const LinearBlockNames kNames = {"input_layernorm", "", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                 "self_attn.dense", "mlp.fc1", "mlp.fc2"};

HookedTransformerConfig read_config(const nlohmann::json& json, const std::string& name,
                                    const std::string& context) {
  HfConfig config(json, context, "Phi");
  HookedTransformerConfig cfg;
  start_config(cfg, name, "PhiForCausalLM");
  cfg.d_model = config.required<int64_t>("hidden_size");
  cfg.n_heads = config.required<int64_t>("num_attention_heads");
  cfg.n_layers = config.required<int64_t>("num_hidden_layers");
  cfg.d_mlp = config.required<int64_t>("intermediate_size");
  cfg.d_vocab = config.required<int64_t>("vocab_size");
  cfg.n_ctx = config.required<int64_t>("max_position_embeddings");
  cfg.d_head = head_size(config, cfg.d_model, cfg.n_heads, "hidden_size", "num_attention_heads");
  cfg.eps = config.optional<double>("layer_norm_eps", 1e-5);
  cfg.act_fn = read_act_fn(config, "hidden_act");
  cfg.normalization_type = "LN";
  cfg.positional_embedding_type = "rotary";
  cfg.rotary_dim = static_cast<int64_t>(cfg.d_head * config.optional<double>("partial_rotary_factor", 0.5));
  cfg.rotary_base = config.optional<double>("rope_theta", 10000.0);
  read_rope_scaling(config, cfg);
  cfg.parallel_attn_mlp = true;
  const int64_t kv = config.optional<int64_t>("num_key_value_heads", cfg.n_heads);
  if (kv != cfg.n_heads) config.fail("has num_key_value_heads != num_attention_heads", "tlens loads Phi models without grouped-query attention");
  if (config.optional<bool>("qk_layernorm", false))
    config.fail("has qk_layernorm: true", "tlens loads Phi models without q/k LayerNorms");
  cfg.finalize();
  return cfg;
}

CheckpointLayout layout(const nlohmann::json& json, const std::string& context,
                        const HookedTransformerConfig& cfg, const std::function<bool(const std::string&)>&) {
  const int64_t d = cfg.d_model, V = cfg.d_vocab;
  LayoutBuilder b;
  b.layout.prefix = "model.";
  b.layout.tied_embeddings = tied_embeddings(HfConfig(json, context, "Phi"), false);
  b.add("embed_tokens.weight", {V, d});
  for (int64_t l = 0; l < cfg.n_layers; ++l) add_linear_block(b, "layers." + std::to_string(l) + ".", kNames, cfg);
  b.add("final_layernorm.weight", {d});
  b.add("final_layernorm.bias", {d});
  b.add_unprefixed("lm_head.weight", {V, d}, b.layout.tied_embeddings);
  b.add_unprefixed("lm_head.bias", {V});
  return b.layout;
}

TensorMap to_transformer_lens(const TensorGetter& get_full, const CheckpointLayout& layout,
                              const HookedTransformerConfig& cfg) {
  auto get = [&](const std::string& key) { return get_full(layout.prefix + key); };
  TensorMap sd;
  sd["embed.W_E"] = get("embed_tokens.weight");  // [d_vocab, d_model]
  for (int64_t l = 0; l < cfg.n_layers; ++l)
    linear_block_to_transformer_lens(sd, get, "layers." + std::to_string(l) + ".", "blocks." + std::to_string(l) + ".", kNames, cfg);
  sd["ln_final.w"] = get("final_layernorm.weight");
  sd["ln_final.b"] = get("final_layernorm.bias");
  sd["unembed.W_U"] = transposed(layout.tied_embeddings ? sd["embed.W_E"] : get_full("lm_head.weight"));
  sd["unembed.b_U"] = get_full("lm_head.bias");  // [d_vocab]
  return sd;
}

}  // namespace

const ArchitectureConverter& phi() {
  static const ArchitectureConverter converter{"phi", {"PhiForCausalLM"}, {"phi"},
                                               read_config, layout, to_transformer_lens, nullptr, nullptr};
  return converter;
}

}  // namespace tlens::loading::architectures
