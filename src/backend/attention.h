// backend attention: the two steps of Attention::forward that have a faster way than the
// einsums TransformerLens writes.
//
//   auto [q, k, v] = backend::attention_qkv(query_input, key_input, value_input, W_Q, W_K, W_V, b_Q, b_K, b_V);
//   auto z = backend::causal_attention(q, k, v, attn_scale);   // when nobody hooks scores/pattern
//
// References (tested against in tests/unit/backend_test.cpp): the per-head einsum
// "b p [h] m, h m d -> b p h d" + b for q, k, v, and softmax(q k^T / scale, causal) v.
#pragma once

#include <torch/types.h>

namespace tlens::backend {

struct QKV {
  torch::Tensor q, k, v;  // [batch, pos, head_index, d_head] each
};

// query/key/value_input: [batch, pos, d_model], or [batch, pos, head_index, d_model] with
// use_split_qkv_input / use_attn_in. W_Q/K/V [head_index, d_model, d_head], b [head_index, d_head]
// (W_K, W_V and their biases with n_key_value_heads heads under grouped-query attention).
// Inference on 3-d inputs runs one matmul over W_Q | W_K | W_V packed (backend/derived.h), or one
// per input against its columns of the packed weight when the inputs differ (ln1 hooked).
QKV attention_qkv(const torch::Tensor& query_input, const torch::Tensor& key_input,
                  const torch::Tensor& value_input, const torch::Tensor& W_Q,
                  const torch::Tensor& W_K, const torch::Tensor& W_V, const torch::Tensor& b_Q,
                  const torch::Tensor& b_K, const torch::Tensor& b_V);

// Whether causal_attention can stand in for the explicit scores and pattern: float32, no padding
// mask, no autograd.
bool fused_attention_fits(const torch::Tensor& v, bool has_attention_mask);

// z = softmax(q k^T / attn_scale + causal mask) v without materializing the [query_pos, key_pos]
// scores (libtorch's scaled_dot_product_attention, the masked half skipped).
// q, k, v [batch, pos, head_index, d_head] -> z [batch, pos, head_index, d_head].
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, double attn_scale);

}  // namespace tlens::backend
