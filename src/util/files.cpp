#include "util/files.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include "tlens/error.h"

namespace tlens::util {

namespace fs = std::filesystem;

namespace {

// Reads `path` whole; on failure says which step failed ("opened" / "read") and why (errno).
std::optional<std::string> read_whole_file(const std::string& path, std::string& failure) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"),
                                                          std::fclose);
  if (!file) {
    failure = std::string("cannot be opened: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::string content;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) content.append(buffer, n);
  if (std::ferror(file.get())) {
    failure = std::string("cannot be read: ") + std::strerror(errno);
    return std::nullopt;
  }
  return content;
}

}  // namespace

std::string read_file(const std::string& path, const std::string& hint) {
  std::string failure;
  std::optional<std::string> content = read_whole_file(path, failure);
  if (!content) throw Error(path, failure, hint);
  return std::move(*content);
}

std::optional<std::string> read_file_if_present(const std::string& path) {
  std::string failure;
  return read_whole_file(path, failure);
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool is_file(const std::string& path) {
  std::error_code error;
  return fs::is_regular_file(path, error);
}

bool is_directory(const std::string& path) {
  std::error_code error;
  return fs::is_directory(path, error);
}

std::string home_dir() {
  std::string home = environment("HOME");
  if (!home.empty()) return home;
  const passwd* entry = getpwuid(getuid());
  return entry != nullptr && entry->pw_dir != nullptr ? entry->pw_dir : ".";
}

std::string expand_user(const std::string& path) {
  if (path == "~" || path.rfind("~/", 0) == 0) return home_dir() + path.substr(1);
  return path;
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

bool environment_is_true(const char* name) {
  std::string value = environment(name);
  std::transform(value.begin(), value.end(), value.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return value == "1" || value == "ON" || value == "YES" || value == "TRUE";
}

}  // namespace tlens::util
