#include "tlens/error.h"

#include <algorithm>

namespace tlens {

namespace {
std::string format_message(const std::string& what, const std::string& problem,
                           const std::string& hint) {
  std::string message = what.empty() ? problem : what + ": " + problem;
  if (!hint.empty()) message += "\nhint: " + hint;
  return message;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}
}  // namespace

Error::Error(const std::string& what, const std::string& problem, const std::string& hint)
    : std::runtime_error(format_message(what, problem, hint)), object_(what), hint_(hint) {}

std::string nearest_name(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::string::npos;
  for (const auto& candidate : candidates) {
    size_t distance = edit_distance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  // Too far away to be a typo: better no suggestion than a silly one.
  if (best_distance > std::max<size_t>(3, name.size() / 3)) return "";
  return best;
}

}  // namespace tlens
