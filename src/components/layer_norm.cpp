#include "tlens/components/layer_norm.h"

#include <torch/torch.h>

namespace tlens {

LayerNormImpl::LayerNormImpl(const HookedTransformerConfig& cfg, bool pre)
    : pre_(pre), eps_(cfg.eps) {
  if (!pre_) {
    w = register_parameter("w", torch::ones({cfg.d_model}));
    b = register_parameter("b", torch::zeros({cfg.d_model}));
  }
  hook_scale = register_module("hook_scale", std::make_shared<HookPoint>());
  hook_normalized = register_module("hook_normalized", std::make_shared<HookPoint>());
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  // Nobody looks inside: libtorch's fused layer_norm computes the same (biased variance, eps
  // inside the square root) in one pass.
  if (!has_hooks()) return torch::layer_norm(x, {x.size(-1)}, w, b, eps_);
  auto centered = x - x.mean(-1, /*keepdim=*/true);                                 // [..., d_model]
  auto scale = hook_scale->forward((centered.pow(2).mean(-1, true) + eps_).sqrt());  // [..., 1]
  auto normalized = centered / scale;                                                // [..., d_model]
  if (!pre_) normalized = torch::addcmul(b, normalized, w);  // normalized * w + b
  return hook_normalized->forward(normalized);                                       // [..., d_model]
}

}  // namespace tlens
