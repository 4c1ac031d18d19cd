// cpu/gemv: tlens's own matrix-vector products for one input row (a generation step), x86-64 with
// AVX2 + FMA, checked at run time. y = bias + x W with W row-major [K, N] as TransformerLens lays
// weights out, read in place: each thread takes a range of output columns and streams W's rows
// through it four at a time, its slice of y held in L1. A step is bound by reading the weights
// once; bench `tlens bench --generate` measures how close it comes. backend::linear decides when
// they run.
//
// The bfloat16 variant reads bfloat16 weights, input and bias, accumulates in float32 and rounds
// the result to bfloat16 (nearest even), as a bfloat16 matmul does.
#pragma once

#include <cstdint>

namespace tlens::backend::cpu {

// True when this CPU runs the kernels (x86-64 with AVX2 and FMA); TLENS_GEMV=0 turns them off.
bool gemv_available();

// y[n] = bias[n] + sum_k x[k] W[k, n] for n in [0, N), W's row stride ldw; bias may be null.
// Split over libtorch's threads.
void parallel_gemv(int64_t K, int64_t N, const float* x, const float* W, int64_t ldw,
                   const float* bias, float* y);
// The same on bfloat16 (raw 16-bit words).
void parallel_gemv_bf16(int64_t K, int64_t N, const uint16_t* x, const uint16_t* W, int64_t ldw,
                        const uint16_t* bias, uint16_t* y);

// The same with W given as its transpose Wt [N, K] (each output's weights contiguous, row stride
// ldw): dot products, four outputs at a time.
void parallel_gemv_t(int64_t K, int64_t N, const float* x, const float* Wt, int64_t ldw,
                     const float* bias, float* y);
void parallel_gemv_t_bf16(int64_t K, int64_t N, const uint16_t* x, const uint16_t* Wt, int64_t ldw,
                          const uint16_t* bias, uint16_t* y);

}  // namespace tlens::backend::cpu
