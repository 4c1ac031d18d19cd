#include "backend/cpu/gemv.h"
#include "backend/cpu/spin_pool.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include <ATen/Parallel.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TLENS_GEMV_X86 1
#define TLENS_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace tlens::backend::cpu {

namespace {

// Output columns a thread accumulates at once: 4 KiB of float32 y, kept in L1 while every row of
// W passes through it.
constexpr int64_t kBlock = 1024;

#ifdef TLENS_GEMV_X86

// float32 <-> bfloat16 (its upper 16 bits; rounding to nearest even on the way down).
inline float bf16_to_float(uint16_t v) {
  uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline uint16_t float_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);  // NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// Loads 8 weights as float32: 8 floats, or 8 bfloat16 widened.
TLENS_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
TLENS_AVX2 inline __m256 load8(const uint16_t* p) {
  __m128i half = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16));
}
inline float load1(const float* p) { return *p; }
inline float load1(const uint16_t* p) { return bf16_to_float(*p); }

// acc[0, width) += sum over k in [0, K) of x[k] * W[k, n0 + j], four rows of W at a time.
template <typename T>
TLENS_AVX2 void accumulate_block(int64_t K, const float* x, const T* W, int64_t ldw, int64_t n0,
                                 int64_t width, float* acc) {
  int64_t k = 0;
  for (; k + 4 <= K; k += 4) {
    const __m256 x0 = _mm256_set1_ps(x[k]), x1 = _mm256_set1_ps(x[k + 1]);
    const __m256 x2 = _mm256_set1_ps(x[k + 2]), x3 = _mm256_set1_ps(x[k + 3]);
    const T* r0 = W + k * ldw + n0;
    const T* r1 = r0 + ldw;
    const T* r2 = r1 + ldw;
    const T* r3 = r2 + ldw;
    int64_t j = 0;
    for (; j + 8 <= width; j += 8) {
      __m256 a = _mm256_loadu_ps(acc + j);
      a = _mm256_fmadd_ps(x0, load8(r0 + j), a);
      a = _mm256_fmadd_ps(x1, load8(r1 + j), a);
      a = _mm256_fmadd_ps(x2, load8(r2 + j), a);
      a = _mm256_fmadd_ps(x3, load8(r3 + j), a);
      _mm256_storeu_ps(acc + j, a);
    }
    for (; j < width; ++j)
      acc[j] += x[k] * load1(r0 + j) + x[k + 1] * load1(r1 + j) + x[k + 2] * load1(r2 + j) +
                x[k + 3] * load1(r3 + j);
  }
  for (; k < K; ++k) {
    const __m256 xk = _mm256_set1_ps(x[k]);
    const T* r = W + k * ldw + n0;
    int64_t j = 0;
    for (; j + 8 <= width; j += 8)
      _mm256_storeu_ps(acc + j, _mm256_fmadd_ps(xk, load8(r + j), _mm256_loadu_ps(acc + j)));
    for (; j < width; ++j) acc[j] += x[k] * load1(r + j);
  }
}

TLENS_AVX2 inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// y[n] = bias[n] + dot(x, Wt[n, :]) for n in [n_begin, n_end): four rows of Wt (W's transpose,
// each output's K weights contiguous) streamed at once, against x from L1.
template <typename T, typename Out, typename Bias>
TLENS_AVX2 void gemv_t_rows(int64_t K, int64_t n_begin, int64_t n_end, const float* x, const T* Wt,
                            int64_t ldw, const Bias* bias, Out* y) {
  auto store = [&](int64_t n, float value) {
    value += bias ? load1(bias + n) : 0.0f;
    if constexpr (sizeof(Out) == 4) y[n] = value;
    else y[n] = float_to_bf16(value);
  };
  int64_t n = n_begin;
  for (; n + 4 <= n_end; n += 4) {
    const T* r0 = Wt + n * ldw;
    const T* r1 = r0 + ldw;
    const T* r2 = r1 + ldw;
    const T* r3 = r2 + ldw;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
           a3 = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
      const __m256 xk = _mm256_loadu_ps(x + k);
      a0 = _mm256_fmadd_ps(xk, load8(r0 + k), a0);
      a1 = _mm256_fmadd_ps(xk, load8(r1 + k), a1);
      a2 = _mm256_fmadd_ps(xk, load8(r2 + k), a2);
      a3 = _mm256_fmadd_ps(xk, load8(r3 + k), a3);
    }
    float s0 = horizontal_sum(a0), s1 = horizontal_sum(a1), s2 = horizontal_sum(a2),
          s3 = horizontal_sum(a3);
    for (; k < K; ++k) {
      s0 += x[k] * load1(r0 + k);
      s1 += x[k] * load1(r1 + k);
      s2 += x[k] * load1(r2 + k);
      s3 += x[k] * load1(r3 + k);
    }
    store(n, s0);
    store(n + 1, s1);
    store(n + 2, s2);
    store(n + 3, s3);
  }
  for (; n < n_end; ++n) {
    const T* r = Wt + n * ldw;
    __m256 a = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), load8(r + k), a);
    float sum = horizontal_sum(a);
    for (; k < K; ++k) sum += x[k] * load1(r + k);
    store(n, sum);
  }
}

// Columns [n_begin, n_end) of y, one thread. x is float32 (the bfloat16 input is widened once).
template <typename T, typename Out, typename Bias>
TLENS_AVX2 void gemv_columns(int64_t K, int64_t n_begin, int64_t n_end, const float* x, const T* W,
                             int64_t ldw, const Bias* bias, Out* y) {
  alignas(64) float acc[kBlock];
  for (int64_t n0 = n_begin; n0 < n_end; n0 += kBlock) {
    const int64_t width = std::min(kBlock, n_end - n0);
    for (int64_t j = 0; j < width; ++j) acc[j] = bias ? load1(bias + n0 + j) : 0.0f;
    accumulate_block(K, x, W, ldw, n0, width, acc);
    if constexpr (sizeof(Out) == 4) {
      std::memcpy(y + n0, acc, width * sizeof(float));
    } else {
      for (int64_t j = 0; j < width; ++j) y[n0 + j] = float_to_bf16(acc[j]);
    }
  }
}

bool cpu_has_avx2_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

#endif  // TLENS_GEMV_X86

bool enabled_by_environment() {
  const char* value = std::getenv("TLENS_GEMV");
  return !(value && std::string(value) == "0");
}

// Calls f(n_begin, n_end) on libtorch's threads (or a DecodeScope's): one contiguous range of
// columns each, in multiples of 8.
template <class F>
void for_column_ranges(int64_t N, F f) {
  const int64_t chunks = (N + 7) / 8;
  parallel_ranges(chunks, [&](int64_t begin, int64_t end) { f(begin * 8, std::min(N, end * 8)); });
}

}  // namespace

bool gemv_available() {
#ifdef TLENS_GEMV_X86
  static const bool available = cpu_has_avx2_fma() && enabled_by_environment();
  return available;
#else
  return false;
#endif
}

namespace {

// y = bias + x W on the threads: W row-major (`transposed` false) or given as its transpose, the
// kernel for each range of columns; a bfloat16 x is widened to float32 once first.
template <typename T>
void run(bool transposed, int64_t K, int64_t N, const T* x, const T* W, int64_t ldw, const T* bias,
         T* y) {
#ifdef TLENS_GEMV_X86
  std::vector<float> widened;
  const float* x32 = nullptr;
  if constexpr (std::is_same_v<T, float>) {
    x32 = x;
  } else {
    widened.resize(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) widened[k] = bf16_to_float(x[k]);
    x32 = widened.data();
  }
  for_column_ranges(N, [&](int64_t n_begin, int64_t n_end) {
    if (transposed) gemv_t_rows<T, T, T>(K, n_begin, n_end, x32, W, ldw, bias, y);
    else gemv_columns<T, T, T>(K, n_begin, n_end, x32, W, ldw, bias, y);
  });
#else
  (void)transposed, (void)K, (void)N, (void)x, (void)W, (void)ldw, (void)bias, (void)y;
#endif
}

}  // namespace

void parallel_gemv(int64_t K, int64_t N, const float* x, const float* W, int64_t ldw,
                   const float* bias, float* y) {
  run(false, K, N, x, W, ldw, bias, y);
}

void parallel_gemv_t(int64_t K, int64_t N, const float* x, const float* Wt, int64_t ldw,
                     const float* bias, float* y) {
  run(true, K, N, x, Wt, ldw, bias, y);
}

void parallel_gemv_bf16(int64_t K, int64_t N, const uint16_t* x, const uint16_t* W, int64_t ldw,
                        const uint16_t* bias, uint16_t* y) {
  run(false, K, N, x, W, ldw, bias, y);
}

void parallel_gemv_t_bf16(int64_t K, int64_t N, const uint16_t* x, const uint16_t* Wt, int64_t ldw,
                          const uint16_t* bias, uint16_t* y) {
  run(true, K, N, x, Wt, ldw, bias, y);
}

}  // namespace tlens::backend::cpu
