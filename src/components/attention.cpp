#include "tlens/components/attention.h"

#include <limits>

#include <torch/torch.h>

namespace tlens {

AttentionImpl::AttentionImpl(const HookedTransformerConfig& cfg, int64_t layer)
    : cfg_(cfg), attn_scale_(cfg.effective_attn_scale(layer)) {
  const int64_t H = cfg.n_heads, d = cfg.d_model, dh = cfg.d_head;
  W_Q = register_parameter("W_Q", torch::empty({H, d, dh}));
  W_K = register_parameter("W_K", torch::empty({H, d, dh}));
  W_V = register_parameter("W_V", torch::empty({H, d, dh}));
  W_O = register_parameter("W_O", torch::empty({H, dh, d}));
  b_Q = register_parameter("b_Q", torch::zeros({H, dh}));
  b_K = register_parameter("b_K", torch::zeros({H, dh}));
  b_V = register_parameter("b_V", torch::zeros({H, dh}));
  b_O = register_parameter("b_O", torch::zeros({d}));
  // Registration order is TransformerLens's hook_dict order.
  hook_k = register_module("hook_k", std::make_shared<HookPoint>());
  hook_q = register_module("hook_q", std::make_shared<HookPoint>());
  hook_v = register_module("hook_v", std::make_shared<HookPoint>());
  hook_z = register_module("hook_z", std::make_shared<HookPoint>());
  hook_attn_scores = register_module("hook_attn_scores", std::make_shared<HookPoint>());
  hook_pattern = register_module("hook_pattern", std::make_shared<HookPoint>());
  hook_result = register_module("hook_result", std::make_shared<HookPoint>("use_attn_result"));
}

torch::Tensor AttentionImpl::project(const torch::Tensor& input, const torch::Tensor& W,
                                     const torch::Tensor& b) {
  const int64_t H = W.size(0), d = W.size(1), dh = W.size(2);
  if (input.dim() == 4) {
    // batch pos head_index d_model, head_index d_model d_head -> batch pos head_index d_head
    return torch::einsum("bphm,hmd->bphd", {input, W}) + b;
  }
  // [d_model, head_index * d_head]
  auto W_flat = W.permute({1, 0, 2}).reshape({d, H * dh});
  // [batch, pos, head_index * d_head]
  auto out = torch::addmm(b.reshape({H * dh}), input.reshape({-1, d}), W_flat);
  return out.view({input.size(0), input.size(1), H, dh});  // [batch, pos, head_index, d_head]
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& query_input,
                                     const torch::Tensor& key_input,
                                     const torch::Tensor& value_input,
                                     const std::optional<torch::Tensor>& attention_mask) {
  const int64_t batch = query_input.size(0), pos = query_input.size(1);
  const int64_t H = cfg_.n_heads, dh = cfg_.d_head, d = cfg_.d_model;

  auto q = hook_q->forward(project(query_input, W_Q, b_Q));  // [batch, pos, head_index, d_head]
  auto k = hook_k->forward(project(key_input, W_K, b_K));    // [batch, pos, head_index, d_head]
  auto v = hook_v->forward(project(value_input, W_V, b_V));  // [batch, pos, head_index, d_head]

  // batch query_pos head_index d_head, batch key_pos head_index d_head
  //   -> batch head_index query_pos key_pos
  auto scores = torch::matmul(q.permute({0, 2, 1, 3}), k.permute({0, 2, 3, 1})) / attn_scale_;

  const int64_t key_pos = k.size(1);
  // [query_pos, key_pos]: key_pos <= query_pos
  auto allowed = torch::ones({pos, key_pos}, torch::dtype(torch::kBool)).tril();
  if (attention_mask) {
    // [batch, 1, query_pos, key_pos]: causal and the key is a real token
    allowed = allowed.unsqueeze(0) & attention_mask->to(torch::kBool).unsqueeze(1);
    allowed = allowed.unsqueeze(1);
  }
  scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
  scores = hook_attn_scores->forward(scores);  // [batch, head_index, query_pos, key_pos]

  auto pattern = torch::softmax(scores, -1);  // [batch, head_index, query_pos, key_pos]
  // A query whose keys are all masked (a left pad) has a NaN row; TransformerLens makes it 0.
  // Without a padding mask every row keeps its diagonal, so the check is skipped.
  if (attention_mask) pattern = torch::nan_to_num(pattern, 0.0, 0.0, 0.0);
  pattern = hook_pattern->forward(pattern);

  // batch head_index query_pos key_pos, batch key_pos head_index d_head
  //   -> batch query_pos head_index d_head
  auto z = torch::matmul(pattern, v.permute({0, 2, 1, 3})).permute({0, 2, 1, 3});
  z = hook_z->forward(z);  // [batch, pos, head_index, d_head]

  if (cfg_.use_attn_result) {
    // batch pos head_index d_head, head_index d_head d_model -> batch pos head_index d_model
    auto result = hook_result->forward(torch::einsum("bphd,hdm->bphm", {z, W_O}));
    return result.sum(2) + b_O;  // [batch, pos, d_model]
  }
  // [batch * pos, head_index * d_head] @ [head_index * d_head, d_model] + b_O
  auto out = torch::addmm(b_O, z.reshape({batch * pos, H * dh}), W_O.reshape({H * dh, d}));
  return out.view({batch, pos, d});  // [batch, pos, d_model]
}

}  // namespace tlens
