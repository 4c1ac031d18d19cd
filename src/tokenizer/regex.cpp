// Oniguruma -> PCRE2 translation and the compiled pattern; see regex.h.
#include "regex.h"

#include <new>

namespace tlens::tokenizer_detail {

std::string onig_to_pcre2(std::string_view pattern, const std::string& source) {
  auto refuse = [&](const std::string& what) {
    throw Error(source + " pattern '" + std::string(pattern) + "'", what,
                "tlens reads the split patterns of GPT-2, GPT-NeoX, Llama 3, Qwen 2 and BLOOM; "
                "report this tokenizer");
  };
  std::string out;
  out.reserve(pattern.size() + 64);
  int class_depth = 0;  // 0: outside a class; 1: in a class; 2+: in a nested (flattened) class
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[i + 1];
      ++i;
      if (next == 's') {
        out += class_depth == 0 ? std::string("[") + kWhiteSpaceClassBody + "]" : kWhiteSpaceClassBody;
      } else if (next == 'S') {
        if (class_depth > 0) refuse("\\S inside a character class");
        out += std::string("[^") + kWhiteSpaceClassBody + "]";
      } else {
        out += c;
        out += next;
      }
      continue;
    }
    if (class_depth == 0) {
      if (c == '[') {
        class_depth = 1;
        out += c;
        if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
        if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += "\\]", ++i;  // literal ] first
      } else {
        out += c;
      }
      continue;
    }
    // Inside a class.
    if (c == '[') {
      if (i + 1 < pattern.size() && pattern[i + 1] == ':') {  // POSIX [:alpha:] stays
        size_t close = pattern.find(":]", i + 2);
        if (close == std::string_view::npos) refuse("an unterminated [: :] class");
        out.append(pattern.substr(i, close + 2 - i));
        i = close + 1;
        continue;
      }
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') refuse("a negated class inside a class");
      ++class_depth;  // flattened: its members join the outer class
      continue;
    }
    if (c == ']') {
      --class_depth;
      if (class_depth == 0) out += c;
      continue;
    }
    if (c == '&' && i + 1 < pattern.size() && pattern[i + 1] == '&') refuse("class intersection (&&)");
    out += c;
  }
  if (class_depth != 0) refuse("an unterminated character class");
  return out;
}

Regex::Regex(const std::string& pcre2_pattern, const std::string& source) : source_(source) {
  int error_code;
  PCRE2_SIZE error_offset;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre2_pattern.c_str()), pcre2_pattern.size(),
                        PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (code_ == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    throw Error(source, "PCRE2 cannot compile '" + pcre2_pattern + "' at offset " +
                            std::to_string(error_offset) + ": " + reinterpret_cast<char*>(message),
                "the tokenizer.json is corrupt, or uses a regex feature tlens does not translate");
  }
  jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() { pcre2_code_free(code_); }

Regex::MatchData::MatchData(const pcre2_code* code)
    : data(pcre2_match_data_create_from_pattern(code, nullptr)) {
  if (data == nullptr) throw std::bad_alloc();
}

Regex::MatchData::~MatchData() { pcre2_match_data_free(data); }

void Regex::fail(int rc) const {
  PCRE2_UCHAR message[256];
  pcre2_get_error_message(rc, message, sizeof(message));
  throw Error(source_, std::string("PCRE2 match failed: ") + reinterpret_cast<char*>(message), "");
}

}  // namespace tlens::tokenizer_detail
