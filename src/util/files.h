// Private helpers for files, paths and the environment, shared by the loaders, the tokenizer and
// `tlens train` (not installed).
//
//   std::string text = util::read_file(path, "check --corpus");   // tlens::Error names `path`
//   std::string dir = util::join_path(util::expand_user("~/models"), "gpt2");
//   if (util::environment_is_true("HF_HUB_OFFLINE")) ...
#pragma once

#include <optional>
#include <string>

namespace tlens::util {

// The whole file, as bytes. Throws tlens::Error naming `path`: "cannot be opened: <reason>" or
// "cannot be read: <reason>", with `hint`.
std::string read_file(const std::string& path, const std::string& hint);
// The whole file, or nullopt when it cannot be opened or read (a missing ref, an optional file).
std::optional<std::string> read_file_if_present(const std::string& path);

// `dir` + "/" + `name`, without doubling a trailing slash; an empty `dir` gives `name`.
std::string join_path(const std::string& dir, const std::string& name);
// A regular file / a directory (a symlink counts as what it leads to); false on any error.
bool is_file(const std::string& path);
bool is_directory(const std::string& path);

// $HOME, else the user's passwd entry, else ".".
std::string home_dir();
// "~" and "~/..." -> home_dir() and below it; anything else as it is.
std::string expand_user(const std::string& path);

// The variable's value; "" when it is unset.
std::string environment(const char* name);
// 1, ON, YES or TRUE in any case (huggingface_hub's ENV_VARS_TRUE_VALUES).
bool environment_is_true(const char* name);

}  // namespace tlens::util
