#include "tlens/past_key_value_caching.h"

#include <string>

#include <torch/torch.h>

#include "tlens/devices.h"
#include "tlens/error.h"

namespace tlens {

std::pair<torch::Tensor, torch::Tensor> HookedTransformerKeyValueCacheEntry::append(
    const torch::Tensor& new_keys, const torch::Tensor& new_values) {
  auto keys = torch::cat({past_keys, new_keys.to(past_keys.dtype())}, 1);  // [batch, pos, head_index, d_head]
  auto values = torch::cat({past_values, new_values.to(past_values.dtype())}, 1);  // [batch, pos, head_index, d_head]
  if (!frozen) {
    past_keys = keys;
    past_values = values;
  }
  return {keys, values};
}

HookedTransformerKeyValueCache HookedTransformerKeyValueCache::init_cache(
    const HookedTransformerConfig& cfg, const torch::Device& device, int64_t batch_size) {
  if (batch_size < 1)
    throw Error("init_cache", "batch_size " + std::to_string(batch_size) + " is not positive",
                "pass the number of sequences the cache is for");
  HookedTransformerKeyValueCache cache;
  const auto options = torch::dtype(dtype_from_string(cfg.dtype)).device(device);
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    HookedTransformerKeyValueCacheEntry entry;
    entry.past_keys = torch::empty({batch_size, 0, cfg.n_heads, cfg.d_head}, options);
    entry.past_values = torch::empty({batch_size, 0, cfg.n_heads, cfg.d_head}, options);
    cache.entries.push_back(std::move(entry));
  }
  cache.previous_attention_mask = torch::empty({batch_size, 0}, torch::dtype(torch::kLong).device(device));
  return cache;
}

HookedTransformerKeyValueCacheEntry& HookedTransformerKeyValueCache::operator[](int64_t layer) {
  if (layer < 0) layer += n_layers();
  if (layer < 0 || layer >= n_layers())
    throw Error("past_kv_cache[" + std::to_string(layer) + "]",
                "the cache has " + std::to_string(n_layers()) + " layers", "");
  return entries[static_cast<size_t>(layer)];
}

torch::Tensor HookedTransformerKeyValueCache::append_attention_mask(const torch::Tensor& attention_mask) {
  auto mask = torch::cat({previous_attention_mask, attention_mask.to(torch::kLong)}, 1);  // [batch, pos]
  if (!frozen) previous_attention_mask = mask;
  return mask;
}

void HookedTransformerKeyValueCache::freeze() {
  frozen = true;
  for (auto& entry : entries) entry.frozen = true;
}

void HookedTransformerKeyValueCache::unfreeze() {
  frozen = false;
  for (auto& entry : entries) entry.frozen = false;
}

}  // namespace tlens
