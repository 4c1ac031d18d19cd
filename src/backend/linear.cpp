#include "backend/linear.h"

#include <torch/torch.h>

#include "backend/cpu/gemv.h"
#include "backend/cpu/small_gemm.h"
#include "backend/derived.h"

namespace tlens::backend {

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& W, const torch::Tensor& b) {
  const bool shapes = x.dim() == 2 && W.dim() == 2 && b.dim() == 1 && W.size(0) == x.size(1) &&
                      b.size(0) == W.size(1);
  if (!shapes) return torch::addmm(b, x, W);  // libtorch's own shape error (or broadcast)
  const int64_t M = x.size(0), K = x.size(1), N = W.size(1);
  const bool autograd = torch::GradMode::is_enabled() &&
                        (x.requires_grad() || W.requires_grad() || b.requires_grad());
  // One row (a generation step): a matrix-vector product, bound by reading W once. Ours streams
  // W [d_in, d_out] in place; MKL's addmm reached 11-20 GB/s on gpt2-small's shapes here, against
  // a read bandwidth of ~30 (`tlens bench --generate`, bench/RESULTS.md).
  // W row-major [d_in, d_out] (TransformerLens's layout) or its transpose stored row-major
  // (the packed QKV weight): both streamed in place.
  const bool w_row_major = W.stride(1) == 1, w_transposed = W.stride(0) == 1 && !w_row_major;
  if (M == 1 && K > 0 && N > 0 && !autograd && (w_row_major || w_transposed) && x.stride(1) == 1 &&
      b.stride(0) == 1 && x.device().is_cpu() && W.device().is_cpu() && b.device().is_cpu() &&
      x.scalar_type() == W.scalar_type() && b.scalar_type() == W.scalar_type() &&
      (W.scalar_type() == torch::kFloat || W.scalar_type() == torch::kBFloat16) &&
      cpu::gemv_available()) {
    auto out = torch::empty({1, N}, x.options());  // [1, d_out]
    const int64_t ldw = w_row_major ? W.stride(0) : W.stride(1);
    if (W.scalar_type() == torch::kFloat) {
      auto gemv = w_row_major ? cpu::parallel_gemv : cpu::parallel_gemv_t;
      gemv(K, N, x.data_ptr<float>(), W.data_ptr<float>(), ldw, b.data_ptr<float>(), out.data_ptr<float>());
    } else {
      auto words = [](const torch::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr()); };
      auto gemv = w_row_major ? cpu::parallel_gemv_bf16 : cpu::parallel_gemv_t_bf16;
      gemv(K, N, words(x), words(W), ldw, words(b), reinterpret_cast<uint16_t*>(out.data_ptr()));
    }
    return out;
  }
  // Else, one row goes to BLAS's gemv through addmm.
  const bool fits = M >= 2 && M <= cpu::small_gemm_max_rows() && K > 0 && N > 0 &&
                    cpu::small_gemm_available() && !autograd && x.scalar_type() == torch::kFloat &&
                    W.scalar_type() == torch::kFloat && b.scalar_type() == torch::kFloat &&
                    x.device().is_cpu() && W.device().is_cpu() && b.device().is_cpu() &&
                    x.stride(1) == 1 && b.stride(0) == 1;
  // W [d_in, d_out] row-major (TransformerLens's layout), or the transpose of a row-major
  // [d_out, d_in] (nn.Linear's; e.g. a slice of the packed QKV weight).
  const bool transposed = W.stride(0) == 1 || K == 1;
  const bool row_major = W.stride(1) == 1 || N == 1;
  if (!fits || !(transposed || row_major)) return torch::addmm(b, x, W);  // [rows, d_out]

  auto out = torch::empty({M, N}, x.options());  // [rows, d_out]
  const float* A = x.data_ptr<float>();
  const float* bias = b.data_ptr<float>();
  float* C = out.data_ptr<float>();
  if (transposed) {  // Bt[n, k] = W[k, n], row stride W.stride(1)
    cpu::parallel_small_gemm_nt(M, K, N, A, x.stride(0), W.data_ptr<float>(), W.stride(1), bias, C);
  } else if (derived_weights_enabled() && !W.is_inference()) {
    // [d_out, d_in]: W's transpose, contiguous, kept while W is unchanged
    auto Wt = derived("transpose", {W}, [&] { return W.t().contiguous(); });
    cpu::parallel_small_gemm_nt(M, K, N, A, x.stride(0), Wt.data_ptr<float>(), K, bias, C);
  } else {
    cpu::parallel_small_gemm(M, K, N, A, x.stride(0), W.data_ptr<float>(), W.stride(0), bias, C);
  }
  return out;
}

}  // namespace tlens::backend
