// evals: TransformerLens's evals.py — quick numbers that say whether a model works.
//
//   auto tokens = tlens::make_repeated_random_tokens(model->cfg, /*batch=*/4, /*subseq_len=*/100);
//   tlens::InductionLoss loss = tlens::induction_loss(model, tokens);
//   // loss.second_half is TransformerLens's induction_loss; an induction head makes it far lower
//   // than loss.first_half, where the random tokens cannot be predicted.
#pragma once

#include <cstdint>
#include <optional>

#include <torch/types.h>

#include "tlens/hooked_transformer.h"

namespace tlens {

// Random tokens repeated twice, as TransformerLens's induction_loss makes them: [batch, 2 subseq_len],
// each row A A with A uniform in [low, high); position 0 is overwritten with BOS when `bos` is
// given. TransformerLens draws from [100, 20000); the default here is [100, min(20000, d_vocab - 1))
// (low = 0 for vocabularies under 200), so a truncated vocabulary's last id (<|endoftext|>) is
// never drawn. The draw is a fixed function of `seed` (std::mt19937_64), on every platform.
torch::Tensor make_repeated_random_tokens(const HookedTransformerConfig& cfg, int64_t batch,
                                          int64_t subseq_len, std::optional<int64_t> bos,
                                          uint64_t seed = 0);

struct InductionLoss {
  double first_half;   // mean loss predicting tokens 1 .. subseq_len - 1 (nothing to copy yet)
  double second_half;  // TransformerLens's induction_loss: per-token loss [:, subseq_len + 1:]
};

// Per-token next-token loss on `repeated_tokens` [batch, 2 subseq_len] (from
// make_repeated_random_tokens), averaged over the first and the second half.
InductionLoss induction_loss(HookedTransformer& model, const torch::Tensor& repeated_tokens);

// TransformerLens's defaults: batch 4, subseq_len 384 (here capped at n_ctx / 2), BOS at
// position 0 when the model prepends BOS (override with prepend_bos).
InductionLoss induction_loss(HookedTransformer& model, int64_t batch_size = 4,
                             int64_t subseq_len = 384,
                             std::optional<bool> prepend_bos = std::nullopt, uint64_t seed = 0);

}  // namespace tlens
