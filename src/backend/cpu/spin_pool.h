// cpu/spin_pool: how tlens's kernels split their work over threads while a generation decodes.
//
// A decode step is about a hundred short parallel pieces (a matrix-vector product per weight,
// 20-500 us each). Under OMP_WAIT_POLICY=PASSIVE (our scripts' setting, so that two thread pools
// do not fight over 2 cores) OpenMP's workers sleep after every parallel region and each region
// pays their wake-up (~100 us here: a third of a gpt2-small step). Inside a DecodeScope the kernels
// run on helper threads that busy-wait between pieces instead, and libtorch's own ops run on the
// calling thread alone (at::set_num_threads(1) for the scope), so only one pool is awake. Outside a
// scope, on any other thread, and where OpenMP's workers busy-wait themselves (OMP_WAIT_POLICY
// not PASSIVE, or GOMP_SPINCOUNT set: then a second busy pool would only take turns with theirs),
// parallel_ranges is at::parallel_for. TLENS_SPIN_POOL=0 / 1 forces it off / on.
//
//   {
//     cpu::DecodeScope scope;   // generate's single-token steps
//     ... forward ...           // parallel_ranges -> the spinning helpers
//   }                           // helpers sleep; libtorch's thread count restored
#pragma once

#include <cstdint>
#include <functional>

namespace tlens::backend::cpu {

class DecodeScope {
 public:
  DecodeScope();
  ~DecodeScope();
  DecodeScope(const DecodeScope&) = delete;
  DecodeScope& operator=(const DecodeScope&) = delete;

 private:
  int previous_threads_;
  bool active_;  // false when nested, or when there is one thread only
};

// Calls f(begin, end) over [0, n) split into one contiguous range per thread (libtorch's thread
// count, or the scope's).
void parallel_ranges(int64_t n, const std::function<void(int64_t, int64_t)>& f);

}  // namespace tlens::backend::cpu
