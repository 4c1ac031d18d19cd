// linear.h: b + x @ W through tlens's small-M kernels agrees with torch::addmm on every shape
// they take — the packing kernel for row-major W (row counts around its 6-row tiles, column counts
// around its 16-column panels and 128-column blocks, K around its 256-row blocks) and the
// dot-product kernel for W in weight layout (around its 3x4 tiles and 1024-long K blocks) — on
// strided weights, and falls back to addmm where it must (one row, many rows, autograd).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tlens/linear.h"
#include "tlens/runtime.h"

namespace {

// max |linear - addmm| relative to the largest |addmm| entry.
double relative_error(const torch::Tensor& x, const torch::Tensor& W, const torch::Tensor& b) {
  auto expected = torch::addmm(b, x, W);  // [rows, d_out]
  auto actual = tlens::linear(x, W, b);   // [rows, d_out]
  EXPECT_EQ(actual.sizes(), expected.sizes());
  const double scale = std::max(1.0, expected.abs().max().item<double>());
  return (actual - expected).abs().max().item<double>() / scale;
}

class Linear : public ::testing::Test {
 protected:
  void SetUp() override {
    tlens::configure_runtime(0);
    torch::manual_seed(0);
    if (!tlens::small_gemm_available()) GTEST_SKIP() << "this CPU has no AVX2/FMA: linear is addmm";
  }
};

TEST_F(Linear, MatchesAddmmOnEveryShapeTheKernelTakes) {
  torch::NoGradGuard no_grad;
  for (int64_t M : {2, 3, 5, 6, 7, 13, 19, 24, 47, 48}) {
    for (int64_t K : {1, 7, 255, 256, 257, 768}) {
      for (int64_t N : {1, 15, 16, 17, 127, 128, 129, 300}) {
        auto x = torch::randn({M, K});  // [rows, d_in]
        auto W = torch::randn({K, N});  // [d_in, d_out]
        auto b = torch::randn({N});     // [d_out]
        EXPECT_LT(relative_error(x, W, b), 1e-5) << "M " << M << " K " << K << " N " << N;
      }
    }
  }
}

// The same for weights in linear.h's weight layout (stored transposed, as tlens's own are): the
// dot-product kernel, around its 3-row and 4-column tiles, its 8-float steps and 1024-long K blocks.
TEST_F(Linear, MatchesAddmmInWeightLayoutOnEveryShapeTheKernelTakes) {
  torch::NoGradGuard no_grad;
  for (int64_t M : {2, 3, 4, 5, 7, 13, 19, 24, 47, 48}) {
    for (int64_t K : {1, 7, 8, 9, 255, 768, 1023, 1024, 1025, 3072}) {
      for (int64_t N : {1, 3, 4, 5, 7, 8, 9, 127, 300}) {
        auto x = torch::randn({M, K});                               // [rows, d_in]
        auto W = tlens::to_weight_layout(torch::randn({K, N}));      // [d_in, d_out]
        auto b = torch::randn({N});                                  // [d_out]
        ASSERT_TRUE(tlens::in_weight_layout(W));
        EXPECT_LT(relative_error(x, W, b), 1e-5) << "M " << M << " K " << K << " N " << N;
      }
    }
  }
}

TEST_F(Linear, WeightLayoutHelpers) {
  auto W = tlens::empty_weight(5, 7);  // [d_in, d_out]
  EXPECT_EQ(W.sizes(), (std::vector<int64_t>{5, 7}));
  EXPECT_EQ(W.strides(), (std::vector<int64_t>{1, 5}));
  EXPECT_TRUE(tlens::in_weight_layout(W));
  auto row_major = torch::randn({5, 7});  // [d_in, d_out]
  EXPECT_FALSE(tlens::in_weight_layout(row_major));
  auto moved = tlens::to_weight_layout(row_major);  // [d_in, d_out]
  EXPECT_TRUE(tlens::in_weight_layout(moved));
  EXPECT_TRUE(torch::equal(moved, row_major));
  EXPECT_TRUE(tlens::to_weight_layout(moved).is_same(moved));  // no copy when already there
}

TEST_F(Linear, ReadsStridedWeightsAndInputs) {
  torch::NoGradGuard no_grad;
  auto W_all = torch::randn({768, 3 * 200});         // [d_in, 3 * 200], like packed W_QKV
  auto W = W_all.narrow(1, 200, 200);                 // [d_in, 200], row stride 600
  auto x = torch::randn({19, 2 * 768}).narrow(1, 768, 768);  // [19, d_in], row stride 1536
  auto b = torch::randn({3 * 200}).narrow(0, 200, 200);     // [200]
  ASSERT_FALSE(W.is_contiguous());
  EXPECT_LT(relative_error(x, W, b), 1e-5);
  // Columns of a weight-layout matrix (the packed QKV weight's q, k or v): row stride 768 of a
  // [600, 768] storage.
  auto Wt = tlens::to_weight_layout(W_all).narrow(1, 200, 200);  // [d_in, 200]
  ASSERT_EQ(Wt.strides(), (std::vector<int64_t>{1, 768}));
  EXPECT_LT(relative_error(x, Wt, b), 1e-5);
}

TEST_F(Linear, TheKernelIsWhatRunsForShortInputs) {
  torch::NoGradGuard no_grad;
  auto x = torch::randn({19, 64});  // [19, d_in]
  auto W = torch::randn({64, 40});  // [d_in, 40]
  auto b = torch::randn({40});      // [40]
  // The raw kernel on its own: C = b + x @ W, in two column ranges.
  auto C = torch::full({19, 40}, std::nanf(""));  // [19, 40]
  tlens::small_gemm(19, 64, 0, 32, x.data_ptr<float>(), 64, W.data_ptr<float>(), 40,
                    b.data_ptr<float>(), C.data_ptr<float>(), 40);
  tlens::small_gemm(19, 64, 32, 40, x.data_ptr<float>(), 64, W.data_ptr<float>(), 40,
                    b.data_ptr<float>(), C.data_ptr<float>(), 40);
  EXPECT_TRUE(torch::allclose(C, torch::addmm(b, x, W), 1e-5, 1e-5));
  // The dot-product kernel on W's transpose, in two column ranges (one not a multiple of 4).
  auto Wt = W.t().contiguous();                     // [40, 64]
  auto C_nt = torch::full({19, 40}, std::nanf(""));  // [19, 40]
  tlens::small_gemm_nt(19, 64, 0, 21, x.data_ptr<float>(), 64, Wt.data_ptr<float>(), 64,
                       b.data_ptr<float>(), C_nt.data_ptr<float>(), 40);
  tlens::small_gemm_nt(19, 64, 21, 40, x.data_ptr<float>(), 64, Wt.data_ptr<float>(), 64,
                       b.data_ptr<float>(), C_nt.data_ptr<float>(), 40);
  EXPECT_TRUE(torch::allclose(C_nt, torch::addmm(b, x, W), 1e-5, 1e-5));
  // linear() on a weight in weight layout is that kernel: the same bits.
  EXPECT_TRUE(torch::equal(tlens::linear(x, Wt.t(), b), C_nt));
  // With the kernel off, linear is addmm itself: the same bits.
  const int64_t rows = tlens::small_gemm_max_rows();
  tlens::set_small_gemm_max_rows(0);
  EXPECT_TRUE(torch::equal(tlens::linear(x, W, b), torch::addmm(b, x, W)));
  tlens::set_small_gemm_max_rows(rows);
  EXPECT_TRUE(torch::equal(tlens::linear(x, W, b), C));
}

TEST_F(Linear, OneRowManyRowsAndAutogradGoToAddmm) {
  auto W = torch::randn({32, 48});  // [d_in, d_out]
  auto b = torch::randn({48});      // [d_out]
  {
    torch::NoGradGuard no_grad;
    for (int64_t M : {int64_t{1}, tlens::small_gemm_max_rows() + 1}) {
      auto x = torch::randn({M, 32});  // [rows, d_in]
      EXPECT_TRUE(torch::equal(tlens::linear(x, W, b), torch::addmm(b, x, W))) << "M " << M;
    }
  }
  auto W_grad = W.clone().requires_grad_(true);  // [d_in, d_out]
  auto x = torch::randn({4, 32});                 // [4, d_in]
  tlens::linear(x, W_grad, b).sum().backward();
  ASSERT_TRUE(W_grad.grad().defined());
  EXPECT_TRUE(torch::allclose(W_grad.grad(), x.sum(0).unsqueeze(1).expand({32, 48})));
}

TEST_F(Linear, EmptyInnerDimensionGivesTheBias) {
  torch::NoGradGuard no_grad;
  auto b = torch::randn({20});  // [d_out]
  auto out = tlens::linear(torch::empty({5, 0}), torch::empty({0, 20}), b);  // [5, d_out]
  EXPECT_TRUE(torch::equal(out, b.expand({5, 20})));
  auto C = torch::full({3, 20}, std::nanf(""));  // [3, d_out]
  tlens::small_gemm(3, 0, 0, 20, nullptr, 0, nullptr, 20, b.data_ptr<float>(), C.data_ptr<float>(), 20);
  EXPECT_TRUE(torch::equal(C, b.expand({3, 20})));
  auto C_nt = torch::full({3, 20}, std::nanf(""));  // [3, d_out]
  tlens::small_gemm_nt(3, 0, 0, 20, nullptr, 0, nullptr, 0, b.data_ptr<float>(), C_nt.data_ptr<float>(), 20);
  EXPECT_TRUE(torch::equal(C_nt, b.expand({3, 20})));
}

}  // namespace
