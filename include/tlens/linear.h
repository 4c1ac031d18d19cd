// linear: b + x @ W, the matmul the forward's weights go through (W_Q/K/V packed, W_O, W_in,
// W_out, W_U; not the per-head einsums of split_qkv_input / use_attn_result), in TransformerLens's
// [d_in, d_out] shapes.
//
//   auto y = tlens::linear(x, W, b);   // x [rows, d_in], W [d_in, d_out], b [d_out] -> [rows, d_out]
//
// Short inputs (2 to 48 rows: a prompt of a few dozen tokens) run on tlens's own AVX2 kernels,
// which read each weight from memory once per call:
//   - W in weight layout (below: tlens's own weights): dot products along W's contiguous rows,
//     3x4 tiles, W streamed in order with the next rows prefetched while the current ones are
//     reused from L1. bench/gemm_paths.cpp, 2 threads of an AMD EPYC, weights from memory,
//     19 rows, libtorch 2.15: 91-121 GFLOP/s against MKL's 32-48 and oneDNN's 54-72 (with the
//     input already in its layout); 48 rows: 114-129 against MKL's 52-85 (bench/RESULTS.md).
//   - W with contiguous columns (a weight from elsewhere): packed 128 KiB at a time, 6x16 tiles;
//     45-67 GFLOP/s at 19 rows in the same run.
// Everything else — one row (gemv is faster), longer inputs, autograd, other dtypes or devices,
// CPUs without AVX2 — is torch::addmm.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace tlens {

// x [rows, d_in], W [d_in, d_out], b [d_out] -> [rows, d_out]. Same result as
// torch::addmm(b, x, W) up to float rounding. The kernel takes x with contiguous columns and W
// either in weight layout (below; W.narrow(1, ...) of the packed QKV weight too) or with
// contiguous columns (a weight from elsewhere, packed as it goes); anything else is addmm.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& W, const torch::Tensor& b);

// A [d_in, d_out] weight in the layout linear() streams fastest: the transpose of a row-major
// [d_out, d_in] (nn.Linear's memory layout), so each output's d_in weights are contiguous and the
// short-input kernel reads W once, in order, with no packing. tlens stores W_in, W_out, W_O, W_U
// (and its packed W_QKV) this way; their shapes and values are TransformerLens's, and
// torch::addmm reads this layout as fast as the other for long inputs (BLAS's transposed B).
torch::Tensor empty_weight(int64_t d_in, int64_t d_out);
// True when W [d_in, d_out] is in that layout.
bool in_weight_layout(const torch::Tensor& W);
// W [d_in, d_out] in that layout: W itself when it already is, else a copy.
torch::Tensor to_weight_layout(const torch::Tensor& W);

// The most rows the small-M kernel takes (default 48); above it linear() calls torch::addmm.
// 0 turns the kernel off (also: TLENS_SMALL_GEMM_ROWS=0 in the environment).
int64_t small_gemm_max_rows();
void set_small_gemm_max_rows(int64_t rows);

// True when this CPU runs the kernel (x86-64 with AVX2 and FMA).
bool small_gemm_available();

// The raw kernel, on one thread: C[m, n] = bias[n] + sum_k A[m, k] B[k, n] for columns
// [n_begin, n_end). Row strides lda, ldb, ldc in floats. bias may be null (zero). Needs
// small_gemm_available().
void small_gemm(int64_t M, int64_t K, int64_t n_begin, int64_t n_end, const float* A, int64_t lda,
                const float* B, int64_t ldb, const float* bias, float* C, int64_t ldc);

// The same with W given as its transpose: C[m, n] = bias[n] + sum_k A[m, k] Bt[n, k], Bt's row
// stride ldb. One thread; needs small_gemm_available().
void small_gemm_nt(int64_t M, int64_t K, int64_t n_begin, int64_t n_end, const float* A,
                   int64_t lda, const float* Bt, int64_t ldb, const float* bias, float* C,
                   int64_t ldc);

}  // namespace tlens
