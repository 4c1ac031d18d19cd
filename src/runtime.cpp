#include "tlens/runtime.h"

#include "backend/derived.h"
#include "tlens/devices.h"

#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <ATen/Config.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <c10/core/CPUAllocator.h>
#include <fstream>
#include <sstream>
#include <torch/torch.h>
#include <torch/version.h>

namespace tlens {

namespace {

// libtorch's CPU allocator, with big buffers kept for reuse: a forward frees and allocates the
// same activation sizes again and again, and a fresh 4 KiB page costs ~12 us on first touch here.
// Buffers of 1 MiB and more are mmap'd with MADV_HUGEPAGE (first touch then runs at memory speed),
// in 2 MiB multiples from 16 MiB up and in 64 KiB multiples below, and, when freed, kept by size
// for the next allocation of that size until release_cached_memory().
class CachingCpuAllocator final : public c10::Allocator {
 public:
  static constexpr size_t kMinCached = size_t{1} << 20;
  static constexpr size_t kHugePage = size_t{2} << 20;
  static constexpr size_t kWholeHugePages = size_t{16} << 20;
  static constexpr size_t kSmallStep = size_t{64} << 10;
  static constexpr size_t kMaxCachedBytes = size_t{8} << 30;  // beyond this, give memory back

  explicit CachingCpuAllocator(c10::Allocator* fallback) : fallback_(fallback) {
    fallback_raw_deleter() = fallback->raw_deleter();
  }

  // Gives every kept buffer back to the system.
  static void release_cached() {
    std::multimap<size_t, void*> buffers;
    {
      std::lock_guard<std::mutex> lock(mutex());
      buffers.swap(cache());
      cached_bytes() = 0;
    }
    for (auto& [size, ptr] : buffers) munmap(ptr, size);
  }

  c10::DataPtr allocate(size_t nbytes) override { return allocate_impl(nbytes); }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }

  // With data == context (allocate_impl), raw_allocate / raw_deallocate work too.
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

 private:
  c10::DataPtr allocate_impl(size_t nbytes) const {
    if (nbytes < kMinCached) return fallback_->allocate(nbytes);
    // Big buffers in whole huge pages; smaller ones in 64 KiB steps, where rounding up to 2 MiB
    // would waste up to half of them (a touched huge page is resident as a whole).
    const size_t step = nbytes >= kWholeHugePages ? kHugePage : kSmallStep;
    const size_t size = (nbytes + step - 1) / step * step;
    void* ptr = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex());
      auto it = cache().find(size);
      if (it != cache().end()) {
        ptr = it->second;
        cache().erase(it);
        cached_bytes() -= size;
        live().emplace(ptr, size);
      }
    }
    if (!ptr) {
      ptr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (ptr == MAP_FAILED) return fallback_->allocate(nbytes);
      madvise(ptr, size, MADV_HUGEPAGE);
      std::lock_guard<std::mutex> lock(mutex());
      live().emplace(ptr, size);
    }
    // The context is the data pointer itself, as c10::Allocator::raw_allocate requires (oneDNN
    // tensors allocate that way); release() looks the buffer's size up by it.
    return {ptr, ptr, &release, c10::Device(c10::DeviceType::CPU)};
  }

  static void release(void* ptr) {
    size_t size = 0;
    {
      std::lock_guard<std::mutex> lock(mutex());
      auto it = live().find(ptr);
      if (it != live().end()) {
        size = it->second;
        live().erase(it);
        if (cached_bytes() + size <= kMaxCachedBytes) {
          cache().emplace(size, ptr);
          cached_bytes() += size;
          return;
        }
      }
    }
    if (size == 0) {
      // Not ours: a small buffer raw_allocate got from the fallback allocator.
      if (fallback_raw_deleter()) fallback_raw_deleter()(ptr);
      return;
    }
    munmap(ptr, size);
  }

  // Function-local statics: buffers may be released during static destruction at exit.
  static std::mutex& mutex() {
    static auto* m = new std::mutex;
    return *m;
  }
  // Kept buffers by size, and the size of every buffer handed out, by its pointer.
  static std::multimap<size_t, void*>& cache() {
    static auto* c = new std::multimap<size_t, void*>;
    return *c;
  }
  static std::unordered_map<void*, size_t>& live() {
    static auto* l = new std::unordered_map<void*, size_t>;
    return *l;
  }
  static c10::DeleterFnPtr& fallback_raw_deleter() {
    static c10::DeleterFnPtr deleter = nullptr;
    return deleter;
  }
  static size_t& cached_bytes() {
    static size_t bytes = 0;
    return bytes;
  }

  c10::Allocator* fallback_;
};

}  // namespace

void release_cached_memory() {
  backend::release_unused_derived();  // copies of weights that are gone: their memory first
  CachingCpuAllocator::release_cached();
}

int hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

void configure_runtime(int threads) {
  if (threads <= 0) threads = hardware_threads();
  torch::set_num_threads(threads);
  // TLENS_CACHING_ALLOCATOR=0: libtorch's own allocator and glibc's defaults (for benchmarks
  // that decide whether the allocator below still pays).
  if (const char* env = std::getenv("TLENS_CACHING_ALLOCATOR"); env != nullptr && std::string(env) == "0")
    return;
  static CachingCpuAllocator allocator(c10::GetDefaultCPUAllocator());
  static std::once_flag installed;
  std::call_once(installed, [] { c10::SetCPUAllocator(&allocator, /*priority=*/1); });
#ifdef M_TRIM_THRESHOLD
  // Smaller buffers come from glibc's heap: keep what is freed there too. Setting the trim
  // threshold also freezes glibc's mmap threshold at its 128 KiB default, so buffers between
  // 128 KiB and 1 MiB (a 19-token prompt's [pos, d_mlp] is 233 KiB) would be mmap'd fresh on
  // every allocation and munmap'd on every free; the heap serves everything below our 1 MiB.
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(CachingCpuAllocator::kMinCached));
#endif
}

namespace {

// The value of the first line of at::show_config() containing `key`, trimmed.
std::string config_line(const std::string& config, const std::string& key) {
  std::istringstream lines(config);
  for (std::string line; std::getline(lines, line);) {
    auto at = line.find(key);
    if (at == std::string::npos) continue;
    auto begin = line.find_first_not_of(" -");
    return line.substr(begin == std::string::npos ? 0 : begin);
  }
  return "";
}

}  // namespace

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.libtorch_version = TORCH_VERSION;
  const std::string config = at::show_config();
  const std::string blas = config_line(config, "BLAS_INFO=");
  const std::string mkl = config_line(config, "Math Kernel Library");
  info.blas = !mkl.empty() ? mkl : (blas.empty() ? "unknown" : blas.substr(blas.find('=') + 1));
  const std::string dnn = config_line(config, "MKL-DNN v");
  info.onednn = dnn.empty() ? "none" : "oneDNN " + dnn.substr(dnn.find('v'));
  info.cpu_capability = at::get_cpu_capability();
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (info.cpu_model.empty() && line.rfind("model name", 0) == 0)
      info.cpu_model = line.substr(line.find(':') + 2);
    if (line.rfind("flags", 0) == 0) {
      std::istringstream flags(line.substr(line.find(':') + 1));
      for (std::string flag; flags >> flag;) {
        info.avx2 |= flag == "avx2";
        info.avx512f |= flag == "avx512f";
        info.amx |= flag == "amx_tile";
      }
      break;
    }
  }
  info.cuda_available = cuda_is_available();
  info.cuda_device_count = cuda_device_count();
  info.threads = at::get_num_threads();
  info.parallel_backend = AT_PARALLEL_OPENMP ? "OpenMP" : (AT_PARALLEL_NATIVE ? "native" : "other");
  return info;
}

}  // namespace tlens
