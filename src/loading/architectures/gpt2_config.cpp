#include "tlens/loading/hf_gpt2_config.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "json_field.h"
#include "tlens/error.h"
#include "tlens/loading/config_json.h"

namespace fs = std::filesystem;

namespace tlens::loading {

namespace {
const char* const kNotGpt2Hint = "is this a GPT-2 config.json? (model_type \"gpt2\")";

int64_t required_int(const nlohmann::json& config, const char* key, const std::string& context) {
  if (!config.contains(key) || !json_field::holds<int64_t>(config[key]))
    throw Error(context, std::string("needs an integer \"") + key + "\"" +
                             (config.contains(key) ? ", found " + config[key].dump() : ""),
                kNotGpt2Hint);
  return config[key].get<int64_t>();
}

// An optional field: `fallback` when absent or null, an error naming it when of another type.
template <typename T>
T optional_field(const nlohmann::json& config, const char* key, T fallback,
                 const std::string& context) {
  if (!config.contains(key) || config[key].is_null()) return fallback;
  const nlohmann::json& value = config[key];
  if (!json_field::holds<T>(value)) {
    throw Error(context,
                std::string("\"") + key + "\" must be " + json_field::expected<T>() +
                    ", found " + value.dump(),
                kNotGpt2Hint);
  }
  return value.get<T>();
}
}  // namespace

HookedTransformerConfig hf_gpt2_config(const nlohmann::json& config, const std::string& model_name,
                                       const std::string& context) {
  if (!config.is_object()) throw Error(context, "is not a JSON object", "");
  if (config.contains("model_type") && config["model_type"] != "gpt2")
    throw Error(context,
                "model_type is " + config["model_type"].dump() + ", tlens loads GPT-2 (\"gpt2\")",
                "pass a GPT-2 checkpoint folder");
  HookedTransformerConfig cfg;
  cfg.model_name = model_name;
  cfg.original_architecture = "GPT2LMHeadModel";
  cfg.tokenizer_name = model_name;
  cfg.d_model = required_int(config, "n_embd", context);
  cfg.n_heads = required_int(config, "n_head", context);
  cfg.n_layers = required_int(config, "n_layer", context);
  cfg.d_vocab = required_int(config, "vocab_size", context);
  if (cfg.n_heads <= 0 || cfg.d_model % cfg.n_heads != 0)
    throw Error(context, "n_embd " + std::to_string(cfg.d_model) + " is not divisible by n_head " +
                             std::to_string(cfg.n_heads), "fix config.json");
  cfg.d_head = cfg.d_model / cfg.n_heads;
  // n_inner null (GPT-2's own config) means 4 * n_embd; -1 lets finalize() say so, or overflow.
  cfg.d_mlp = optional_field<int64_t>(config, "n_inner", -1, context);
  cfg.n_ctx = config.contains("n_ctx") ? required_int(config, "n_ctx", context)
                                       : required_int(config, "n_positions", context);
  cfg.eps = optional_field<double>(config, "layer_norm_epsilon", cfg.eps, context);
  if (!std::isfinite(cfg.eps) || cfg.eps < 0)
    throw Error(context, "\"layer_norm_epsilon\" must be a finite number >= 0, found " +
                             config["layer_norm_epsilon"].dump(), "GPT-2 uses 1e-05");
  cfg.act_fn = optional_field<std::string>(config, "activation_function", "gelu_new", context);
  cfg.scale_attn_by_inverse_layer_idx =
      optional_field<bool>(config, "scale_attn_by_inverse_layer_idx", false, context);
  cfg.normalization_type = "LN";
  cfg.default_prepend_bos = true;
  cfg.init_weights = false;
  cfg.finalize();
  return cfg;
}

HookedTransformerConfig read_hf_gpt2_config(const std::string& dir) {
  std::string name = fs::path(dir).filename().string();
  if (name.empty()) name = fs::path(dir).parent_path().filename().string();
  return hf_gpt2_config(read_config_json(dir), name, (fs::path(dir) / "config.json").string());
}

}  // namespace tlens::loading
