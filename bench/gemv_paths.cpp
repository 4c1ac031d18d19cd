// The matrix-vector paths of a generation step on gpt2-small's shapes (one input row): libtorch's
// addmm (MKL's sgemm/gemv in the PyPI wheel) against tlens's own backend::cpu::parallel_gemv, on
// W row-major [d_in, d_out] as TransformerLens stores it, float32 and bfloat16. The twelve
// layers' four weights and the unembedding each get their own copy, run in a step's order, so the
// weights come from memory as in decoding; prints the GB/s of weights read per path next to the
// machine's read bandwidth (a sum over 1 GiB).
//
//   cmake --build build --target gemv_paths && OMP_WAIT_POLICY=PASSIVE build/gemv_paths [THREADS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <torch/torch.h>

#include "backend/cpu/gemv.h"
#include "tlens/runtime.h"

namespace {

double seconds(const std::chrono::steady_clock::time_point& start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  tlens::configure_runtime(argc > 1 ? std::atoi(argv[1]) : 2);
  torch::NoGradGuard no_grad;
  auto big = torch::rand({256 * 1024 * 1024});
  double best_sum = 1e9;
  for (int i = 0; i < 5; ++i) {
    auto start = std::chrono::steady_clock::now();
    big.sum().item<float>();
    best_sum = std::min(best_sum, seconds(start));
  }
  std::printf("threads %d, read bandwidth (sum over 1 GiB) %.1f GB/s, gemv kernels %s\n",
              torch::get_num_threads(), big.nbytes() / best_sum / 1e9,
              tlens::backend::cpu::gemv_available() ? "on" : "unavailable");
  big = torch::Tensor();

  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    std::vector<std::pair<torch::Tensor, torch::Tensor>> weights;  // (W [K, N], b [N])
    for (int layer = 0; layer < 12; ++layer)
      for (auto [K, N] : std::vector<std::pair<int64_t, int64_t>>{{768, 2304}, {768, 768}, {768, 3072}, {3072, 768}})
        weights.emplace_back(torch::randn({K, N}).to(dtype), torch::randn({N}).to(dtype));
    weights.emplace_back(torch::randn({768, 50257}).to(dtype), torch::zeros({50257}).to(dtype));
    double bytes = 0;
    for (auto& [W, b] : weights) bytes += W.nbytes();
    std::vector<torch::Tensor> xs;
    for (auto& [W, b] : weights) xs.push_back(torch::randn({1, W.size(0)}).to(dtype));

    auto run = [&](int path) {  // 0: addmm, 1: ours, 2: W.sum() (reading alone)
      const bool ours = path == 1;
      double best = 1e9;
      for (int rep = 0; rep < 5; ++rep) {
        auto start = std::chrono::steady_clock::now();
        for (size_t i = 0; i < weights.size(); ++i) {
          const auto& [W, b] = weights[i];
          if (path == 2) {
            W.sum();
            continue;
          }
          if (!ours) {
            torch::addmm(b, xs[i], W);
            continue;
          }
          auto y = torch::empty({1, W.size(1)}, W.options());
          if (dtype == torch::kFloat32)
            tlens::backend::cpu::parallel_gemv(W.size(0), W.size(1), xs[i].data_ptr<float>(), W.data_ptr<float>(),
                                               W.size(1), b.data_ptr<float>(), y.data_ptr<float>());
          else
            tlens::backend::cpu::parallel_gemv_bf16(
                W.size(0), W.size(1), reinterpret_cast<const uint16_t*>(xs[i].data_ptr()),
                reinterpret_cast<const uint16_t*>(W.data_ptr()), W.size(1),
                reinterpret_cast<const uint16_t*>(b.data_ptr()), reinterpret_cast<uint16_t*>(y.data_ptr()));
        }
        best = std::min(best, seconds(start));
      }
      return best;
    };
    // The two agree (float32: within rounding of the sums; bfloat16: within one bf16 step).
    auto ref = torch::addmm(weights[2].second, xs[2], weights[2].first).to(torch::kFloat32);
    auto y = torch::empty({1, weights[2].first.size(1)}, weights[2].first.options());
    if (dtype == torch::kFloat32)
      tlens::backend::cpu::parallel_gemv(768, 3072, xs[2].data_ptr<float>(), weights[2].first.data_ptr<float>(), 3072,
                                         weights[2].second.data_ptr<float>(), y.data_ptr<float>());
    else
      tlens::backend::cpu::parallel_gemv_bf16(768, 3072, reinterpret_cast<const uint16_t*>(xs[2].data_ptr()),
                                              reinterpret_cast<const uint16_t*>(weights[2].first.data_ptr()), 3072,
                                              reinterpret_cast<const uint16_t*>(weights[2].second.data_ptr()),
                                              reinterpret_cast<uint16_t*>(y.data_ptr()));
    const double err = (y.to(torch::kFloat32) - ref).abs().max().item<double>() / ref.abs().max().item<double>();
    const double blas = run(0), ours = run(1), read = run(2);
    std::printf("%-9s one step's weights (%.0f MB): addmm %.2f ms = %.1f GB/s | tlens gemv %.2f ms = %.1f GB/s "
                "(%.2fx) | reading them (sum) %.2f ms = %.1f GB/s; max rel diff %.1e\n",
                dtype == torch::kFloat32 ? "float32" : "bfloat16", bytes / 1e6, blas * 1e3, bytes / blas / 1e9,
                ours * 1e3, bytes / ours / 1e9, blas / ours, read * 1e3, bytes / read / 1e9, err);
  }
  return 0;
}
