#include "tlens/loading/config_json.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tlens/error.h"

namespace fs = std::filesystem;

namespace tlens::loading {

nlohmann::json read_config_json(const std::string& dir) {
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
  return config;
}

}  // namespace tlens::loading
