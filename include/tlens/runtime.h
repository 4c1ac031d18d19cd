// runtime: process-wide settings that decide CPU speed.
//
//   tlens::configure_runtime(/*threads=*/0);   // 0 = every core
//
// - One thread pool: libtorch's intra-op threads = `threads` (Debian's libtorch starts with 1).
// - Memory reuse: glibc returns big freed buffers to the OS (munmap) and the next forward touches
//   fresh pages again, ~12 us per 4 KiB page here. configure_runtime installs a CPU allocator that
//   keeps buffers of 1 MiB and more for reuse (backed by transparent huge pages), so every
//   forward after the first reuses warm memory. TLENS_CACHING_ALLOCATOR=0 in the environment
//   leaves libtorch's allocator and glibc's settings as they are (to measure what this buys).
#pragma once

#include <string>

namespace tlens {

// What this process runs on, for `tlens info` and the benchmarks.
struct RuntimeInfo {
  std::string libtorch_version;  // "2.15.0"
  std::string blas;              // "MKL 2024.2.0" / "OpenBLAS" / what at::show_config() names
  std::string onednn;            // "oneDNN v3.13.3" or "none"
  std::string cpu_model;         // /proc/cpuinfo's "model name"
  std::string cpu_capability;    // libtorch's kernel level: "DEFAULT", "AVX2", "AVX512"
  bool avx2 = false, avx512f = false, amx = false;  // the CPU's own flags
  bool cuda_available = false;
  int cuda_device_count = 0;
  int threads = 0;               // intra-op threads
  std::string parallel_backend;  // "OpenMP", ...
};
RuntimeInfo runtime_info();

void configure_runtime(int threads = 0);
// Gives the buffers the allocator keeps for reuse back to the system, and drops the backend's
// faster copies of weights that no longer exist (from_pretrained calls it after loading, whose
// temporaries would otherwise stay resident).
void release_cached_memory();
int hardware_threads();

}  // namespace tlens
