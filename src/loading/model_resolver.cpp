#include "tlens/loading/model_resolver.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "tlens/error.h"
#include "tlens/loading/data_dirs.h"
#include "util/files.h"
#include "util/strings.h"

namespace tlens::loading {

namespace fs = std::filesystem;

namespace {

// A name that is neither a folder, a shipped model nor a known name: the nearest known name, or
// for something that looks like a path, how a checkpoint folder looks.
[[noreturn]] void throw_unknown_model(const std::string& name_or_path) {
  const auto names = official_model_names();
  const std::string known = util::join(std::vector<std::string>(names.begin(), names.begin() + 5), ", ") +
                            ", ... (" + std::to_string(names.size()) + " names and their aliases: `tlens models`)";
  const std::string folder_hint = "or pass a folder holding config.json and model.safetensors";
  bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                         name_or_path.rfind('.', 0) == 0 || name_or_path.rfind('~', 0) == 0;
  if (looks_like_path) {
    throw Error(name_or_path, "no such directory, and not a known model name",
                "check the path (a checkpoint folder holds config.json and model.safetensors), "
                "or use one of: " +
                    known);
  }
  std::string nearest = nearest_name(name_or_path, known_model_names());
  throw Error(name_or_path, "unknown model name (known: " + known + ")",
              nearest.empty() ? "use one of the known names, " + folder_hint
                              : "did you mean '" + nearest + "'? " + folder_hint);
}

// config.json and model.safetensors (with the tokenizer's files when the hub has them); when the
// repository has no model.safetensors, model.safetensors.index.json and every shard it names.
std::string download_checkpoint(const std::string& official) {
  const std::string index = "model.safetensors.index.json";
  auto is_404 = [](const Error& error) { return std::string(error.what()).find("HTTP 404") != std::string::npos; };
  std::string snapshot;
  try {
    return download_from_hub(official, required_checkpoint_files(), optional_checkpoint_files());
  } catch (const Error& no_single_file) {
    if (!is_404(no_single_file) || std::string(no_single_file.what()).find("model.safetensors") == std::string::npos)
      throw;
    try {
      snapshot = download_from_hub(official, {"config.json", index}, {});
    } catch (const Error& no_index) {
      if (is_404(no_index)) throw no_single_file;  // neither: the first error says what is missing
      throw;
    }
  }
  std::vector<std::string> files = {"config.json", index};
  try {
    const auto json = nlohmann::json::parse(util::read_file((fs::path(snapshot) / index).string(), ""));
    for (const auto& [name, shard] : json.at("weight_map").items())
      if (std::find(files.begin(), files.end(), shard.get<std::string>()) == files.end())
        files.push_back(shard.get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw Error(official + "/" + index, std::string("is not a shard index: ") + e.what(),
                "it should map each tensor name to its shard in \"weight_map\"");
  }
  return download_from_hub(official, files, optional_checkpoint_files());
}

}  // namespace

std::string shipped_models_dir() {
  std::string dir = util::environment("TLENS_MODELS");
  if (!dir.empty()) return util::expand_user(dir);
  return find_data_subdir("models");
}

std::string resolve_model(const std::string& name_or_path) {
  std::error_code error;
  // 1. A checkpoint folder, as it is.
  if (!name_or_path.empty() && fs::is_directory(name_or_path, error)) return name_or_path;
  // 2. A model tlens ships.
  if (!name_or_path.empty() && name_or_path.find('/') == std::string::npos) {
    fs::path shipped = fs::path(shipped_models_dir()) / name_or_path;
    if (fs::exists(shipped / "config.json", error)) return shipped.string();
  }
  // 3. A known name: the Hugging Face cache, else a download into it.
  std::string official = official_model_name(name_or_path);
  if (official.empty()) throw_unknown_model(name_or_path);
  if (auto cached = find_in_hf_cache(official, required_checkpoint_files())) return *cached;
  // A sharded checkpoint: its index (the loader checks that every shard it lists is there).
  if (auto cached = find_in_hf_cache(official, {"config.json", "model.safetensors.index.json"})) return *cached;
  return download_checkpoint(official);
}

}  // namespace tlens::loading
