// backend/: each fast path against the plain libtorch reference it stands in for.
// - backend::linear (b + x @ W) through tlens's small-M kernels agrees with torch::addmm on every
//   shape they take — the packing kernel for row-major W (row counts around its 6-row tiles,
//   column counts around its 16-column panels and 128-column blocks, K around its 256-row blocks)
//   and the dot-product kernel for W's transpose (around its 3x4 tiles and 1024-long K blocks) —
//   on strided weights, and falls back to addmm where it must (many rows, autograd); one row is
//   the matrix-vector kernels (cpu/gemv.h), float32 and bfloat16.
// - derived.h's copies are made once, made again when the weight changes, freed with it.
// - attention_qkv and causal_attention agree with the per-head einsum and the explicit softmax.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "backend/attention.h"
#include "backend/cpu/gemv.h"
#include "backend/cpu/small_gemm.h"
#include "backend/cpu/spin_pool.h"
#include "backend/derived.h"
#include "backend/linear.h"
#include "tlens/runtime.h"

namespace {

namespace backend = tlens::backend;
namespace cpu = tlens::backend::cpu;

// max |linear - addmm| relative to the largest |addmm| entry.
double relative_error(const torch::Tensor& x, const torch::Tensor& W, const torch::Tensor& b) {
  auto expected = torch::addmm(b, x, W);  // [rows, d_out]
  auto actual = backend::linear(x, W, b);   // [rows, d_out]
  EXPECT_EQ(actual.sizes(), expected.sizes());
  const double scale = std::max(1.0, expected.abs().max().item<double>());
  return (actual - expected).abs().max().item<double>() / scale;
}

class Linear : public ::testing::Test {
 protected:
  void SetUp() override {
    tlens::configure_runtime(0);
    torch::manual_seed(0);
    if (!cpu::small_gemm_available()) GTEST_SKIP() << "this CPU has no AVX2/FMA: linear is addmm";
  }
};

// Row-major W (a model's parameters): the dot-product kernel on a derived transposed copy, and
// with derived weights off, the packing kernel reading W as it is.
TEST_F(Linear, MatchesAddmmOnEveryShapeTheKernelTakes) {
  torch::NoGradGuard no_grad;
  for (bool derived : {true, false}) {
    backend::set_derived_weights_enabled(derived);
    for (int64_t M : {2, 3, 5, 6, 7, 13, 19, 24, 47, 48}) {
      for (int64_t K : {1, 7, 255, 256, 257, 768}) {
        for (int64_t N : {1, 15, 16, 17, 127, 128, 129, 300}) {
          auto x = torch::randn({M, K});  // [rows, d_in]
          auto W = torch::randn({K, N});  // [d_in, d_out]
          auto b = torch::randn({N});     // [d_out]
          EXPECT_LT(relative_error(x, W, b), 1e-5)
              << "M " << M << " K " << K << " N " << N << " derived " << derived;
        }
      }
    }
  }
  backend::set_derived_weights_enabled(true);
}

// The same for W stored as its transpose (nn.Linear's layout, the packed QKV weight): the
// dot-product kernel, around its 3-row and 4-column tiles, its 8-float steps and 1024-long K blocks.
TEST_F(Linear, MatchesAddmmOnTransposedWeightsOnEveryShapeTheKernelTakes) {
  torch::NoGradGuard no_grad;
  for (int64_t M : {2, 3, 4, 5, 7, 13, 19, 24, 47, 48}) {
    for (int64_t K : {1, 7, 8, 9, 255, 768, 1023, 1024, 1025, 3072}) {
      for (int64_t N : {1, 3, 4, 5, 7, 8, 9, 127, 300}) {
        auto x = torch::randn({M, K});                               // [rows, d_in]
        auto W = torch::randn({N, K}).t();  // [d_in, d_out], stored as [d_out, d_in]
        auto b = torch::randn({N});         // [d_out]
        EXPECT_LT(relative_error(x, W, b), 1e-5) << "M " << M << " K " << K << " N " << N;
      }
    }
  }
}

// A derived copy is made on the first short input, reused while W is unchanged, made again after
// an in-place edit or a new storage, and freed with W.
TEST_F(Linear, DerivedTransposeFollowsTheWeight) {
  torch::NoGradGuard no_grad;
  backend::release_unused_derived();
  auto x = torch::randn({19, 64});  // [19, d_in]
  auto b = torch::randn({40});      // [40]
  const int64_t before = backend::release_unused_derived();
  {
    auto W = torch::randn({64, 40});  // [d_in, d_out]
    auto make = [&] { return W.t().contiguous(); };
    auto first = backend::derived("transpose", {W}, make);
    EXPECT_TRUE(backend::derived("transpose", {W}, make).is_same(first));  // kept
    EXPECT_TRUE(torch::equal(first, W.t()));
    EXPECT_TRUE(torch::allclose(backend::linear(x, W, b), torch::addmm(b, x, W), 1e-5, 1e-5));
    W.mul_(2);  // an in-place edit (weight processing's kind): a new version
    EXPECT_TRUE(torch::allclose(backend::linear(x, W, b), torch::addmm(b, x, W), 1e-5, 1e-5));
    auto again = backend::derived("transpose", {W}, make);
    EXPECT_FALSE(again.is_same(first));
    EXPECT_TRUE(torch::equal(again, W.t()));
    W.set_data(torch::randn({64, 40}));  // load_state_dict's kind: a new storage
    EXPECT_TRUE(torch::allclose(backend::linear(x, W, b), torch::addmm(b, x, W), 1e-5, 1e-5));
    EXPECT_EQ(backend::release_unused_derived(), before + 64 * 40 * 4);  // one copy, not three
  }
  EXPECT_EQ(backend::release_unused_derived(), before);  // W is gone: so is its copy
}

// Weights made under inference mode have no version counter: no copy is kept for them (the
// packing kernel reads them as they are), and edits are still seen.
TEST_F(Linear, InferenceModeWeightsAreNotCopied) {
  c10::InferenceMode inference;
  backend::release_unused_derived();
  const int64_t before = backend::release_unused_derived();
  auto x = torch::randn({19, 64});  // [19, d_in]
  auto W = torch::randn({64, 40});  // [d_in, d_out]
  auto b = torch::randn({40});      // [40]
  EXPECT_TRUE(torch::allclose(backend::linear(x, W, b), torch::addmm(b, x, W), 1e-5, 1e-5));
  W.mul_(3);
  EXPECT_TRUE(torch::allclose(backend::linear(x, W, b), torch::addmm(b, x, W), 1e-5, 1e-5));
  auto made = backend::derived("transpose", {W}, [&] { return W.t().contiguous(); });
  EXPECT_TRUE(torch::equal(made, W.t()));
  EXPECT_EQ(backend::release_unused_derived(), before);  // nothing kept
}

TEST_F(Linear, ReadsStridedWeightsAndInputs) {
  torch::NoGradGuard no_grad;
  auto W_all = torch::randn({768, 3 * 200});         // [d_in, 3 * 200], like packed W_QKV
  auto W = W_all.narrow(1, 200, 200);                 // [d_in, 200], row stride 600
  auto x = torch::randn({19, 2 * 768}).narrow(1, 768, 768);  // [19, d_in], row stride 1536
  auto b = torch::randn({3 * 200}).narrow(0, 200, 200);     // [200]
  ASSERT_FALSE(W.is_contiguous());
  EXPECT_LT(relative_error(x, W, b), 1e-5);
  // Columns of a transposed matrix (the packed QKV weight's q, k or v): row stride 768 of a
  // [600, 768] storage.
  auto Wt = W_all.t().contiguous().t().narrow(1, 200, 200);  // [d_in, 200]
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
  cpu::small_gemm(19, 64, 0, 32, x.data_ptr<float>(), 64, W.data_ptr<float>(), 40,
                  b.data_ptr<float>(), C.data_ptr<float>(), 40);
  cpu::small_gemm(19, 64, 32, 40, x.data_ptr<float>(), 64, W.data_ptr<float>(), 40,
                  b.data_ptr<float>(), C.data_ptr<float>(), 40);
  EXPECT_TRUE(torch::allclose(C, torch::addmm(b, x, W), 1e-5, 1e-5));
  // The dot-product kernel on W's transpose, in two column ranges (one not a multiple of 4).
  auto Wt = W.t().contiguous();                     // [40, 64]
  auto C_nt = torch::full({19, 40}, std::nanf(""));  // [19, 40]
  cpu::small_gemm_nt(19, 64, 0, 21, x.data_ptr<float>(), 64, Wt.data_ptr<float>(), 64,
                     b.data_ptr<float>(), C_nt.data_ptr<float>(), 40);
  cpu::small_gemm_nt(19, 64, 21, 40, x.data_ptr<float>(), 64, Wt.data_ptr<float>(), 64,
                     b.data_ptr<float>(), C_nt.data_ptr<float>(), 40);
  EXPECT_TRUE(torch::allclose(C_nt, torch::addmm(b, x, W), 1e-5, 1e-5));
  // linear() on a transposed weight, or on a row-major one through its derived transpose, is
  // that kernel: the same bits; with derived weights off, the packing kernel's bits.
  EXPECT_TRUE(torch::equal(backend::linear(x, Wt.t(), b), C_nt));
  EXPECT_TRUE(torch::equal(backend::linear(x, W, b), C_nt));
  backend::set_derived_weights_enabled(false);
  EXPECT_TRUE(torch::equal(backend::linear(x, W, b), C));
  backend::set_derived_weights_enabled(true);
  // With the kernels off, linear is addmm itself: the same bits.
  const int64_t rows = cpu::small_gemm_max_rows();
  cpu::set_small_gemm_max_rows(0);
  EXPECT_TRUE(torch::equal(backend::linear(x, W, b), torch::addmm(b, x, W)));
  cpu::set_small_gemm_max_rows(rows);
}

TEST_F(Linear, ManyRowsAndAutogradGoToAddmm) {
  auto W = torch::randn({32, 48});  // [d_in, d_out]
  auto b = torch::randn({48});      // [d_out]
  {
    torch::NoGradGuard no_grad;
    auto x = torch::randn({cpu::small_gemm_max_rows() + 1, 32});  // [rows, d_in]
    EXPECT_TRUE(torch::equal(backend::linear(x, W, b), torch::addmm(b, x, W)));
  }
  auto W_grad = W.clone().requires_grad_(true);  // [d_in, d_out]
  for (int64_t M : {1, 4}) {  // one row with autograd too: addmm, which records the graph
    W_grad.mutable_grad() = torch::Tensor();
    auto x = torch::randn({M, 32});  // [M, d_in]
    backend::linear(x, W_grad, b).sum().backward();
    ASSERT_TRUE(W_grad.grad().defined());
    EXPECT_TRUE(torch::allclose(W_grad.grad(), x.sum(0).unsqueeze(1).expand({32, 48})));
  }
}

// One row (a generation step): tlens's matrix-vector kernels, on W row-major and on its transpose,
// float32 and bfloat16, on sizes around their 8-wide vectors, 4-row / 4-output steps and 1024-column
// blocks, and strided rows.
TEST_F(Linear, OneRowIsTheGemvKernelAndMatchesAddmm) {
  if (!cpu::gemv_available()) GTEST_SKIP() << "gemv kernels unavailable (no AVX2/FMA, or TLENS_GEMV=0)";
  torch::NoGradGuard no_grad;
  for (int64_t K : {1, 3, 4, 7, 64, 769})
    for (int64_t N : {1, 7, 8, 9, 33, 1023, 1025, 2500}) {
      auto x = torch::randn({1, K});
      auto W = torch::randn({K, N});
      auto b = torch::randn({N});
      EXPECT_LT(relative_error(x, W, b), 1e-5) << "row-major K " << K << " N " << N;
      auto Wt = torch::randn({N, K});  // stored as the transpose: linear gets Wt.t()
      EXPECT_LT(relative_error(x, Wt.t(), b), 1e-5) << "transposed K " << K << " N " << N;
      // bfloat16: float32 sums of the same bfloat16 values, rounded once (addmm may round each
      // partial sum): within a couple of bfloat16 steps of the float32 result.
      auto xb = x.to(torch::kBFloat16), Wb = W.to(torch::kBFloat16), bb = b.to(torch::kBFloat16);
      auto exact = torch::addmm(bb.to(torch::kFloat), xb.to(torch::kFloat), Wb.to(torch::kFloat));
      auto ours = backend::linear(xb, Wb, bb);
      ASSERT_EQ(ours.scalar_type(), torch::kBFloat16);
      const double scale = std::max(1.0, exact.abs().max().item<double>());
      EXPECT_LT((ours.to(torch::kFloat) - exact).abs().max().item<double>() / scale, 1e-2) << "bf16 K " << K << " N " << N;
      auto ours_t = backend::linear(xb, Wb.t().contiguous().t(), bb);
      EXPECT_LT((ours_t.to(torch::kFloat) - exact).abs().max().item<double>() / scale, 1e-2) << "bf16^T K " << K << " N " << N;
    }
  // The same bits as the kernel called directly; strided rows of W are read in place.
  auto x = torch::randn({1, 40});
  auto big = torch::randn({40, 100});
  auto W = big.narrow(1, 10, 50);  // [40, 50], row stride 100
  auto b = torch::randn({50});
  auto y = torch::full({1, 50}, std::nanf(""));
  cpu::parallel_gemv(40, 50, x.data_ptr<float>(), W.data_ptr<float>(), 100, b.data_ptr<float>(), y.data_ptr<float>());
  EXPECT_TRUE(torch::equal(backend::linear(x, W, b), y));
  EXPECT_TRUE(torch::allclose(y, torch::addmm(b, x, W), 1e-5, 1e-5));
}

TEST_F(Linear, EmptyInnerDimensionGivesTheBias) {
  torch::NoGradGuard no_grad;
  auto b = torch::randn({20});  // [d_out]
  auto out = backend::linear(torch::empty({5, 0}), torch::empty({0, 20}), b);  // [5, d_out]
  EXPECT_TRUE(torch::equal(out, b.expand({5, 20})));
  auto C = torch::full({3, 20}, std::nanf(""));  // [3, d_out]
  cpu::small_gemm(3, 0, 0, 20, nullptr, 0, nullptr, 20, b.data_ptr<float>(), C.data_ptr<float>(), 20);
  EXPECT_TRUE(torch::equal(C, b.expand({3, 20})));
  auto C_nt = torch::full({3, 20}, std::nanf(""));  // [3, d_out]
  cpu::small_gemm_nt(3, 0, 0, 20, nullptr, 0, nullptr, 0, b.data_ptr<float>(), C_nt.data_ptr<float>(), 20);
  EXPECT_TRUE(torch::equal(C_nt, b.expand({3, 20})));
}

// q, k, v: one matmul over the packed weights (shared input), one per input against its columns
// (inputs differ), the reference einsum for 4-d inputs and under autograd — all the reference's
// numbers.
TEST(Attention, QkvMatchesThePerHeadEinsum) {
  torch::manual_seed(0);
  const int64_t H = 3, d = 24, dh = 8;
  auto W_Q = torch::randn({H, d, dh}), W_K = torch::randn({H, d, dh}), W_V = torch::randn({H, d, dh});
  auto b_Q = torch::randn({H, dh}), b_K = torch::randn({H, dh}), b_V = torch::randn({H, dh});
  auto reference = [&](const torch::Tensor& input, const torch::Tensor& W, const torch::Tensor& b) {
    // batch pos [head_index] d_model, head_index d_model d_head -> batch pos head_index d_head
    return (input.dim() == 3 ? torch::einsum("bpm,hmd->bphd", {input, W})
                             : torch::einsum("bphm,hmd->bphd", {input, W})) + b;
  };
  auto check = [&](const torch::Tensor& qi, const torch::Tensor& ki, const torch::Tensor& vi) {
    auto [q, k, v] = backend::attention_qkv(qi, ki, vi, W_Q, W_K, W_V, b_Q, b_K, b_V);
    EXPECT_TRUE(torch::allclose(q, reference(qi, W_Q, b_Q), 1e-4, 1e-4));
    EXPECT_TRUE(torch::allclose(k, reference(ki, W_K, b_K), 1e-4, 1e-4));
    EXPECT_TRUE(torch::allclose(v, reference(vi, W_V, b_V), 1e-4, 1e-4));
  };
  for (int64_t pos : {1, 5, 19, 64}) {
    auto x = torch::randn({2, pos, d});  // [batch, pos, d_model]
    {
      torch::NoGradGuard no_grad;
      check(x, x, x);
      check(x, x * 2, x + 1);
      auto split = x.unsqueeze(2).expand({2, pos, H, d}).contiguous();  // [batch, pos, head_index, d_model]
      check(split, split, split);
    }
    check(x, x, x);  // grad mode
  }
  // A changed weight is seen at once (the packed copy follows it).
  torch::NoGradGuard no_grad;
  W_K.add_(1);
  auto x = torch::randn({1, 7, d});
  check(x, x, x);
}

TEST(Attention, CausalAttentionMatchesTheExplicitSoftmax) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  const double scale = 8.0;
  for (int64_t pos : {1, 6, 33}) {
    auto q = torch::randn({2, pos, 3, 16}), k = torch::randn({2, pos, 3, 16}), v = torch::randn({2, pos, 3, 16});
    // batch query_pos head d_head, batch key_pos head d_head -> batch head query_pos key_pos
    auto scores = torch::einsum("bqhd,bkhd->bhqk", {q, k}) / scale;
    scores.masked_fill_(torch::ones({pos, pos}, torch::kBool).triu(1), -INFINITY);
    // batch head query_pos key_pos, batch key_pos head d_head -> batch query_pos head d_head
    auto expected = torch::einsum("bhqk,bkhd->bqhd", {scores.softmax(-1), v});
    EXPECT_TRUE(torch::allclose(backend::causal_attention(q, k, v, scale), expected, 1e-5, 1e-5));
  }
}

}  // namespace

// The decode pool: inside a DecodeScope every range of [0, n) runs exactly once (on the caller and
// the busy-waiting helper), job after job, in scopes opened again and again (helpers that start
// late must not miss the first job); libtorch runs on one thread inside and gets its count back
// after; a nested scope or another thread's work does not take the pool.
TEST(SpinPool, EveryRangeRunsOnceInAndOutOfScopes) {
  setenv("TLENS_SPIN_POOL", "1", 1);  // read once, by the first scope
  tlens::configure_runtime(2);
  const int threads = at::get_num_threads();
  auto check = [](int64_t n) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    cpu::parallel_ranges(n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n " << n << " i " << i;
  };
  for (int scope = 0; scope < 20; ++scope) {
    cpu::DecodeScope decode;
    if (threads > 1) EXPECT_EQ(at::get_num_threads(), 1);
    for (int64_t n : {1, 2, 3, 17, 1000}) check(n);
    {
      cpu::DecodeScope nested;  // the pool is taken: a no-op
      check(5);
    }
    std::thread other([&] { check(33); });  // not the pool's thread: at::parallel_for
    other.join();
    for (int job = 0; job < 200; ++job) check(64);
  }
  EXPECT_EQ(at::get_num_threads(), threads);
  check(9);  // no scope: at::parallel_for
}
