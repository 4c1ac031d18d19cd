// One typed field of a parsed JSON object, for the config readers (config.cpp,
// loading/architectures/gpt2_config.cpp): a value is taken only when it has the field's JSON type, never
// cast (2.5 layers, "64" or 1e300 are not a d_model), so the error can name the field.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

namespace tlens::json_field {

// int64_t: a JSON integer that fits; double: any number; bool: true/false; std::string: a string;
// std::vector<std::string>: an array of strings.
template <typename T>
bool holds(const nlohmann::json& value) {
  if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (!value.is_array()) return false;
    for (const auto& item : value)
      if (!item.is_string()) return false;
    return true;
  } else if constexpr (std::is_same_v<T, bool>) {
    return value.is_boolean();
  } else if constexpr (std::is_same_v<T, std::string>) {
    return value.is_string();
  } else if constexpr (std::is_floating_point_v<T>) {
    return value.is_number();
  } else {
    static_assert(std::is_same_v<T, int64_t>);
    return value.is_number_integer() &&
           !(value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX));
  }
}

// What holds<T> wants, for the error message: "an integer", "a number", ...
template <typename T>
const char* expected() {
  if constexpr (std::is_same_v<T, std::vector<std::string>>) return "a list of strings";
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  if constexpr (std::is_same_v<T, std::string>) return "a string";
  if constexpr (std::is_floating_point_v<T>) return "a number";
  return "an integer";
}

}  // namespace tlens::json_field
