// HookedTransformerKeyValueCache: the keys and values of the positions a model has already run,
// per layer, so that a forward over the next tokens attends to them without running them again
// (TransformerLens's past_key_value_caching.py; what generation reuses at every step).
//
//   auto cache = tlens::HookedTransformerKeyValueCache::init_cache(model->cfg, model->device(), 1);
//   auto logits = model->forward(prompt, tlens::ForwardOptions().past_kv_cache(&cache)).logits;
//   auto next = logits.select(1, -1).argmax(-1, true);                  // [batch, 1]
//   logits = model->forward(next, tlens::ForwardOptions().past_kv_cache(&cache)).logits;  // one step
//
// Each layer's entry grows along pos by the keys and values of every forward given the cache
// (hook_k / hook_v fire on the new positions only, before they are appended), and the cache keeps
// the attention mask of every position so far. freeze() keeps it as it is: later forwards attend
// to it and add nothing (a shared prefix for several continuations).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "tlens/config.h"

namespace tlens {

struct HookedTransformerKeyValueCacheEntry {
  torch::Tensor past_keys;    // [batch, pos_so_far, head_index, d_head]
  torch::Tensor past_values;  // [batch, pos_so_far, head_index, d_head]
  bool frozen = false;

  // The keys and values of every position so far plus these new ones ([batch, new_pos,
  // head_index, d_head] each); they are kept for the next forward unless the entry is frozen.
  // past_keys / past_values are views of buffers with room to grow ([batch, head_index,
  // capacity, d_head], doubled when full), so a step writes its position instead of copying the
  // whole cache; a tensor assigned to them from outside is copied into a new buffer first.
  std::pair<torch::Tensor, torch::Tensor> append(const torch::Tensor& new_keys,
                                                 const torch::Tensor& new_values);

 private:
  torch::Tensor key_buffer_, value_buffer_;  // [batch, head_index, capacity, d_head]
};

class HookedTransformerKeyValueCache {
 public:
  // An empty cache (pos_so_far 0) for `batch_size` sequences of a model with this config.
  static HookedTransformerKeyValueCache init_cache(const HookedTransformerConfig& cfg,
                                                   const torch::Device& device,
                                                   int64_t batch_size = 1);

  HookedTransformerKeyValueCacheEntry& operator[](int64_t layer);
  int64_t n_layers() const { return static_cast<int64_t>(entries.size()); }
  int64_t batch_size() const { return previous_attention_mask.size(0); }
  int64_t pos_so_far() const { return previous_attention_mask.size(1); }

  // The mask of every position so far followed by `attention_mask` ([batch, new_pos], 1 = a real
  // token); kept for the next forward unless frozen.
  torch::Tensor append_attention_mask(const torch::Tensor& attention_mask);

  void freeze();
  void unfreeze();
  bool frozen = false;

  std::vector<HookedTransformerKeyValueCacheEntry> entries;
  torch::Tensor previous_attention_mask;  // [batch, pos_so_far], int64
};

}  // namespace tlens
