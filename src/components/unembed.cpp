#include "tlens/components/unembed.h"

#include <torch/torch.h>

#include "backend/linear.h"

namespace tlens {

UnembedImpl::UnembedImpl(const HookedTransformerConfig& cfg) {
  W_U = register_parameter("W_U", torch::empty({cfg.d_model, cfg.d_vocab_out}));  // [d_model, d_vocab_out]
  b_U = register_parameter("b_U", torch::zeros({cfg.d_vocab_out}));
}

torch::Tensor UnembedImpl::forward(const torch::Tensor& x) {
  const int64_t batch = x.size(0), pos = x.size(1);
  auto logits = backend::linear(x.reshape({batch * pos, x.size(2)}), W_U, b_U);
  return logits.view({batch, pos, W_U.size(1)});  // [batch, pos, d_vocab_out]
}

}  // namespace tlens
