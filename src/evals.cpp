#include "tlens/evals.h"

#include <algorithm>
#include <random>
#include <vector>

#include <torch/torch.h>

#include "tlens/error.h"
#include "tlens/tokenizer/bpe.h"
#include "tlens/utils.h"

namespace tlens {

torch::Tensor make_repeated_random_tokens(const HookedTransformerConfig& cfg, int64_t batch,
                                          int64_t subseq_len, std::optional<int64_t> bos,
                                          uint64_t seed) {
  if (batch < 1 || subseq_len < 2)
    throw Error("repeated random tokens", "need batch >= 1 and subseq_len >= 2", "");
  const int64_t high = std::min<int64_t>(20000, cfg.d_vocab - 1);
  const int64_t low = high >= 200 ? 100 : 0;
  std::mt19937_64 rng(seed);
  std::vector<int64_t> ids(batch * 2 * subseq_len);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t* row = ids.data() + b * 2 * subseq_len;
    for (int64_t p = 0; p < subseq_len; ++p)
      row[p] = row[p + subseq_len] = low + static_cast<int64_t>(rng() % static_cast<uint64_t>(high - low));
    if (bos) row[0] = *bos;
  }
  return torch::tensor(ids, torch::kLong).view({batch, 2 * subseq_len});  // [batch, 2 subseq_len]
}

InductionLoss induction_loss(HookedTransformer& model, const torch::Tensor& repeated_tokens) {
  TORCH_CHECK(repeated_tokens.dim() == 2 && repeated_tokens.size(1) % 2 == 0 &&
                  repeated_tokens.size(1) >= 4,
              "repeated tokens: expected [batch, 2 subseq_len], got ", repeated_tokens.sizes());
  const int64_t subseq_len = repeated_tokens.size(1) / 2;
  torch::NoGradGuard no_grad;
  auto logits = model->forward(repeated_tokens);  // [batch, pos, d_vocab]
  auto per_token = lm_cross_entropy_loss(logits, repeated_tokens, std::nullopt,
                                         /*per_token=*/true);  // [batch, pos - 1]
  using torch::indexing::Slice;
  InductionLoss loss;
  loss.first_half = per_token.index({Slice(), Slice(0, subseq_len - 1)}).mean().item<double>();
  loss.second_half = per_token.index({Slice(), Slice(subseq_len + 1)}).mean().item<double>();
  return loss;
}

InductionLoss induction_loss(HookedTransformer& model, int64_t batch_size, int64_t subseq_len,
                             std::optional<bool> prepend_bos, uint64_t seed) {
  subseq_len = std::min(subseq_len, model->cfg.n_ctx / 2);
  std::optional<int64_t> bos;
  if (prepend_bos.value_or(model->cfg.default_prepend_bos))
    bos = model->has_tokenizer() ? model->tokenizer().bos_token_id() : model->cfg.d_vocab - 1;
  auto tokens = make_repeated_random_tokens(model->cfg, batch_size, subseq_len, bos, seed);
  return induction_loss(model, tokens);
}

}  // namespace tlens
