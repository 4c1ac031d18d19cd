#include "tlens/past_key_value_caching.h"

#include <algorithm>
#include <string>

#include <torch/torch.h>

#include "tlens/devices.h"
#include "tlens/error.h"

namespace tlens {

namespace {

// past [batch, pos, head_index, d_head], a view of buffer [batch, head_index, capacity, d_head]
// made by view_of: then positions [pos, capacity) are free to write.
bool is_view_of(const torch::Tensor& past, const torch::Tensor& buffer) {
  return buffer.defined() && past.defined() && past.data_ptr() == buffer.data_ptr() &&
         past.dim() == 4 && past.size(1) <= buffer.size(2) &&
         past.strides() == buffer.permute({0, 2, 1, 3}).strides();
}

// Positions [0, pos) of the buffer as [batch, pos, head_index, d_head].
torch::Tensor view_of(const torch::Tensor& buffer, int64_t pos) {
  return buffer.narrow(2, 0, pos).permute({0, 2, 1, 3});
}

// Writes `fresh` [batch, new_pos, head_index, d_head] after `past` into `buffer`, growing it
// (a copy of `past` into a buffer twice the size) when it has no room or `past` is not its view;
// returns the view of every position.
torch::Tensor write(torch::Tensor& buffer, const torch::Tensor& past, const torch::Tensor& fresh) {
  const int64_t old_pos = past.size(1), new_pos = old_pos + fresh.size(1);
  if (!is_view_of(past, buffer) || new_pos > buffer.size(2)) {
    const int64_t capacity = std::max<int64_t>(64, 2 * new_pos);
    auto grown = torch::empty({past.size(0), past.size(2), capacity, past.size(3)}, past.options());
    view_of(grown, old_pos).copy_(past);
    buffer = grown;
  }
  view_of(buffer, new_pos).narrow(1, old_pos, fresh.size(1)).copy_(fresh);
  return view_of(buffer, new_pos);  // [batch, pos, head_index, d_head]
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> HookedTransformerKeyValueCacheEntry::append(
    const torch::Tensor& new_keys, const torch::Tensor& new_values) {
  if (frozen) {  // the cache stays as it is: these positions are this forward's only
    auto keys = torch::cat({past_keys, new_keys.to(past_keys.dtype())}, 1);  // [batch, pos, head_index, d_head]
    auto values = torch::cat({past_values, new_values.to(past_values.dtype())}, 1);  // [batch, pos, head_index, d_head]
    return {keys, values};
  }
  past_keys = write(key_buffer_, past_keys, new_keys);        // [batch, pos, head_index, d_head]
  past_values = write(value_buffer_, past_values, new_values);  // [batch, pos, head_index, d_head]
  return {past_keys, past_values};
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
    // key/value heads: n_key_value_heads under grouped-query attention
    entry.past_keys = torch::empty({batch_size, 0, cfg.kv_heads(), cfg.d_head}, options);
    entry.past_values = torch::empty({batch_size, 0, cfg.kv_heads(), cfg.d_head}, options);
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
