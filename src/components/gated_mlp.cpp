#include "tlens/components/gated_mlp.h"

#include <torch/torch.h>

#include "backend/linear.h"

namespace tlens {

GatedMLPImpl::GatedMLPImpl(const HookedTransformerConfig& cfg) : act_fn_(cfg.act_fn) {
  W_in = register_parameter("W_in", torch::empty({cfg.d_model, cfg.d_mlp}));      // [d_model, d_mlp]
  W_gate = register_parameter("W_gate", torch::empty({cfg.d_model, cfg.d_mlp}));  // [d_model, d_mlp]
  b_in = register_parameter("b_in", torch::zeros({cfg.d_mlp}));
  W_out = register_parameter("W_out", torch::empty({cfg.d_mlp, cfg.d_model}));    // [d_mlp, d_model]
  b_out = register_parameter("b_out", torch::zeros({cfg.d_model}));
  hook_pre = register_module("hook_pre", std::make_shared<HookPoint>());
  hook_pre_linear = register_module("hook_pre_linear", std::make_shared<HookPoint>());
  hook_post = register_module("hook_post", std::make_shared<HookPoint>());
}

torch::Tensor GatedMLPImpl::forward(const torch::Tensor& x) {
  const int64_t batch = x.size(0), pos = x.size(1), d_model = x.size(2);
  auto rows = x.reshape({batch * pos, d_model});                                  // [batch * pos, d_model]
  // x @ W without a bias: backend::linear adds a zero one ([d_mlp], kept on W's device and dtype)
  if (!no_bias_.defined() || no_bias_.device() != W_in.device() || no_bias_.dtype() != W_in.dtype())
    no_bias_ = torch::zeros({W_in.size(1)}, W_in.options().requires_grad(false));
  const auto& zero = no_bias_;
  auto pre = hook_pre->forward(backend::linear(rows, W_gate, zero).view({batch, pos, -1}));  // [batch, pos, d_mlp]
  auto pre_linear =
      hook_pre_linear->forward(backend::linear(rows, W_in, zero).view({batch, pos, -1}));  // [batch, pos, d_mlp]
  auto post = hook_post->forward(apply_act_fn(act_fn_, pre) * pre_linear + b_in);  // [batch, pos, d_mlp]
  auto out = backend::linear(post.reshape({batch * pos, -1}), W_out, b_out);
  return out.view({batch, pos, d_model});  // [batch, pos, d_model]
}

}  // namespace tlens
