#include "tlens/loading/architecture.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "loading/architectures/architectures.h"
#include "tlens/error.h"

namespace tlens::loading {

const std::vector<const ArchitectureConverter*>& architecture_converters() {
  // One line per architecture.
  static const std::vector<const ArchitectureConverter*> table = {
      &architectures::gpt2(),    &architectures::gpt_neo(), &architectures::gptj(),
      &architectures::gpt_neox(), &architectures::opt(),    &architectures::bloom(),
      &architectures::llama(),   &architectures::mistral(), &architectures::mixtral(),
      &architectures::qwen2(),   &architectures::qwen3(),   &architectures::gemma(),
      &architectures::gemma2(),  &architectures::gemma3(),  &architectures::phi(),
      &architectures::phi3(),    &architectures::stablelm(), &architectures::granite(),
      &architectures::olmo(),    &architectures::olmo2(),
  };
  return table;
}

namespace {

std::string supported_list() {
  std::string names;
  for (const auto* c : architecture_converters())
    for (const auto& a : c->architectures) names += (names.empty() ? "" : ", ") + a;
  return names;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

const ArchitectureConverter& converter_for(const nlohmann::json& config, const std::string& context) {
  if (!config.is_object()) throw Error(context, "is not a JSON object", "");
  if (config.contains("architectures") && config["architectures"].is_array()) {
    for (const auto& name : config["architectures"])
      if (name.is_string())
        for (const auto* c : architecture_converters())
          if (contains(c->architectures, name.get<std::string>())) return *c;
  }
  // Older configs name only the model_type; a config with neither is read as GPT-2's, whose own
  // config.json files have carried both only since 2020.
  const bool has_type = config.contains("model_type") && config["model_type"].is_string();
  if (has_type || !config.contains("architectures")) {
    const std::string type = has_type ? config["model_type"].get<std::string>() : "gpt2";
    for (const auto* c : architecture_converters())
      if (contains(c->model_types, type)) return *c;
  }
  std::string found = config.contains("architectures") ? config["architectures"].dump() : "";
  if (has_type) found += (found.empty() ? "" : ", ") + std::string("model_type ") + config["model_type"].dump();
  throw Error(context, "is a " + found + " model; tlens loads " + supported_list(),
              "pass a checkpoint of a supported architecture");
}

const ArchitectureConverter& converter_for(const HookedTransformerConfig& cfg) {
  for (const auto* c : architecture_converters())
    if (contains(c->architectures, cfg.original_architecture)) return *c;
  throw Error("config of " + cfg.model_name,
              "has original_architecture '" + cfg.original_architecture + "'; tlens writes " +
                  supported_list(),
              "");
}

}  // namespace tlens::loading
