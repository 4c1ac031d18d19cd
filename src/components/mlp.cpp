#include "tlens/components/mlp.h"

#include <cmath>

#include <torch/torch.h>

#include "tlens/components/gated_mlp.h"
#include "tlens/components/moe.h"
#include "tlens/error.h"
#include "backend/linear.h"

namespace tlens {

torch::Tensor apply_act_fn(const std::string& act_fn, const torch::Tensor& x) {
  if (act_fn == "gelu_new" || act_fn == "gelu_pytorch_tanh") {
    // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))): libtorch's tanh GELU is this formula in
    // one fused pass, instead of six passes with temporaries.
    return torch::gelu(x, "tanh");
  }
  if (act_fn == "gelu_fast") {
    return 0.5 * x * (1.0 + torch::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)));
  }
  if (act_fn == "gelu") return torch::gelu(x);
  if (act_fn == "relu") return torch::relu(x);
  if (act_fn == "silu") return torch::silu(x);
  throw Error("cfg.act_fn", "unknown activation '" + act_fn + "'",
              "use relu, gelu, gelu_new, gelu_fast, gelu_pytorch_tanh or silu");
}

std::shared_ptr<CanBeUsedAsMLPImpl> make_mlp(const HookedTransformerConfig& cfg) {
  if (cfg.num_experts > 0) return std::make_shared<MoEImpl>(cfg);
  if (cfg.gated_mlp) return std::make_shared<GatedMLPImpl>(cfg);
  return std::make_shared<MLPImpl>(cfg);
}

MLPImpl::MLPImpl(const HookedTransformerConfig& cfg) : act_fn_(cfg.act_fn) {
  W_in = register_parameter("W_in", torch::empty({cfg.d_model, cfg.d_mlp}));  // [d_model, d_mlp]
  b_in = register_parameter("b_in", torch::zeros({cfg.d_mlp}));
  W_out = register_parameter("W_out", torch::empty({cfg.d_mlp, cfg.d_model}));  // [d_mlp, d_model]
  b_out = register_parameter("b_out", torch::zeros({cfg.d_model}));
  hook_pre = register_module("hook_pre", std::make_shared<HookPoint>());
  hook_post = register_module("hook_post", std::make_shared<HookPoint>());
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x) {
  const int64_t batch = x.size(0), pos = x.size(1), d_model = x.size(2);
  // [batch * pos, d_mlp]
  auto pre = backend::linear(x.reshape({batch * pos, d_model}), W_in, b_in);
  pre = hook_pre->forward(pre.view({batch, pos, -1}));     // [batch, pos, d_mlp]
  auto post = hook_post->forward(apply_act_fn(act_fn_, pre));  // [batch, pos, d_mlp]
  auto out = backend::linear(post.reshape({batch * pos, -1}), W_out, b_out);
  return out.view({batch, pos, d_model});  // [batch, pos, d_model]
}

}  // namespace tlens
