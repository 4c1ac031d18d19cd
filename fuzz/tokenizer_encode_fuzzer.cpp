// Fuzzes encoding arbitrary bytes (src/tokenizer/bpe.cpp: UTF-8 sanitizing, special tokens, the
// PCRE2 split pattern, both merge loops, the word cache) with GPT-2's real vocabulary, or the
// shipped model's (models/tlens-induction-2l: GPT-2's first 1024 merges) when scripts/setup.sh
// has not fetched GPT-2's. The input is the text.
//
// Checks the tokenizer's promises (tokenizer_checks.h), exactly: decode(encode(x)) ==
// sanitize_utf8(x).
#include <cstdio>
#include <optional>

#include "fuzz_support.h"
#include "tokenizer_checks.h"

namespace {
std::optional<tlens::Tokenizer> tokenizer;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string dir =
      tlens::find_gpt2_vocab_dir().value_or(TLENS_SOURCE_DIR "/models/tlens-induction-2l");
  tokenizer.emplace(tlens::Tokenizer::from_directory(dir));
  std::fprintf(stderr, "tokenizer_encode_fuzzer: vocabulary %s (%lld ids)\n", dir.c_str(),
               static_cast<long long>(tokenizer->vocab_size()));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  tlens::fuzz::check_tokenizer_on(*tokenizer, text, /*exact=*/true);
  return 0;
}
