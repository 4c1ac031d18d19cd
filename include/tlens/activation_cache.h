// ActivationCache: the activations a run_with_cache recorded, by TransformerLens hook name.
//
//   auto [logits, cache] = model->run_with_cache(tokens, tlens::CacheOptions().remove_batch_dim(true));
//   cache["blocks.0.attn.hook_pattern"];     // exact name
//   cache("pattern", 0);                     // shorthand, as cache["pattern", 0] in Python
//   cache("pattern", 0, "attn");             // [head_index, query_pos, key_pos]
//   cache("resid_pre", -1);                  // negative layers count from the end
//   std::cout << cache;                      // ActivationCache with keys ['hook_embed', ...]
//
// Residual-stream analysis, as TransformerLens's (no pos_slice / batch_slice yet); each stack
// comes with its labels, as return_labels=True gives them:
//   auto [resid, labels] = cache.accumulated_resid(tlens::AccumulatedResidOptions().apply_ln(true));  // logit lens
//   auto parts = cache.decompose_resid();                  // parts.labels: embed, pos_embed, 0_attn_out, ...
//   auto attrs = cache.logit_attrs(parts.stack, answer_tokens, wrong_tokens);  // direct logit attribution
//   auto heads = cache.stack_head_results(tlens::StackHeadResultsOptions().incl_remainder(true));
//                                                          // heads.labels: "L0H0", ..., "remainder"
//
// Keys keep execution order; a hook that fires twice (ln1 fires for q, k and v) keeps its first
// position and its last value, as a Python dict does.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

namespace tlens {

// A stack of residual-stream components with one label each: TransformerLens's
// (stack, labels) of return_labels=True.
struct ResidualStack {
  torch::Tensor stack;              // [components, *batch_pos, d_model]
  std::vector<std::string> labels;  // [components]: "0_pre", "embed", "L0H0", ...
};

// The keyword arguments of the analysis methods, TransformerLens's names and defaults. `layer`
// counts the residual stream's inputs: layer L is block L's input, n_layers (or -1) the unembed.
struct AccumulatedResidOptions {
  TORCH_ARG(int64_t, layer) = -1;
  TORCH_ARG(bool, incl_mid) = false;   // also each resid_mid before `layer`
  TORCH_ARG(bool, apply_ln) = false;   // through `layer`'s LayerNorm (see apply_ln_to_stack)
  TORCH_ARG(bool, mlp_input) = false;  // up to `layer`'s MLP input: adds its resid_mid
};

// Which writers decompose_resid splits the residual stream into.
enum class DecomposeMode { all, attn, mlp };
DecomposeMode parse_decompose_mode(const std::string& name);  // "all", "attn", "mlp"

struct DecomposeResidOptions {
  TORCH_ARG(int64_t, layer) = -1;
  TORCH_ARG(bool, mlp_input) = false;  // up to `layer`'s MLP input: adds its attn_out
  TORCH_ARG(DecomposeMode, mode) = DecomposeMode::all;
  TORCH_ARG(bool, apply_ln) = false;
  TORCH_ARG(bool, incl_embeds) = true;  // embed and pos_embed first
};

struct StackHeadResultsOptions {
  TORCH_ARG(int64_t, layer) = -1;
  TORCH_ARG(bool, incl_remainder) = false;  // adds resid_post[layer - 1] minus the heads' sum
  TORCH_ARG(bool, apply_ln) = false;
};

struct ApplyLnToStackOptions {
  TORCH_ARG(int64_t, layer) = -1;
  TORCH_ARG(bool, mlp_input) = false;     // ln2's scale instead of ln1's
  TORCH_ARG(bool, recompute_ln) = false;  // at the unembed: run ln_final on each component
};

class ActivationCache {
 public:
  ActivationCache(int64_t n_layers = -1, bool has_batch_dim = true)
      : n_layers_(n_layers), has_batch_dim_(has_batch_dim) {}

  // An exact key, or TransformerLens shorthand resolved by get_act_name ("embed", "k6", ...).
  const torch::Tensor& operator[](const std::string& key) const;
  // cache["name", layer] / cache["name", layer, "layer_type"].
  const torch::Tensor& operator()(const std::string& name, int64_t layer,
                                  const std::string& layer_type = "") const;

  bool contains(const std::string& key) const { return values_.count(key) > 0; }
  const std::vector<std::string>& keys() const { return keys_; }
  size_t size() const { return keys_.size(); }
  bool has_batch_dim() const { return has_batch_dim_; }
  int64_t n_layers() const { return n_layers_; }

  // Adds or overwrites `key` (overwriting keeps the key's first position).
  void insert(const std::string& key, torch::Tensor value);

  // Drops the batch dim of every tensor; each must have batch size 1.
  ActivationCache remove_batch_dim() const;
  // Stacks cache(name, l) for l < layer (-1: all layers) -> [layer, ...].
  torch::Tensor stack_activation(const std::string& name, int64_t layer = -1,
                                 const std::string& layer_type = "") const;

  // Stack of the residual stream at the start of each layer up to `layer` (-1: also the final
  // resid_post), labels "0_pre", ["0_mid",] ..., "final_post". [components, *batch_pos, d_model]
  ResidualStack accumulated_resid(const AccumulatedResidOptions& options = {}) const;
  // The residual stream's input to `layer` (-1: the unembed) split into what wrote it: embed,
  // pos_embed, then per layer attn_out / mlp_out (as `mode` selects); the parts of
  // DecomposeMode::all sum to that residual. [components, *batch_pos, d_model]
  ResidualStack decompose_resid(const DecomposeResidOptions& options = {}) const;
  // Each head's output per layer below `layer` (-1: all), z @ W_O per head (from hook_result
  // when cached), labels "L0H0", "L0H1", ...; incl_remainder adds resid_post[layer - 1] minus
  // their sum ("remainder"). [layer * n_heads (+1), *batch_pos, d_model]
  ResidualStack stack_head_results(const StackHeadResultsOptions& options = {}) const;
  // Stores blocks.{l}.attn.hook_result ([*batch_pos, head_index, d_model]) for every layer,
  // computed from hook_z and W_O, unless the run cached it already.
  void compute_head_results();
  // Treats each component as the input to `layer` (-1 or n_layers: the unembed's ln_final) and
  // applies that LayerNorm's cached scale (centering first for LN / LNPre models). With
  // recompute_ln at the unembed, ln_final runs on each component instead (the logit lens).
  torch::Tensor apply_ln_to_stack(const torch::Tensor& residual_stack,
                                  const ApplyLnToStackOptions& options = {}) const;
  // Each component's direct contribution to the logit of `tokens` (minus `incorrect_tokens`'):
  // (apply_ln_to_stack(stack) * W_U[:, tokens]).sum(-1). tokens: [], [batch] or [batch, pos].
  torch::Tensor logit_attrs(const torch::Tensor& residual_stack, const torch::Tensor& tokens,
                            const std::optional<torch::Tensor>& incorrect_tokens = std::nullopt) const;

  // What the analysis methods need from the model; run_with_cache sets it.
  struct ModelContext {
    std::string normalization_type;  // "LN", "LNPre", ... or "" (none)
    bool attn_only = false;
    torch::Tensor W_U;               // [d_model, d_vocab_out]
    std::vector<torch::Tensor> W_O;  // per layer [head_index, d_head, d_model]
    std::function<torch::Tensor(const torch::Tensor&)> ln_final;  // empty without one
  };
  void set_model_context(ModelContext context) { model_ = std::move(context); }

  std::string repr() const;  // "ActivationCache with keys ['hook_embed', ...]"

 private:
  const ModelContext& model(const std::string& method) const;
  int64_t resolve_layer(int64_t layer, const std::string& method) const;
  torch::Tensor head_results(int64_t layer) const;  // [*batch_pos, head_index, d_model]
  const torch::Tensor& at(const std::string& key, const std::string& asked) const;

  int64_t n_layers_;
  bool has_batch_dim_;
  std::vector<std::string> keys_;
  std::map<std::string, torch::Tensor> values_;
  std::optional<ModelContext> model_;
};

std::ostream& operator<<(std::ostream& out, const ActivationCache& cache);

}  // namespace tlens
