// ActivationCache: the activations a run_with_cache recorded, by TransformerLens hook name.
//
//   auto [logits, cache] = model->run_with_cache(tokens, tlens::CacheOptions().remove_batch_dim(true));
//   cache["blocks.0.attn.hook_pattern"];     // exact name
//   cache("pattern", 0);                     // shorthand, as cache["pattern", 0] in Python
//   cache("pattern", 0, "attn");             // [head_index, query_pos, key_pos]
//   cache("resid_pre", -1);                  // negative layers count from the end
//   std::cout << cache;                      // ActivationCache with keys ['hook_embed', ...]
//
// Residual-stream analysis, as TransformerLens's (no pos_slice / batch_slice yet):
//   std::vector<std::string> labels;
//   auto resid = cache.accumulated_resid(-1, false, /*apply_ln=*/true, false, &labels);  // logit lens
//   auto parts = cache.decompose_resid(-1, false, "all", false, true, &labels);          // embed, pos_embed, 0_attn_out, ...
//   auto attrs = cache.logit_attrs(parts, answer_tokens, wrong_tokens);                 // direct logit attribution
//   auto heads = cache.stack_head_results(-1, /*incl_remainder=*/true, false, &labels);   // "L0H0", ..., "remainder"
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

#include <torch/types.h>

namespace tlens {

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
  torch::Tensor accumulated_resid(int64_t layer = -1, bool incl_mid = false, bool apply_ln = false,
                                  bool mlp_input = false,
                                  std::vector<std::string>* labels = nullptr) const;
  // The residual stream's input to `layer` (-1: the unembed) split into what wrote it: embed,
  // pos_embed, then per layer attn_out / mlp_out (mode "all", "attn" or "mlp"); the parts of
  // mode "all" sum to that residual. [components, *batch_pos, d_model]
  torch::Tensor decompose_resid(int64_t layer = -1, bool mlp_input = false,
                                const std::string& mode = "all", bool apply_ln = false,
                                bool incl_embeds = true,
                                std::vector<std::string>* labels = nullptr) const;
  // Each head's output per layer below `layer` (-1: all), z @ W_O per head (from hook_result
  // when cached), labels "L0H0", "L0H1", ...; incl_remainder adds resid_post[layer - 1] minus
  // their sum ("remainder"). [layer * n_heads (+1), *batch_pos, d_model]
  torch::Tensor stack_head_results(int64_t layer = -1, bool incl_remainder = false,
                                   bool apply_ln = false,
                                   std::vector<std::string>* labels = nullptr) const;
  // Stores blocks.{l}.attn.hook_result ([*batch_pos, head_index, d_model]) for every layer,
  // computed from hook_z and W_O, unless the run cached it already.
  void compute_head_results();
  // Treats each component as the input to `layer` (-1 or n_layers: the unembed's ln_final) and
  // applies that LayerNorm's cached scale (centering first for LN / LNPre models). With
  // recompute_ln at the unembed, ln_final runs on each component instead (the logit lens).
  torch::Tensor apply_ln_to_stack(const torch::Tensor& residual_stack, int64_t layer = -1,
                                  bool mlp_input = false, bool recompute_ln = false) const;
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
