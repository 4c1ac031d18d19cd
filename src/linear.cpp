#include "tlens/linear.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TLENS_SMALL_GEMM_X86 1
#define TLENS_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace tlens {

namespace {

// Rows of C one call of the micro-kernel computes (6 x 16 floats: 12 of the 16 ymm registers).
constexpr int kRows = 6;
// Columns of C per micro-kernel call: two ymm registers of 8 floats.
constexpr int kCols = 16;
// B is copied ("packed") a block of kBlockK rows x kBlockN columns at a time into 16-column
// panels, each contiguous. Read in place, one 64-byte line per row at a row stride of d_out floats,
// a panel maps onto a handful of cache sets (d_out = 3072: every row in the same L1 set) and is
// evicted before the next row block reads it; packed, a panel (16 KiB) stays in L1 for all row
// blocks and the block (128 KiB) in L2.
constexpr int64_t kBlockK = 256;
constexpr int64_t kBlockN = 128;

int64_t rows_from_environment() {
  const char* value = std::getenv("TLENS_SMALL_GEMM_ROWS");
  if (value && *value) return std::max<int64_t>(0, std::atoll(value));
  return 24;
}

std::atomic<int64_t>& max_rows() {
  static std::atomic<int64_t> rows{rows_from_environment()};
  return rows;
}

#ifdef TLENS_SMALL_GEMM_X86

template <bool kMasked>
TLENS_AVX2 inline __m256 load8(const float* p, __m256i mask) {
  return kMasked ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
}

// C[MR, cols] (+)= A[MR, K] @ Bp[K, 16] for cols <= 16, Bp a packed panel (row stride 16,
// zero past cols). The accumulators start from C when `accumulate`, else from bias (or zero).
// kMasked when cols < 16.
template <int MR, bool kMasked>
TLENS_AVX2 void micro_kernel(int64_t K, const float* A, int64_t lda, const float* Bp,
                             const float* bias, bool accumulate, float* C, int64_t ldc, int cols) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), lane);
  const __m256i mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - 8), lane);
  __m256 bias0 = _mm256_setzero_ps(), bias1 = _mm256_setzero_ps();
  if (bias && !accumulate) {
    bias0 = load8<kMasked>(bias, mask0);
    bias1 = load8<kMasked>(bias + 8, mask1);
  }
  // Named accumulators, not an array: GCC keeps an array of __m256 on the stack.
  __m256 c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1;
  __m256 c30 = bias0, c31 = bias1, c40 = bias0, c41 = bias1, c50 = bias0, c51 = bias1;
  // Row r of the tile, written out per row (a lambda would not be compiled for AVX2).
#define TLENS_LOAD_C_ROW(r, lo, hi) \
  if (MR > r) lo = load8<kMasked>(C + r * ldc, mask0), hi = load8<kMasked>(C + r * ldc + 8, mask1)
#define TLENS_FMA_ROW(r, lo, hi)                             \
  if constexpr (MR > r) {                                    \
    const __m256 a = _mm256_broadcast_ss(A + r * lda + k);   \
    lo = _mm256_fmadd_ps(a, b0, lo);                         \
    hi = _mm256_fmadd_ps(a, b1, hi);                         \
  }
  if (accumulate) {
    TLENS_LOAD_C_ROW(0, c00, c01); TLENS_LOAD_C_ROW(1, c10, c11); TLENS_LOAD_C_ROW(2, c20, c21);
    TLENS_LOAD_C_ROW(3, c30, c31); TLENS_LOAD_C_ROW(4, c40, c41); TLENS_LOAD_C_ROW(5, c50, c51);
  }
  for (int64_t k = 0; k < K; ++k) {
    const __m256 b0 = _mm256_loadu_ps(Bp + k * kCols);
    const __m256 b1 = _mm256_loadu_ps(Bp + k * kCols + 8);
    TLENS_FMA_ROW(0, c00, c01) TLENS_FMA_ROW(1, c10, c11) TLENS_FMA_ROW(2, c20, c21)
    TLENS_FMA_ROW(3, c30, c31) TLENS_FMA_ROW(4, c40, c41) TLENS_FMA_ROW(5, c50, c51)
  }
#undef TLENS_LOAD_C_ROW
#undef TLENS_FMA_ROW
  const __m256 out[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int r = 0; r < MR; ++r) {
    float* Cr = C + r * ldc;
    if (kMasked) {
      _mm256_maskstore_ps(Cr, mask0, out[r][0]);
      _mm256_maskstore_ps(Cr + 8, mask1, out[r][1]);
    } else {
      _mm256_storeu_ps(Cr, out[r][0]);
      _mm256_storeu_ps(Cr + 8, out[r][1]);
    }
  }
}

template <bool kMasked>
void micro_kernel_rows(int rows, int64_t K, const float* A, int64_t lda, const float* Bp,
                       const float* bias, bool accumulate, float* C, int64_t ldc, int cols) {
  switch (rows) {
    case 1: return micro_kernel<1, kMasked>(K, A, lda, Bp, bias, accumulate, C, ldc, cols);
    case 2: return micro_kernel<2, kMasked>(K, A, lda, Bp, bias, accumulate, C, ldc, cols);
    case 3: return micro_kernel<3, kMasked>(K, A, lda, Bp, bias, accumulate, C, ldc, cols);
    case 4: return micro_kernel<4, kMasked>(K, A, lda, Bp, bias, accumulate, C, ldc, cols);
    case 5: return micro_kernel<5, kMasked>(K, A, lda, Bp, bias, accumulate, C, ldc, cols);
    default: return micro_kernel<6, kMasked>(K, A, lda, Bp, bias, accumulate, C, ldc, cols);
  }
}

// Bp[panel][k][16] = B[k, panel * 16 + c] for k < kc and the `cols` columns (zero beyond them).
TLENS_AVX2 void pack_block(int64_t kc, int64_t cols, const float* B, int64_t ldb, float* Bp) {
  const int64_t full = cols / kCols;
  const int64_t tail = cols - full * kCols;
  for (int64_t k = 0; k < kc; ++k) {
    const float* row = B + k * ldb;
    for (int64_t p = 0; p < full; ++p) {
      float* dst = Bp + (p * kc + k) * kCols;
      _mm256_storeu_ps(dst, _mm256_loadu_ps(row + p * kCols));
      _mm256_storeu_ps(dst + 8, _mm256_loadu_ps(row + p * kCols + 8));
    }
    if (tail) {
      float* dst = Bp + (full * kc + k) * kCols;
      for (int64_t c = 0; c < kCols; ++c) dst[c] = c < tail ? row[full * kCols + c] : 0.0f;
    }
  }
}

bool cpu_has_avx2_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

#endif  // TLENS_SMALL_GEMM_X86

}  // namespace

int64_t small_gemm_max_rows() { return max_rows().load(); }
void set_small_gemm_max_rows(int64_t rows) { max_rows().store(std::max<int64_t>(0, rows)); }

bool small_gemm_available() {
#ifdef TLENS_SMALL_GEMM_X86
  return cpu_has_avx2_fma();
#else
  return false;
#endif
}

void small_gemm(int64_t M, int64_t K, int64_t n_begin, int64_t n_end, const float* A, int64_t lda,
                const float* B, int64_t ldb, const float* bias, float* C, int64_t ldc) {
  TORCH_CHECK(small_gemm_available(), "tlens::small_gemm needs an x86-64 CPU with AVX2 and FMA");
#ifdef TLENS_SMALL_GEMM_X86
  if (M <= 0 || n_end <= n_begin) return;
  if (K <= 0) {  // an empty sum: C = bias
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = n_begin; j < n_end; ++j) C[i * ldc + j] = bias ? bias[j] : 0.0f;
    return;
  }
  // Row blocks as even as possible (19 rows: 5 5 5 4, not 6 6 6 1).
  const int64_t blocks = (M + kRows - 1) / kRows;
  const int64_t base = M / blocks, extra = M % blocks;
  thread_local std::vector<float> packed;
  packed.resize(kBlockK * kBlockN);
  for (int64_t jc = n_begin; jc < n_end; jc += kBlockN) {
    const int64_t nc = std::min(kBlockN, n_end - jc);
    for (int64_t kc0 = 0; kc0 < K; kc0 += kBlockK) {
      const int64_t kc = std::min(kBlockK, K - kc0);
      pack_block(kc, nc, B + kc0 * ldb + jc, ldb, packed.data());
      for (int64_t p = 0; p * kCols < nc; ++p) {
        const int64_t j = jc + p * kCols;
        const int cols = static_cast<int>(std::min<int64_t>(kCols, nc - p * kCols));
        const float* panel = packed.data() + p * kc * kCols;
        const float* bias_j = bias ? bias + j : nullptr;
        int64_t i = 0;
        for (int64_t block = 0; block < blocks; ++block) {
          const int rows = static_cast<int>(base + (block < extra ? 1 : 0));
          if (cols == kCols)
            micro_kernel_rows<false>(rows, kc, A + i * lda + kc0, lda, panel, bias_j, kc0 > 0,
                                     C + i * ldc + j, ldc, cols);
          else
            micro_kernel_rows<true>(rows, kc, A + i * lda + kc0, lda, panel, bias_j, kc0 > 0,
                                    C + i * ldc + j, ldc, cols);
          i += rows;
        }
      }
    }
  }
#else
  (void)M, (void)K, (void)n_begin, (void)n_end, (void)A, (void)lda, (void)B, (void)ldb, (void)bias,
      (void)C, (void)ldc;
#endif
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& W, const torch::Tensor& b) {
  const bool shapes = x.dim() == 2 && W.dim() == 2 && b.dim() == 1 && W.size(0) == x.size(1) &&
                      b.size(0) == W.size(1);
  if (!shapes) return torch::addmm(b, x, W);  // libtorch's own shape error (or broadcast)
  const int64_t M = x.size(0), K = x.size(1), N = W.size(1);
  const bool autograd = torch::GradMode::is_enabled() &&
                        (x.requires_grad() || W.requires_grad() || b.requires_grad());
  // One row is a matrix-vector product, which BLAS's gemv streams faster.
  const bool fits = M >= 2 && M <= small_gemm_max_rows() && K > 0 && N > 0 &&
                    small_gemm_available() && !autograd && x.scalar_type() == torch::kFloat &&
                    W.scalar_type() == torch::kFloat && b.scalar_type() == torch::kFloat &&
                    x.device().is_cpu() && W.device().is_cpu() && b.device().is_cpu() &&
                    x.stride(1) == 1 && W.stride(1) == 1 && b.stride(0) == 1;
  if (!fits) return torch::addmm(b, x, W);  // [rows, d_out]
  auto out = torch::empty({M, N}, x.options());  // [rows, d_out]
  const float* A = x.data_ptr<float>();
  const float* B = W.data_ptr<float>();
  const float* bias = b.data_ptr<float>();
  float* C = out.data_ptr<float>();
  const int64_t lda = x.stride(0), ldb = W.stride(0);
  const int64_t panels = (N + kCols - 1) / kCols;
  // One contiguous range of panels per thread of libtorch's pool.
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  at::parallel_for(0, panels, (panels + threads - 1) / threads, [&](int64_t begin, int64_t end) {
    small_gemm(M, K, begin * kCols, std::min(N, end * kCols), A, lda, B, ldb, bias, C, N);
  });
  return out;
}

}  // namespace tlens
