// compare.h: tensor comparison for the parity and engine tests, with a printed max-abs-diff.
//
//   double diff = expect_close("blocks.0.hook_resid_pre", actual, expected, 1e-4);
//
// The tolerance is relative to the expected tensor's scale:
//   max_abs_diff <= rtol_of_scale * max(1, max_abs(expected))
// Equal infinities (masked attention scores are -inf) count as a difference of 0; a NaN, or an
// infinity on one side only, counts as an infinite difference. On failure the message names the
// tensor, the max-abs-diff, the tolerance and the first differing values.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace tlens::testing {

// max |expected| over its finite entries, at least 1: the scale the tolerance is relative to.
inline double tolerance_scale(const torch::Tensor& expected) {
  auto e = expected.detach().to(torch::kDouble);
  auto finite = e.masked_select(torch::isfinite(e));
  double max_abs = finite.numel() ? finite.abs().max().item<double>() : 0.0;
  return std::max(1.0, max_abs);
}

// Elementwise |actual - expected| in double, 0 where both are equal (equal infinities
// included), +inf where either side is NaN or only one side is infinite.
inline torch::Tensor abs_diff(const torch::Tensor& actual, const torch::Tensor& expected) {
  auto a = actual.detach().to(torch::kCPU).to(torch::kDouble);
  auto e = expected.detach().to(torch::kCPU).to(torch::kDouble);
  auto diff = (a - e).abs();
  diff = torch::where(a == e, torch::zeros_like(diff), diff);
  const double inf = std::numeric_limits<double>::infinity();
  return torch::nan_to_num(diff, inf, inf);
}

inline double max_abs_diff(const torch::Tensor& actual, const torch::Tensor& expected) {
  if (actual.sizes() != expected.sizes()) return std::numeric_limits<double>::infinity();
  if (actual.numel() == 0) return 0.0;
  return abs_diff(actual, expected).max().item<double>();
}

// Records a gtest failure when `actual` differs from `expected` by more than
// rtol_of_scale * max(1, max_abs(expected)); returns the max-abs-diff (inf on a shape mismatch).
inline double expect_close(const std::string& name, const torch::Tensor& actual,
                           const torch::Tensor& expected, double rtol_of_scale = 1e-4) {
  if (!actual.defined() || !expected.defined()) {
    ADD_FAILURE() << name << ": " << (actual.defined() ? "expected" : "actual")
                  << " tensor is undefined";
    return std::numeric_limits<double>::infinity();
  }
  if (actual.sizes() != expected.sizes()) {
    ADD_FAILURE() << name << ": shape " << actual.sizes() << ", expected " << expected.sizes();
    return std::numeric_limits<double>::infinity();
  }
  if (actual.numel() == 0) return 0.0;
  const double scale = tolerance_scale(expected);
  const double tolerance = rtol_of_scale * scale;
  auto diff = abs_diff(actual, expected);
  const double max_diff = diff.max().item<double>();
  if (!(max_diff <= tolerance)) {
    std::ostringstream msg;
    msg << name << ": max_abs_diff " << max_diff << " > tolerance " << tolerance << " ("
        << rtol_of_scale << " x scale " << scale << "), shape " << actual.sizes()
        << "\n  first differing values:";
    auto bad = (diff > tolerance).nonzero();  // [n_bad, dims]
    auto a = actual.detach().to(torch::kCPU).to(torch::kDouble);
    auto e = expected.detach().to(torch::kCPU).to(torch::kDouble);
    const int64_t n_show = std::min<int64_t>(bad.size(0), 5);
    for (int64_t i = 0; i < n_show; ++i) {
      std::vector<int64_t> index(bad[i].data_ptr<int64_t>(),
                                 bad[i].data_ptr<int64_t>() + bad.size(1));
      torch::Tensor av = a, ev = e;
      for (int64_t k : index) {
        av = av[k];
        ev = ev[k];
      }
      msg << "\n    " << c10::IntArrayRef(index) << ": actual " << av.item<double>()
          << ", expected " << ev.item<double>();
    }
    msg << "\n  (" << bad.size(0) << " of " << actual.numel() << " entries differ)";
    ADD_FAILURE() << msg.str();
  }
  return max_diff;
}

}  // namespace tlens::testing
