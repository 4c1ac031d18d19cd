// The data a command reads from its command line: the prompt (words, `-` for standard input,
// or --prompt-file FILE) and the token ids of --tokens. No libtorch, no CLI11: fuzzed on its own.
//
//   read_prompt({"Hullo,", "my", "name", "is"}, std::nullopt);   // "Hullo, my name is"
//   read_prompt({"-"}, std::nullopt);                            // all of standard input
//   read_prompt({}, "book.txt");                                 // the file's bytes as they are
//   parse_id_list("50256,39,724", "--tokens");                   // {50256, 39, 724}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tlens::app {

// The text a command reads: the bytes of `file` (--prompt-file) as they are (a final newline
// included), all of standard input for a lone `-`, else `words` joined by single spaces. A file
// or standard input has no length limit; a command line holds ~128 KiB per word. tlens::Error
// for a file that cannot be read, or for a file given with words.
std::string read_prompt(const std::vector<std::string>& words, const std::optional<std::string>& file);

// "12,34,5" -> {12, 34, 5}; tlens::Error naming `flag` and the bad item.
std::vector<int64_t> parse_id_list(const std::string& text, const std::string& flag);

}  // namespace tlens::app
