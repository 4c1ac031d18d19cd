// args: the small command-line parser behind `tlens <command> [--flag value] [--switch] [TEXT]`.
//
//   tlens::cli::Args args(argc, argv, /*first=*/2, {"--model", "--out"}, {"--json"});
//   std::string model = args.value("--model", "gpt2");
//   bool json = args.flag("--json");
//   std::string prompt = args.prompt(); // the words, `-` (stdin) or --prompt-file FILE
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tlens::cli {

class Args {
 public:
  // `valued` flags take the next word (or --flag=value); `switches` take none. Anything else
  // starting with "--" is an error naming the flag and listing the known ones.
  Args(int argc, char** argv, int first, const std::set<std::string>& valued,
       const std::set<std::string>& switches);

  bool has(const std::string& flag) const { return values_.count(flag) > 0; }
  bool flag(const std::string& name) const { return switches_.count(name) > 0; }
  std::string value(const std::string& flag, const std::string& fallback) const;
  std::string required(const std::string& flag) const;  // tlens::Error when absent
  std::optional<int64_t> integer(const std::string& flag) const;  // tlens::Error when not an int
  const std::vector<std::string>& positional() const { return positional_; }
  // The text a command reads: the bytes of --prompt-file FILE as they are (a final newline
  // included), all of stdin for a lone `-`, else the positional words joined by single spaces.
  // A file or stdin has no length limit; a command line holds ~128 KiB per word. tlens::Error
  // for a file that cannot be read, or for a file given with words.
  std::string prompt() const;
  bool has_prompt() const { return has("--prompt-file") || !positional_.empty(); }

 private:
  std::string command_;
  std::map<std::string, std::string> values_;
  std::set<std::string> switches_;
  std::vector<std::string> positional_;
};

// "12,34,5" -> {12, 34, 5}; tlens::Error naming the bad item.
std::vector<int64_t> parse_id_list(const std::string& text, const std::string& flag);

}  // namespace tlens::cli
