#include "tlens/loading/hf_gpt2_config.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tlens/error.h"

namespace fs = std::filesystem;

namespace tlens::loading {

namespace {
int64_t required_int(const nlohmann::json& config, const char* key, const std::string& context) {
  if (!config.contains(key) || !config[key].is_number_integer())
    throw Error(context, std::string("needs an integer \"") + key + "\"",
                "is this a GPT-2 config.json? (model_type \"gpt2\")");
  return config[key].get<int64_t>();
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
  cfg.d_mlp = config.contains("n_inner") && config["n_inner"].is_number_integer()
                  ? config["n_inner"].get<int64_t>()
                  : 4 * cfg.d_model;
  cfg.n_ctx = config.contains("n_ctx") ? required_int(config, "n_ctx", context)
                                       : required_int(config, "n_positions", context);
  if (config.contains("layer_norm_epsilon")) cfg.eps = config["layer_norm_epsilon"].get<double>();
  cfg.act_fn = config.value("activation_function", std::string("gelu_new"));
  cfg.scale_attn_by_inverse_layer_idx = config.value("scale_attn_by_inverse_layer_idx", false);
  cfg.normalization_type = "LN";
  cfg.default_prepend_bos = true;
  cfg.init_weights = false;
  cfg.finalize();
  return cfg;
}

HookedTransformerConfig read_hf_gpt2_config(const std::string& dir) {
  const std::string path = (fs::path(dir) / "config.json").string();
  std::ifstream in(path);
  if (!in)
    throw Error(path, "cannot be opened",
                "a Hugging Face checkpoint folder holds config.json and model.safetensors");
  nlohmann::json config;
  try {
    in >> config;
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("is not valid JSON: ") + e.what(), "the file is corrupt; fetch it again");
  }
  std::string name = fs::path(dir).filename().string();
  if (name.empty()) name = fs::path(dir).parent_path().filename().string();
  return hf_gpt2_config(config, name, path);
}

}  // namespace tlens::loading
