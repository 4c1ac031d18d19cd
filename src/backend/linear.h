// backend::linear: b + x @ W, the matmul every weight of the forward goes through (W_Q/K/V
// packed, W_O, W_in, W_out, W_U; not the per-head einsums of use_split_qkv_input /
// use_attn_result), W in TransformerLens's [d_in, d_out] layout.
//
//   auto y = backend::linear(x, W, b);   // x [rows, d_in], W [d_in, d_out], b [d_out] -> [rows, d_out]
//
// The reference is torch::addmm(b, x, W), which it calls for everything but short fp32 inputs
// on CPU: 2 to 48 rows (cpu/small_gemm.h) run on tlens's own AVX2 kernels, which read W once per
// call. The fastest of them wants each output's weights contiguous (W's transpose in memory):
// for a row-major W (a model's parameters) it uses a transposed copy kept by backend/derived.h
// (made on the first short input; TLENS_DERIVED_WEIGHTS=0: no copy, the slower row-major kernel).
#pragma once

#include <torch/types.h>

namespace tlens::backend {

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& W, const torch::Tensor& b);

}  // namespace tlens::backend
