// Private string helpers (not installed).
#pragma once

#include <string>
#include <vector>

namespace tlens::util {

// `text` without leading and trailing spaces, tabs, CRs and LFs.
inline std::string trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

// {"a", "b", "c"}, ", " -> "a, b, c".
inline std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string joined;
  for (const auto& item : items) joined += (joined.empty() ? "" : separator) + item;
  return joined;
}

}  // namespace tlens::util
