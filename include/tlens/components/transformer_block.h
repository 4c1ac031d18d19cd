// TransformerBlock: one pre-norm block, hook by hook as in TransformerLens.
//
// resid_pre -> ln1 -> attn [-> ln1_post] -> hook_attn_out -> resid_mid
//           -> ln2 -> mlp [-> ln2_post] -> hook_mlp_out -> resid_post
// With parallel_attn_mlp (GPT-J, NeoX, Phi) the MLP reads ln2(resid_pre) and resid_post =
// resid_pre + attn_out + mlp_out (no resid_mid). ln1_post / ln2_post: Gemma 2 / 3's
// use_normalization_before_and_after.
#pragma once

#include <optional>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "tlens/components/attention.h"
#include "tlens/components/layer_norm.h"
#include "tlens/components/mlp.h"
#include "tlens/config.h"
#include "tlens/hook_point.h"

namespace tlens {

class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(const HookedTransformerConfig& cfg, int64_t layer);
  // resid_pre [batch, pos, d_model], attention_mask [batch, key_pos] or none -> [batch, pos,
  // d_model]; with this layer's cache entry, attention also sees the earlier positions.
  torch::Tensor forward(const torch::Tensor& resid_pre,
                        const std::optional<torch::Tensor>& attention_mask = std::nullopt,
                        HookedTransformerKeyValueCacheEntry* past_kv_cache_entry = nullptr);
  void pretty_print(std::ostream& stream) const override { stream << "TransformerBlock"; }

  Norm ln1, ln2;            // LayerNorm or RMSNorm; ln2 and mlp are absent with attn_only
  Norm ln1_post, ln2_post;  // use_normalization_before_and_after only
  Attention attn{nullptr};
  std::shared_ptr<CanBeUsedAsMLPImpl> mlp;  // MLP, GatedMLP or MoE
  std::shared_ptr<HookPoint> hook_attn_in, hook_q_input, hook_k_input, hook_v_input, hook_mlp_in,
      hook_attn_out, hook_mlp_out, hook_resid_pre, hook_resid_mid, hook_resid_post;

 private:
  // The three attention inputs after ln1: [batch, pos, d_model] each, or [batch, pos,
  // head_index, d_model] with use_split_qkv_input / use_attn_in.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> attention_inputs(
      const torch::Tensor& resid_pre);

  const HookedTransformerConfig& cfg_;
};
TORCH_MODULE(TransformerBlock);

}  // namespace tlens
