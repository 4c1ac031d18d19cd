// runtime.h: one thread pool, and the CPU allocator that keeps big buffers for reuse and gives
// them back on request.
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tlens/runtime.h"

namespace {

// VmRSS of this process in MiB.
double resident_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

TEST(Runtime, SetsTheThreadCount) {
  tlens::configure_runtime(1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  tlens::configure_runtime(0);
  EXPECT_EQ(torch::get_num_threads(), tlens::hardware_threads());
}

TEST(Runtime, ABigFreedBufferIsReusedForTheSameSize) {
  tlens::configure_runtime(0);
  tlens::release_cached_memory();
  const void* first = nullptr;
  {
    auto a = torch::ones({8 << 20});  // [8M] floats: 32 MiB
    first = a.data_ptr();
  }
  auto b = torch::empty({8 << 20});  // [8M], the same size: the kept buffer
  EXPECT_EQ(b.data_ptr(), first);
}

TEST(Runtime, ReleaseCachedMemoryGivesKeptBuffersBack) {
  tlens::configure_runtime(0);
  tlens::release_cached_memory();
  const double before = resident_mib();
  {
    auto a = torch::ones({16 << 20});  // [16M] floats: 64 MiB, every page touched
    EXPECT_GT(resident_mib(), before + 48);
  }
  // Freed but kept for reuse: still resident.
  EXPECT_GT(resident_mib(), before + 48);
  tlens::release_cached_memory();
  EXPECT_LT(resident_mib(), before + 16);
}

// c10::Allocator::raw_allocate asserts that a buffer's context is its data pointer, and
// raw_deallocate needs raw_deleter(); oneDNN tensors allocate that way. Big buffers (ours) and small
// ones (the fallback allocator's) both round-trip.
TEST(Runtime, RawAllocateAndDeallocateWorkForBigAndSmallBuffers) {
  tlens::configure_runtime(0);
  c10::Allocator* allocator = c10::GetAllocator(c10::DeviceType::CPU);
  for (size_t bytes : {size_t{64}, size_t{4} << 20}) {
    void* ptr = allocator->raw_allocate(bytes);
    ASSERT_NE(ptr, nullptr);
    static_cast<char*>(ptr)[bytes - 1] = 1;
    allocator->raw_deallocate(ptr);
  }
  if (torch::hasMKLDNN()) {
    auto x = torch::randn({1024, 1024});  // [1024, 1024]: 4 MiB, one of our buffers
    EXPECT_TRUE(torch::equal(x.to_mkldnn().to_dense(), x));
  }
}

}  // namespace
