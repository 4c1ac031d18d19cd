#include "tlens/components/attention.h"

#include <limits>

#include <torch/torch.h>

#include "tlens/linear.h"

namespace tlens {

AttentionImpl::AttentionImpl(const HookedTransformerConfig& cfg, int64_t layer)
    : cfg_(cfg), attn_scale_(cfg.effective_attn_scale(layer)) {
  const int64_t H = cfg.n_heads, d = cfg.d_model, dh = cfg.d_head;
  W_Q = register_parameter("W_Q", torch::empty({H, d, dh}));
  W_K = register_parameter("W_K", torch::empty({H, d, dh}));
  W_V = register_parameter("W_V", torch::empty({H, d, dh}));
  W_O = register_parameter("W_O", empty_weight(H * dh, d).view({H, dh, d}));  // [head_index, d_head, d_model]
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
  auto out = linear(input.reshape({-1, d}), W_flat, b.reshape({H * dh}));
  return out.view({input.size(0), input.size(1), H, dh});  // [batch, pos, head_index, d_head]
}

const AttentionImpl::PackedQKV& AttentionImpl::packed_qkv() {
  std::vector<std::pair<const void*, uint32_t>> source;
  for (const auto* t : {&W_Q, &W_K, &W_V, &b_Q, &b_K, &b_V})
    source.emplace_back(t->data_ptr(), t->_version());
  if (source != packed_.source || !packed_.W.defined()) {
    const int64_t H = cfg_.n_heads, d = cfg_.d_model, dh = cfg_.d_head;
    // head_index d_model d_head -> (head_index d_head) d_model
    auto rows = [&](const torch::Tensor& W) { return W.permute({0, 2, 1}).reshape({H * dh, d}); };
    // [d_model, 3 * head_index * d_head] in weight layout (linear.h): stored as its transpose
    packed_.W = torch::cat({rows(W_Q), rows(W_K), rows(W_V)}, 0).t();
    packed_.b = torch::cat({b_Q.reshape(-1), b_K.reshape(-1), b_V.reshape(-1)});  // [3 * head_index * d_head]
    packed_.source = std::move(source);
  }
  return packed_;
}

const torch::Tensor& AttentionImpl::causal_mask(int64_t pos, const torch::Device& device) {
  if (!causal_mask_.defined() || causal_mask_.size(0) != pos || causal_mask_.device() != device)
    causal_mask_ = torch::ones({pos, pos}, torch::dtype(torch::kBool).device(device)).triu(1);
  return causal_mask_;
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& query_input,
                                     const torch::Tensor& key_input,
                                     const torch::Tensor& value_input,
                                     const std::optional<torch::Tensor>& attention_mask) {
  const int64_t batch = query_input.size(0), pos = query_input.size(1);
  const int64_t H = cfg_.n_heads, dh = cfg_.d_head, d = cfg_.d_model;

  torch::Tensor q, k, v;  // [batch, pos, head_index, d_head] each
  const bool shared_input = query_input.is_same(key_input) && query_input.is_same(value_input);
  if (shared_input && query_input.dim() == 3 && !torch::GradMode::is_enabled()) {
    const auto& packed = packed_qkv();
    // [batch, pos, 3, head_index, d_head]
    auto qkv = linear(query_input.reshape({batch * pos, d}), packed.W, packed.b)
                   .view({batch, pos, 3, H, dh});
    q = qkv.select(2, 0);
    k = qkv.select(2, 1);
    v = qkv.select(2, 2);
  } else if (query_input.dim() == 3 && key_input.dim() == 3 && value_input.dim() == 3 &&
             !torch::GradMode::is_enabled()) {
    // Separate inputs (ln1 hooked): each from its columns of the packed weights, no copy.
    const auto& packed = packed_qkv();
    const int64_t width = H * dh;
    auto one = [&](const torch::Tensor& input, int64_t i) {
      // [batch * pos, d_model] @ [d_model, head_index * d_head] -> [batch, pos, head_index, d_head]
      return linear(input.reshape({-1, d}), packed.W.narrow(1, i * width, width),
                    packed.b.narrow(0, i * width, width))
          .view({input.size(0), input.size(1), H, dh});
    };
    q = one(query_input, 0);
    k = one(key_input, 1);
    v = one(value_input, 2);
  } else {
    q = project(query_input, W_Q, b_Q);
    k = project(key_input, W_K, b_K);
    v = project(value_input, W_V, b_V);
  }
  q = hook_q->forward(q);
  k = hook_k->forward(k);
  v = hook_v->forward(v);

  // Nobody looks at the scores or the pattern: libtorch's fused causal attention computes z
  // without materializing [batch, head_index, query_pos, key_pos] (and skips the masked half).
  // float32 only (16-bit models keep TransformerLens's float32 scores, below), no padding mask.
  const auto dtype = v.scalar_type();
  if (dtype == torch::kFloat32 && !attention_mask && !hook_attn_scores->has_hooks() &&
      !hook_pattern->has_hooks() && !torch::GradMode::is_enabled()) {
    // batch head_index query_pos d_head -> batch query_pos head_index d_head
    auto z = torch::scaled_dot_product_attention(
                 q.permute({0, 2, 1, 3}), k.permute({0, 2, 1, 3}), v.permute({0, 2, 1, 3}),
                 /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/true, /*scale=*/1.0 / attn_scale_)
                 .permute({0, 2, 1, 3});
    return output(hook_z->forward(z));  // [batch, pos, d_model]
  }

  // float16 / bfloat16: scores and pattern in float32, as TransformerLens computes them.
  if (dtype != torch::kFloat32 && dtype != torch::kFloat64) {
    q = q.to(torch::kFloat32);  // [batch, pos, head_index, d_head]
    k = k.to(torch::kFloat32);  // [batch, pos, head_index, d_head]
  }

  // batch query_pos head_index d_head, batch key_pos head_index d_head
  //   -> batch head_index query_pos key_pos
  // (q / scale) @ k: scaling q ([batch, pos, head_index, d_head]) is cheaper than scaling the
  // scores ([batch, head_index, pos, pos]), and exact for GPT-2's power-of-two scale of 8.
  auto scores = torch::matmul((q / attn_scale_).permute({0, 2, 1, 3}), k.permute({0, 2, 3, 1}));

  torch::Tensor masked = causal_mask(pos, scores.device());  // [query_pos, key_pos]
  if (attention_mask) {
    // [batch, 1, query_pos, key_pos]: in the future, or the key is a pad
    masked = (masked.unsqueeze(0) | (*attention_mask == 0).unsqueeze(1)).unsqueeze(1);
  }
  scores.masked_fill_(masked, -std::numeric_limits<float>::infinity());  // scores is our own
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
  auto out = linear(z.reshape({batch * pos, H * dh}), W_O.reshape({H * dh, d}), b_O);
  return out.view({batch, pos, d});  // [batch, pos, d_model]
}

}  // namespace tlens
