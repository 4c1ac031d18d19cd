#include "tlens/loading/key_check.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace tlens::loading {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

KeyMismatch compare_keys(const std::vector<ExpectedKey>& expected,
                         const std::vector<std::pair<std::string, std::vector<int64_t>>>& present,
                         const std::function<bool(const std::string&)>& ignored,
                         const std::string& expected_label) {
  std::map<std::string, const std::vector<int64_t>*> shapes;
  for (const auto& [name, shape] : present) shapes[name] = &shape;
  KeyMismatch mismatch;
  std::set<std::string> known;
  for (const auto& key : expected) {
    known.insert(key.name);
    auto it = shapes.find(key.name);
    if (it == shapes.end()) {
      if (!key.optional) mismatch.missing.push_back(key.name + (key.note.empty() ? "" : " " + key.note));
      continue;
    }
    const auto& shape = *it->second;
    bool fits = shape == key.shape;
    std::string wanted = shape_string(key.shape);
    if (key.at_least_rows && !key.shape.empty()) {
      fits = shape.size() == key.shape.size() && shape[0] >= key.shape[0] &&
             std::equal(shape.begin() + 1, shape.end(), key.shape.begin() + 1);
      wanted = "[>=" + wanted.substr(1);
    }
    if (!fits)
      mismatch.wrong_shape.push_back(key.name + " is " + shape_string(shape) + ", " +
                                     expected_label + " " + wanted);
  }
  for (const auto& [name, shape] : present)
    if (!known.count(name) && !(ignored && ignored(name))) mismatch.unexpected.push_back(name);
  return mismatch;
}

std::string KeyMismatch::describe() const {
  std::ostringstream out;
  auto list = [&](const char* what, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    out << "\n  " << what << " (" << keys.size() << "):";
    for (size_t i = 0; i < keys.size() && i < 12; ++i)
      out << " " << keys[i] << (i + 1 < keys.size() ? "," : "");
    if (keys.size() > 12) out << " ...";
  };
  list("missing keys", missing);
  list("wrong shapes", wrong_shape);
  list("unexpected keys", unexpected);
  return out.str();
}

}  // namespace tlens::loading
