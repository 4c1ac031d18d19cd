// truncated_vocab: GPT-2's BPE cut to its first merges, for small models (`tlens train
// --vocab-merges N`, the shipped tlens-induction-2l).
//
//   tlens::write_truncated_gpt2_vocab(*tlens::find_gpt2_vocab_dir(), 2048, "out/");
#pragma once

#include <cstdint>
#include <string>

namespace tlens {

// GPT-2's BPE cut to its first `n_merges` merges, itself a valid byte-level BPE: ids 0..255 are the
// bytes, merge i makes id 256 + i (as in GPT-2's encoder.json), and <|endoftext|> becomes
// 256 + n_merges, so the vocabulary has n_merges + 257 tokens. Reads encoder.json + vocab.bpe (or
// vocab.json + merges.txt) from `gpt2_vocab_dir`, writes vocab.json + merges.txt into `out_dir`.
void write_truncated_gpt2_vocab(const std::string& gpt2_vocab_dir, int64_t n_merges,
                                const std::string& out_dir);

}  // namespace tlens
