// Phi-1 / 1.5 / 2 (PhiForCausalLM, model_type "phi") -> TransformerLens: one LayerNorm feeding
// parallel attention and MLP (TransformerLens's ln2 is a copy of ln1), partial rotary
// (partial_rotary_factor of each head, pairs i, i + rotary_dim / 2), biases everywhere, the
// attention output named `dense`, lm_head with a bias. qk_layernorm is refused.
#include <torch/torch.h>

#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

namespace {

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
  const int64_t d = cfg.d_model, V = cfg.d_vocab, d_mlp = cfg.d_mlp;
  LayoutBuilder b;
  b.layout.prefix = "model.";
  b.layout.tied_embeddings = tied_embeddings(HfConfig(json, context, "Phi"), false);
  b.add("embed_tokens.weight", {V, d});
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    b.add(p + "input_layernorm.weight", {d});
    b.add(p + "input_layernorm.bias", {d});
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "dense"}) {
      b.add(p + "self_attn." + proj + ".weight", {d, d});
      b.add(p + "self_attn." + proj + ".bias", {d});
    }
    b.add(p + "mlp.fc1.weight", {d_mlp, d});
    b.add(p + "mlp.fc1.bias", {d_mlp});
    b.add(p + "mlp.fc2.weight", {d, d_mlp});
    b.add(p + "mlp.fc2.bias", {d});
  }
  b.add("final_layernorm.weight", {d});
  b.add("final_layernorm.bias", {d});
  b.add_unprefixed("lm_head.weight", {V, d}, b.layout.tied_embeddings);
  b.add_unprefixed("lm_head.bias", {V});
  return b.layout;
}

TensorMap to_transformer_lens(const TensorGetter& get_full, const CheckpointLayout& layout,
                              const HookedTransformerConfig& cfg) {
  const int64_t H = cfg.n_heads, dh = cfg.d_head;
  auto get = [&](const std::string& key) { return get_full(layout.prefix + key); };
  TensorMap sd;
  sd["embed.W_E"] = get("embed_tokens.weight");  // [d_vocab, d_model]
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    const std::string t = "blocks." + std::to_string(l) + ".";
    sd[t + "ln1.w"] = get(p + "input_layernorm.weight");
    sd[t + "ln1.b"] = get(p + "input_layernorm.bias");
    sd[t + "ln2.w"] = sd[t + "ln1.w"].clone();  // the MLP reads the same LayerNorm
    sd[t + "ln2.b"] = sd[t + "ln1.b"].clone();
    const std::string a = p + "self_attn.";
    sd[t + "attn.W_Q"] = heads_in(get(a + "q_proj.weight"), H, dh);  // [head_index, d_model, d_head]
    sd[t + "attn.W_K"] = heads_in(get(a + "k_proj.weight"), H, dh);
    sd[t + "attn.W_V"] = heads_in(get(a + "v_proj.weight"), H, dh);
    sd[t + "attn.b_Q"] = heads_bias(get(a + "q_proj.bias"), H, dh);  // [head_index, d_head]
    sd[t + "attn.b_K"] = heads_bias(get(a + "k_proj.bias"), H, dh);
    sd[t + "attn.b_V"] = heads_bias(get(a + "v_proj.bias"), H, dh);
    sd[t + "attn.W_O"] = heads_out(get(a + "dense.weight"), H, dh);  // [head_index, d_head, d_model]
    sd[t + "attn.b_O"] = get(a + "dense.bias");
    sd[t + "mlp.W_in"] = transposed(get(p + "mlp.fc1.weight"));  // [d_model, d_mlp]
    sd[t + "mlp.b_in"] = get(p + "mlp.fc1.bias");
    sd[t + "mlp.W_out"] = transposed(get(p + "mlp.fc2.weight"));  // [d_mlp, d_model]
    sd[t + "mlp.b_out"] = get(p + "mlp.fc2.bias");
  }
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
