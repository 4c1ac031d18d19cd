#include "tlens/loading/model_registry.h"

namespace tlens::loading {

namespace {

// Official name (= hub repo id) and the TransformerLens aliases that mean the same checkpoint.
struct KnownModel {
  std::string official;
  std::vector<std::string> aliases;
};

const std::vector<KnownModel>& known_models() {
  static const std::vector<KnownModel> models = {
      {"gpt2", {"gpt2-small", "openai-community/gpt2"}},
      {"gpt2-medium", {"openai-community/gpt2-medium"}},
      {"gpt2-large", {"openai-community/gpt2-large"}},
      {"gpt2-xl", {"openai-community/gpt2-xl"}},
      {"distilgpt2", {"distillgpt2", "distill-gpt2", "distil-gpt2", "gpt2-xs"}},
  };
  return models;
}

}  // namespace

std::string official_model_name(const std::string& name) {
  for (const auto& model : known_models()) {
    if (name == model.official) return model.official;
    for (const auto& alias : model.aliases) {
      if (name == alias) return model.official;
    }
  }
  return "";
}

std::vector<std::string> known_model_names() {
  std::vector<std::string> names;
  for (const auto& model : known_models()) {
    names.push_back(model.official);
    names.insert(names.end(), model.aliases.begin(), model.aliases.end());
  }
  return names;
}

std::vector<std::string> official_model_names() {
  std::vector<std::string> names;
  for (const auto& model : known_models()) names.push_back(model.official);
  return names;
}

const std::vector<std::string>& required_checkpoint_files() {
  static const std::vector<std::string> files = {"config.json", "model.safetensors"};
  return files;
}

const std::vector<std::string>& optional_checkpoint_files() {
  static const std::vector<std::string> files = {"vocab.json", "merges.txt", "tokenizer.json",
                                                 "generation_config.json"};
  return files;
}

}  // namespace tlens::loading
