// What every fuzz target in fuzz/ shares: the rule for exceptions, a scratch folder for the
// loaders that read files, and splitting one input into several files.
//
// The rule: on any input the library either succeeds or throws tlens::Error. Each target catches
// tlens::Error only, so any other exception escapes LLVMFuzzerTestOneInput, terminates the
// process and libFuzzer saves the input as a crash, as it does for ASan and UBSan reports.
// Broken invariants on success (a round trip that does not hold) abort through TLENS_FUZZ_CHECK.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "tlens/error.h"

#define TLENS_FUZZ_CHECK(condition, message)                                              \
  do {                                                                                    \
    if (!(condition)) {                                                                   \
      std::fprintf(stderr, "fuzz check failed: %s (%s:%d): %s\n", #condition, __FILE__, \
                   __LINE__, std::string(message).c_str());                               \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace tlens::fuzz {

// Runs f(); true if it returned, false if it threw tlens::Error. Anything else propagates.
template <typename F>
bool succeeds(F&& f) {
  try {
    f();
    return true;
  } catch (const tlens::Error& error) {
    TLENS_FUZZ_CHECK(*error.what() != '\0', "a tlens::Error with an empty message");
    return false;
  }
}

// A folder of this process's own on tmpfs (/dev/shm when there is one, so writing an input's
// files costs no disk I/O), removed at a normal exit. The path lives on the heap and is never
// freed: the exit handler runs after static objects are destroyed.
inline const std::string& scratch_dir() {
  static const std::string* const dir = [] {
    struct stat info{};
    bool shm = ::stat("/dev/shm", &info) == 0 && S_ISDIR(info.st_mode);
    std::string base = shm ? "/dev/shm" : "/tmp";
    auto* path = new std::string(base + "/tlens-fuzz-XXXXXX");
    TLENS_FUZZ_CHECK(::mkdtemp(path->data()) != nullptr, "cannot create " + *path);
    std::atexit([] { std::filesystem::remove_all(scratch_dir()); });
    return path;
  }();
  return *dir;
}

// Writes `data` to scratch_dir()/name and returns the path.
inline std::string write_scratch_file(const std::string& name, std::string_view data) {
  std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  TLENS_FUZZ_CHECK(out.good(), "cannot write " + path);
  return path;
}

inline void remove_scratch_file(const std::string& name) {
  ::unlink((scratch_dir() + "/" + name).c_str());
}

// Splits an input into `count` parts at its first count - 1 NUL bytes; the last part is the rest
// (NULs included), and missing parts are empty. The seeds in fuzz/make_seeds.py use this layout.
inline std::vector<std::string_view> split_parts(const uint8_t* data, size_t size, size_t count) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < count) {
    size_t nul = rest.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(rest.substr(0, nul));
    rest.remove_prefix(nul + 1);
  }
  parts.push_back(rest);
  parts.resize(count);
  return parts;
}

}  // namespace tlens::fuzz
