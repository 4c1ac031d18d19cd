#include "backend/attention.h"

#include <torch/torch.h>

#include "backend/derived.h"
#include "backend/linear.h"

namespace tlens::backend {

namespace {

// input [batch, pos, d_model] or [batch, pos, head_index, d_model] -> [batch, pos, head_index,
// d_head]: the reference projection.
torch::Tensor project(const torch::Tensor& input, const torch::Tensor& W, const torch::Tensor& b) {
  const int64_t H = W.size(0), d = W.size(1), dh = W.size(2);
  if (input.dim() == 4) {
    // batch pos head_index d_model, head_index d_model d_head -> batch pos head_index d_head
    return torch::einsum("bphm,hmd->bphd", {input, W}) + b;
  }
  // head_index d_model d_head -> d_model (head_index d_head)
  auto W_flat = W.permute({1, 0, 2}).reshape({d, H * dh});
  // [batch * pos, head_index * d_head]
  auto out = linear(input.reshape({-1, d}), W_flat, b.reshape({H * dh}));
  return out.view({input.size(0), input.size(1), H, dh});  // [batch, pos, head_index, d_head]
}

}  // namespace

QKV attention_qkv(const torch::Tensor& query_input, const torch::Tensor& key_input,
                  const torch::Tensor& value_input, const torch::Tensor& W_Q,
                  const torch::Tensor& W_K, const torch::Tensor& W_V, const torch::Tensor& b_Q,
                  const torch::Tensor& b_K, const torch::Tensor& b_V) {
  const bool three_d = query_input.dim() == 3 && key_input.dim() == 3 && value_input.dim() == 3;
  if (!three_d || torch::GradMode::is_enabled())
    return {project(query_input, W_Q, b_Q), project(key_input, W_K, b_K),
            project(value_input, W_V, b_V)};

  // Grouped-query attention: W_K and W_V have n_key_value_heads heads, W_Q n_heads.
  const int64_t H = W_Q.size(0), H_kv = W_K.size(0), d = W_Q.size(1), dh = W_Q.size(2);
  const int64_t q_width = H * dh, kv_width = H_kv * dh;
  // [d_model, (n_heads + 2 n_key_value_heads) * d_head], stored as its transpose (each output's
  // weights contiguous: the short-input kernel's layout, and addmm's transposed B for long ones)
  auto W = derived("packed W_QKV", {W_Q, W_K, W_V}, [&] {
    // head_index d_model d_head -> (head_index d_head) d_model
    auto rows = [&](const torch::Tensor& W) { return W.permute({0, 2, 1}).reshape({-1, d}); };
    return torch::cat({rows(W_Q), rows(W_K), rows(W_V)}, 0).t();
  });
  // [(n_heads + 2 n_key_value_heads) * d_head]
  auto b = derived("packed b_QKV", {b_Q, b_K, b_V}, [&] {
    return torch::cat({b_Q.reshape(-1), b_K.reshape(-1), b_V.reshape(-1)});
  });
  const int64_t batch = query_input.size(0), pos = query_input.size(1);
  const int64_t offsets[3] = {0, q_width, q_width + kv_width};
  const int64_t widths[3] = {q_width, kv_width, kv_width};
  if (query_input.is_same(key_input) && query_input.is_same(value_input)) {
    // [batch, pos, (n_heads + 2 n_key_value_heads) * d_head]
    auto qkv = linear(query_input.reshape({batch * pos, d}), W, b).view({batch, pos, -1});
    auto part = [&](int i) {  // [batch, pos, head_index, d_head], a view
      return qkv.narrow(2, offsets[i], widths[i]).unflatten(2, {widths[i] / dh, dh});
    };
    return {part(0), part(1), part(2)};
  }
  // Separate inputs (ln1 hooked): each from its columns of the packed weight, no copy.
  auto one = [&](const torch::Tensor& input, int i) {
    // [batch * pos, d_model] @ [d_model, heads * d_head] -> [batch, pos, heads, d_head]
    return linear(input.reshape({-1, d}), W.narrow(1, offsets[i], widths[i]),
                  b.narrow(0, offsets[i], widths[i]))
        .view({input.size(0), input.size(1), widths[i] / dh, dh});
  };
  return {one(query_input, 0), one(key_input, 1), one(value_input, 2)};
}

bool fused_attention_fits(const torch::Tensor& v, bool has_attention_mask) {
  // float32 only: 16-bit models keep TransformerLens's float32 scores and pattern.
  return v.scalar_type() == torch::kFloat32 && !has_attention_mask && !torch::GradMode::is_enabled();
}

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, double attn_scale) {
  // batch pos head_index d_head -> batch head_index pos d_head, and back
  return torch::scaled_dot_product_attention(q.permute({0, 2, 1, 3}), k.permute({0, 2, 1, 3}),
                                             v.permute({0, 2, 1, 3}), /*attn_mask=*/{},
                                             /*dropout_p=*/0.0, /*is_causal=*/true,
                                             /*scale=*/1.0 / attn_scale)
      .permute({0, 2, 1, 3});
}

}  // namespace tlens::backend
