#include "tlens/hooked_root_module.h"

#include <regex>

#include "tlens/error.h"

namespace tlens {

NamesFilter::NamesFilter() = default;
NamesFilter::NamesFilter(const char* name) : names_{std::string(name)} {}
NamesFilter::NamesFilter(std::string name) : names_{std::move(name)} {}
NamesFilter::NamesFilter(std::vector<std::string> names) : names_(std::move(names)) {}
NamesFilter::NamesFilter(std::function<bool(const std::string&)> predicate)
    : predicate_(std::move(predicate)) {}

NamesFilter NamesFilter::regex(const std::string& pattern) {
  std::regex re;
  try {
    re = std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw Error("names filter '" + pattern + "'", std::string("is not a valid regex: ") + e.what(),
                "use ECMAScript syntax, e.g. 'blocks\\.0\\..*' or '.*hook_pattern'");
  }
  return NamesFilter(std::function<bool(const std::string&)>(
      [re](const std::string& name) { return std::regex_match(name, re); }));
}

bool NamesFilter::matches(const std::string& name) const {
  if (predicate_) return predicate_(name);
  if (names_.empty()) return true;  // the default filter selects everything
  for (const auto& n : names_)
    if (n == name) return true;
  return false;
}

HookScope& HookScope::operator=(HookScope&& other) noexcept {
  if (this != &other) {
    remove();
    handles_ = std::move(other.handles_);
    other.handles_.clear();
  }
  return *this;
}

void HookScope::remove() {
  for (const auto& handle : handles_) handle.point->remove_hook(handle.id);
  handles_.clear();
}

void HookedRootModule::setup() {
  hook_dict_.clear();
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    auto point = std::dynamic_pointer_cast<HookPoint>(item.value());
    if (!point) continue;
    point->name = item.key();
    hook_dict_.emplace_back(item.key(), point);
  }
}

std::vector<std::string> HookedRootModule::hook_names() const {
  std::vector<std::string> names;
  names.reserve(hook_dict_.size());
  for (const auto& [name, point] : hook_dict_) names.push_back(name);
  return names;
}

HookPoint& HookedRootModule::hook_point(const std::string& name) const {
  for (const auto& [n, point] : hook_dict_)
    if (n == name) return *point;
  std::string nearest = nearest_name(name, hook_names());
  throw Error("hook '" + name + "'", "is not a hook point of this model",
              nearest.empty() ? "list the hook points with `tlens info --model M --hooks`"
                              : "did you mean '" + nearest + "'?");
}

bool HookedRootModule::flag_is_set(HookFlag) const { return true; }

std::vector<HookPoint*> HookedRootModule::select_hook_points(const NamesFilter& filter) const {
  std::vector<HookPoint*> selected;
  if (filter.is_explicit() && !filter.explicit_names().empty()) {
    for (const auto& name : filter.explicit_names()) {
      HookPoint& point = hook_point(name);
      if (point.required_flag && !flag_is_set(*point.required_flag)) {
        const std::string flag = hook_flag_name(*point.required_flag);
        throw Error("hook '" + name + "'", "only fires when cfg." + flag + " is set, and it is off",
                    "set cfg." + flag + " = true (model->set_" + flag +
                        "(true)) before adding this hook");
      }
      selected.push_back(&point);
    }
    return selected;
  }
  for (const auto& [name, point] : hook_dict_) {
    if (point->required_flag && !flag_is_set(*point->required_flag)) continue;
    if (filter.matches(name)) selected.push_back(point.get());
  }
  return selected;
}

std::vector<HookHandle> HookedRootModule::add_hook(const NamesFilter& names, HookFn fn,
                                                   const HookOptions& options) {
  std::vector<HookHandle> handles;
  for (HookPoint* point : select_hook_points(names))
    handles.push_back({point, point->add_hook(fn, options)});
  return handles;
}

void HookedRootModule::reset_hooks(PermanentHooks permanent) {
  for (const auto& [name, point] : hook_dict_) point->remove_hooks(permanent);
}

HookScope HookedRootModule::hooks(const FwdHooks& fwd_hooks) {
  // Hooks already added are removed again if a later name is bad.
  std::vector<HookHandle> all;
  try {
    for (const auto& [filter, fn] : fwd_hooks) {
      auto handles = add_hook(filter, fn);
      all.insert(all.end(), handles.begin(), handles.end());
    }
  } catch (...) {
    HookScope cleanup(std::move(all));
    throw;
  }
  return HookScope(std::move(all));
}

size_t HookedRootModule::num_hooks(PermanentHooks permanent) const {
  size_t n = 0;
  for (const auto& [name, point] : hook_dict_) n += point->num_hooks(permanent);
  return n;
}

}  // namespace tlens
