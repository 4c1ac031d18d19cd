// HookPoint: an identity module with a name, where hooks observe or replace an activation.
//
//   model->add_hook("blocks.0.attn.hook_pattern",
//                   [](const torch::Tensor& pattern, const tlens::HookPoint& hook)
//                       -> std::optional<torch::Tensor> {
//                     std::cout << hook.name << " " << pattern.sizes() << "\n";
//                     return std::nullopt;            // observe; return a tensor to replace
//                   });
//
// As in TransformerLens, a HookPoint's forward is the identity; each hook receives the activation
// and the HookPoint (so `hook.name` and `hook.layer()` are at hand) and may return a replacement,
// which the next hook and the rest of the forward then see.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/types.h>

namespace tlens {

class HookPoint;

using HookFn =
    std::function<std::optional<torch::Tensor>(const torch::Tensor& activation, const HookPoint& hook)>;

// The config flags (HookedTransformerConfig's use_* fields) without which a hook point never
// fires; an enum, so a misspelt flag does not compile.
enum class HookFlag { use_attn_result, use_split_qkv_input, use_hook_mlp_in, use_attn_in };
const char* hook_flag_name(HookFlag flag);  // "use_attn_result", ...

// add_hook's options: TransformerLens's is_permanent=False, prepend=False keywords.
//   model->add_hook("hook_embed", fn, tlens::HookOptions().is_permanent(true));
struct HookOptions {
  // Survives reset_hooks() (not reset_hooks(PermanentHooks::included)).
  TORCH_ARG(bool, is_permanent) = false;
  // Runs before the hooks already on the hook point, instead of after them.
  TORCH_ARG(bool, prepend) = false;
};

// Whether reset_hooks / num_hooks take permanent hooks in (TransformerLens's including_permanent).
enum class PermanentHooks { excluded, included };

class HookPoint : public torch::nn::Module {
 public:
  // `required_flag`: the config flag without which this hook point never fires
  // (HookFlag::use_attn_result for attn.hook_result); none when it always fires.
  explicit HookPoint(std::optional<HookFlag> required_flag = std::nullopt);

  // Identity, unless hooks are attached: then each runs in order, a returned tensor replacing x.
  torch::Tensor forward(const torch::Tensor& x) const {
    if (hooks_.empty()) return x;
    return run_hooks(x);
  }
  bool has_hooks() const { return !hooks_.empty(); }

  // Returns an id that remove_hook() takes.
  uint64_t add_hook(HookFn fn, const HookOptions& options = {});
  void remove_hook(uint64_t id);
  void remove_hooks(PermanentHooks permanent = PermanentHooks::excluded);
  size_t num_hooks(PermanentHooks permanent = PermanentHooks::included) const;

  // The layer parsed from "blocks.L...."; nullopt for hook_embed, ln_final, ...
  std::optional<int64_t> layer() const;

  void pretty_print(std::ostream& stream) const override { stream << "HookPoint()"; }

  std::string name;           // full TransformerLens name, set by HookedRootModule::setup()
  std::optional<HookFlag> required_flag;  // see constructor

 private:
  torch::Tensor run_hooks(const torch::Tensor& x) const;

  struct Entry {
    uint64_t id;
    HookFn fn;
    bool is_permanent;
  };
  std::vector<Entry> hooks_;
};

}  // namespace tlens
