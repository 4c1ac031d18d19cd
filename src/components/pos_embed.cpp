#include "tlens/components/pos_embed.h"

#include <torch/torch.h>

namespace tlens {

PosEmbedImpl::PosEmbedImpl(const HookedTransformerConfig& cfg) {
  W_pos = register_parameter("W_pos", torch::empty({cfg.n_ctx, cfg.d_model}));
}

torch::Tensor PosEmbedImpl::forward(const torch::Tensor& tokens,
                                    const std::optional<torch::Tensor>& attention_mask,
                                    int64_t past_kv_pos_offset) {
  const int64_t batch = tokens.size(0), pos = tokens.size(1), offset = past_kv_pos_offset;
  if (!attention_mask) {
    // [batch, pos, d_model], a broadcast view: no copy
    return W_pos.narrow(0, offset, pos).unsqueeze(0).expand({batch, pos, W_pos.size(1)});
  }
  auto full_mask = attention_mask->to(torch::kLong);                      // [batch, offset + pos]
  auto mask = full_mask.narrow(1, offset, pos);                           // [batch, pos]
  auto position_ids = (full_mask.cumsum(1) - 1).clamp_min(0).narrow(1, offset, pos);  // [batch, pos]
  auto pos_embed = W_pos.index_select(0, position_ids.reshape(-1))
                       .view({batch, pos, W_pos.size(1)});                // [batch, pos, d_model]
  auto is_pad = (mask == 0).unsqueeze(-1);                                // [batch, pos, 1]
  return pos_embed.masked_fill(is_pad, 0.0);                              // [batch, pos, d_model]
}

}  // namespace tlens
