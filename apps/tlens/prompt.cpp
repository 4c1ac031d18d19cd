#include "tlens/cli/args.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tlens/error.h"

namespace tlens::cli {

Args::Args(int argc, char** argv, int first, const std::set<std::string>& valued,
           const std::set<std::string>& switches)
    : command_(first > 1 ? argv[first - 1] : "tlens") {
  bool only_positional = false;
  for (int i = first; i < argc; ++i) {
    std::string word = argv[i];
    if (only_positional || word.rfind("--", 0) != 0 || word == "-") {
      positional_.push_back(word);
      continue;
    }
    if (word == "--") {
      only_positional = true;
      continue;
    }
    std::string name = word, inline_value;
    bool has_inline = false;
    if (auto eq = word.find('='); eq != std::string::npos) {
      name = word.substr(0, eq);
      inline_value = word.substr(eq + 1);
      has_inline = true;
    }
    if (valued.count(name)) {
      if (has_inline) {
        values_[name] = inline_value;
      } else if (i + 1 < argc) {
        values_[name] = argv[++i];
      } else {
        throw Error(command_ + " " + name, "needs a value", "write " + name + " VALUE");
      }
    } else if (switches.count(name) && !has_inline) {
      switches_.insert(name);
    } else {
      std::string known;
      for (const auto& f : valued) known += " " + f;
      for (const auto& f : switches) known += " " + f;
      std::vector<std::string> all(valued.begin(), valued.end());
      all.insert(all.end(), switches.begin(), switches.end());
      std::string nearest = nearest_name(name, all);
      throw Error(command_ + " " + name, "is not an option of this command",
                  (nearest.empty() ? "" : "did you mean " + nearest + "? ") + "options:" + known);
    }
  }
}

std::string Args::value(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second;
}

std::string Args::required(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end())
    throw Error(command_, "needs " + flag, "run `tlens " + command_ + " --help` for the usage");
  return it->second;
}

std::optional<int64_t> Args::integer(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  try {
    size_t used = 0;
    int64_t v = std::stoll(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  throw Error(command_ + " " + flag, "expected an integer, got '" + it->second + "'", "");
}

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

std::string Args::prompt() const {
  if (has("--prompt-file")) {
    const std::string path = value("--prompt-file", "");
    if (!positional_.empty())
      throw Error(command_ + " --prompt-file " + path, "was given with a prompt on the command line too",
                  "give one of them");
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file)
      throw Error("--prompt-file " + path, std::string("cannot be opened: ") + std::strerror(errno),
                  "check the path; `-` instead of a prompt reads standard input");
    try {
      std::string content = read_all(file, "--prompt-file " + path, "check the path");
      std::fclose(file);
      return content;
    } catch (...) {
      std::fclose(file);
      throw;
    }
  }
  if (positional_.size() == 1 && positional_[0] == "-")
    return read_all(stdin, "standard input (the prompt `-`)", "");
  std::string out;
  for (size_t i = 0; i < positional_.size(); ++i) out += (i ? " " : "") + positional_[i];
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

}  // namespace tlens::cli
