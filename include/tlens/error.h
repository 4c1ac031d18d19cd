// tlens::Error — the one exception type the library throws for I/O, config and user errors.
//
//   throw tlens::Error("model.safetensors", "header says 48 MB of data, file has 12 bytes",
//                      "the download was cut; delete the file and run again");
//   what(): "model.safetensors: header says 48 MB of data, file has 12 bytes
//            hint: the download was cut; delete the file and run again"
//
// Only `main` catches it, prints `error: ...` and exits non-zero; the library never calls exit().
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace tlens {

class Error : public std::runtime_error {
 public:
  // `what` names the object (a file, a hook, a config field), `problem` says what was expected and
  // what was found, `hint` (optional) says what to do about it.
  Error(const std::string& what, const std::string& problem, const std::string& hint = "");

  const std::string& object() const { return object_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string object_;
  std::string hint_;
};

// The candidate closest to `name` by edit distance, or "" if none is reasonably close.
// Used for "unknown hook name ... did you mean ...?" messages.
std::string nearest_name(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace tlens
