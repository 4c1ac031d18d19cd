// GPT-J (GPTJForCausalLM, model_type "gptj") -> TransformerLens: one LayerNorm feeding parallel
// attention and MLP (TransformerLens's ln2 is a copy of ln1), rotary on the first rotary_dim
// dims of each head in adjacent pairs (2i, 2i + 1), no attention biases, lm_head with a bias.
#include <torch/torch.h>

#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

namespace {

// One LayerNorm for attention and MLP (ln2 ""), no attention biases.
const LinearBlockNames kNames = {"ln_1", "", "attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.out_proj",
                                 "mlp.fc_in", "mlp.fc_out", /*qkv_bias=*/false, /*o_bias=*/false};

HookedTransformerConfig read_config(const nlohmann::json& json, const std::string& name,
                                    const std::string& context) {
  HfConfig config(json, context, "GPT-J");
  HookedTransformerConfig cfg;
  start_config(cfg, name, "GPTJForCausalLM");
  cfg.d_model = config.required<int64_t>("n_embd");
  cfg.n_heads = config.required<int64_t>("n_head");
  cfg.n_layers = config.required<int64_t>("n_layer");
  cfg.d_vocab = config.required<int64_t>("vocab_size");
  cfg.n_ctx = config.required<int64_t>("n_positions");
  cfg.d_head = head_size(config, cfg.d_model, cfg.n_heads, "n_embd", "n_head");
  cfg.d_mlp = config.optional<int64_t>("n_inner", 4 * cfg.d_model);
  cfg.eps = config.optional<double>("layer_norm_epsilon", 1e-5);
  cfg.act_fn = read_act_fn(config, "activation_function");
  cfg.normalization_type = "LN";
  cfg.positional_embedding_type = "rotary";
  cfg.rotary_dim = config.optional<int64_t>("rotary_dim", cfg.d_head);
  cfg.rotary_adjacent_pairs = true;
  cfg.parallel_attn_mlp = true;
  cfg.finalize();
  return cfg;
}

CheckpointLayout layout(const nlohmann::json& json, const std::string& context,
                        const HookedTransformerConfig& cfg, const std::function<bool(const std::string&)>&) {
  const int64_t d = cfg.d_model, V = cfg.d_vocab;
  LayoutBuilder b;
  b.layout.prefix = "transformer.";
  b.layout.tied_embeddings = tied_embeddings(HfConfig(json, context, "GPT-J"), false);
  b.add("wte.weight", {V, d});
  for (int64_t l = 0; l < cfg.n_layers; ++l) add_linear_block(b, "h." + std::to_string(l) + ".", kNames, cfg);
  b.add("ln_f.weight", {d});
  b.add("ln_f.bias", {d});
  b.add_unprefixed("lm_head.weight", {V, d}, b.layout.tied_embeddings);
  b.add_unprefixed("lm_head.bias", {V});
  b.layout.ignored = [](const std::string& name) {
    return name.find(".attn.bias") != std::string::npos || name.find(".attn.masked_bias") != std::string::npos;
  };
  return b.layout;
}

TensorMap to_transformer_lens(const TensorGetter& get_full, const CheckpointLayout& layout,
                              const HookedTransformerConfig& cfg) {
  auto get = [&](const std::string& key) { return get_full(layout.prefix + key); };
  TensorMap sd;
  sd["embed.W_E"] = get("wte.weight");  // [d_vocab, d_model]
  for (int64_t l = 0; l < cfg.n_layers; ++l)
    linear_block_to_transformer_lens(sd, get, "h." + std::to_string(l) + ".", "blocks." + std::to_string(l) + ".", kNames, cfg);
  sd["ln_final.w"] = get("ln_f.weight");
  sd["ln_final.b"] = get("ln_f.bias");
  sd["unembed.W_U"] = transposed(layout.tied_embeddings ? sd["embed.W_E"] : get_full("lm_head.weight"));
  sd["unembed.b_U"] = get_full("lm_head.bias");  // [d_vocab]
  return sd;
}

}  // namespace

const ArchitectureConverter& gptj() {
  static const ArchitectureConverter converter{"gptj", {"GPTJForCausalLM"}, {"gptj"},
                                               read_config, layout, to_transformer_lens, nullptr, nullptr};
  return converter;
}

}  // namespace tlens::loading::architectures
