// Attention: causal multi-head self-attention with TransformerLens's weights and hooks.
//
// Weights: W_Q, W_K, W_V [head_index, d_model, d_head], W_O [head_index, d_head, d_model],
//          b_Q, b_K, b_V [head_index, d_head], b_O [d_model].
// Hooks, in firing order: hook_q, hook_k, hook_v [batch, pos, head_index, d_head];
//   hook_attn_scores [batch, head_index, query_pos, key_pos] (scaled, masked entries -inf);
//   hook_pattern (softmax; rows with every key masked are 0); hook_z [batch, pos, head_index,
//   d_head]; hook_result [batch, pos, head_index, d_model] (only with cfg.use_attn_result).
#pragma once

#include <optional>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "tlens/config.h"
#include "tlens/hook_point.h"
#include "tlens/past_key_value_caching.h"

namespace tlens {

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const HookedTransformerConfig& cfg, int64_t layer);
  // query_input, key_input, value_input: [batch, pos, d_model], or [batch, pos, head_index,
  // d_model] with use_split_qkv_input / use_attn_in; attention_mask [batch, key_pos] or none.
  // With a cache entry, the queries attend to its keys and values too (key_pos = its pos_so_far
  // + pos) and this forward's keys and values are appended to it. Returns [batch, pos, d_model].
  torch::Tensor forward(const torch::Tensor& query_input, const torch::Tensor& key_input,
                        const torch::Tensor& value_input,
                        const std::optional<torch::Tensor>& attention_mask = std::nullopt,
                        HookedTransformerKeyValueCacheEntry* past_kv_cache_entry = nullptr);
  void pretty_print(std::ostream& stream) const override { stream << "Attention"; }

  torch::Tensor W_Q, W_K, W_V;  // [head_index, d_model, d_head]
  torch::Tensor W_O;            // [head_index, d_head, d_model]
  torch::Tensor b_Q, b_K, b_V;  // [head_index, d_head]
  torch::Tensor b_O;            // [d_model]

  std::shared_ptr<HookPoint> hook_k, hook_q, hook_v, hook_z, hook_attn_scores, hook_pattern,
      hook_result;

 private:
  // [key_pos, key_pos]: true where key_pos > query_pos (masked), cached per length
  const torch::Tensor& causal_mask(int64_t pos, const torch::Device& device);
  // z [batch, pos, head_index, d_head] -> [batch, pos, d_model]: W_O (with hook_result when
  // use_attn_result) and b_O.
  torch::Tensor output(const torch::Tensor& z);

  const HookedTransformerConfig& cfg_;
  double attn_scale_;
  torch::Tensor causal_mask_;
};
TORCH_MODULE(Attention);

}  // namespace tlens
