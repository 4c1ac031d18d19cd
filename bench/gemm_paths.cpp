// The GEMM paths libtorch offers tlens on this machine, on gpt2-small's shapes: the BLAS behind
// torch::mm (Debian's libtorch: the system libblas.so.3, OpenBLAS after scripts/setup.sh), on W
// row-major ("blas", TransformerLens's layout, how tlens's parameters are stored) and transposed
// in memory ("blas W^T", nn.Linear's layout, the one backend::linear derives for short inputs),
// against oneDNN's fp32 torch::mkldnn_linear, with the input already in oneDNN's layout ("dnnl")
// and converted on every call ("dnnl+conv", what a forward would pay), and tlens's own small-M
// kernels (backend::linear forced on at every M here; the engine uses them for 2..48 rows): the
// packing one on row-major W ("tlens", derived copies off) and the dot-product one on the
// transposed layout ("tlens W^T", what the forward runs on its derived copy). Each call reads a different copy of W, so weights come from memory as in a
// forward. M = 19 is the seed's prompt, M = 1024 a full context; THREADS defaults to 2, M to all.
//
//   cmake --build build --target gemm_paths && OMP_WAIT_POLICY=PASSIVE build/gemm_paths [THREADS [M]]
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "backend/cpu/small_gemm.h"
#include "backend/derived.h"
#include "backend/linear.h"
#include "tlens/runtime.h"

namespace {

template <class F>
double milliseconds(F f, int repeats = 20) {
  f();  // warm-up
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / repeats;
}

}  // namespace

int main(int argc, char** argv) {
  // tlens's runtime: its thread count and its allocator (buffers of 1 MiB and more on huge pages).
  tlens::configure_runtime(argc > 1 ? std::atoi(argv[1]) : 2);
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  // "tlens" times the kernel on row-major W itself, not on a derived transposed copy.
  tlens::backend::set_derived_weights_enabled(false);
  std::printf("threads %d; GFLOP/s (higher is better), max |dnnl - blas|\n", torch::get_num_threads());
  // [K, N] of W_QKV, W_in, W_out and W_U.
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{768, 2304}, {768, 3072}, {3072, 768}, {768, 50257}};
  for (const auto& [K, N] : shapes) {
    // Enough copies of W to fill 256 MiB, used in turn: each call reads its weights from memory,
    // as a forward over gpt2-small's 500 MB does, not from the 32 MiB L3.
    const int64_t copies = std::max<int64_t>(1, (int64_t{256} << 20) / (K * N * 4));
    std::vector<torch::Tensor> Ws, Wts;
    for (int64_t c = 0; c < copies; ++c) {
      Ws.push_back(torch::randn({K, N}));                 // [K, N], TransformerLens's layout
      Wts.push_back(Ws.back().t().contiguous().t());      // [K, N] stored as [N, K] (tlens's)
    }
    int64_t turn = 0;
    auto next = [&](const std::vector<torch::Tensor>& all) -> const torch::Tensor& {
      return all[turn++ % copies];
    };
    std::vector<int64_t> rows = {8, 19, 32, 64, 128, 1024};
    if (argc > 2) rows = {std::atoll(argv[2])};
    for (int64_t M : rows) {
      auto x = torch::randn({M, K});                // [M, K]
      auto W_dnnl = Ws[0].t().contiguous().to_mkldnn();  // [N, K], nn.Linear's layout, oneDNN tensor
      auto x_dnnl = x.to_mkldnn();                  // [M, K]
      const double gflop = 2.0 * M * K * N / 1e9;
      const double blas = milliseconds([&] { torch::mm(x, next(Ws)); });
      const double blas_t = milliseconds([&] { torch::mm(x, next(Wts)); });
      const double dnnl = milliseconds([&] { torch::mkldnn_linear(x_dnnl, W_dnnl, {}); });
      const double dnnl_conv = milliseconds([&] { torch::mkldnn_linear(x.to_mkldnn(), W_dnnl, {}).to_dense(); });
      auto b = torch::zeros({N});                   // [N]
      tlens::backend::cpu::set_small_gemm_max_rows(M);
      const double own = milliseconds([&] { tlens::backend::linear(x, next(Ws), b); });
      const double own_t = milliseconds([&] { tlens::backend::linear(x, next(Wts), b); });
      auto expected = torch::mm(x, Ws[0]);          // [M, N]
      const double diff = (torch::mkldnn_linear(x_dnnl, W_dnnl, {}).to_dense() - expected).abs().max().item<double>();
      const double own_diff = std::max((tlens::backend::linear(x, Ws[0], b) - expected).abs().max().item<double>(),
                                       (tlens::backend::linear(x, Wts[0], b) - expected).abs().max().item<double>());
      std::printf("M %4ld K %4ld N %5ld: blas %6.1f | blas W^T %6.1f | dnnl %6.1f | dnnl+conv %6.1f | tlens %6.1f | tlens W^T %6.1f  (diff %.1e, tlens %.1e)\n",
                  static_cast<long>(M), static_cast<long>(K), static_cast<long>(N), gflop / blas * 1e3,
                  gflop / blas_t * 1e3, gflop / dnnl * 1e3, gflop / dnnl_conv * 1e3, gflop / own * 1e3,
                  gflop / own_t * 1e3, diff, own_diff);
    }
  }
  return 0;
}
