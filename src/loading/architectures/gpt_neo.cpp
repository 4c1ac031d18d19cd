// GPT-Neo (GPTNeoForCausalLM, model_type "gpt_neo") -> TransformerLens: GPT-2's blocks with
// nn.Linear weights, no q/k/v biases, learned positions, unscaled attention scores
// (use_attn_scale False), and layers alternating global and local attention (attention_layers,
// window_size).
#include <torch/torch.h>

#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

namespace {

// q/k/v without biases, out_proj with one; c_fc / c_proj are nn.Linear here (GPT-2's are Conv1D).
const LinearBlockNames kNames = {"ln_1", "ln_2", "attn.attention.q_proj", "attn.attention.k_proj",
                                 "attn.attention.v_proj", "attn.attention.out_proj", "mlp.c_fc", "mlp.c_proj",
                                 /*qkv_bias=*/false, /*o_bias=*/true};

HookedTransformerConfig read_config(const nlohmann::json& json, const std::string& name,
                                    const std::string& context) {
  HfConfig config(json, context, "GPT-Neo");
  HookedTransformerConfig cfg;
  start_config(cfg, name, "GPTNeoForCausalLM");
  cfg.d_model = config.required<int64_t>("hidden_size");
  cfg.n_heads = config.required<int64_t>("num_heads");
  cfg.n_layers = config.required<int64_t>("num_layers");
  cfg.d_vocab = config.required<int64_t>("vocab_size");
  cfg.n_ctx = config.required<int64_t>("max_position_embeddings");
  cfg.d_head = head_size(config, cfg.d_model, cfg.n_heads, "hidden_size", "num_heads");
  cfg.d_mlp = config.optional<int64_t>("intermediate_size", 4 * cfg.d_model);
  cfg.eps = config.optional<double>("layer_norm_epsilon", 1e-5);
  cfg.act_fn = read_act_fn(config, "activation_function");
  cfg.normalization_type = "LN";
  cfg.use_attn_scale = false;
  cfg.attn_types = config.required<std::vector<std::string>>("attention_layers");
  cfg.use_local_attn = true;
  cfg.window_size = config.required<int64_t>("window_size");
  cfg.finalize();
  return cfg;
}

CheckpointLayout layout(const nlohmann::json& json, const std::string& context,
                        const HookedTransformerConfig& cfg, const std::function<bool(const std::string&)>&) {
  const int64_t d = cfg.d_model, V = cfg.d_vocab;
  LayoutBuilder b;
  b.layout.prefix = "transformer.";
  b.layout.tied_embeddings = tied_embeddings(HfConfig(json, context, "GPT-Neo"), true);
  b.add("wte.weight", {V, d});
  b.layout.keys.push_back({"transformer.wpe.weight", {cfg.n_ctx, d}, /*at_least_rows=*/true});
  for (int64_t l = 0; l < cfg.n_layers; ++l) add_linear_block(b, "h." + std::to_string(l) + ".", kNames, cfg);
  b.add("ln_f.weight", {d});
  b.add("ln_f.bias", {d});
  b.add_unprefixed("lm_head.weight", {V, d}, b.layout.tied_embeddings);
  b.layout.ignored = [](const std::string& name) {
    return name.find(".attention.bias") != std::string::npos ||
           name.find(".attention.masked_bias") != std::string::npos;
  };
  return b.layout;
}

TensorMap to_transformer_lens(const TensorGetter& get_full, const CheckpointLayout& layout,
                              const HookedTransformerConfig& cfg) {
  auto get = [&](const std::string& key) { return get_full(layout.prefix + key); };
  TensorMap sd;
  sd["embed.W_E"] = get("wte.weight");                                              // [d_vocab, d_model]
  sd["pos_embed.W_pos"] = get("wpe.weight").narrow(0, 0, cfg.n_ctx).contiguous();  // [n_ctx, d_model]
  for (int64_t l = 0; l < cfg.n_layers; ++l)
    linear_block_to_transformer_lens(sd, get, "h." + std::to_string(l) + ".", "blocks." + std::to_string(l) + ".", kNames, cfg);
  sd["ln_final.w"] = get("ln_f.weight");
  sd["ln_final.b"] = get("ln_f.bias");
  sd["unembed.W_U"] = transposed(layout.tied_embeddings ? sd["embed.W_E"] : get_full("lm_head.weight"));
  sd["unembed.b_U"] = torch::zeros({cfg.d_vocab});
  return sd;
}

}  // namespace

const ArchitectureConverter& gpt_neo() {
  static const ArchitectureConverter converter{"gpt_neo", {"GPTNeoForCausalLM"}, {"gpt_neo"},
                                               read_config, layout, to_transformer_lens, nullptr, nullptr};
  return converter;
}

}  // namespace tlens::loading::architectures
