// cpu/small_gemm: tlens's own fp32 GEMM kernels for short inputs (2 to 48 rows: a prompt of a few
// dozen tokens), x86-64 with AVX2 + FMA, checked at run time. backend::linear decides when they
// run; nothing else calls them.
//
// Two kernels, by how W [K, N] is laid out in memory:
//   - small_gemm_nt, W given as its transpose Bt [N, K] (each output's K weights contiguous):
//     dot products along Bt's rows, 3x4 tiles, Bt streamed in order with the next rows
//     prefetched while the current ones are reused from L1. bench/gemm_paths.cpp, 2 threads of an
//     AMD EPYC, weights from memory, 19 rows, libtorch 2.15: 91-121 GFLOP/s against MKL's 32-48
//     and oneDNN's 54-72; 48 rows: 114-129 against MKL's 52-85 (bench/RESULTS.md).
//   - small_gemm, W row-major [K, N]: packed 128 KiB at a time, 6x16 tiles; 45-67 GFLOP/s at 19
//     rows in the same run.
#pragma once

#include <cstdint>

namespace tlens::backend::cpu {

// The most rows backend::linear sends to these kernels (default 48; above it, torch::addmm).
// 0 turns them off (also: TLENS_SMALL_GEMM_ROWS=0 in the environment).
int64_t small_gemm_max_rows();
void set_small_gemm_max_rows(int64_t rows);

// True when this CPU runs the kernels (x86-64 with AVX2 and FMA).
bool small_gemm_available();

// C[m, n] = bias[n] + sum_k A[m, k] B[k, n] for columns [n_begin, n_end), on one thread. Row
// strides lda, ldb, ldc in floats; bias may be null (zero). Needs small_gemm_available().
void small_gemm(int64_t M, int64_t K, int64_t n_begin, int64_t n_end, const float* A, int64_t lda,
                const float* B, int64_t ldb, const float* bias, float* C, int64_t ldc);

// The same with W given as its transpose: C[m, n] = bias[n] + sum_k A[m, k] Bt[n, k], Bt's row
// stride ldb. One thread; needs small_gemm_available().
void small_gemm_nt(int64_t M, int64_t K, int64_t n_begin, int64_t n_end, const float* A,
                   int64_t lda, const float* Bt, int64_t ldb, const float* bias, float* C,
                   int64_t ldc);

// All N columns of C [M, N] (row stride N), split over libtorch's threads.
void parallel_small_gemm(int64_t M, int64_t K, int64_t N, const float* A, int64_t lda,
                         const float* B, int64_t ldb, const float* bias, float* C);
void parallel_small_gemm_nt(int64_t M, int64_t K, int64_t N, const float* A, int64_t lda,
                            const float* Bt, int64_t ldb, const float* bias, float* C);

}  // namespace tlens::backend::cpu
