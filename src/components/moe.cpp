#include "tlens/components/moe.h"

#include <torch/torch.h>

namespace tlens {

namespace {
torch::nn::Linear linear(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}
}  // namespace

MoEGatedMLPImpl::MoEGatedMLPImpl(const HookedTransformerConfig& cfg) : act_fn_(cfg.act_fn) {
  W_in = register_module("W_in", linear(cfg.d_model, cfg.d_mlp));
  W_out = register_module("W_out", linear(cfg.d_mlp, cfg.d_model));
  W_gate = register_module("W_gate", linear(cfg.d_model, cfg.d_mlp));
  hook_gate = register_module("hook_gate", std::make_shared<HookPoint>());
  hook_pre = register_module("hook_pre", std::make_shared<HookPoint>());
  hook_post = register_module("hook_post", std::make_shared<HookPoint>());
}

torch::Tensor MoEGatedMLPImpl::forward(const torch::Tensor& x) {
  auto gate = hook_gate->forward(W_gate->forward(x));                   // [n_routed, d_mlp]
  auto pre = hook_pre->forward(W_in->forward(x));                       // [n_routed, d_mlp]
  auto post = hook_post->forward(apply_act_fn(act_fn_, gate) * pre);    // [n_routed, d_mlp]
  return W_out->forward(post);                                          // [n_routed, d_model]
}

MoEImpl::MoEImpl(const HookedTransformerConfig& cfg)
    : num_experts_(cfg.num_experts), experts_per_token_(cfg.experts_per_token) {
  experts = register_module("experts", torch::nn::ModuleList());
  for (int64_t e = 0; e < num_experts_; ++e) experts->push_back(MoEGatedMLP(cfg));
  W_gate = register_module("W_gate", linear(cfg.d_model, num_experts_));
  hook_expert_weights = register_module("hook_expert_weights", std::make_shared<HookPoint>());
  hook_expert_indices = register_module("hook_expert_indices", std::make_shared<HookPoint>());
}

torch::Tensor MoEImpl::forward(const torch::Tensor& input) {
  const int64_t batch = input.size(0), pos = input.size(1), d_model = input.size(2);
  auto x = input.reshape({batch * pos, d_model});                             // [tokens, d_model]
  auto router_logits = W_gate->forward(x);                                    // [tokens, num_experts]
  auto weights = hook_expert_weights->forward(
      torch::softmax(router_logits, 1, torch::kFloat32));                     // [tokens, num_experts]
  auto [top_weights, indices] = torch::topk(weights, experts_per_token_, -1);  // [tokens, k] each
  top_weights = top_weights / top_weights.sum(-1, true);                     // [tokens, k]
  indices = hook_expert_indices->forward(indices);                           // [tokens, k]
  top_weights = top_weights.to(x.scalar_type());

  auto results = torch::zeros({batch * pos, d_model}, x.options());  // [tokens, d_model]
  // [num_experts, k, tokens]: whether token t's slot j chose expert e
  auto chosen = torch::one_hot(indices, num_experts_).permute({2, 1, 0});
  for (int64_t e = 0; e < num_experts_; ++e) {
    // (slot, token) pairs, slot-major: first-choice tokens first
    auto where = torch::nonzero(chosen[e]);                        // [n_routed, 2]
    auto slot = where.select(1, 0), token = where.select(1, 1);     // [n_routed] each
    auto out = experts->ptr<MoEGatedMLPImpl>(e)->forward(x.index_select(0, token));  // [n_routed, d_model]
    auto w = top_weights.index({token, slot}).unsqueeze(-1);        // [n_routed, 1]
    results.index_add_(0, token, out * w);
  }
  return results.view({batch, pos, d_model});  // [batch, pos, d_model]
}

}  // namespace tlens
