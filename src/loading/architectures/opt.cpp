// OPT (OPTForCausalLM, model_type "opt") -> TransformerLens: pre-LayerNorm blocks with biases
// everywhere, ReLU, learned positions stored with Hugging Face's offset of 2 (rows 2.. are
// positions 0..). Post-LayerNorm OPT (do_layer_norm_before false, OPT-350m) and a projected
// embedding (word_embed_proj_dim != hidden_size) are refused.
#include <torch/torch.h>

#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

namespace {

// Each layer's final_layer_norm is the norm before its MLP.
const LinearBlockNames kNames = {"self_attn_layer_norm", "final_layer_norm", "self_attn.q_proj", "self_attn.k_proj",
                                 "self_attn.v_proj", "self_attn.out_proj", "fc1", "fc2"};

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
  const int64_t d = cfg.d_model, V = cfg.d_vocab;
  LayoutBuilder b;
  b.layout.prefix = "model.decoder.";
  b.layout.tied_embeddings = tied_embeddings(HfConfig(json, context, "OPT"), true);
  b.add("embed_tokens.weight", {V, d});
  b.add("embed_positions.weight", {cfg.n_ctx + 2, d});
  for (int64_t l = 0; l < cfg.n_layers; ++l) add_linear_block(b, "layers." + std::to_string(l) + ".", kNames, cfg);
  b.add("final_layer_norm.weight", {d});
  b.add("final_layer_norm.bias", {d});
  b.add_unprefixed("lm_head.weight", {V, d}, b.layout.tied_embeddings);
  return b.layout;
}

TensorMap to_transformer_lens(const TensorGetter& get_full, const CheckpointLayout& layout,
                              const HookedTransformerConfig& cfg) {
  auto get = [&](const std::string& key) { return get_full(layout.prefix + key); };
  TensorMap sd;
  sd["embed.W_E"] = get("embed_tokens.weight");  // [d_vocab, d_model]
  // Hugging Face's position p is row p + 2
  sd["pos_embed.W_pos"] = get("embed_positions.weight").narrow(0, 2, cfg.n_ctx).contiguous();  // [n_ctx, d_model]
  for (int64_t l = 0; l < cfg.n_layers; ++l)
    linear_block_to_transformer_lens(sd, get, "layers." + std::to_string(l) + ".", "blocks." + std::to_string(l) + ".", kNames, cfg);
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
