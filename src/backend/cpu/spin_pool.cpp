#include "backend/cpu/spin_pool.h"

#include <algorithm>
#include <cctype>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define TLENS_PAUSE() _mm_pause()
#else
#define TLENS_PAUSE() std::this_thread::yield()
#endif

namespace tlens::backend::cpu {

namespace {

// Busy-wait rounds before a helper sleeps (a pause is ~10-140 cycles: ~0.2-3 ms in all); a step's
// pieces come every 20-500 us.
constexpr int kSpinRounds = 20000;

// The helpers: `size` - 1 threads that run their share of each job the owner posts.
class Pool {
 public:
  static Pool& get() {
    static Pool* pool = new Pool();  // never destroyed: helpers may outlive static destructors
    return *pool;
  }

  // Starts (or wakes) size - 1 helpers for the calling thread; false when another thread has them.
  bool open(int size) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (open_.load()) return false;
    while (static_cast<int>(threads_.size()) < size - 1) {
      const int index = static_cast<int>(threads_.size()) + 1;
      // The jobs so far are not this helper's: it starts from the current generation (read here,
      // where no job is in flight, not in the new thread, which may start after the first post).
      const uint64_t seen = generation_.load();
      threads_.emplace_back([this, index, seen] { helper(index, seen); });
      threads_.back().detach();
    }
    size_.store(size);
    owner_.store(std::this_thread::get_id());
    open_.store(true);
    return true;
  }

  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_.store(false);
    owner_.store(std::thread::id());
  }

  bool serves_this_thread() const { return open_.load() && owner_.load() == std::this_thread::get_id(); }

  void run(int64_t n, const std::function<void(int64_t, int64_t)>& f) {
    const int size = size_.load();
    job_ = &f;
    n_ = n;
    pending_.store(size - 1);
    generation_.fetch_add(1);  // (sequentially consistent: read before sleeping_ below)
    if (sleeping_.load()) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    share(0, size);
    while (pending_.load(std::memory_order_acquire) > 0) TLENS_PAUSE();
  }

 private:
  void share(int index, int size) {
    const int64_t begin = n_ * index / size, end = n_ * (index + 1) / size;
    if (begin < end) (*job_)(begin, end);
  }

  void helper(int index, uint64_t seen) {
    for (;;) {
      int rounds = 0;
      while (generation_.load(std::memory_order_acquire) == seen && rounds < kSpinRounds) {
        TLENS_PAUSE();
        ++rounds;
      }
      if (generation_.load(std::memory_order_acquire) == seen) {  // idle: sleep until a job
        std::unique_lock<std::mutex> lock(mutex_);
        sleeping_.fetch_add(1);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        sleeping_.fetch_sub(1);
        continue;
      }
      seen = generation_.load(std::memory_order_acquire);
      const int size = size_.load();
      if (index >= size) continue;  // a smaller pool than an earlier one: not this helper's job
      share(index, size);
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::thread> threads_;
  std::atomic<bool> open_{false};
  std::atomic<std::thread::id> owner_{};
  std::atomic<int> size_{1};
  std::atomic<int> sleeping_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t n_ = 0;
};

// Only where OpenMP's workers sleep between regions (OMP_WAIT_POLICY=PASSIVE, no GOMP_SPINCOUNT):
// where they busy-wait themselves, regions are quick already, and a second busy pool would take
// turns with theirs on the same cores. TLENS_SPIN_POOL=0 turns it off, =1 on regardless.
bool enabled_by_environment() {
  static const bool enabled = [] {
    auto env = [](const char* name) {
      const char* value = std::getenv(name);
      std::string text = value ? value : "";
      for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return text;
    };
    const std::string forced = env("TLENS_SPIN_POOL");
    if (forced == "0" || forced == "1") return forced == "1";
    return env("OMP_WAIT_POLICY") == "passive" && env("GOMP_SPINCOUNT").empty();
  }();
  return enabled;
}

}  // namespace

DecodeScope::DecodeScope() : previous_threads_(at::get_num_threads()) {
  active_ = previous_threads_ > 1 && enabled_by_environment() && Pool::get().open(previous_threads_);
  if (active_) at::set_num_threads(1);
}

DecodeScope::~DecodeScope() {
  if (!active_) return;
  Pool::get().close();
  at::set_num_threads(previous_threads_);
}

void parallel_ranges(int64_t n, const std::function<void(int64_t, int64_t)>& f) {
  if (n <= 0) return;
  Pool& pool = Pool::get();
  if (pool.serves_this_thread()) {
    pool.run(n, f);
    return;
  }
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  at::parallel_for(0, n, (n + threads - 1) / threads, [&](int64_t begin, int64_t end) { f(begin, end); });
}

}  // namespace tlens::backend::cpu
