// config_json: a checkpoint folder's config.json, parsed (no libtorch).
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace tlens::loading {

// config.json of a checkpoint folder; a tlens::Error naming the file when it cannot be read or
// is not JSON.
nlohmann::json read_config_json(const std::string& dir);

}  // namespace tlens::loading
