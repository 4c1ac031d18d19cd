// A Hugging Face tokenizer.json "normalizer", applied to the text between added tokens before
// pre-tokenization. Internal to src/tokenizer.
//
//   NFC / NFD / NFKC / NFKD   Unicode normalization forms (ICU), e.g. GPT-NeoX's and Qwen 2's NFC
//   Replace                   every non-overlapping occurrence of a string (or an Oniguruma
//                             regex) by `content`, left to right: Llama 2's " " -> "▁"
//   Prepend                   `prepend` in front of a non-empty text: Llama 2's "▁"
//   Lowercase                 Unicode full lowercase mapping (ICU, root locale)
//   Sequence                  each in turn
// A null normalizer changes nothing. Any other type is refused by name when the file is read.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tlens::tokenizer_detail {

class Regex;

class Normalizer {
 public:
  // `json` is tokenizer.json's "normalizer" value; `source` names the file in errors.
  static Normalizer from_json(const nlohmann::json& json, const std::string& source);

  // `text` is valid UTF-8.
  std::string normalize(std::string_view text) const;
  bool is_identity() const { return steps_.empty(); }

 private:
  enum class Kind { nfc, nfd, nfkc, nfkd, lowercase, replace, prepend };
  struct Step {
    Kind kind;
    std::string pattern;                   // replace: the string to find (when no regex)
    std::shared_ptr<const Regex> regex;    // replace: the pattern, when it is a regex
    std::string content;                   // replace: the replacement; prepend: the prefix
  };
  void add(const nlohmann::json& json, const std::string& source);
  static std::string apply(const Step& step, std::string_view text);

  std::vector<Step> steps_;
};

}  // namespace tlens::tokenizer_detail
