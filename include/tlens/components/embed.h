// Embed: token embedding, W_E [d_vocab, d_model]. With cfg.post_embedding_ln (BLOOM) a LayerNorm
// `ln` (with w and b, never folded) follows the lookup, before hook_embed.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "tlens/components/layer_norm.h"
#include "tlens/config.h"

namespace tlens {

class EmbedImpl : public torch::nn::Module {
 public:
  explicit EmbedImpl(const HookedTransformerConfig& cfg);
  // tokens [batch, pos] -> [batch, pos, d_model]
  torch::Tensor forward(const torch::Tensor& tokens);
  void pretty_print(std::ostream& stream) const override { stream << "Embed"; }

  torch::Tensor W_E;  // [d_vocab, d_model]
  LayerNorm ln{nullptr};
};
TORCH_MODULE(Embed);

}  // namespace tlens
