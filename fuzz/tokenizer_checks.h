// The promises of tlens::Tokenizer (include/tlens/tokenizer/bpe.h) that both tokenizer fuzz
// targets check on a text.
#pragma once

#include <algorithm>
#include <numeric>
#include <string>

#include "fuzz_support.h"
#include "tlens/tokenizer/bpe.h"

namespace tlens::fuzz {

// Always: encode gives ids in [0, vocab_size), pre_tokenize cuts the (UTF-8-sanitized) text
// into words that join back to it, tokenize_batch gives BOS + the ids (cut at max_length) and
// pads the empty text to that length with a matching mask.
// With `exact` (a well-formed vocabulary such as GPT-2's, where every id names one token), also
// decode(encode(x)) == sanitize_utf8(x) and every id's token maps back to it. A fuzzed
// vocabulary may give two tokens one id; then decoding may legitimately differ (as in HF).
inline void check_tokenizer_on(const Tokenizer& tokenizer, const std::string& text,
                               bool exact = false) {
  const std::string sanitized = sanitize_utf8(text);
  std::vector<int64_t> ids = tokenizer.encode(text);
  for (int64_t id : ids) {
    TLENS_FUZZ_CHECK(id >= 0 && id < tokenizer.vocab_size(), "id " + std::to_string(id));
  }
  std::vector<std::string> words = tokenizer.pre_tokenize(text);
  std::string joined;
  for (const std::string& word : words) joined += word;
  TLENS_FUZZ_CHECK(joined == sanitized, "pre_tokenize does not cover the text");

  std::string decoded;
  bool decodes = succeeds([&] { decoded = tokenizer.decode(ids); });
  if (exact) {
    TLENS_FUZZ_CHECK(decodes && decoded == sanitized,
                     "decode(encode(x)) != x for x = '" + sanitized + "', got '" + decoded + "'");
    for (int64_t id : ids) {
      TLENS_FUZZ_CHECK(tokenizer.token_to_id(tokenizer.id_to_token(id)) == id,
                       "id " + std::to_string(id) + " does not map back");
    }
  }
  if (text.size() <= 256) {  // explain() re-scans each word per merge: quadratic in a word
    (void)tokenizer.explain(text);
  }

  if (tokenizer.bos_token_id() < 0) return;
  const char* side = text.size() % 2 ? "left" : "right";  // one side per input keeps it quick
  TokenizedBatch batch = tokenizer.tokenize_batch({text, ""}, true, parse_padding_side(side), 64);
  TLENS_FUZZ_CHECK(batch.ids.size() == 2 && batch.attention_mask.size() == 2, side);
  const size_t length = std::min<size_t>(ids.size() + 1, 64);
  for (size_t row = 0; row < 2; ++row) {
    TLENS_FUZZ_CHECK(batch.ids[row].size() == length && batch.attention_mask[row].size() == length,
                     std::string("a row is not BOS + the ids, cut at 64, padding ") + side);
  }
  auto real = [&](size_t row) {
    const auto& mask = batch.attention_mask[row];
    return std::accumulate(mask.begin(), mask.end(), size_t{0});
  };
  TLENS_FUZZ_CHECK(real(0) == length && real(1) == 1,
                   std::string("attention mask, padding ") + side);
}

}  // namespace tlens::fuzz
