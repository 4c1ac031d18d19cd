#include "backend/cpu/small_gemm.h"
#include "backend/cpu/spin_pool.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TLENS_SMALL_GEMM_X86 1
#define TLENS_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace tlens::backend::cpu {

namespace {

// Rows of C one call of the micro-kernel computes (6 x 16 floats: 12 of the 16 ymm registers).
constexpr int kRows = 6;
// Columns of C per micro-kernel call: two ymm registers of 8 floats.
constexpr int kCols = 16;
// The dot-product kernel's tile (W given as its transpose, below): rows of A (inputs) and of Bt
// (outputs).
constexpr int kNtRows = 3;
constexpr int kNtCols = 4;
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
  // bench/gemm_paths on libtorch 2.15 (MKL), 2 threads, AMD EPYC (bench/RESULTS.md): the weight-
  // layout kernel beats MKL's addmm by 1.35-2.5x on all four gpt2-small shapes up to 48 rows; at
  // 64 by 1.02-2.1x (two shapes within 10%).
  return 48;
}

std::atomic<int64_t>& max_rows() {
  static std::atomic<int64_t> rows{rows_from_environment()};
  return rows;
}

// Splits M rows into tiles of at most `most` rows, as even as possible (19 rows in tiles of 6:
// 5 5 5 4, not 6 6 6 1; of 3: 3 3 3 3 3 2 2), and calls f(tile, first_row, rows) for each.
template <class F>
void for_each_row_tile(int64_t M, int64_t most, F f) {
  const int64_t tiles = (M + most - 1) / most;
  const int64_t base = M / tiles, extra = M % tiles;
  int64_t i = 0;
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t rows = base + (t < extra ? 1 : 0);
    f(t, i, static_cast<int>(rows));
    i += rows;
  }
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

// --- W stored transposed: Bt [d_out, d_in], each output's weights contiguous (nn.Linear's layout,
// the layout backend::linear derives for short inputs and the packed W_QKV is built in) ---
//
// C[m, n] = sum_k A[m, k] Bt[n, k]: dot products along contiguous rows, so W streams from memory
// in order, four rows at a time, with no packing. Each tile is 3 rows of A x 4 rows of Bt: 12
// accumulators of 8 partial sums, reduced at the end of a K block. The first row tile reads the
// four Bt rows, the others find them in L1 and meanwhile prefetch the next four: memory and FMAs
// overlap (bench/gemm_paths.cpp at 19 rows: 61-88 GFLOP/s without the prefetch, 91-137 with it).

// K is taken in blocks of kNtBlockK so that four rows of Bt (16 KiB) stay in L1 while every row
// tile of A runs over them.
constexpr int64_t kNtBlockK = 1024;

// Horizontal sums of four accumulators: {sum(a), sum(b), sum(c), sum(d)}.
TLENS_AVX2 inline __m128 sum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 ab = _mm256_hadd_ps(a, b);     // a01 a23 b01 b23 | a45 a67 b45 b67
  const __m256 cd = _mm256_hadd_ps(c, d);     // c01 c23 d01 d23 | c45 c67 d45 d67
  const __m256 abcd = _mm256_hadd_ps(ab, cd);  // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// C[MR, cols] (+)= A[MR, kc] . Bt[cols, kc] for cols <= 4 (rows of Bt past cols repeat its row 0
// and are not stored). Starts from C when `accumulate`, else from bias (null: zero).
template <int MR>
TLENS_AVX2 void dot_kernel(int64_t kc, const float* A, int64_t lda, const float* Bt, int64_t ldb,
                           int cols, const float* bias, bool accumulate, float* C, int64_t ldc,
                           const float* prefetch) {
  const float* b0 = Bt;
  const float* b1 = cols > 1 ? Bt + ldb : Bt;
  const float* b2 = cols > 2 ? Bt + 2 * ldb : Bt;
  const float* b3 = cols > 3 ? Bt + 3 * ldb : Bt;
  const float* a0 = A;
  const float* a1 = MR > 1 ? A + lda : A;
  const float* a2 = MR > 2 ? A + 2 * lda : A;
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
  __m256 c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  __m256 c20 = c00, c21 = c00, c22 = c00, c23 = c00;
  // One column of the tile: Bt row j against the MR rows of A.
#define TLENS_DOT_COLUMN(load, bj, c0, c1, c2)              \
  {                                                         \
    const __m256 w = load(bj);                              \
    c0 = _mm256_fmadd_ps(x0, w, c0);                        \
    if constexpr (MR > 1) c1 = _mm256_fmadd_ps(x1, w, c1);  \
    if constexpr (MR > 2) c2 = _mm256_fmadd_ps(x2, w, c2);  \
  }
#define TLENS_DOT_STEP(load)                                                     \
  {                                                                              \
    const __m256 x0 = load(a0);                                                  \
    const __m256 x1 = MR > 1 ? load(a1) : x0;                                    \
    const __m256 x2 = MR > 2 ? load(a2) : x0;                                    \
    TLENS_DOT_COLUMN(load, b0, c00, c10, c20)                                    \
    TLENS_DOT_COLUMN(load, b1, c01, c11, c21)                                    \
    TLENS_DOT_COLUMN(load, b2, c02, c12, c22)                                    \
    TLENS_DOT_COLUMN(load, b3, c03, c13, c23)                                    \
  }
  int64_t k = 0;
#define TLENS_LOAD_FULL(p) _mm256_loadu_ps((p) + k)
  if (prefetch) {
    for (; k + 8 <= kc; k += 8) {
      if ((k & 15) == 0) _mm_prefetch(reinterpret_cast<const char*>(prefetch + k), _MM_HINT_T0);
      TLENS_DOT_STEP(TLENS_LOAD_FULL)
    }
  }
  for (; k + 8 <= kc; k += 8) TLENS_DOT_STEP(TLENS_LOAD_FULL)
#undef TLENS_LOAD_FULL
  if (k < kc) {  // the last kc % 8 columns, the rest of the lanes zero
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(kc - k)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#define TLENS_LOAD_TAIL(p) _mm256_maskload_ps((p) + k, mask)
    TLENS_DOT_STEP(TLENS_LOAD_TAIL)
#undef TLENS_LOAD_TAIL
  }
#undef TLENS_DOT_STEP
#undef TLENS_DOT_COLUMN
  const __m128 sums[3] = {sum4(c00, c01, c02, c03), sum4(c10, c11, c12, c13),
                          sum4(c20, c21, c22, c23)};
  for (int r = 0; r < MR; ++r) {
    float out[4];
    _mm_storeu_ps(out, sums[r]);
    float* Cr = C + r * ldc;
    for (int j = 0; j < cols; ++j) Cr[j] = (accumulate ? Cr[j] : bias ? bias[j] : 0.0f) + out[j];
  }
}

// All M rows of A against `cols` rows of Bt, in row tiles of up to 3.
// `next` (may be null): the block of Bt the next call reads; tiles 1 to 4 each prefetch one of its
// rows while their own Bt rows come from L1.
void dot_tiles(int64_t M, int64_t kc, const float* A, int64_t lda, const float* Bt, int64_t ldb,
               int cols, const float* bias, bool accumulate, float* C, int64_t ldc,
               const float* next) {
  for_each_row_tile(M, kNtRows, [&](int64_t t, int64_t i, int rows) {
    const float* At = A + i * lda;
    float* Ct = C + i * ldc;
    const float* pf = next && t >= 1 && t <= kNtCols ? next + (t - 1) * ldb : nullptr;
    if (rows == 3) dot_kernel<3>(kc, At, lda, Bt, ldb, cols, bias, accumulate, Ct, ldc, pf);
    else if (rows == 2) dot_kernel<2>(kc, At, lda, Bt, ldb, cols, bias, accumulate, Ct, ldc, pf);
    else dot_kernel<1>(kc, At, lda, Bt, ldb, cols, bias, accumulate, Ct, ldc, pf);
  });
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
        for_each_row_tile(M, kRows, [&](int64_t, int64_t i, int rows) {
          if (cols == kCols)
            micro_kernel_rows<false>(rows, kc, A + i * lda + kc0, lda, panel, bias_j, kc0 > 0,
                                     C + i * ldc + j, ldc, cols);
          else
            micro_kernel_rows<true>(rows, kc, A + i * lda + kc0, lda, panel, bias_j, kc0 > 0,
                                    C + i * ldc + j, ldc, cols);
        });
      }
    }
  }
#else
  (void)M, (void)K, (void)n_begin, (void)n_end, (void)A, (void)lda, (void)B, (void)ldb, (void)bias,
      (void)C, (void)ldc;
#endif
}

void small_gemm_nt(int64_t M, int64_t K, int64_t n_begin, int64_t n_end, const float* A,
                   int64_t lda, const float* Bt, int64_t ldb, const float* bias, float* C,
                   int64_t ldc) {
  TORCH_CHECK(small_gemm_available(), "tlens::small_gemm_nt needs an x86-64 CPU with AVX2 and FMA");
#ifdef TLENS_SMALL_GEMM_X86
  if (M <= 0 || n_end <= n_begin) return;
  for (int64_t j = n_begin; j < n_end; j += kNtCols) {
    const int cols = static_cast<int>(std::min<int64_t>(kNtCols, n_end - j));
    const float* bias_j = bias ? bias + j : nullptr;
    if (K <= 0)
      dot_tiles(M, 0, A, lda, Bt + j * ldb, ldb, cols, bias_j, false, C + j, ldc, nullptr);
    for (int64_t k0 = 0; k0 < K; k0 += kNtBlockK) {
      const int64_t kc = std::min(kNtBlockK, K - k0);
      // The next block: these rows' next K block, else the next four rows' first.
      const float* next = k0 + kc < K                 ? Bt + j * ldb + k0 + kc
                          : j + kNtCols + kNtCols <= n_end ? Bt + (j + kNtCols) * ldb
                                                        : nullptr;
      dot_tiles(M, kc, A + k0, lda, Bt + j * ldb + k0, ldb, cols, bias_j, k0 > 0, C + j, ldc,
                next);
    }
  }
#else
  (void)M, (void)K, (void)n_begin, (void)n_end, (void)A, (void)lda, (void)Bt, (void)ldb,
      (void)bias, (void)C, (void)ldc;
#endif
}


namespace {

// Calls f(n_begin, n_end) on libtorch's threads (or a DecodeScope's), one contiguous range of output columns each, in
// multiples of `step` (the kernel's tile width).
template <class F>
void for_column_ranges(int64_t N, int64_t step, F f) {
  const int64_t tiles = (N + step - 1) / step;
  parallel_ranges(tiles, [&](int64_t begin, int64_t end) { f(begin * step, std::min(N, end * step)); });
}

}  // namespace

void parallel_small_gemm_nt(int64_t M, int64_t K, int64_t N, const float* A, int64_t lda,
                            const float* Bt, int64_t ldb, const float* bias, float* C) {
  for_column_ranges(N, kNtCols, [&](int64_t n_begin, int64_t n_end) {
    small_gemm_nt(M, K, n_begin, n_end, A, lda, Bt, ldb, bias, C, N);
  });
}

void parallel_small_gemm(int64_t M, int64_t K, int64_t N, const float* A, int64_t lda,
                         const float* B, int64_t ldb, const float* bias, float* C) {
  for_column_ranges(N, kCols, [&](int64_t n_begin, int64_t n_end) {
    small_gemm(M, K, n_begin, n_end, A, lda, B, ldb, bias, C, N);
  });
}

}  // namespace tlens::backend::cpu
