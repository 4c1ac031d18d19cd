// Split patterns of Hugging Face tokenizers, run with PCRE2 (UTF + UCP, JIT). Internal to
// src/tokenizer.
//
// A tokenizer.json's Split pre-tokenizer holds an Oniguruma pattern (what HF's `tokenizers` crate
// compiles). PCRE2 reads almost all of it the same way; onig_to_pcre2 rewrites the two places
// where the dialects differ:
//  - `\s` is Unicode's White_Space property in Oniguruma (U+0085 included); PCRE2's `\s` leaves
//    out U+0085. `\s` and `\S` become explicit classes.
//  - Oniguruma allows a class inside a class, meaning their union (BLOOM's pattern
//    ` ?[^(\s|[.,!?…。，、।۔،])]+` relies on it); PCRE2 would read the inner `[` as a literal and
//    close the class early. An inner class is flattened into the outer one.
// Anything else that would change meaning (a negated inner class, `\S` inside a class) is refused
// with an error naming the pattern.
#pragma once

#include <string>
#include <string_view>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tlens/error.h"

namespace tlens::tokenizer_detail {

// Unicode White_Space, as the body of a character class.
inline constexpr const char* kWhiteSpaceClassBody =
    "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}";

// The PCRE2 pattern with the meaning of Oniguruma pattern `pattern`; `source` names it in errors.
std::string onig_to_pcre2(std::string_view pattern, const std::string& source);

// A compiled pattern. for_each_match calls on_match(begin, end) for every non-empty,
// non-overlapping match of `text` (valid UTF-8), left to right, as Rust's and Oniguruma's
// find_iter do.
class Regex {
 public:
  Regex(const std::string& pcre2_pattern, const std::string& source);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  template <typename OnMatch>
  void for_each_match(std::string_view text, OnMatch&& on_match) const {
    if (text.empty()) return;
    auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    MatchData data(code_);
    size_t offset = 0;
    while (offset < text.size()) {
      int rc = jit_ ? pcre2_jit_match(code_, subject, text.size(), offset, PCRE2_NO_UTF_CHECK,
                                      data.get(), nullptr)
                    : PCRE2_ERROR_JIT_BADOPTION;
      if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {  // e.g. JIT stack exhausted: interpret instead
        rc = pcre2_match(code_, subject, text.size(), offset, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
                         data.get(), nullptr);
      }
      if (rc == PCRE2_ERROR_NOMATCH) return;
      if (rc < 0) fail(rc);
      PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
      size_t begin = ovector[0], end = ovector[1];
      if (end == begin) {  // an empty match: step over one character
        offset = begin + 1;
        while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80)
          ++offset;
        continue;
      }
      on_match(begin, end);
      offset = end;
    }
  }

 private:
  struct MatchData {
    explicit MatchData(const pcre2_code* code);
    ~MatchData();
    pcre2_match_data* get() const { return data; }
    pcre2_match_data* data;
  };
  [[noreturn]] void fail(int rc) const;

  std::string source_;
  pcre2_code* code_ = nullptr;
  bool jit_ = false;
};

}  // namespace tlens::tokenizer_detail
