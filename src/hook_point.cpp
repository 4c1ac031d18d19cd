#include "tlens/hook_point.h"

#include <algorithm>
#include <atomic>

namespace tlens {

namespace {
std::atomic<uint64_t> next_hook_id{1};
}

const char* hook_flag_name(HookFlag flag) {
  switch (flag) {
    case HookFlag::use_attn_result: return "use_attn_result";
    case HookFlag::use_split_qkv_input: return "use_split_qkv_input";
    case HookFlag::use_hook_mlp_in: return "use_hook_mlp_in";
    case HookFlag::use_attn_in: return "use_attn_in";
  }
  return "?";
}

HookPoint::HookPoint(std::optional<HookFlag> required_flag) : required_flag(required_flag) {}

torch::Tensor HookPoint::run_hooks(const torch::Tensor& x) const {
  torch::Tensor current = x;
  // Copy the list: a hook may add or remove hooks on this point while running.
  auto hooks = hooks_;
  for (const auto& entry : hooks) {
    std::optional<torch::Tensor> replacement = entry.fn(current, *this);
    if (replacement.has_value()) {
      TORCH_CHECK(replacement->defined(), "hook on ", name, " returned an undefined tensor");
      current = *replacement;
    }
  }
  return current;
}

uint64_t HookPoint::add_hook(HookFn fn, const HookOptions& options) {
  uint64_t id = next_hook_id++;
  Entry entry{id, std::move(fn), options.is_permanent()};
  if (options.prepend()) {
    hooks_.insert(hooks_.begin(), std::move(entry));
  } else {
    hooks_.push_back(std::move(entry));
  }
  return id;
}

void HookPoint::remove_hook(uint64_t id) {
  hooks_.erase(std::remove_if(hooks_.begin(), hooks_.end(),
                              [id](const Entry& e) { return e.id == id; }),
               hooks_.end());
}

void HookPoint::remove_hooks(PermanentHooks permanent) {
  const bool including_permanent = permanent == PermanentHooks::included;
  hooks_.erase(std::remove_if(hooks_.begin(), hooks_.end(),
                              [&](const Entry& e) { return including_permanent || !e.is_permanent; }),
               hooks_.end());
}

size_t HookPoint::num_hooks(PermanentHooks permanent) const {
  const bool including_permanent = permanent == PermanentHooks::included;
  return std::count_if(hooks_.begin(), hooks_.end(),
                       [&](const Entry& e) { return including_permanent || !e.is_permanent; });
}

std::optional<int64_t> HookPoint::layer() const {
  const std::string prefix = "blocks.";
  if (name.rfind(prefix, 0) != 0) return std::nullopt;
  size_t end = name.find('.', prefix.size());
  return std::stoll(name.substr(prefix.size(), end - prefix.size()));
}

}  // namespace tlens
