// PosEmbed: learned absolute positional embedding, W_pos [n_ctx, d_model].
#pragma once

#include <optional>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "tlens/config.h"

namespace tlens {

class PosEmbedImpl : public torch::nn::Module {
 public:
  explicit PosEmbedImpl(const HookedTransformerConfig& cfg);
  // tokens [batch, pos] (only the shape is used), attention_mask [batch, pos] or none
  //   -> [batch, pos, d_model].
  // Without a mask position p gets W_pos[p]. With one, positions count real tokens only
  // (cumsum(mask) - 1, clamped at 0) and pad positions get a zero embedding, as in
  // TransformerLens, so a left-padded prompt sees the same positions as an unpadded one.
  // With past_kv_pos_offset (a cache's pos_so_far) the tokens are positions offset.. and the
  // mask covers every position so far: [batch, offset + pos].
  torch::Tensor forward(const torch::Tensor& tokens,
                        const std::optional<torch::Tensor>& attention_mask = std::nullopt,
                        int64_t past_kv_pos_offset = 0);
  void pretty_print(std::ostream& stream) const override { stream << "PosEmbed()"; }

  torch::Tensor W_pos;  // [n_ctx, d_model]
};
TORCH_MODULE(PosEmbed);

}  // namespace tlens
