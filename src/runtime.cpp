#include "tlens/runtime.h"

#include <malloc.h>

#include <algorithm>
#include <thread>

#include <torch/torch.h>

namespace tlens {

int hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

void configure_runtime(int threads) {
  if (threads <= 0) threads = hardware_threads();
  torch::set_num_threads(threads);
#ifdef M_MMAP_THRESHOLD
  // Serve big buffers from the heap (not fresh mmaps) and keep up to 1 GiB of freed memory.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

}  // namespace tlens
