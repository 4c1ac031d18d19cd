// OPT (OPTForCausalLM, model_type "opt") -> TransformerLens: pre-LayerNorm blocks with biases
// everywhere, ReLU, learned positions stored with Hugging Face's offset of 2 (rows 2.. are
// positions 0..). Post-LayerNorm OPT (do_layer_norm_before false, OPT-350m) and a projected
// embedding (word_embed_proj_dim != hidden_size) are refused.
#include <torch/torch.h>

#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

namespace {

HookedTransformerConfig read_config(const nlohmann::json& json, const std::string& name,
                                    const std::string& context) {
  HfConfig config(json, context, "OPT");
  HookedTransformerConfig cfg;
  start_config(cfg, name, "OPTForCausalLM");
  cfg.d_model = config.required<int64_t>("hidden_size");
  cfg.n_heads = config.required<int64_t>("num_attention_heads");
  cfg.n_layers = config.required<int64_t>("num_hidden_layers");
  cfg.d_mlp = config.required<int64_t>("ffn_dim");
  cfg.d_vocab = config.required<int64_t>("vocab_size");
  cfg.n_ctx = config.required<int64_t>("max_position_embeddings");
  cfg.d_head = head_size(config, cfg.d_model, cfg.n_heads, "hidden_size", "num_attention_heads");
  cfg.act_fn = read_act_fn(config, "activation_function");
  cfg.eps = 1e-5;  // OPT's LayerNorms use PyTorch's default
  cfg.normalization_type = "LN";
  if (!config.optional<bool>("do_layer_norm_before", true))
    config.fail("has do_layer_norm_before: false (post-LayerNorm OPT)", "tlens loads pre-LayerNorm OPT models");
  if (config.optional<int64_t>("word_embed_proj_dim", cfg.d_model) != cfg.d_model)
    config.fail("has word_embed_proj_dim != hidden_size (a projected embedding)",
                "tlens loads OPT models without project_in / project_out");
  if (!config.optional<bool>("enable_bias", true) || !config.optional<bool>("layer_norm_elementwise_affine", true))
    config.fail("has enable_bias or layer_norm_elementwise_affine false", "tlens loads OPT models with biases");
  cfg.finalize();
  return cfg;
}

CheckpointLayout layout(const nlohmann::json& json, const std::string& context,
                        const HookedTransformerConfig& cfg, const std::function<bool(const std::string&)>&) {
  const int64_t d = cfg.d_model, V = cfg.d_vocab, d_mlp = cfg.d_mlp;
  LayoutBuilder b;
  b.layout.prefix = "model.decoder.";
  b.layout.tied_embeddings = tied_embeddings(HfConfig(json, context, "OPT"), true);
  b.add("embed_tokens.weight", {V, d});
  b.add("embed_positions.weight", {cfg.n_ctx + 2, d});
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    for (const char* ln : {"self_attn_layer_norm", "final_layer_norm"}) {
      b.add(p + ln + ".weight", {d});
      b.add(p + ln + ".bias", {d});
    }
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      b.add(p + "self_attn." + proj + ".weight", {d, d});
      b.add(p + "self_attn." + proj + ".bias", {d});
    }
    b.add(p + "fc1.weight", {d_mlp, d});
    b.add(p + "fc1.bias", {d_mlp});
    b.add(p + "fc2.weight", {d, d_mlp});
    b.add(p + "fc2.bias", {d});
  }
  b.add("final_layer_norm.weight", {d});
  b.add("final_layer_norm.bias", {d});
  b.add_unprefixed("lm_head.weight", {V, d}, b.layout.tied_embeddings);
  return b.layout;
}

TensorMap to_transformer_lens(const TensorGetter& get_full, const CheckpointLayout& layout,
                              const HookedTransformerConfig& cfg) {
  const int64_t H = cfg.n_heads, dh = cfg.d_head;
  auto get = [&](const std::string& key) { return get_full(layout.prefix + key); };
  TensorMap sd;
  sd["embed.W_E"] = get("embed_tokens.weight");  // [d_vocab, d_model]
  // Hugging Face's position p is row p + 2
  sd["pos_embed.W_pos"] = get("embed_positions.weight").narrow(0, 2, cfg.n_ctx).contiguous();  // [n_ctx, d_model]
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    const std::string t = "blocks." + std::to_string(l) + ".";
    sd[t + "ln1.w"] = get(p + "self_attn_layer_norm.weight");
    sd[t + "ln1.b"] = get(p + "self_attn_layer_norm.bias");
    sd[t + "ln2.w"] = get(p + "final_layer_norm.weight");
    sd[t + "ln2.b"] = get(p + "final_layer_norm.bias");
    const std::string a = p + "self_attn.";
    sd[t + "attn.W_Q"] = heads_in(get(a + "q_proj.weight"), H, dh);  // [head_index, d_model, d_head]
    sd[t + "attn.W_K"] = heads_in(get(a + "k_proj.weight"), H, dh);
    sd[t + "attn.W_V"] = heads_in(get(a + "v_proj.weight"), H, dh);
    sd[t + "attn.b_Q"] = heads_bias(get(a + "q_proj.bias"), H, dh);  // [head_index, d_head]
    sd[t + "attn.b_K"] = heads_bias(get(a + "k_proj.bias"), H, dh);
    sd[t + "attn.b_V"] = heads_bias(get(a + "v_proj.bias"), H, dh);
    sd[t + "attn.W_O"] = heads_out(get(a + "out_proj.weight"), H, dh);  // [head_index, d_head, d_model]
    sd[t + "attn.b_O"] = get(a + "out_proj.bias");
    sd[t + "mlp.W_in"] = transposed(get(p + "fc1.weight"));  // [d_model, d_mlp]
    sd[t + "mlp.b_in"] = get(p + "fc1.bias");
    sd[t + "mlp.W_out"] = transposed(get(p + "fc2.weight"));  // [d_mlp, d_model]
    sd[t + "mlp.b_out"] = get(p + "fc2.bias");
  }
  sd["ln_final.w"] = get("final_layer_norm.weight");
  sd["ln_final.b"] = get("final_layer_norm.bias");
  sd["unembed.W_U"] = transposed(layout.tied_embeddings ? sd["embed.W_E"] : get_full("lm_head.weight"));
  sd["unembed.b_U"] = torch::zeros({cfg.d_vocab});
  return sd;
}

}  // namespace

const ArchitectureConverter& opt() {
  static const ArchitectureConverter converter{"opt", {"OPTForCausalLM"}, {"opt"},
                                               read_config, layout, to_transformer_lens, nullptr, nullptr};
  return converter;
}

}  // namespace tlens::loading::architectures
