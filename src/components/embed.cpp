#include "tlens/components/embed.h"

#include <torch/torch.h>

namespace tlens {

EmbedImpl::EmbedImpl(const HookedTransformerConfig& cfg) {
  W_E = register_parameter("W_E", torch::empty({cfg.d_vocab, cfg.d_model}));
  if (cfg.post_embedding_ln) ln = register_module("ln", LayerNorm(cfg, /*pre=*/false));
}

torch::Tensor EmbedImpl::forward(const torch::Tensor& tokens) {
  auto embedded = W_E.index_select(0, tokens.reshape(-1))
                      .view({tokens.size(0), tokens.size(1), W_E.size(1)});  // [batch, pos, d_model]
  return ln ? ln->forward(embedded) : embedded;                               // [batch, pos, d_model]
}

}  // namespace tlens
