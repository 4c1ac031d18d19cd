#include "tlens/config.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <sstream>
#include <type_traits>
#include <utility>
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

// How to_string shows a field where it is not Python's repr of the value.
enum class Shown {
  as_value,          // 12, 'gelu_new', True, 1e-05
  none_if_empty,     // "" -> None
  none_if_negative,  // -1 -> None
  as_torch_device,   // "cuda:1" -> device(type='cuda', index=1)
  as_torch_dtype,    // "float32" -> torch.float32
  when_set,          // printed only when it differs from the default (fields of other families)
  when_set_or_none,  // when_set, and -1 / "" -> None
  hidden,            // left out, as the notebook's print of TransformerLens's config has it
};
// Whether from_json reads the field, or finalize() derives it (to_json still writes it).
enum class Read { from_json, never };

// The one list of HookedTransformerConfig's fields: to_json, from_json and to_string all walk it.
// A field added to the struct is added here, and then reads, writes and prints.
template <typename Config, typename Visit>
void for_each_field(Config& cfg, Visit&& visit) {
  auto field = [&](const char* name, auto& value, Shown shown = Shown::as_value,
                   Read read = Read::from_json) { visit(name, value, shown, read); };
  field("n_layers", cfg.n_layers);
  field("d_model", cfg.d_model);
  field("n_ctx", cfg.n_ctx);
  field("d_head", cfg.d_head);
  field("n_heads", cfg.n_heads);
  field("d_mlp", cfg.d_mlp);
  field("d_vocab", cfg.d_vocab);
  field("d_vocab_out", cfg.d_vocab_out);
  field("model_name", cfg.model_name);
  field("act_fn", cfg.act_fn);
  field("eps", cfg.eps);
  field("use_attn_scale", cfg.use_attn_scale);
  field("attn_scale", cfg.attn_scale, Shown::hidden);
  field("scale_attn_by_inverse_layer_idx", cfg.scale_attn_by_inverse_layer_idx);
  field("normalization_type", cfg.normalization_type, Shown::none_if_empty);
  field("positional_embedding_type", cfg.positional_embedding_type);
  field("attention_dir", cfg.attention_dir);
  field("attn_only", cfg.attn_only);
  field("parallel_attn_mlp", cfg.parallel_attn_mlp);
  field("gated_mlp", cfg.gated_mlp);
  field("final_rms", cfg.final_rms);
  field("post_embedding_ln", cfg.post_embedding_ln);
  field("n_key_value_heads", cfg.n_key_value_heads, Shown::when_set_or_none);
  field("ungroup_grouped_query_attention", cfg.ungroup_grouped_query_attention, Shown::when_set);
  field("rotary_dim", cfg.rotary_dim, Shown::none_if_negative);
  field("rotary_base", cfg.rotary_base, Shown::when_set);
  field("rotary_adjacent_pairs", cfg.rotary_adjacent_pairs, Shown::when_set);
  field("rotary_base_local", cfg.rotary_base_local, Shown::when_set_or_none);
  field("use_NTK_by_parts_rope", cfg.use_NTK_by_parts_rope, Shown::when_set);
  field("NTK_by_parts_factor", cfg.NTK_by_parts_factor, Shown::when_set);
  field("NTK_by_parts_low_freq_factor", cfg.NTK_by_parts_low_freq_factor, Shown::when_set);
  field("NTK_by_parts_high_freq_factor", cfg.NTK_by_parts_high_freq_factor, Shown::when_set);
  field("NTK_original_ctx_len", cfg.NTK_original_ctx_len, Shown::when_set);
  field("rotary_linear_scaling_factor", cfg.rotary_linear_scaling_factor, Shown::when_set);
  field("use_local_attn", cfg.use_local_attn);
  field("window_size", cfg.window_size, Shown::none_if_negative);
  field("attn_types", cfg.attn_types, Shown::none_if_empty);
  field("attn_scores_soft_cap", cfg.attn_scores_soft_cap, Shown::when_set);
  field("output_logits_soft_cap", cfg.output_logits_soft_cap, Shown::when_set);
  field("use_qk_norm", cfg.use_qk_norm, Shown::when_set);
  field("use_normalization_before_and_after", cfg.use_normalization_before_and_after, Shown::when_set);
  field("use_pre_norm", cfg.use_pre_norm, Shown::when_set);
  field("qk_norm_per_head", cfg.qk_norm_per_head, Shown::when_set);
  field("clip_qkv", cfg.clip_qkv, Shown::when_set_or_none);
  field("num_experts", cfg.num_experts, Shown::when_set_or_none);
  field("experts_per_token", cfg.experts_per_token, Shown::when_set_or_none);
  field("original_architecture", cfg.original_architecture, Shown::none_if_empty);
  field("tokenizer_name", cfg.tokenizer_name, Shown::none_if_empty);
  field("default_prepend_bos", cfg.default_prepend_bos);
  field("tokenizer_prepends_bos", cfg.tokenizer_prepends_bos);
  field("use_attn_result", cfg.use_attn_result);
  field("use_split_qkv_input", cfg.use_split_qkv_input);
  field("use_hook_mlp_in", cfg.use_hook_mlp_in);
  field("use_attn_in", cfg.use_attn_in);
  field("use_hook_tokens", cfg.use_hook_tokens);
  field("init_mode", cfg.init_mode);
  field("initializer_range", cfg.initializer_range);
  field("init_weights", cfg.init_weights);
  field("seed", cfg.seed, Shown::none_if_negative);
  field("dtype", cfg.dtype, Shown::as_torch_dtype);
  field("device", cfg.device, Shown::as_torch_device);
  field("n_devices", cfg.n_devices);
  field("from_checkpoint", cfg.from_checkpoint);
  field("n_params", cfg.n_params, Shown::as_value, Read::never);
}

// Fields of TransformerLens's config that tlens does not have, printed as TransformerLens's
// defaults so that the print matches.
constexpr std::array<std::pair<const char*, const char*>, 3> kFieldsTlensLacks = {{
    {"checkpoint_index", "None"},
    {"checkpoint_label_type", "None"},
    {"checkpoint_value", "None"},
}};

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

// Python's repr of a field's value, as TransformerLens prints its config.
template <typename T>
std::string python_repr(const T& value, Shown shown) {
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "True" : "False";
  } else if constexpr (std::is_same_v<T, double>) {
    return shown == Shown::when_set_or_none && value < 0 ? "None" : py_float(value);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    const bool none = shown == Shown::none_if_negative || shown == Shown::when_set_or_none;
    return none && value < 0 ? "None" : std::to_string(value);
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (value.empty()) return "None";
    std::string out = "[";
    for (size_t i = 0; i < value.size(); ++i) out += (i ? ", '" : "'") + value[i] + "'";
    return out + "]";
  } else {
    static_assert(std::is_same_v<T, std::string>);
    if ((shown == Shown::none_if_empty || shown == Shown::when_set_or_none) && value.empty())
      return "None";
    if (shown == Shown::as_torch_dtype) return "torch." + value;
    if (shown == Shown::as_torch_device) {
      const size_t colon = value.find(':');
      if (colon == std::string::npos) return "device(type='" + value + "')";
      return "device(type='" + value.substr(0, colon) + "', index=" + value.substr(colon + 1) + ")";
    }
    return "'" + value + "'";
  }
}

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
  const bool known_norm = normalization_type == "LN" || normalization_type == "LNPre" ||
                          normalization_type == "RMS" || normalization_type == "RMSPre" ||
                          normalization_type.empty();
  require(known_norm, "normalization_type", "unsupported '" + normalization_type + "'",
          "use LN, LNPre, RMS, RMSPre or none");
  const auto& pos_type = positional_embedding_type;
  require(pos_type == "standard" || pos_type == "rotary" || pos_type == "alibi",
          "positional_embedding_type", "unsupported '" + pos_type + "'",
          "use standard (learned), rotary or alibi");
  require(attention_dir == "causal", "attention_dir", "unsupported '" + attention_dir + "'",
          "tlens supports causal attention");
  require(n_key_value_heads == -1 || (n_key_value_heads > 0 && n_heads % n_key_value_heads == 0),
          "n_key_value_heads",
          "must divide n_heads " + std::to_string(n_heads) + ", got " + std::to_string(n_key_value_heads),
          "each key/value head serves n_heads / n_key_value_heads query heads; -1 for none");
  if (pos_type == "rotary") {
    if (rotary_dim < 0) rotary_dim = d_head;
    require(rotary_dim > 0 && rotary_dim <= d_head && rotary_dim % 2 == 0, "rotary_dim",
            "must be even and in (0, d_head " + std::to_string(d_head) + "], got " +
                std::to_string(rotary_dim),
            "rotary turns pairs of q/k dims");
    require(rotary_base > 0, "rotary_base", "must be > 0, got " + py_float(rotary_base), "");
    require(rotary_linear_scaling_factor > 0, "rotary_linear_scaling_factor",
            "must be > 0, got " + py_float(rotary_linear_scaling_factor), "1 is no scaling");
  }
  if (use_local_attn) {
    require(window_size > 0, "window_size",
            "must be > 0 with use_local_attn, got " + std::to_string(window_size),
            "the number of keys a local layer's query sees, itself included");
    if (attn_types.empty()) attn_types.assign(static_cast<size_t>(n_layers), "local");
  }
  require(attn_types.empty() || static_cast<int64_t>(attn_types.size()) == n_layers, "attn_types",
          "has " + std::to_string(attn_types.size()) + " entries for " + std::to_string(n_layers) +
              " layers",
          "give one \"local\" or \"global\" per layer");
  for (const auto& type : attn_types)
    require(type == "local" || type == "global", "attn_types",
            "entries are \"local\" or \"global\", found \"" + type + "\"", "");
  require(use_pre_norm || use_normalization_before_and_after, "use_pre_norm",
          "false needs use_normalization_before_and_after (the norms after attention and the MLP)", "");
  if (num_experts > 0) {
    require(experts_per_token > 0 && experts_per_token <= num_experts, "experts_per_token",
            "must be in [1, num_experts " + std::to_string(num_experts) + "], got " +
                std::to_string(experts_per_token),
            "Mixtral uses 2");
  } else {
    require(num_experts == -1, "num_experts", "must be > 0, or -1 for a dense MLP", "");
  }
  auto attention_params = checked_product({n_layers, 4, d_model, d_head, n_heads});
  std::optional<int64_t> mlp_params = 0;
  if (!attn_only) {
    // TransformerLens counts each expert's matrices and its router row.
    mlp_params = checked_product({d_model, d_mlp, gated_mlp ? 3 : 2});
    if (mlp_params && num_experts > 0) mlp_params = checked_product({*mlp_params + d_model, num_experts});
    if (mlp_params) mlp_params = checked_product({n_layers, *mlp_params});
  }
  bool fits = attention_params && mlp_params &&
              !__builtin_add_overflow(*attention_params, *mlp_params, &n_params);
  require(fits, "n_params",
          "overflows 64 bits: n_layers " + std::to_string(n_layers) + ", d_model " +
              std::to_string(d_model) + ", n_heads " + std::to_string(n_heads) + " x d_head " +
              std::to_string(d_head) + ", d_mlp " + std::to_string(d_mlp) +
              " are far beyond any model",
          "check those fields");
}

bool HookedTransformerConfig::is_local_layer(int64_t layer) const {
  return use_local_attn && layer < static_cast<int64_t>(attn_types.size()) &&
         attn_types[static_cast<size_t>(layer)] == "local";
}

double HookedTransformerConfig::effective_attn_scale(int64_t layer) const {
  double scale = attn_scale > 0 ? attn_scale : std::sqrt(static_cast<double>(d_head));
  if (!use_attn_scale) scale = 1.0;
  if (scale_attn_by_inverse_layer_idx) scale *= static_cast<double>(layer + 1);
  return scale;
}

nlohmann::json HookedTransformerConfig::to_json() const {
  nlohmann::json json = nlohmann::json::object();
  for_each_field(*this, [&](const char* name, const auto& value, Shown, Read) { json[name] = value; });
  return json;
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
  for_each_field(cfg, [&](const char* name, auto& field, Shown, Read read) {
    using T = std::decay_t<decltype(field)>;
    if (read == Read::never || !j.contains(name) || j[name].is_null()) return;
    if (!json_field::holds<T>(j[name])) {
      throw Error(std::string("HookedTransformerConfig.") + name,
                  std::string("expected ") + json_field::expected<T>() + ", found " + j[name].dump(),
                  "fix the config's JSON");
    }
    field = j[name].get<T>();
  });
  cfg.finalize();
  return cfg;
}

std::string HookedTransformerConfig::to_string() const {
  // pprint of the dataclass dict: keys sorted, one per line.
  std::vector<std::pair<std::string, std::string>> fields(kFieldsTlensLacks.begin(),
                                                          kFieldsTlensLacks.end());
  // The defaults' reprs, to leave out the other families' fields at their defaults.
  std::map<std::string, std::string> defaults;
  HookedTransformerConfig default_cfg;
  for_each_field(default_cfg, [&](const char* name, const auto& value, Shown shown, Read) {
    defaults[name] = python_repr(value, shown);
  });
  for_each_field(*this, [&](const char* name, const auto& value, Shown shown, Read) {
    if (shown == Shown::hidden) return;
    std::string repr = python_repr(value, shown);
    if ((shown == Shown::when_set || shown == Shown::when_set_or_none) && repr == defaults[name]) return;
    fields.emplace_back(name, std::move(repr));
  });
  std::sort(fields.begin(), fields.end());
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
