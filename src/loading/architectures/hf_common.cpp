#include "loading/architectures/hf_common.h"

#include <cmath>

#include <torch/torch.h>

namespace tlens::loading::architectures {

void start_config(HookedTransformerConfig& cfg, const std::string& model_name,
                  const std::string& architecture) {
  cfg.model_name = model_name;
  cfg.tokenizer_name = model_name;
  cfg.original_architecture = architecture;
  cfg.init_weights = false;
  cfg.default_prepend_bos = true;
}

int64_t head_size(const HfConfig& config, int64_t d_model, int64_t n_heads, const char* d_model_key,
                  const char* n_heads_key) {
  if (n_heads <= 0 || d_model % n_heads != 0)
    config.fail(std::string(d_model_key) + " " + std::to_string(d_model) + " is not divisible by " +
                    n_heads_key + " " + std::to_string(n_heads),
                "fix config.json");
  return d_model / n_heads;
}

bool tied_embeddings(const HfConfig& config, bool fallback) {
  return config.optional<bool>("tie_word_embeddings", fallback);
}

torch::Tensor heads_in(const torch::Tensor& W, int64_t heads, int64_t d_head) {
  // (heads d_head) d_model -> heads d_model d_head
  return W.view({heads, d_head, W.size(1)}).permute({0, 2, 1}).contiguous();
}

torch::Tensor heads_out(const torch::Tensor& W, int64_t heads, int64_t d_head) {
  // d_model (heads d_head) -> heads d_head d_model
  return W.t().reshape({heads, d_head, W.size(0)}).contiguous();
}

torch::Tensor heads_bias(const torch::Tensor& b, int64_t heads, int64_t d_head) {
  return b.view({heads, d_head}).contiguous();  // [heads, d_head]
}

torch::Tensor transposed(const torch::Tensor& W) { return W.t().contiguous(); }

void add_linear_block(LayoutBuilder& b, const std::string& p, const LinearBlockNames& n,
                      const HookedTransformerConfig& cfg) {
  const int64_t d = cfg.d_model, d_mlp = cfg.d_mlp;
  for (const auto& ln : {n.ln1, n.ln2}) {
    if (ln.empty()) continue;
    b.add(p + ln + ".weight", {d});
    b.add(p + ln + ".bias", {d});
  }
  if (!n.q.empty()) {
    for (const auto& proj : {n.q, n.k, n.v}) {
      b.add(p + proj + ".weight", {d, d});
      if (n.qkv_bias) b.add(p + proj + ".bias", {d});
    }
  }
  b.add(p + n.o + ".weight", {d, d});
  if (n.o_bias) b.add(p + n.o + ".bias", {d});
  b.add(p + n.fc_in + ".weight", {d_mlp, d});
  b.add(p + n.fc_in + ".bias", {d_mlp});
  b.add(p + n.fc_out + ".weight", {d, d_mlp});
  b.add(p + n.fc_out + ".bias", {d});
}

void linear_block_to_transformer_lens(TensorMap& sd, const std::function<torch::Tensor(const std::string&)>& get,
                                      const std::string& p, const std::string& t, const LinearBlockNames& n,
                                      const HookedTransformerConfig& cfg) {
  const int64_t H = cfg.n_heads, dh = cfg.d_head;
  sd[t + "ln1.w"] = get(p + n.ln1 + ".weight");  // [d_model]
  sd[t + "ln1.b"] = get(p + n.ln1 + ".bias");
  // A parallel block with one norm: TransformerLens's ln2 is a copy of ln1.
  sd[t + "ln2.w"] = n.ln2.empty() ? sd[t + "ln1.w"].clone() : get(p + n.ln2 + ".weight");
  sd[t + "ln2.b"] = n.ln2.empty() ? sd[t + "ln1.b"].clone() : get(p + n.ln2 + ".bias");
  if (!n.q.empty()) {
    const std::string proj[3] = {n.q, n.k, n.v};
    const char* names[3] = {"Q", "K", "V"};
    for (int i = 0; i < 3; ++i) {
      sd[t + "attn.W_" + names[i]] = heads_in(get(p + proj[i] + ".weight"), H, dh);  // [head_index, d_model, d_head]
      sd[t + "attn.b_" + names[i]] =
          n.qkv_bias ? heads_bias(get(p + proj[i] + ".bias"), H, dh) : torch::zeros({H, dh});  // [head_index, d_head]
    }
  }
  sd[t + "attn.W_O"] = heads_out(get(p + n.o + ".weight"), H, dh);  // [head_index, d_head, d_model]
  sd[t + "attn.b_O"] = n.o_bias ? get(p + n.o + ".bias") : torch::zeros({cfg.d_model});
  sd[t + "mlp.W_in"] = transposed(get(p + n.fc_in + ".weight"));  // [d_model, d_mlp]
  sd[t + "mlp.b_in"] = get(p + n.fc_in + ".bias");
  sd[t + "mlp.W_out"] = transposed(get(p + n.fc_out + ".weight"));  // [d_mlp, d_model]
  sd[t + "mlp.b_out"] = get(p + n.fc_out + ".bias");
}

void fused_qkv_to_transformer_lens(TensorMap& sd, const torch::Tensor& W, const torch::Tensor& b,
                                   const std::string& t, const HookedTransformerConfig& cfg) {
  const int64_t H = cfg.n_heads, dh = cfg.d_head, d = cfg.d_model;
  // (head {q,k,v} d_head) d_model -> {q,k,v} head d_model d_head
  auto qkv = W.view({H, 3, dh, d}).permute({1, 0, 3, 2});
  auto qkv_bias = b.view({H, 3, dh}).permute({1, 0, 2});  // {q,k,v} head d_head
  const char* names[3] = {"Q", "K", "V"};
  for (int i = 0; i < 3; ++i) {
    sd[t + "attn.W_" + names[i]] = qkv[i].contiguous();       // [head_index, d_model, d_head]
    sd[t + "attn.b_" + names[i]] = qkv_bias[i].contiguous();  // [head_index, d_head]
  }
}

CheckpointLayout llama_like_layout(const HookedTransformerConfig& cfg, const LlamaLikeOptions& o) {
  const int64_t d = cfg.d_model, V = cfg.d_vocab, H = cfg.n_heads, H_kv = cfg.kv_heads(),
                dh = cfg.d_head, d_mlp = cfg.d_mlp;
  LayoutBuilder b;
  b.layout.prefix = o.prefix;
  b.layout.tied_embeddings = o.tied;
  b.add("embed_tokens.weight", {V, d});
  auto norm = [&](const std::string& name, int64_t size) {
    if (!o.norm_weights) return;
    b.add(name + ".weight", {size});
    if (o.layer_norm) b.add(name + ".bias", {size});
  };
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    if (!o.post_norm_only) norm(p + "input_layernorm", d);
    for (auto [name, heads] : {std::pair{"q_proj", H}, {"k_proj", H_kv}, {"v_proj", H_kv}}) {
      b.add(p + "self_attn." + name + ".weight", {heads * dh, d});
      if (o.qkv_bias) b.add(p + "self_attn." + name + ".bias", {heads * dh});
    }
    b.add(p + "self_attn.o_proj.weight", {d, H * dh});
    if (o.o_bias) b.add(p + "self_attn.o_proj.bias", {d});
    if (o.qk_norm) {
      norm(p + "self_attn.q_norm", o.qk_norm_per_head ? dh : H * dh);
      norm(p + "self_attn.k_norm", o.qk_norm_per_head ? dh : H_kv * dh);
    }
    if (!o.shared_ln) norm(p + "post_attention_layernorm", d);
    if (o.post_norm_only) norm(p + "post_feedforward_layernorm", d);
    if (o.sandwich) {
      norm(p + "pre_feedforward_layernorm", d);
      norm(p + "post_feedforward_layernorm", d);
    }
    if (cfg.num_experts > 0) {
      b.add(p + "block_sparse_moe.gate.weight", {cfg.num_experts, d});
      for (int64_t e = 0; e < cfg.num_experts; ++e) {
        const std::string x = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
        b.add(x + "w1.weight", {d_mlp, d});
        b.add(x + "w2.weight", {d, d_mlp});
        b.add(x + "w3.weight", {d_mlp, d});
      }
      continue;
    }
    if (o.gated) b.add(p + "mlp.gate_proj.weight", {d_mlp, d});
    b.add(p + "mlp.up_proj.weight", {d_mlp, d});
    b.add(p + "mlp.down_proj.weight", {d, d_mlp});
    if (o.mlp_bias) {
      b.add(p + "mlp.up_proj.bias", {d_mlp});
      b.add(p + "mlp.down_proj.bias", {d});
    }
  }
  norm("norm", d);
  if (o.tied)
    b.add_unprefixed("lm_head.weight", {V, d}, /*optional=*/true);
  else
    b.add_unprefixed("lm_head.weight", {V, d}, false, "(config.json has tie_word_embeddings: false)");
  b.layout.ignored = [](const std::string& name) {
    return name.find("rotary_emb.inv_freq") != std::string::npos;
  };
  return b.layout;
}

TensorMap llama_like_to_transformer_lens(const TensorGetter& get_full, const HookedTransformerConfig& cfg,
                                         const LlamaLikeOptions& o) {
  const int64_t H = cfg.n_heads, H_kv = cfg.kv_heads(), dh = cfg.d_head, d = cfg.d_model;
  auto get = [&](const std::string& key) { return get_full(o.prefix + key); };
  // Gemma stores RMSNorm weights as w with the scale 1 + w.
  auto norm_weight = [&](const std::string& name) {
    auto w = get(name + ".weight");
    return o.norm_plus_one ? (w + 1.0).contiguous() : w;
  };
  auto put_norm = [&](TensorMap& sd, const std::string& tl, const std::string& hf) {
    if (!o.norm_weights) return;
    sd[tl + ".w"] = norm_weight(hf);  // [length]
    if (o.layer_norm) sd[tl + ".b"] = get(hf + ".bias");
  };
  // a weight that writes, times its multiplier (Granite)
  auto scaled = [](const torch::Tensor& t, double scale) { return scale == 1.0 ? t : (t * scale).contiguous(); };
  const std::string kv = cfg.n_key_value_heads > 0 ? "_" : "";
  TensorMap sd;
  auto embed = get("embed_tokens.weight");  // [d_vocab, d_model]
  // Gemma's sqrt(d_model) is baked into W_E (HF multiplies at run time, in the model's dtype).
  sd["embed.W_E"] = o.embedding_scale == 1.0 ? embed : (embed * o.embedding_scale).contiguous();
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    const std::string t = "blocks." + std::to_string(l) + ".";
    if (!o.post_norm_only) put_norm(sd, t + "ln1", p + "input_layernorm");
    sd[t + "attn.W_Q"] = heads_in(get(p + "self_attn.q_proj.weight"), H, dh);          // [head_index, d_model, d_head]
    sd[t + "attn." + kv + "W_K"] = heads_in(get(p + "self_attn.k_proj.weight"), H_kv, dh);  // [kv_head, d_model, d_head]
    sd[t + "attn." + kv + "W_V"] = heads_in(get(p + "self_attn.v_proj.weight"), H_kv, dh);  // [kv_head, d_model, d_head]
    auto bias = [&](const char* name, int64_t heads) {  // [heads, d_head]
      return o.qkv_bias ? heads_bias(get(p + "self_attn." + name + ".bias"), heads, dh) : torch::zeros({heads, dh});
    };
    sd[t + "attn.b_Q"] = bias("q_proj", H);
    sd[t + "attn." + kv + "b_K"] = bias("k_proj", H_kv);
    sd[t + "attn." + kv + "b_V"] = bias("v_proj", H_kv);
    // [head_index, d_head, d_model]
    sd[t + "attn.W_O"] = scaled(heads_out(get(p + "self_attn.o_proj.weight"), H, dh), o.attn_out_scale);
    sd[t + "attn.b_O"] = o.o_bias ? scaled(get(p + "self_attn.o_proj.bias"), o.attn_out_scale) : torch::zeros({d});
    if (o.qk_norm) {
      put_norm(sd, t + "attn.q_norm", p + "self_attn.q_norm");  // [d_head]
      put_norm(sd, t + "attn.k_norm", p + "self_attn.k_norm");  // [d_head]
    }
    if (o.post_norm_only) {
      put_norm(sd, t + "ln1_post", p + "post_attention_layernorm");
      put_norm(sd, t + "ln2_post", p + "post_feedforward_layernorm");
    } else if (o.sandwich) {
      put_norm(sd, t + "ln1_post", p + "post_attention_layernorm");
      put_norm(sd, t + "ln2", p + "pre_feedforward_layernorm");
      put_norm(sd, t + "ln2_post", p + "post_feedforward_layernorm");
    } else if (o.shared_ln) {
      if (o.norm_weights) {  // the MLP reads the attention's norm
        sd[t + "ln2.w"] = sd[t + "ln1.w"].clone();
        if (o.layer_norm) sd[t + "ln2.b"] = sd[t + "ln1.b"].clone();
      }
    } else {
      put_norm(sd, t + "ln2", p + "post_attention_layernorm");
    }
    if (cfg.num_experts > 0) {
      // Mixtral: the router and each expert stay nn.Linear weights [out, in], as in TransformerLens.
      sd[t + "mlp.W_gate.weight"] = get(p + "block_sparse_moe.gate.weight");  // [num_experts, d_model]
      for (int64_t e = 0; e < cfg.num_experts; ++e) {
        const std::string x = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
        const std::string y = t + "mlp.experts." + std::to_string(e) + ".";
        sd[y + "W_gate.weight"] = get(x + "w1.weight");  // [d_mlp, d_model]
        sd[y + "W_out.weight"] = get(x + "w2.weight");   // [d_model, d_mlp]
        sd[y + "W_in.weight"] = get(x + "w3.weight");    // [d_mlp, d_model]
      }
      continue;
    }
    sd[t + "mlp.W_in"] = transposed(get(p + "mlp.up_proj.weight"));  // [d_model, d_mlp]
    if (o.gated) sd[t + "mlp.W_gate"] = transposed(get(p + "mlp.gate_proj.weight"));  // [d_model, d_mlp]
    sd[t + "mlp.W_out"] = scaled(transposed(get(p + "mlp.down_proj.weight")), o.mlp_out_scale);  // [d_mlp, d_model]
    sd[t + "mlp.b_in"] = o.mlp_bias ? get(p + "mlp.up_proj.bias") : torch::zeros({cfg.d_mlp});
    sd[t + "mlp.b_out"] = o.mlp_bias ? scaled(get(p + "mlp.down_proj.bias"), o.mlp_out_scale) : torch::zeros({d});
  }
  put_norm(sd, "ln_final", "norm");
  // [d_model, d_vocab]: lm_head, or the unscaled embedding when tied
  sd["unembed.W_U"] = scaled(transposed(o.tied ? embed : get_full("lm_head.weight")), o.unembed_scale);
  sd["unembed.b_U"] = torch::zeros({cfg.d_vocab_out > 0 ? cfg.d_vocab_out : cfg.d_vocab});
  return sd;
}

ArchitectureConverter llama_like_converter(
    std::string name, std::vector<std::string> architectures, std::vector<std::string> model_types,
    std::function<void(const HfConfig&, HookedTransformerConfig&)> read_config,
    std::function<LlamaLikeOptions(const HfConfig&, const HookedTransformerConfig&)> options) {
  const std::string architecture = architectures.front();
  ArchitectureConverter c;
  c.name = name;
  c.architectures = std::move(architectures);
  c.model_types = std::move(model_types);
  c.read_config = [name, architecture, read_config](const nlohmann::json& json, const std::string& model_name,
                                                    const std::string& context) {
    HfConfig config(json, context, name);
    HookedTransformerConfig cfg;
    start_config(cfg, model_name, architecture);
    read_config(config, cfg);
    cfg.finalize();
    return cfg;
  };
  c.layout = [name, options](const nlohmann::json& json, const std::string& context,
                             const HookedTransformerConfig& cfg, const std::function<bool(const std::string&)>&) {
    auto o = options(HfConfig(json, context, name), cfg);
    auto layout = llama_like_layout(cfg, o);
    layout.options = o;
    return layout;
  };
  c.to_transformer_lens = [](const TensorGetter& get, const CheckpointLayout& layout,
                             const HookedTransformerConfig& cfg) {
    return llama_like_to_transformer_lens(get, cfg, std::any_cast<LlamaLikeOptions>(layout.options));
  };
  return c;
}

void read_rope_scaling(const HfConfig& config, HookedTransformerConfig& cfg) {
  const char* key = config.has("rope_scaling") ? "rope_scaling" : nullptr;
  if (!key) return;
  const auto& scaling = config.json()[key];
  if (!scaling.is_object()) config.fail("\"rope_scaling\" must be an object, found " + scaling.dump(), "fix config.json");
  HfConfig fields(scaling, config.context(), "rope_scaling");
  std::string type = fields.optional<std::string>("rope_type", fields.optional<std::string>("type", "default"));
  if (type == "default") return;
  if (type == "llama3") {
    cfg.use_NTK_by_parts_rope = true;
    cfg.NTK_by_parts_factor = fields.required<double>("factor");
    cfg.NTK_by_parts_low_freq_factor = fields.required<double>("low_freq_factor");
    cfg.NTK_by_parts_high_freq_factor = fields.required<double>("high_freq_factor");
    cfg.NTK_original_ctx_len = fields.required<int64_t>("original_max_position_embeddings");
    return;
  }
  if (type == "linear") {
    cfg.rotary_linear_scaling_factor = fields.required<double>("factor");
    return;
  }
  config.fail("has rope_scaling type \"" + type + "\", which tlens does not implement",
              "tlens implements the default rope, \"llama3\" and \"linear\"");
}

}  // namespace tlens::loading::architectures

namespace tlens::loading::architectures {

std::string read_act_fn(const HfConfig& config, const char* key) {
  const auto act = config.required<std::string>(key);
  // Hugging Face's names; gelu_pytorch_tanh is gelu_new's formula.
  for (const char* known : {"relu", "gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "silu"})
    if (act == known) return act;
  if (act == "swish") return "silu";
  if (act == "gelu_python") return "gelu";
  config.fail("\"" + std::string(key) + "\" is \"" + act + "\", which tlens does not implement",
              "tlens implements relu, gelu, gelu_new, gelu_fast, gelu_pytorch_tanh and silu");
}

void read_llama_like_config(const HfConfig& config, HookedTransformerConfig& cfg, bool always_grouped) {
  cfg.d_model = config.required<int64_t>("hidden_size");
  cfg.n_heads = config.required<int64_t>("num_attention_heads");
  cfg.n_layers = config.required<int64_t>("num_hidden_layers");
  cfg.d_mlp = config.required<int64_t>("intermediate_size");
  cfg.d_vocab = config.required<int64_t>("vocab_size");
  cfg.n_ctx = config.required<int64_t>("max_position_embeddings");
  cfg.eps = config.optional<double>("rms_norm_eps", 1e-6);
  cfg.d_head = config.has("head_dim") ? config.required<int64_t>("head_dim")
                                      : head_size(config, cfg.d_model, cfg.n_heads, "hidden_size",
                                                  "num_attention_heads");
  const int64_t kv = config.optional<int64_t>("num_key_value_heads", cfg.n_heads);
  if (kv <= 0 || cfg.n_heads % kv != 0)
    config.fail("num_key_value_heads " + std::to_string(kv) + " does not divide num_attention_heads " +
                    std::to_string(cfg.n_heads),
                "fix config.json");
  if (always_grouped || kv != cfg.n_heads) cfg.n_key_value_heads = kv;
  cfg.act_fn = read_act_fn(config, config.has("hidden_activation") ? "hidden_activation" : "hidden_act");
  cfg.normalization_type = "RMS";
  cfg.final_rms = true;
  cfg.gated_mlp = true;
  cfg.positional_embedding_type = "rotary";
  cfg.rotary_dim = cfg.d_head;
  cfg.rotary_base = config.optional<double>("rope_theta", 10000.0);
  read_rope_scaling(config, cfg);
}

void read_sliding_window(const HfConfig& config, HookedTransformerConfig& cfg, bool all_layers) {
  const int64_t window = config.optional<int64_t>("sliding_window", -1);
  std::vector<std::string> types;
  if (config.has("layer_types")) {
    for (const auto& type : config.required<std::vector<std::string>>("layer_types")) {
      if (type != "sliding_attention" && type != "full_attention")
        config.fail("\"layer_types\" has \"" + type + "\"",
                    "entries are \"sliding_attention\" or \"full_attention\"");
      types.push_back(type == "sliding_attention" ? "local" : "global");
    }
    if (static_cast<int64_t>(types.size()) != cfg.n_layers)
      config.fail("\"layer_types\" has " + std::to_string(types.size()) + " entries for " +
                      std::to_string(cfg.n_layers) + " layers",
                  "give one per layer");
  } else if (all_layers && window > 0) {
    types.assign(static_cast<size_t>(cfg.n_layers), "local");
  }
  bool any_local = false;
  for (const auto& type : types) any_local |= type == "local";
  if (!any_local) return;
  if (window <= 0) config.fail("has sliding-attention layers but no \"sliding_window\"", "fix config.json");
  cfg.use_local_attn = true;
  cfg.window_size = window;
  cfg.attn_types = types;
}

}  // namespace tlens::loading::architectures
