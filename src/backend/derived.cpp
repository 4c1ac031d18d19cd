#include "backend/derived.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace tlens::backend {

namespace {

// What a derived tensor was made from: one source's storage (weakly held), place, shape and
// version at the time.
struct Source {
  c10::weak_intrusive_ptr<c10::StorageImpl> storage;
  const void* data;
  std::vector<int64_t> sizes, strides;
  uint32_t version;

  explicit Source(const torch::Tensor& t)
      : storage(t.storage().getWeakStorageImpl()),
        data(t.data_ptr()),
        sizes(t.sizes().vec()),
        strides(t.strides().vec()),
        version(t._version()) {}
  bool alive() const { return !storage.expired(); }
  bool same_as(const torch::Tensor& t) const {
    return alive() && data == t.data_ptr() && version == t._version() && sizes == t.sizes() &&
           strides == t.strides();
  }
};

struct Entry {
  std::vector<Source> sources;
  torch::Tensor value;
  bool alive() const {
    for (const auto& s : sources)
      if (!s.alive()) return false;
    return true;
  }
};

struct Registry {
  std::mutex mutex;
  // (kind, the first source's data) -> entry
  std::map<std::pair<std::string, const void*>, Entry> entries;

  void drop_dead() {
    for (auto it = entries.begin(); it != entries.end();)
      it = it->second.alive() ? std::next(it) : entries.erase(it);
  }
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: tensors may outlive static destruction
  return *r;
}

std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> enabled{[] {
    const char* value = std::getenv("TLENS_DERIVED_WEIGHTS");
    return !(value && std::strcmp(value, "0") == 0);
  }()};
  return enabled;
}

}  // namespace

torch::Tensor derived(const char* kind, std::initializer_list<torch::Tensor> sources,
                      const std::function<torch::Tensor()>& make) {
  // An inference tensor (made under torch.inference_mode) has no version counter to tell an
  // in-place edit by: made each time, never kept.
  for (const auto& t : sources)
    if (t.is_inference()) return make();
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const auto key = std::make_pair(std::string(kind), sources.begin()->data_ptr());
  auto it = r.entries.find(key);
  if (it != r.entries.end() && it->second.sources.size() == sources.size()) {
    bool same = true;
    size_t i = 0;
    for (const auto& t : sources) same = same && it->second.sources[i++].same_as(t);
    if (same) return it->second.value;
  }
  // A miss: free what is stale before making the new one (an old copy of this weight included).
  if (it != r.entries.end()) r.entries.erase(it);
  r.drop_dead();
  Entry entry;
  for (const auto& t : sources) entry.sources.emplace_back(t);
  entry.value = make();
  return r.entries.insert_or_assign(key, std::move(entry)).first->second.value;
}

int64_t release_unused_derived() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.drop_dead();
  int64_t bytes = 0;
  for (const auto& [key, entry] : r.entries) bytes += entry.value.nbytes();
  return bytes;
}

bool derived_weights_enabled() { return enabled_flag().load(); }
void set_derived_weights_enabled(bool enabled) { enabled_flag().store(enabled); }

}  // namespace tlens::backend
