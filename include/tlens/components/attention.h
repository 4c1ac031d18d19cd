// Attention: causal multi-head self-attention with TransformerLens's weights and hooks.
//
// Weights: W_Q [head_index, d_model, d_head], W_K, W_V [kv_head, d_model, d_head],
//          W_O [head_index, d_head, d_model], b_Q [head_index, d_head], b_K, b_V [kv_head, d_head],
//          b_O [d_model]. kv_head = head_index, or n_key_value_heads under grouped-query
//          attention, where TransformerLens names them _W_K, _W_V, _b_K, _b_V (its W_K / W_V
//          properties repeat each kv head for n_heads / n_key_value_heads query heads).
// Hooks, in firing order: hook_q [batch, pos, head_index, d_head], hook_k, hook_v [batch, pos,
//   kv_head, d_head]; q_norm / k_norm's (use_qk_norm, over [batch * pos * heads, d_head]);
//   hook_rot_q, hook_rot_k (rotary: after the rotation; with a cache hook_rot_k sees every
//   key so far); hook_attn_scores [batch, head_index, query_pos, key_pos] (scaled, soft-capped,
//   ALiBi added, masked entries -inf); hook_pattern (softmax; rows with every key masked are 0);
//   hook_z [batch, pos, head_index, d_head]; hook_result [batch, pos, head_index, d_model] (only
//   with cfg.use_attn_result).
#pragma once

#include <optional>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "tlens/components/rms_norm.h"
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
  void pretty_print(std::ostream& stream) const override;

  torch::Tensor W_Q;            // [head_index, d_model, d_head]
  torch::Tensor W_K, W_V;       // [kv_head, d_model, d_head]
  torch::Tensor W_O;            // [head_index, d_head, d_model]
  torch::Tensor b_Q;            // [head_index, d_head]
  torch::Tensor b_K, b_V;       // [kv_head, d_head]
  torch::Tensor b_O;            // [d_model]
  RMSNorm q_norm{nullptr}, k_norm{nullptr};  // use_qk_norm: over d_head, shared by the heads

  std::shared_ptr<HookPoint> hook_k, hook_q, hook_v, hook_z, hook_attn_scores, hook_pattern,
      hook_result, hook_rot_k, hook_rot_q;

  // Whether this layer attends locally (a sliding window of cfg.window_size keys).
  bool is_local() const { return local_; }

 private:
  // [key_pos, key_pos]: true where key_pos > query_pos (masked; on local layers also where
  // key_pos <= query_pos - window_size), cached per length
  const torch::Tensor& causal_mask(int64_t pos, const torch::Device& device);
  // x [batch, pos, heads, d_head] turned by its positions (rotary); positions [batch or 1, pos]
  torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& positions);
  // [n, rotary_dim] cos and sin of positions 0 .. n-1, computed in float32, kept and grown
  std::pair<torch::Tensor, torch::Tensor> rotary_tables(int64_t n, const torch::Device& device);
  // [head_index, query_pos, key_pos]: ALiBi's slope_h * (key - query) for key <= query
  torch::Tensor alibi_bias(int64_t past_pos, int64_t pos, int64_t key_pos, const torch::Device& device);
  // z [batch, pos, head_index, d_head] -> [batch, pos, d_model]: W_O (with hook_result when
  // use_attn_result) and b_O.
  torch::Tensor output(const torch::Tensor& z);

  const HookedTransformerConfig& cfg_;
  double attn_scale_;
  bool local_;
  double rotary_base_, rotary_position_scale_;
  torch::Tensor causal_mask_;
  torch::Tensor rotary_cos_, rotary_sin_;
};
TORCH_MODULE(Attention);

}  // namespace tlens
