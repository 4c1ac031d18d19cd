// `tlens models [--json]`: the models tlens can load: shipped with tlens, in the Hugging Face
// cache, or downloadable by name.
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "tlens/loading/config_json.h"
#include "tlens/loading/model_registry.h"
#include "tlens/loading/model_resolver.h"

namespace fs = std::filesystem;

namespace tlens::app {

namespace {

struct ModelsOptions {
  bool json = false;
};

void define_options(CLI::App& command, ModelsOptions& options) {
  command.add_flag("--json", options.json, "print JSON");
}

nlohmann::json list_models() {
  nlohmann::json models = nlohmann::json::array();
  std::error_code error;
  // Shipped: every checkpoint folder under the models folder.
  const fs::path shipped = loading::shipped_models_dir();
  std::vector<fs::path> shipped_dirs;
  if (fs::is_directory(shipped, error))
    for (const auto& entry : fs::directory_iterator(shipped, error))
      if (fs::exists(entry.path() / "config.json")) shipped_dirs.push_back(entry.path());
  std::sort(shipped_dirs.begin(), shipped_dirs.end());
  // The architecture from config.json ("" when unreadable).
  auto architecture_of = [](const fs::path& dir) -> std::string {
    try {
      auto config = loading::read_config_json(dir.string());
      if (config.contains("architectures") && config["architectures"].is_array() && !config["architectures"].empty() &&
          config["architectures"][0].is_string())
        return config["architectures"][0].get<std::string>();
    } catch (const std::exception&) {
    }
    return "";
  };
  for (const auto& dir : shipped_dirs)
    models.push_back({{"name", dir.filename().string()}, {"path", dir.string()}, {"source", "shipped"},
                      {"architecture", architecture_of(dir)}});
  // Cache: snapshots holding a whole checkpoint, as huggingface_hub lays them out.
  const fs::path cache = loading::hf_hub_cache_dir();
  std::vector<std::string> repos;
  if (fs::is_directory(cache, error))
    for (const auto& entry : fs::directory_iterator(cache, error)) {
      const std::string folder = entry.path().filename().string();
      if (folder.rfind("models--", 0) != 0) continue;
      std::string repo = folder.substr(8);
      for (size_t at; (at = repo.find("--")) != std::string::npos;) repo.replace(at, 2, "/");
      repos.push_back(repo);
    }
  std::sort(repos.begin(), repos.end());
  for (const auto& repo : repos) {
    auto snapshot = loading::find_in_hf_cache(repo, loading::required_checkpoint_files());
    if (!snapshot) snapshot = loading::find_in_hf_cache(repo, {"config.json", "model.safetensors.index.json"});
    if (snapshot)
      models.push_back({{"name", repo}, {"path", *snapshot}, {"source", "cache"}, {"architecture", architecture_of(*snapshot)}});
  }
  // Hub: TransformerLens's official names of the families tlens loads (resolve_model finds them
  // in the cache, else downloads them), with their aliases.
  for (const auto& name : loading::official_model_names())
    models.push_back({{"name", name}, {"path", nullptr}, {"source", "hub"},
                      {"architecture", loading::model_architecture(name)}, {"aliases", loading::model_aliases(name)}});
  return models;
}

int models(const ModelsOptions& options) {
  const nlohmann::json models = list_models();
  if (options.json) {
    std::cout << models.dump(2) << "\n";
    return 0;
  }
  size_t width = 4;
  for (const auto& m : models) width = std::max(width, m["name"].get<std::string>().size());
  std::cout << std::left << std::setw(static_cast<int>(width)) << "NAME" << "  SOURCE   "
            << std::setw(22) << "ARCHITECTURE" << "  PATH\n";
  for (const auto& m : models)
    std::cout << std::left << std::setw(static_cast<int>(width)) << m["name"].get<std::string>() << "  "
              << std::setw(7) << m["source"].get<std::string>() << "  " << std::setw(22)
              << m["architecture"].get<std::string>() << "  "
              << (m["path"].is_null() ? "(downloaded on first use)" : m["path"].get<std::string>()) << "\n";
  return 0;
}

}  // namespace

Command add_models(CLI::App& tlens) {
  return make_command(tlens, "models",
                      "the models tlens can load: shipped, in the Hugging Face cache, or downloadable",
                      define_options, models);
}

}  // namespace tlens::app
