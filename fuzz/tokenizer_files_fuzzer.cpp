// Fuzzes the tokenizer file loaders (src/tokenizer/bpe.cpp, Tokenizer::from_directory) in their
// three layouts, then encodes a text with whatever loaded.
//
// Input: one layout byte, then four parts split at NUL bytes (fuzz_support.h's split_parts):
//   layout % 3 == 0: vocab.json,     merges.txt,              tokenizer_config.json, text
//   layout % 3 == 1: tokenizer.json, special_tokens_map.json, tokenizer_config.json, text
//   layout % 3 == 2: encoder.json,   vocab.bpe,               special_tokens_map.json, text
// An empty part writes no file. On success the loaded tokenizer must keep the promises of
// tokenizer_encode_fuzzer.cpp on the text (every id in range, decode(encode(x)) == x).
#include <array>
#include <optional>

#include "fuzz_support.h"
#include "tokenizer_checks.h"

namespace {

const std::array<std::array<const char*, 3>, 3> kLayouts = {{
    {"vocab.json", "merges.txt", "tokenizer_config.json"},
    {"tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"},
    {"encoder.json", "vocab.bpe", "special_tokens_map.json"},
}};
const char* const kAllFiles[] = {"vocab.json",   "merges.txt", "tokenizer.json",
                                 "encoder.json", "vocab.bpe",  "tokenizer_config.json",
                                 "special_tokens_map.json"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& layout = kLayouts[data[0] % kLayouts.size()];
  auto parts = tlens::fuzz::split_parts(data + 1, size - 1, 4);
  const std::string dir = tlens::fuzz::scratch_dir() + "/tokenizer";
  for (const char* name : kAllFiles) {
    tlens::fuzz::remove_scratch_file(std::string("tokenizer/") + name);
  }
  for (size_t i = 0; i < layout.size(); ++i) {
    if (parts[i].empty()) continue;
    tlens::fuzz::write_scratch_file(std::string("tokenizer/") + layout[i], parts[i]);
  }
  std::optional<tlens::Tokenizer> tokenizer;
  if (!tlens::fuzz::succeeds([&] { tokenizer.emplace(tlens::Tokenizer::from_directory(dir)); })) {
    return 0;
  }
  tlens::fuzz::check_tokenizer_on(*tokenizer, std::string(parts[3]));
  return 0;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::filesystem::create_directories(tlens::fuzz::scratch_dir() + "/tokenizer");
  return 0;
}
