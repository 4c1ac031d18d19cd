// Reading the components of a Hugging Face tokenizer.json (normalizer, pre_tokenizer,
// post_processor, decoder): each is an object with a "type". Internal to src/tokenizer.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tlens/error.h"

namespace tlens::tokenizer_detail {

// The component's "type"; an Error naming `where` if it has none.
inline std::string component_type(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object() || !json.contains("type") || !json["type"].is_string())
    throw Error(where, "expected an object with a \"type\", found " + json.dump(), "the tokenizer.json is corrupt");
  return json["type"].get<std::string>();
}

// A Sequence component's list of parts (`key`: "normalizers", "pretokenizers", ...).
inline const nlohmann::json& component_list(const nlohmann::json& json, const char* key, const std::string& where) {
  if (!json.contains(key) || !json[key].is_array())
    throw Error(where, std::string("a Sequence without a \"") + key + "\" list", "the tokenizer.json is corrupt");
  return json[key];
}

}  // namespace tlens::tokenizer_detail
