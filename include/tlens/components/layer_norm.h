// LayerNorm / LayerNormPre: TransformerLens's normalization, with hook_scale and hook_normalized.
//
// LayerNorm:    x -> (x - mean) / scale * w + b,  scale = sqrt(mean((x - mean)^2) + eps)
// LayerNormPre: x -> (x - mean) / scale           (after fold_ln moved w and b into the readers)
// hook_scale sees scale [..., 1]; hook_normalized sees the output [..., d_model] (TransformerLens
// 2.x: after w and b).
//
// Norm is what a block holds as ln1 / ln2 / ln_final: a LayerNorm or an RMSNorm (rms_norm.h),
// chosen by make_norm from cfg.normalization_type.
#pragma once

#include <memory>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "tlens/config.h"
#include "tlens/hook_point.h"

namespace tlens {

// The interface of TransformerLens's normalization modules.
class NormImpl : public torch::nn::Module {
 public:
  // x [..., length] -> [..., length]
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  bool has_hooks() const { return hook_scale->has_hooks() || hook_normalized->has_hooks(); }
  virtual bool is_pre() const = 0;   // no weights (folded into the readers)
  virtual bool is_rms() const = 0;   // RMSNorm: no centering

  torch::Tensor w;  // [length], undefined for the *Pre forms
  torch::Tensor b;  // [length], LayerNorm only
  std::shared_ptr<HookPoint> hook_scale;       // [..., 1]
  std::shared_ptr<HookPoint> hook_normalized;  // [..., length]

 protected:
  void register_hooks();
};
using Norm = std::shared_ptr<NormImpl>;

class LayerNormImpl : public NormImpl {
 public:
  // `pre` = true makes a LayerNormPre (no parameters).
  LayerNormImpl(const HookedTransformerConfig& cfg, bool pre);
  torch::Tensor forward(const torch::Tensor& x) override;
  bool is_pre() const override { return pre_; }
  bool is_rms() const override { return false; }
  void pretty_print(std::ostream& stream) const override {
    stream << (pre_ ? "LayerNormPre" : "LayerNorm");
  }

 private:
  bool pre_;
  double eps_;
};
TORCH_MODULE(LayerNorm);

// The norm TransformerLens builds for cfg.normalization_type ("LN", "LNPre", "RMS", "RMSPre"),
// over d_model; nullptr for none. With `weighted`, the form with weights even when the model's
// norms are folded (Gemma 2's ln1_post, which processing never folds).
Norm make_norm(const HookedTransformerConfig& cfg, bool weighted = false);

}  // namespace tlens
