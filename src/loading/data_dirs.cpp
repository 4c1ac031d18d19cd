#include "tlens/loading/data_dirs.h"

#include <dlfcn.h>

#include <filesystem>
#include <system_error>

#include "util/files.h"

namespace fs = std::filesystem;

namespace tlens::loading {

namespace {

// The file this code was loaded from: libtlens.so, or the executable it is linked into.
fs::path this_object_file() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&this_object_file), &info) != 0 && info.dli_fname != nullptr) {
    fs::path file(info.dli_fname);
    if (file.is_absolute()) return file;
  }
  return {};
}

fs::path executable_file() {
  std::error_code error;
  fs::path exe = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::path() : exe;
}

}  // namespace

std::vector<std::string> data_dirs() {
  std::vector<std::string> dirs;
  auto add = [&dirs](const fs::path& dir) {
    if (dir.empty()) return;
    std::string text = dir.lexically_normal().string();
    for (const auto& seen : dirs)
      if (seen == text) return;
    dirs.push_back(text);
  };
  if (const std::string home = util::environment("TLENS_HOME"); !home.empty()) add(home);
  for (const fs::path& file : {this_object_file(), executable_file()}) {
    if (file.empty()) continue;
    add(file.parent_path() / ".." / "share" / "tlens");
    add(file.parent_path() / "share" / "tlens");
  }
  return dirs;
}

std::string find_data_subdir(const std::string& sub) {
  const std::vector<std::string> dirs = data_dirs();
  std::error_code error;
  for (const auto& dir : dirs)
    if (fs::is_directory(fs::path(dir) / sub, error)) return (fs::path(dir) / sub).string();
  return dirs.empty() ? std::string() : (fs::path(dirs.front()) / sub).string();
}

}  // namespace tlens::loading
