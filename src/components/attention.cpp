#include "tlens/components/attention.h"

#include <limits>

#include <torch/torch.h>

#include "backend/attention.h"
#include "backend/linear.h"

namespace tlens {

AttentionImpl::AttentionImpl(const HookedTransformerConfig& cfg, int64_t layer)
    : cfg_(cfg), attn_scale_(cfg.effective_attn_scale(layer)) {
  const int64_t H = cfg.n_heads, d = cfg.d_model, dh = cfg.d_head;
  W_Q = register_parameter("W_Q", torch::empty({H, d, dh}));
  W_K = register_parameter("W_K", torch::empty({H, d, dh}));
  W_V = register_parameter("W_V", torch::empty({H, d, dh}));
  W_O = register_parameter("W_O", torch::empty({H, dh, d}));  // [head_index, d_head, d_model]
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
  hook_result = register_module("hook_result", std::make_shared<HookPoint>(HookFlag::use_attn_result));
}

const torch::Tensor& AttentionImpl::causal_mask(int64_t pos, const torch::Device& device) {
  if (!causal_mask_.defined() || causal_mask_.size(0) != pos || causal_mask_.device() != device)
    causal_mask_ = torch::ones({pos, pos}, torch::dtype(torch::kBool).device(device)).triu(1);
  return causal_mask_;
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& query_input,
                                     const torch::Tensor& key_input,
                                     const torch::Tensor& value_input,
                                     const std::optional<torch::Tensor>& attention_mask,
                                     HookedTransformerKeyValueCacheEntry* past_kv_cache_entry) {
  const int64_t pos = query_input.size(1);
  // [batch, pos, head_index, d_head] each: input @ W + b per head
  auto [q, k, v] = backend::attention_qkv(query_input, key_input, value_input, W_Q, W_K, W_V,
                                          b_Q, b_K, b_V);
  q = hook_q->forward(q);
  k = hook_k->forward(k);
  v = hook_v->forward(v);

  // With a cache: the keys and values of the earlier positions come first; query i is position
  // past_pos + i.
  int64_t past_pos = 0;
  if (past_kv_cache_entry) {
    past_pos = past_kv_cache_entry->past_keys.size(1);
    std::tie(k, v) = past_kv_cache_entry->append(k, v);  // [batch, key_pos, head_index, d_head]
  }

  // Nobody looks at the scores or the pattern: the fused causal attention computes z without
  // materializing [batch, head_index, query_pos, key_pos].
  if (!past_kv_cache_entry && !hook_attn_scores->has_hooks() && !hook_pattern->has_hooks() &&
      backend::fused_attention_fits(v, attention_mask.has_value())) {
    auto z = backend::causal_attention(q, k, v, attn_scale_);  // [batch, pos, head_index, d_head]
    return output(hook_z->forward(z));  // [batch, pos, d_model]
  }

  // float16 / bfloat16: scores and pattern in float32, as TransformerLens computes them.
  const auto dtype = v.scalar_type();
  if (dtype != torch::kFloat32 && dtype != torch::kFloat64) {
    q = q.to(torch::kFloat32);  // [batch, pos, head_index, d_head]
    k = k.to(torch::kFloat32);  // [batch, pos, head_index, d_head]
  }

  // batch query_pos head_index d_head, batch key_pos head_index d_head
  //   -> batch head_index query_pos key_pos
  // (q / scale) @ k: scaling q ([batch, pos, head_index, d_head]) is cheaper than scaling the
  // scores ([batch, head_index, pos, pos]), and exact for GPT-2's power-of-two scale of 8.
  auto scores = torch::matmul((q / attn_scale_).permute({0, 2, 1, 3}), k.permute({0, 2, 3, 1}));

  // One query after the cached positions (a generation step) is the last position: no key lies
  // in its future, and only pads are masked.
  if (pos == 1 && past_pos > 0) {
    if (attention_mask)  // [batch, 1, 1, key_pos]: the key is a pad
      scores.masked_fill_((*attention_mask == 0).view({-1, 1, 1, k.size(1)}),
                          -std::numeric_limits<float>::infinity());
  } else {
    // [query_pos, key_pos]: the rows of the square mask that belong to this forward's queries
    torch::Tensor masked = causal_mask(k.size(1), scores.device()).narrow(0, past_pos, pos);
    if (attention_mask) {
      // [batch, 1, query_pos, key_pos]: in the future, or the key is a pad
      masked = (masked.unsqueeze(0) | (*attention_mask == 0).unsqueeze(1)).unsqueeze(1);
    }
    scores.masked_fill_(masked, -std::numeric_limits<float>::infinity());  // scores is our own
  }
  scores = hook_attn_scores->forward(scores);  // [batch, head_index, query_pos, key_pos]

  auto pattern = torch::softmax(scores, -1);  // [batch, head_index, query_pos, key_pos]
  // A query whose keys are all masked (a left pad) has a NaN row; TransformerLens makes it 0.
  // Without a padding mask every row keeps its diagonal, so the check is skipped.
  if (attention_mask) pattern = torch::nan_to_num(pattern, 0.0, 0.0, 0.0);
  pattern = hook_pattern->forward(pattern).to(dtype);  // [batch, head_index, query_pos, key_pos]

  // batch head_index query_pos key_pos, batch key_pos head_index d_head
  //   -> batch query_pos head_index d_head
  auto z = torch::matmul(pattern, v.permute({0, 2, 1, 3})).permute({0, 2, 1, 3});
  return output(hook_z->forward(z));  // [batch, pos, d_model]
}

torch::Tensor AttentionImpl::output(const torch::Tensor& z) {
  const int64_t batch = z.size(0), pos = z.size(1);
  const int64_t H = cfg_.n_heads, dh = cfg_.d_head, d = cfg_.d_model;
  if (cfg_.use_attn_result) {
    // batch pos head_index d_head, head_index d_head d_model -> batch pos head_index d_model
    auto result = hook_result->forward(torch::einsum("bphd,hdm->bphm", {z, W_O}));
    return result.sum(2) + b_O;  // [batch, pos, d_model]
  }
  // [batch * pos, head_index * d_head] @ [head_index * d_head, d_model] + b_O
  auto out = backend::linear(z.reshape({batch * pos, H * dh}), W_O.reshape({H * dh, d}), b_O);
  return out.view({batch, pos, d});  // [batch, pos, d_model]
}

}  // namespace tlens
