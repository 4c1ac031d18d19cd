// GatedMLP (Llama, Mistral, Qwen, Gemma, Phi-3: SwiGLU / GeGLU), TransformerLens's weights and
// hooks:
//   hook_pre        = x @ W_gate                        [batch, pos, d_mlp]  (the gate)
//   hook_pre_linear = x @ W_in                          [batch, pos, d_mlp]
//   hook_post       = act_fn(pre) * pre_linear + b_in   [batch, pos, d_mlp]
//   out             = post @ W_out + b_out              [batch, pos, d_model]
// W_in, W_gate [d_model, d_mlp], W_out [d_mlp, d_model].
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "tlens/components/mlp.h"

namespace tlens {

class GatedMLPImpl : public CanBeUsedAsMLPImpl {
 public:
  explicit GatedMLPImpl(const HookedTransformerConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x) override;
  void pretty_print(std::ostream& stream) const override { stream << "GatedMLP"; }

  torch::Tensor W_in;    // [d_model, d_mlp]
  torch::Tensor W_gate;  // [d_model, d_mlp]
  torch::Tensor b_in;    // [d_mlp]
  torch::Tensor W_out;   // [d_mlp, d_model]
  torch::Tensor b_out;   // [d_model]
  std::shared_ptr<HookPoint> hook_pre, hook_pre_linear, hook_post;

 private:
  std::string act_fn_;
  torch::Tensor no_bias_;  // zeros [d_mlp]
};
TORCH_MODULE(GatedMLP);

}  // namespace tlens
