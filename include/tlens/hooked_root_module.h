// HookedRootModule: the hook bookkeeping of a model made of HookPoints.
//
//   model->add_hook("blocks.0.hook_resid_pre", fn);                      // by name
//   model->add_hook(std::vector<std::string>{"hook_embed", "hook_pos_embed"}, fn);  // a list
//   model->add_hook([](const std::string& n) { return ends_with(n, "hook_pattern"); }, fn);
//   model->add_hook("blocks.0.hook_resid_pre", fn, tlens::HookOptions().is_permanent(true));  // survives reset_hooks
//   {
//     auto scope = model->hooks({{"blocks.0.attn.hook_pattern", fn}});   // `with model.hooks(...)`
//     model->forward(tokens);
//   }                                      // removes exactly its own hooks, also on exceptions
//   model->reset_hooks();                  // removes every non-permanent hook
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tlens/hook_point.h"

namespace tlens {

// Which hook points a hook (or a cache) applies to: one name, a list of names, or a predicate.
class NamesFilter {
 public:
  NamesFilter();  // every hook point
  NamesFilter(const char* name);
  NamesFilter(std::string name);
  NamesFilter(std::vector<std::string> names);
  NamesFilter(std::function<bool(const std::string&)> predicate);
  static NamesFilter regex(const std::string& pattern);  // full match, ECMAScript syntax

  bool matches(const std::string& name) const;
  // The names given literally (one name or a list); empty for a predicate or "all".
  const std::vector<std::string>& explicit_names() const { return names_; }
  bool is_explicit() const { return !predicate_; }

 private:
  std::vector<std::string> names_;
  std::function<bool(const std::string&)> predicate_;
};

struct HookHandle {
  HookPoint* point;
  uint64_t id;
};

class HookedRootModule;

// RAII scope of hooks: removes exactly the hooks it added when it ends, also during unwinding.
class HookScope {
 public:
  HookScope() = default;
  HookScope(std::vector<HookHandle> handles) : handles_(std::move(handles)) {}
  HookScope(HookScope&& other) noexcept : handles_(std::move(other.handles_)) {
    other.handles_.clear();
  }
  HookScope& operator=(HookScope&& other) noexcept;
  HookScope(const HookScope&) = delete;
  HookScope& operator=(const HookScope&) = delete;
  ~HookScope() { remove(); }

  void remove();  // removes the hooks now (idempotent)
  size_t size() const { return handles_.size(); }

 private:
  std::vector<HookHandle> handles_;
};

using FwdHooks = std::vector<std::pair<NamesFilter, HookFn>>;

class HookedRootModule : public torch::nn::Module {
 public:
  // Names every HookPoint after its module path and builds hook_dict in registration order.
  void setup();

  // hook_dict: (name, HookPoint) in registration order.
  const std::vector<std::pair<std::string, std::shared_ptr<HookPoint>>>& hook_dict() const {
    return hook_dict_;
  }
  std::vector<std::string> hook_names() const;
  // The hook point called `name`; tlens::Error suggesting the nearest name if there is none.
  HookPoint& hook_point(const std::string& name) const;
  // Every hook point `filter` selects. An explicit name that is no hook point is an error;
  // an explicit name whose config flag is off is an error naming the flag (check_hooks_to_add).
  // Predicates skip hook points whose flag is off, since those never fire.
  std::vector<HookPoint*> select_hook_points(const NamesFilter& filter) const;

  std::vector<HookHandle> add_hook(const NamesFilter& names, HookFn fn,
                                   const HookOptions& options = {});
  std::vector<HookHandle> add_perma_hook(const NamesFilter& names, HookFn fn) {
    return add_hook(names, std::move(fn), HookOptions().is_permanent(true));
  }
  void reset_hooks(PermanentHooks permanent = PermanentHooks::excluded);
  // `with model.hooks(fwd_hooks=...)`: the returned scope removes these hooks when it ends.
  [[nodiscard]] HookScope hooks(const FwdHooks& fwd_hooks);
  // Number of hooks attached over all hook points.
  size_t num_hooks(PermanentHooks permanent = PermanentHooks::included) const;

 protected:
  // Whether a hook point's required config flag is set; overridden by models with a config.
  virtual bool flag_is_set(HookFlag flag) const;

 private:
  std::vector<std::pair<std::string, std::shared_ptr<HookPoint>>> hook_dict_;
};

}  // namespace tlens
