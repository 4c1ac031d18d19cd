// MoE: a mixture of gated-MLP experts (Mixtral), TransformerLens 2.18's weights and hooks.
//
// Each token's router weights softmax(x @ W_gate^T) (float32, over every expert) go to
// hook_expert_weights [batch * pos, num_experts]; the experts_per_token largest are kept and
// renormalized to sum 1, their indices go to hook_expert_indices [batch * pos, experts_per_token].
// Expert e runs on the tokens routed to it (those with e as first choice, then as second, ...):
//   experts.e.hook_gate = x @ W_gate^T, hook_pre = x @ W_in^T,
//   hook_post = act_fn(gate) * pre, out = post @ W_out^T       ([n_routed, d_mlp] each)
// and out, times the token's weight for e, is added to the token's output.
// The weights are nn.Linear's, as TransformerLens keeps them: W_gate.weight [num_experts,
// d_model] (the router), experts.e.W_gate.weight / W_in.weight [d_mlp, d_model],
// W_out.weight [d_model, d_mlp].
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "tlens/components/mlp.h"

namespace tlens {

class MoEGatedMLPImpl : public torch::nn::Module {
 public:
  explicit MoEGatedMLPImpl(const HookedTransformerConfig& cfg);
  // x [n_routed, d_model] -> [n_routed, d_model]
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override { stream << "MoEGatedMLP"; }

  torch::nn::Linear W_in{nullptr}, W_out{nullptr}, W_gate{nullptr};
  std::shared_ptr<HookPoint> hook_gate, hook_pre, hook_post;

 private:
  std::string act_fn_;
};
TORCH_MODULE(MoEGatedMLP);

class MoEImpl : public CanBeUsedAsMLPImpl {
 public:
  explicit MoEImpl(const HookedTransformerConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x) override;
  void pretty_print(std::ostream& stream) const override { stream << "MoE"; }

  torch::nn::ModuleList experts{nullptr};
  torch::nn::Linear W_gate{nullptr};  // the router
  std::shared_ptr<HookPoint> hook_expert_weights, hook_expert_indices;

 private:
  int64_t num_experts_, experts_per_token_;
};
TORCH_MODULE(MoE);

}  // namespace tlens
