// ActivationCache: the activations a run_with_cache recorded, by TransformerLens hook name.
//
//   auto [logits, cache] = model->run_with_cache(tokens, tlens::CacheOptions().remove_batch_dim(true));
//   cache["blocks.0.attn.hook_pattern"];     // exact name
//   cache("pattern", 0);                     // shorthand, as cache["pattern", 0] in Python
//   cache("pattern", 0, "attn");             // [head_index, query_pos, key_pos]
//   cache("resid_pre", -1);                  // negative layers count from the end
//   std::cout << cache;                      // ActivationCache with keys ['hook_embed', ...]
//
// Keys keep execution order; a hook that fires twice (ln1 fires for q, k and v) keeps its first
// position and its last value, as a Python dict does.
#pragma once

#include <map>
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

  std::string repr() const;  // "ActivationCache with keys ['hook_embed', ...]"

 private:
  const torch::Tensor& at(const std::string& key, const std::string& asked) const;

  int64_t n_layers_;
  bool has_batch_dim_;
  std::vector<std::string> keys_;
  std::map<std::string, torch::Tensor> values_;
};

std::ostream& operator<<(std::ostream& out, const ActivationCache& cache);

}  // namespace tlens
