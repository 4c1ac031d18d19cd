#include "tlens/components/rms_norm.h"

#include <torch/torch.h>

namespace tlens {

RMSNormImpl::RMSNormImpl(const HookedTransformerConfig& cfg, int64_t length, bool pre)
    : pre_(pre), eps_(cfg.eps) {
  if (!pre_) w = register_parameter("w", torch::ones({length}));
  register_hooks();
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& input) {
  // float16 / bfloat16: normalized in float32, cast back before the weight (as TransformerLens).
  const auto dtype = input.scalar_type();
  const bool upcast = dtype != torch::kFloat32 && dtype != torch::kFloat64;
  auto x = upcast ? input.to(torch::kFloat32) : input;                          // [..., length]
  auto scale = hook_scale->forward((x.pow(2).mean(-1, true) + eps_).sqrt());    // [..., 1]
  auto normalized = hook_normalized->forward(x / scale);                        // [..., length]
  if (upcast) normalized = normalized.to(dtype);
  return pre_ ? normalized : normalized * w;  // [..., length]
}

}  // namespace tlens
