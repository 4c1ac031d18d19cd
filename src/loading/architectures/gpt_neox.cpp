// GPT-NeoX / Pythia / StableLM-alpha (GPTNeoXForCausalLM, model_type "gpt_neox") -> TransformerLens.
//
// LayerNorm, rotary on the first rotary_pct of each head (pairs i, i + rotary_dim / 2) at
// rotary_emb_base (or rope_theta), q/k/v fused into attention.query_key_value with the output
// laid out (head, {q, k, v}, d_head), parallel attention and MLP when use_parallel_residual.
// TransformerLens 2.18 always runs NeoX in parallel and at base 10000; tlens follows config.json.
#include <torch/torch.h>

#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

namespace {

// q/k/v fused into attention.query_key_value (added separately).
const LinearBlockNames kNames = {"input_layernorm", "post_attention_layernorm", "", "", "", "attention.dense",
                                 "mlp.dense_h_to_4h", "mlp.dense_4h_to_h"};

HookedTransformerConfig read_config(const nlohmann::json& json, const std::string& name,
                                    const std::string& context) {
  HfConfig config(json, context, "GPT-NeoX");
  HookedTransformerConfig cfg;
  start_config(cfg, name, "GPTNeoXForCausalLM");
  cfg.d_model = config.required<int64_t>("hidden_size");
  cfg.n_heads = config.required<int64_t>("num_attention_heads");
  cfg.n_layers = config.required<int64_t>("num_hidden_layers");
  cfg.d_mlp = config.required<int64_t>("intermediate_size");
  cfg.d_vocab = config.required<int64_t>("vocab_size");
  cfg.n_ctx = config.required<int64_t>("max_position_embeddings");
  cfg.eps = config.optional<double>("layer_norm_eps", 1e-5);
  cfg.d_head = head_size(config, cfg.d_model, cfg.n_heads, "hidden_size", "num_attention_heads");
  cfg.act_fn = read_act_fn(config, "hidden_act");
  cfg.normalization_type = "LN";
  cfg.positional_embedding_type = "rotary";
  // Hugging Face: int(d_head * rotary_pct)
  const double pct = config.optional<double>("rotary_pct", config.optional<double>("partial_rotary_factor", 1.0));
  cfg.rotary_dim = static_cast<int64_t>(static_cast<double>(cfg.d_head) * pct);
  cfg.rotary_base = config.optional<double>("rotary_emb_base", config.optional<double>("rope_theta", 10000.0));
  read_rope_scaling(config, cfg);
  cfg.parallel_attn_mlp = config.optional<bool>("use_parallel_residual", true);
  if (!config.optional<bool>("attention_bias", true))
    config.fail("has attention_bias: false", "tlens loads GPT-NeoX checkpoints with attention biases");
  cfg.finalize();
  return cfg;
}

CheckpointLayout layout(const nlohmann::json& json, const std::string& context,
                        const HookedTransformerConfig& cfg, const std::function<bool(const std::string&)>&) {
  const int64_t d = cfg.d_model, V = cfg.d_vocab;
  LayoutBuilder b;
  b.layout.prefix = "gpt_neox.";
  b.layout.tied_embeddings = tied_embeddings(HfConfig(json, context, "GPT-NeoX"), false);
  b.add("embed_in.weight", {V, d});
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    add_linear_block(b, p, kNames, cfg);
    b.add(p + "attention.query_key_value.weight", {3 * d, d});
    b.add(p + "attention.query_key_value.bias", {3 * d});
  }
  b.add("final_layer_norm.weight", {d});
  b.add("final_layer_norm.bias", {d});
  b.add_unprefixed("embed_out.weight", {V, d}, b.layout.tied_embeddings);
  b.layout.ignored = [](const std::string& name) {
    return name.find(".attention.bias") != std::string::npos ||
           name.find(".attention.masked_bias") != std::string::npos ||
           name.find("rotary_emb.inv_freq") != std::string::npos;
  };
  return b.layout;
}

TensorMap to_transformer_lens(const TensorGetter& get_full, const CheckpointLayout& layout,
                              const HookedTransformerConfig& cfg) {
  auto get = [&](const std::string& key) { return get_full(layout.prefix + key); };
  TensorMap sd;
  sd["embed.W_E"] = get("embed_in.weight");  // [d_vocab, d_model]
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".", t = "blocks." + std::to_string(l) + ".";
    linear_block_to_transformer_lens(sd, get, p, t, kNames, cfg);
    fused_qkv_to_transformer_lens(sd, get(p + "attention.query_key_value.weight"),
                                  get(p + "attention.query_key_value.bias"), t, cfg);
  }
  sd["ln_final.w"] = get("final_layer_norm.weight");
  sd["ln_final.b"] = get("final_layer_norm.bias");
  sd["unembed.W_U"] = transposed(layout.tied_embeddings ? sd["embed.W_E"] : get_full("embed_out.weight"));
  sd["unembed.b_U"] = torch::zeros({cfg.d_vocab});
  return sd;
}

}  // namespace

const ArchitectureConverter& gpt_neox() {
  static const ArchitectureConverter converter{"gpt_neox", {"GPTNeoXForCausalLM"}, {"gpt_neox"},
                                               read_config, layout, to_transformer_lens, nullptr, nullptr};
  return converter;
}

}  // namespace tlens::loading::architectures
