#include "prompt.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tlens/error.h"

namespace tlens::app {

namespace {
// All of `file`'s bytes; `name` and `hint` for the error when a read fails.
std::string read_all(std::FILE* file, const std::string& name, const std::string& hint) {
  std::string content;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) content.append(buffer, n);
  if (std::ferror(file)) throw Error(name, std::string("cannot be read: ") + std::strerror(errno), hint);
  return content;
}
}  // namespace

std::string read_prompt(const std::vector<std::string>& words, const std::optional<std::string>& file) {
  if (file) {
    const std::string& path = *file;
    if (!words.empty())
      throw Error("--prompt-file " + path, "was given with a prompt on the command line too",
                  "give one of them");
    std::FILE* stream = std::fopen(path.c_str(), "rb");
    if (!stream)
      throw Error("--prompt-file " + path, std::string("cannot be opened: ") + std::strerror(errno),
                  "check the path; `-` instead of a prompt reads standard input");
    try {
      std::string content = read_all(stream, "--prompt-file " + path, "check the path");
      std::fclose(stream);
      return content;
    } catch (...) {
      std::fclose(stream);
      throw;
    }
  }
  if (words.size() == 1 && words[0] == "-") return read_all(stdin, "standard input (the prompt `-`)", "");
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) out += (i ? " " : "") + words[i];
  return out;
}

std::vector<int64_t> parse_id_list(const std::string& text, const std::string& flag) {
  std::vector<int64_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    try {
      size_t used = 0;
      ids.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw Error(flag, "item '" + item + "' is not an integer token id",
                  "write ids separated by commas, e.g. " + flag + " 50256,39,724");
    }
    start = end + 1;
  }
  return ids;
}

}  // namespace tlens::app
