#include "tlens/components/layer_norm.h"

#include <torch/torch.h>

#include "tlens/components/rms_norm.h"

namespace tlens {

void NormImpl::register_hooks() {
  hook_scale = register_module("hook_scale", std::make_shared<HookPoint>());
  hook_normalized = register_module("hook_normalized", std::make_shared<HookPoint>());
}

Norm make_norm(const HookedTransformerConfig& cfg, bool weighted) {
  const auto& type = cfg.normalization_type;
  const bool pre = !weighted && (type == "LNPre" || type == "RMSPre");
  if (type == "LN" || type == "LNPre") return std::make_shared<LayerNormImpl>(cfg, pre);
  if (type == "RMS" || type == "RMSPre") return std::make_shared<RMSNormImpl>(cfg, cfg.d_model, pre);
  return nullptr;
}

LayerNormImpl::LayerNormImpl(const HookedTransformerConfig& cfg, bool pre)
    : pre_(pre), eps_(cfg.eps) {
  if (!pre_) {
    w = register_parameter("w", torch::ones({cfg.d_model}));
    b = register_parameter("b", torch::zeros({cfg.d_model}));
  }
  register_hooks();
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& input) {
  // float16 / bfloat16 models normalize in float32 and cast the result back, as TransformerLens
  // does (so hook_scale and hook_normalized see float32).
  const auto dtype = input.scalar_type();
  const bool upcast = dtype != torch::kFloat32 && dtype != torch::kFloat64;
  auto x = upcast ? input.to(torch::kFloat32) : input;  // [..., d_model]
  torch::Tensor normalized;                             // [..., d_model]
  if (!has_hooks()) {
    // Nobody looks inside: libtorch's fused layer_norm computes the same (biased variance, eps
    // inside the square root) in one pass.
    normalized = torch::layer_norm(x, {x.size(-1)}, upcast && w.defined() ? w.to(x.scalar_type()) : w,
                                   upcast && b.defined() ? b.to(x.scalar_type()) : b, eps_);
  } else {
    auto centered = x - x.mean(-1, /*keepdim=*/true);                                 // [..., d_model]
    auto scale = hook_scale->forward((centered.pow(2).mean(-1, true) + eps_).sqrt());  // [..., 1]
    normalized = centered / scale;                                                     // [..., d_model]
    if (!pre_) normalized = torch::addcmul(b, normalized, w);  // normalized * w + b
    normalized = hook_normalized->forward(normalized);                                 // [..., d_model]
  }
  return upcast ? normalized.to(dtype) : normalized;  // [..., d_model]
}

}  // namespace tlens
