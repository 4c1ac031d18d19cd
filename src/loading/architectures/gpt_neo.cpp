// GPT-Neo (GPTNeoForCausalLM, model_type "gpt_neo") -> TransformerLens: GPT-2's blocks with
// nn.Linear weights, no q/k/v biases, learned positions, unscaled attention scores
// (use_attn_scale False), and layers alternating global and local attention (attention_layers,
// window_size).
#include <torch/torch.h>

#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

namespace {

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
  const int64_t d = cfg.d_model, V = cfg.d_vocab, d_mlp = cfg.d_mlp;
  LayoutBuilder b;
  b.layout.prefix = "transformer.";
  b.layout.tied_embeddings = tied_embeddings(HfConfig(json, context, "GPT-Neo"), true);
  b.add("wte.weight", {V, d});
  b.layout.keys.push_back({"transformer.wpe.weight", {cfg.n_ctx, d}, /*at_least_rows=*/true});
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    for (const char* ln : {"ln_1", "ln_2"}) {
      b.add(p + ln + ".weight", {d});
      b.add(p + ln + ".bias", {d});
    }
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"})
      b.add(p + "attn.attention." + proj + ".weight", {d, d});
    b.add(p + "attn.attention.out_proj.bias", {d});
    b.add(p + "mlp.c_fc.weight", {d_mlp, d});
    b.add(p + "mlp.c_fc.bias", {d_mlp});
    b.add(p + "mlp.c_proj.weight", {d, d_mlp});
    b.add(p + "mlp.c_proj.bias", {d});
  }
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
  const int64_t d = cfg.d_model, H = cfg.n_heads, dh = cfg.d_head;
  auto get = [&](const std::string& key) { return get_full(layout.prefix + key); };
  TensorMap sd;
  sd["embed.W_E"] = get("wte.weight");                                              // [d_vocab, d_model]
  sd["pos_embed.W_pos"] = get("wpe.weight").narrow(0, 0, cfg.n_ctx).contiguous();  // [n_ctx, d_model]
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    const std::string t = "blocks." + std::to_string(l) + ".";
    sd[t + "ln1.w"] = get(p + "ln_1.weight");
    sd[t + "ln1.b"] = get(p + "ln_1.bias");
    sd[t + "ln2.w"] = get(p + "ln_2.weight");
    sd[t + "ln2.b"] = get(p + "ln_2.bias");
    const std::string a = p + "attn.attention.";
    sd[t + "attn.W_Q"] = heads_in(get(a + "q_proj.weight"), H, dh);  // [head_index, d_model, d_head]
    sd[t + "attn.W_K"] = heads_in(get(a + "k_proj.weight"), H, dh);
    sd[t + "attn.W_V"] = heads_in(get(a + "v_proj.weight"), H, dh);
    for (const char* x : {"b_Q", "b_K", "b_V"}) sd[t + "attn." + x] = torch::zeros({H, dh});
    sd[t + "attn.W_O"] = heads_out(get(a + "out_proj.weight"), H, dh);  // [head_index, d_head, d_model]
    sd[t + "attn.b_O"] = get(a + "out_proj.bias");
    sd[t + "mlp.W_in"] = transposed(get(p + "mlp.c_fc.weight"));  // [d_model, d_mlp]
    sd[t + "mlp.b_in"] = get(p + "mlp.c_fc.bias");
    sd[t + "mlp.W_out"] = transposed(get(p + "mlp.c_proj.weight"));  // [d_mlp, d_model]
    sd[t + "mlp.b_out"] = get(p + "mlp.c_proj.bias");
  }
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
