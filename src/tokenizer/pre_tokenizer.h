// A Hugging Face tokenizer.json "pre_tokenizer": cuts a normalized text into the pieces that BPE
// merges within. Internal to src/tokenizer.
//
//   ByteLevel   GPT-2's split pattern (when use_regex), a space in front of every piece not
//               starting with one (when add_prefix_space); marks the tokenizer as byte-level
//   Split       a string or an Oniguruma regex; behavior Removed / Isolated / MergedWithPrevious /
//               MergedWithNext / Contiguous, optionally inverted (Llama 3's, Qwen 2's, BLOOM's)
//   Metaspace   spaces become `replacement` ("▁"), which is put in front of a piece by
//               prepend_scheme (always / first: only the piece at the start of the input / never);
//               with split, cut before each "▁" (Mistral's, Llama 2's non-legacy conversion)
//   Sequence    each in turn, on every piece of the previous step
// Empty pieces are dropped, as HF does. Other types are refused by name.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tlens::tokenizer_detail {

class Regex;

// A piece and whether it begins where the input began (Metaspace's "first").
struct Piece {
  std::string text;
  bool at_start;
};

class PreTokenizer {
 public:
  static PreTokenizer from_json(const nlohmann::json& json, const std::string& source);

  // The pieces of `text` (valid UTF-8), in order. `at_start`: `text` begins the input (it is not
  // preceded by an added token).
  std::vector<Piece> pre_tokenize(std::string_view text, bool at_start) const;
  // A ByteLevel step is present: BPE works on bytes, the vocabulary is in byte-level form.
  bool byte_level() const { return byte_level_; }

 private:
  enum class Kind { byte_level, split, metaspace };
  enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };
  enum class Prepend { always, first, never };
  struct Step {
    Kind kind;
    std::shared_ptr<const Regex> regex;  // byte_level (use_regex), split (a regex pattern)
    std::string pattern;                 // split: a string pattern; metaspace: the replacement
    Behavior behavior = Behavior::isolated;
    bool invert = false;
    bool add_prefix_space = false;       // byte_level
    Prepend prepend = Prepend::always;   // metaspace
    bool split = false;                  // metaspace
  };
  void add(const nlohmann::json& json, const std::string& source);
  static void apply(const Step& step, const Piece& piece, std::vector<Piece>& out);

  std::vector<Step> steps_;
  bool byte_level_ = false;
};

// GPT-2's split pattern (ByteLevel's use_regex), in PCRE2's syntax.
std::string gpt2_split_pattern();

}  // namespace tlens::tokenizer_detail
