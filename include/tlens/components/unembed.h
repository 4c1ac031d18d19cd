// Unembed: logits = x @ W_U + b_U, W_U [d_model, d_vocab_out], b_U [d_vocab_out].
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "tlens/config.h"

namespace tlens {

class UnembedImpl : public torch::nn::Module {
 public:
  explicit UnembedImpl(const HookedTransformerConfig& cfg);
  // x [batch, pos, d_model] -> logits [batch, pos, d_vocab_out]
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override { stream << "Unembed()"; }

  torch::Tensor W_U;  // [d_model, d_vocab_out]
  torch::Tensor b_U;  // [d_vocab_out]
};
TORCH_MODULE(Unembed);

}  // namespace tlens
