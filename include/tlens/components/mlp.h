// MLP: W_in [d_model, d_mlp], b_in [d_mlp], W_out [d_mlp, d_model], b_out [d_model].
// hook_pre sees x @ W_in + b_in, hook_post act_fn(pre), both [batch, pos, d_mlp].
//
// CanBeUsedAsMLP is what a block holds as mlp: an MLP, a GatedMLP (gated_mlp.h) or a mixture of
// experts (moe.h), chosen by make_mlp from the config.
#pragma once

#include <memory>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "tlens/config.h"
#include "tlens/hook_point.h"

namespace tlens {

// The activation functions TransformerLens names in cfg.act_fn.
torch::Tensor apply_act_fn(const std::string& act_fn, const torch::Tensor& x);

class CanBeUsedAsMLPImpl : public torch::nn::Module {
 public:
  // x [batch, pos, d_model] -> [batch, pos, d_model]
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

// MLP, GatedMLP (cfg.gated_mlp) or MoE (cfg.num_experts > 0).
std::shared_ptr<CanBeUsedAsMLPImpl> make_mlp(const HookedTransformerConfig& cfg);

class MLPImpl : public CanBeUsedAsMLPImpl {
 public:
  explicit MLPImpl(const HookedTransformerConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x) override;
  void pretty_print(std::ostream& stream) const override { stream << "MLP"; }

  torch::Tensor W_in;   // [d_model, d_mlp]
  torch::Tensor b_in;   // [d_mlp]
  torch::Tensor W_out;  // [d_mlp, d_model]
  torch::Tensor b_out;  // [d_model]
  std::shared_ptr<HookPoint> hook_pre, hook_post;

 private:
  std::string act_fn_;
};
TORCH_MODULE(MLP);

}  // namespace tlens
