// `tlens models [--json]`: the models tlens can load: shipped with tlens, in the Hugging Face
// cache, or downloadable by name.
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
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
  for (const auto& dir : shipped_dirs)
    models.push_back({{"name", dir.filename().string()}, {"path", dir.string()}, {"source", "shipped"}});
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
  for (const auto& repo : repos)
    if (auto snapshot = loading::find_in_hf_cache(repo, loading::required_checkpoint_files()))
      models.push_back({{"name", repo}, {"path", *snapshot}, {"source", "cache"}});
  // Hub: the names resolve_model downloads.
  for (const auto& name : loading::official_model_names())
    models.push_back({{"name", name}, {"path", nullptr}, {"source", "hub"}});
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
  std::cout << std::left << std::setw(static_cast<int>(width)) << "NAME" << "  SOURCE   PATH\n";
  for (const auto& m : models)
    std::cout << std::left << std::setw(static_cast<int>(width)) << m["name"].get<std::string>() << "  "
              << std::setw(7) << m["source"].get<std::string>() << "  "
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
