// LayerNorm / LayerNormPre: TransformerLens's normalization, with hook_scale and hook_normalized.
//
// LayerNorm:    x -> (x - mean) / scale * w + b,  scale = sqrt(mean((x - mean)^2) + eps)
// LayerNormPre: x -> (x - mean) / scale           (after fold_ln moved w and b into the readers)
// hook_scale sees scale [..., 1]; hook_normalized sees the output [..., d_model] (TransformerLens
// 2.x: after w and b).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "tlens/config.h"
#include "tlens/hook_point.h"

namespace tlens {

class LayerNormImpl : public torch::nn::Module {
 public:
  // `pre` = true makes a LayerNormPre (no parameters).
  LayerNormImpl(const HookedTransformerConfig& cfg, bool pre);
  // x [..., d_model] -> [..., d_model]
  torch::Tensor forward(const torch::Tensor& x);
  bool has_hooks() const { return hook_scale->has_hooks() || hook_normalized->has_hooks(); }
  bool is_pre() const { return pre_; }
  void pretty_print(std::ostream& stream) const override {
    stream << (pre_ ? "LayerNormPre" : "LayerNorm");
  }

  torch::Tensor w;  // [d_model], undefined for LayerNormPre
  torch::Tensor b;  // [d_model], undefined for LayerNormPre
  std::shared_ptr<HookPoint> hook_scale;       // [..., 1]
  std::shared_ptr<HookPoint> hook_normalized;  // [..., d_model]

 private:
  bool pre_;
  double eps_;
};
TORCH_MODULE(LayerNorm);

}  // namespace tlens
