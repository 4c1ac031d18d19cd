// linear: b + x @ W, the matmul the forward's weights go through (W_Q/K/V packed, W_O, W_in,
// W_out, W_U; not the per-head einsums of split_qkv_input / use_attn_result), in TransformerLens's
// [d_in, d_out] layout.
//
//   auto y = tlens::linear(x, W, b);   // x [rows, d_in], W [d_in, d_out], b [d_out] -> [rows, d_out]
//
// Short inputs (2 to 24 rows: a prompt of a couple dozen tokens) run on tlens's own AVX2 kernel:
// it packs W a 128 KiB block at a time and runs 6x16 register tiles over all the rows, so each
// weight is read from memory once per call. On gpt2-small's weights at 19 rows, 2 threads of this
// machine's AMD EPYC, bench/gemm_paths.cpp measured OpenBLAS at 48-56 GFLOP/s and the kernel at
// 53-68; from 32 rows up OpenBLAS is faster. Everything else — one row (gemv is faster),
// longer inputs, autograd, other dtypes or devices, CPUs without AVX2 — is torch::addmm.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace tlens {

// x [rows, d_in], W [d_in, d_out], b [d_out] -> [rows, d_out]. Same result as
// torch::addmm(b, x, W) up to float rounding. The kernel takes any row strides of x and W as long
// as their columns are contiguous (W.narrow(1, ...) of the packed QKV weight); anything else is addmm.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& W, const torch::Tensor& b);

// The most rows the small-M kernel takes (default 24); above it linear() calls torch::addmm.
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

}  // namespace tlens
