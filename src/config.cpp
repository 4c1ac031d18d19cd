#include "tlens/config.h"

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_field.h"
#include "tlens/error.h"

namespace tlens {

namespace {
const std::vector<std::string> kActFns = {"relu", "gelu", "gelu_new", "gelu_fast",
                                          "gelu_pytorch_tanh", "silu"};

void require(bool ok, const std::string& field, const std::string& problem,
             const std::string& hint) {
  if (!ok) throw Error("HookedTransformerConfig." + field, problem, hint);
}

// Python's repr of the values TransformerLens's config holds.
std::string py_str(const std::string& s) { return "'" + s + "'"; }
std::string py_bool(bool b) { return b ? "True" : "False"; }
std::string py_float(double x) {
  // Python prints 1e-05 and 0.02886751345948129: shortest round-trip, exponent padded to 2 digits.
  for (int precision = 1; precision <= 17; ++precision) {
    std::ostringstream out;
    out.precision(precision);
    out << x;
    if (std::stod(out.str()) == x) {
      std::string s = out.str();
      auto e = s.find('e');
      if (e == std::string::npos) return s.find('.') == std::string::npos ? s + ".0" : s;
      return s;  // C++ already prints e-05 with two exponent digits
    }
  }
  return std::to_string(x);
}
std::string py_optional_int(int64_t x) { return x < 0 ? "None" : std::to_string(x); }

// The product of non-negative factors, or nullopt when it does not fit in int64_t.
std::optional<int64_t> checked_product(std::initializer_list<int64_t> factors) {
  int64_t product = 1;
  for (int64_t factor : factors) {
    if (__builtin_mul_overflow(product, factor, &product)) return std::nullopt;
  }
  return product;
}
}  // namespace

void HookedTransformerConfig::finalize() {
  require(n_layers >= 0, "n_layers", "must be >= 0, got " + std::to_string(n_layers), "");
  require(d_model > 0, "d_model", "must be > 0, got " + std::to_string(d_model),
          "set d_model to the residual stream width");
  require(n_ctx > 0, "n_ctx", "must be > 0, got " + std::to_string(n_ctx), "");
  if (n_heads < 0 && d_head > 0) n_heads = d_model / d_head;
  require(n_heads > 0, "n_heads", "must be > 0, got " + std::to_string(n_heads),
          "set n_heads or d_head");
  require(d_head > 0, "d_head", "must be > 0, got " + std::to_string(d_head),
          "GPT-2 uses d_head = d_model / n_heads");
  if (!attn_only) {
    if (d_mlp < 0) {
      auto four_d_model = checked_product({4, d_model});
      require(four_d_model.has_value(), "d_mlp",
              "the default 4 * d_model overflows 64 bits (d_model " + std::to_string(d_model) + ")",
              "check d_model");
      d_mlp = *four_d_model;
    }
    require(d_mlp > 0, "d_mlp", "must be > 0 for a model with MLPs, got " + std::to_string(d_mlp),
            "set attn_only = true for an attention-only model");
  }
  require(std::isfinite(eps) && eps >= 0, "eps", "must be a finite number >= 0, got " + py_float(eps),
          "GPT-2 uses 1e-05");
  require(d_vocab > 0, "d_vocab", "must be > 0, got " + std::to_string(d_vocab), "");
  if (d_vocab_out < 0) d_vocab_out = d_vocab;
  if (initializer_range < 0) initializer_range = 0.8 / std::sqrt(static_cast<double>(d_model));
  bool known_act = false;
  for (const auto& a : kActFns) known_act |= (a == act_fn);
  require(attn_only || known_act, "act_fn", "unknown activation '" + act_fn + "'",
          "use one of relu, gelu, gelu_new, gelu_fast, gelu_pytorch_tanh, silu");
  require(normalization_type == "LN" || normalization_type == "LNPre" || normalization_type.empty(),
          "normalization_type", "unsupported '" + normalization_type + "'",
          "tlens supports LN, LNPre and none");
  require(positional_embedding_type == "standard", "positional_embedding_type",
          "unsupported '" + positional_embedding_type + "'", "tlens supports 'standard' (GPT-2)");
  require(attention_dir == "causal", "attention_dir", "unsupported '" + attention_dir + "'",
          "tlens supports causal attention");
  // Fields TransformerLens has for other architectures; tlens computes GPT-2's forward only.
  require(!parallel_attn_mlp, "parallel_attn_mlp", "is not supported", "tlens runs GPT-2 blocks");
  require(!gated_mlp, "gated_mlp", "is not supported", "tlens runs GPT-2 MLPs");
  require(!final_rms, "final_rms", "is not supported", "tlens uses LayerNorm");
  require(!post_embedding_ln, "post_embedding_ln", "is not supported", "tlens runs GPT-2 blocks");
  auto attention_params = checked_product({n_layers, 4, d_model, d_head, n_heads});
  auto mlp_params = attn_only ? std::optional<int64_t>(0)
                              : checked_product({n_layers, d_model, d_mlp, gated_mlp ? 3 : 2});
  bool fits = attention_params && mlp_params &&
              !__builtin_add_overflow(*attention_params, *mlp_params, &n_params);
  require(fits, "n_params",
          "overflows 64 bits: n_layers " + std::to_string(n_layers) + ", d_model " +
              std::to_string(d_model) + ", n_heads " + std::to_string(n_heads) + " x d_head " +
              std::to_string(d_head) + ", d_mlp " + std::to_string(d_mlp) +
              " are far beyond any model",
          "check those fields");
}

double HookedTransformerConfig::effective_attn_scale(int64_t layer) const {
  double scale = attn_scale > 0 ? attn_scale : std::sqrt(static_cast<double>(d_head));
  if (!use_attn_scale) scale = 1.0;
  if (scale_attn_by_inverse_layer_idx) scale *= static_cast<double>(layer + 1);
  return scale;
}

nlohmann::json HookedTransformerConfig::to_json() const {
  return {{"n_layers", n_layers},
          {"d_model", d_model},
          {"n_ctx", n_ctx},
          {"d_head", d_head},
          {"n_heads", n_heads},
          {"d_mlp", d_mlp},
          {"d_vocab", d_vocab},
          {"d_vocab_out", d_vocab_out},
          {"model_name", model_name},
          {"act_fn", act_fn},
          {"eps", eps},
          {"use_attn_scale", use_attn_scale},
          {"attn_scale", attn_scale},
          {"scale_attn_by_inverse_layer_idx", scale_attn_by_inverse_layer_idx},
          {"normalization_type", normalization_type},
          {"positional_embedding_type", positional_embedding_type},
          {"attention_dir", attention_dir},
          {"attn_only", attn_only},
          {"original_architecture", original_architecture},
          {"tokenizer_name", tokenizer_name},
          {"default_prepend_bos", default_prepend_bos},
          {"use_attn_result", use_attn_result},
          {"use_split_qkv_input", use_split_qkv_input},
          {"use_hook_mlp_in", use_hook_mlp_in},
          {"use_attn_in", use_attn_in},
          {"use_hook_tokens", use_hook_tokens},
          {"parallel_attn_mlp", parallel_attn_mlp},
          {"gated_mlp", gated_mlp},
          {"final_rms", final_rms},
          {"post_embedding_ln", post_embedding_ln},
          {"tokenizer_prepends_bos", tokenizer_prepends_bos},
          {"init_mode", init_mode},
          {"init_weights", init_weights},
          {"initializer_range", initializer_range},
          {"seed", seed},
          {"dtype", dtype},
          {"device", device},
          {"n_devices", n_devices},
          {"from_checkpoint", from_checkpoint},
          {"n_params", n_params}};
}

HookedTransformerConfig HookedTransformerConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) {
    throw Error("HookedTransformerConfig",
                std::string("expected a JSON object of fields, found ") + j.type_name(),
                "write the config as {\"n_layers\": 2, \"d_model\": 64, ...}");
  }
  HookedTransformerConfig cfg;
  // Absent or null keeps the default; a value of another JSON type is an error naming the field
  // (never a cast: 2.5 layers, "64" or 1e300 are not a d_model).
  auto get = [&](const char* key, auto& field) {
    using T = std::decay_t<decltype(field)>;
    if (!j.contains(key) || j[key].is_null()) return;
    if (!json_field::holds<T>(j[key])) {
      throw Error(std::string("HookedTransformerConfig.") + key,
                  std::string("expected ") + json_field::expected<T>() + ", found " + j[key].dump(),
                  "fix the config's JSON");
    }
    field = j[key].get<T>();
  };
  get("n_layers", cfg.n_layers);
  get("d_model", cfg.d_model);
  get("n_ctx", cfg.n_ctx);
  get("d_head", cfg.d_head);
  get("n_heads", cfg.n_heads);
  get("d_mlp", cfg.d_mlp);
  get("d_vocab", cfg.d_vocab);
  get("d_vocab_out", cfg.d_vocab_out);
  get("model_name", cfg.model_name);
  get("act_fn", cfg.act_fn);
  get("eps", cfg.eps);
  get("use_attn_scale", cfg.use_attn_scale);
  get("attn_scale", cfg.attn_scale);
  get("scale_attn_by_inverse_layer_idx", cfg.scale_attn_by_inverse_layer_idx);
  get("normalization_type", cfg.normalization_type);
  get("positional_embedding_type", cfg.positional_embedding_type);
  get("attention_dir", cfg.attention_dir);
  get("attn_only", cfg.attn_only);
  get("original_architecture", cfg.original_architecture);
  get("tokenizer_name", cfg.tokenizer_name);
  get("default_prepend_bos", cfg.default_prepend_bos);
  get("use_attn_result", cfg.use_attn_result);
  get("use_split_qkv_input", cfg.use_split_qkv_input);
  get("use_hook_mlp_in", cfg.use_hook_mlp_in);
  get("use_attn_in", cfg.use_attn_in);
  get("use_hook_tokens", cfg.use_hook_tokens);
  get("parallel_attn_mlp", cfg.parallel_attn_mlp);
  get("gated_mlp", cfg.gated_mlp);
  get("final_rms", cfg.final_rms);
  get("post_embedding_ln", cfg.post_embedding_ln);
  get("tokenizer_prepends_bos", cfg.tokenizer_prepends_bos);
  get("init_mode", cfg.init_mode);
  get("init_weights", cfg.init_weights);
  get("initializer_range", cfg.initializer_range);
  get("seed", cfg.seed);
  get("dtype", cfg.dtype);
  get("device", cfg.device);
  get("n_devices", cfg.n_devices);
  get("from_checkpoint", cfg.from_checkpoint);
  cfg.finalize();
  return cfg;
}

std::string HookedTransformerConfig::to_string() const {
  // pprint of the dataclass dict: keys sorted, one per line.
  std::vector<std::pair<std::string, std::string>> fields = {
      {"act_fn", py_str(act_fn)},
      {"attention_dir", py_str(attention_dir)},
      {"attn_only", py_bool(attn_only)},
      {"attn_types", "None"},
      {"checkpoint_index", "None"},
      {"checkpoint_label_type", "None"},
      {"checkpoint_value", "None"},
      {"d_head", std::to_string(d_head)},
      {"d_mlp", std::to_string(d_mlp)},
      {"d_model", std::to_string(d_model)},
      {"d_vocab", std::to_string(d_vocab)},
      {"d_vocab_out", std::to_string(d_vocab_out)},
      {"default_prepend_bos", py_bool(default_prepend_bos)},
      {"device", device.find(':') == std::string::npos
                     ? "device(type='" + device + "')"
                     : "device(type='" + device.substr(0, device.find(':')) + "', index=" +
                           device.substr(device.find(':') + 1) + ")"},
      {"dtype", "torch." + dtype},
      {"eps", py_float(eps)},
      {"final_rms", py_bool(final_rms)},
      {"from_checkpoint", py_bool(from_checkpoint)},
      {"gated_mlp", py_bool(gated_mlp)},
      {"init_mode", py_str(init_mode)},
      {"init_weights", py_bool(init_weights)},
      {"initializer_range", py_float(initializer_range)},
      {"model_name", py_str(model_name)},
      {"n_ctx", std::to_string(n_ctx)},
      {"n_devices", std::to_string(n_devices)},
      {"n_heads", std::to_string(n_heads)},
      {"n_layers", std::to_string(n_layers)},
      {"n_params", std::to_string(n_params)},
      {"normalization_type", normalization_type.empty() ? "None" : py_str(normalization_type)},
      {"original_architecture",
       original_architecture.empty() ? "None" : py_str(original_architecture)},
      {"parallel_attn_mlp", py_bool(parallel_attn_mlp)},
      {"positional_embedding_type", py_str(positional_embedding_type)},
      {"post_embedding_ln", py_bool(post_embedding_ln)},
      {"rotary_dim", "None"},
      {"scale_attn_by_inverse_layer_idx", py_bool(scale_attn_by_inverse_layer_idx)},
      {"seed", py_optional_int(seed)},
      {"tokenizer_name", tokenizer_name.empty() ? "None" : py_str(tokenizer_name)},
      {"tokenizer_prepends_bos", py_bool(tokenizer_prepends_bos)},
      {"use_attn_in", py_bool(use_attn_in)},
      {"use_attn_result", py_bool(use_attn_result)},
      {"use_attn_scale", py_bool(use_attn_scale)},
      {"use_hook_mlp_in", py_bool(use_hook_mlp_in)},
      {"use_hook_tokens", py_bool(use_hook_tokens)},
      {"use_local_attn", "False"},
      {"use_split_qkv_input", py_bool(use_split_qkv_input)},
      {"window_size", "None"},
  };
  std::ostringstream out;
  out << "HookedTransformerConfig:\n{";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out << ",\n ";
    out << "'" << fields[i].first << "': " << fields[i].second;
  }
  out << "}";
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const HookedTransformerConfig& cfg) {
  return out << cfg.to_string();
}

}  // namespace tlens
