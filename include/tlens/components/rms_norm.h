// RMSNorm / RMSNormPre: TransformerLens's root-mean-square normalization (Llama, Mistral, Qwen,
// Gemma, ...), with hook_scale and hook_normalized.
//
// RMSNorm:    x -> x / scale * w,  scale = sqrt(mean(x^2) + eps)
// RMSNormPre: x -> x / scale       (after fold_ln moved w into the readers)
// hook_scale sees scale [..., 1]; hook_normalized sees x / scale [..., length], before w (unlike
// LayerNorm's, TransformerLens's RMSNorm hooks it before the weight).
// Gemma's 1 + w is the converter's business: the weight here is the factor itself.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "tlens/components/layer_norm.h"

namespace tlens {

class RMSNormImpl : public NormImpl {
 public:
  // `length`: the normalized size (d_model, or d_head for q/k norms); `pre` = true: RMSNormPre.
  RMSNormImpl(const HookedTransformerConfig& cfg, int64_t length, bool pre);
  torch::Tensor forward(const torch::Tensor& x) override;
  bool is_pre() const override { return pre_; }
  bool is_rms() const override { return true; }
  void pretty_print(std::ostream& stream) const override {
    stream << (pre_ ? "RMSNormPre" : "RMSNorm");
  }

 private:
  bool pre_;
  double eps_;
};
TORCH_MODULE(RMSNorm);

}  // namespace tlens
