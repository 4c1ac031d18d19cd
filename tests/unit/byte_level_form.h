// Test helpers: GPT-2's byte-level form of text ("Ġmy" for " my") and back, through the
// library's byte table (tlens::byte_to_unicode). Every stand-in character is below U+0800.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tlens/tokenizer/bpe.h"

namespace tlens_test {

// " gazed" -> "Ġgazed".
inline std::string vocab_form(const std::string& bytes) {
  std::string out;
  for (char c : bytes) {
    char32_t cp = tlens::byte_to_unicode(static_cast<uint8_t>(c));  // < U+0144
    if (cp < 0x80) {
      out += char(cp);
    } else {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// "Ġgazed" -> " gazed" (the form must hold stand-ins only).
inline std::string from_vocab_form(const std::string& form) {
  static const std::vector<int> byte_of = [] {
    std::vector<int> table(0x200, -1);
    for (int b = 0; b < 256; ++b) table[tlens::byte_to_unicode(uint8_t(b))] = b;
    return table;
  }();
  std::string out;
  for (size_t i = 0; i < form.size();) {
    auto c = static_cast<unsigned char>(form[i]);
    char32_t cp = c < 0x80 ? c : ((c & 0x1F) << 6) | (form[i + 1] & 0x3F);
    out += char(byte_of.at(cp));
    i += c < 0x80 ? 1 : 2;
  }
  return out;
}

}  // namespace tlens_test
