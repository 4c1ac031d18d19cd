#include "backend/linear.h"

#include <torch/torch.h>

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
  // One row is a matrix-vector product, which BLAS's gemv streams faster.
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
