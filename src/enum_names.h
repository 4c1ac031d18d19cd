// The names of the API's enum options (PaddingSide, DecomposeMode, ...): one table per enum, so
// the function that turns a user's string into the enum lists every accepted name in its error.
//
//   constexpr tlens::EnumNames<PaddingSide, 2> kPaddingSides = {{{PaddingSide::left, "left"},
//                                                                {PaddingSide::right, "right"}}};
//   enum_from_name(kPaddingSides, "padding_side", "middle");
//   // tlens::Error: padding_side: expected "left" or "right", found "middle"
//   //               hint: use left or right
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <utility>

#include "tlens/error.h"

namespace tlens {

template <typename Enum, size_t N>
using EnumNames = std::array<std::pair<Enum, const char*>, N>;

template <typename Enum, size_t N>
Enum enum_from_name(const EnumNames<Enum, N>& names, const std::string& option,
                    const std::string& name) {
  for (const auto& [value, value_name] : names)
    if (name == value_name) return value;
  // "a" or "b" / "a", "b" or "c", for the message; a, b or c for the hint.
  std::string quoted, plain;
  for (size_t i = 0; i < N; ++i) {
    const char* separator = i == 0 ? "" : i + 1 == N ? " or " : ", ";
    quoted += separator + ("\"" + std::string(names[i].second) + "\"");
    plain += separator + std::string(names[i].second);
  }
  throw Error(option, "expected " + quoted + ", found \"" + name + "\"", "use " + plain);
}

}  // namespace tlens
