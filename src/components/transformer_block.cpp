#include "tlens/components/transformer_block.h"

#include <torch/torch.h>

namespace tlens {

namespace {
bool has_norm(const HookedTransformerConfig& cfg) { return !cfg.normalization_type.empty(); }

// [batch, pos, d_model] -> [batch, pos, head_index, d_model], a real copy per head (not a
// broadcast view), so a hook may edit one head's input in place.
torch::Tensor repeat_along_head_dimension(const torch::Tensor& x, int64_t n_heads) {
  return x.unsqueeze(2).expand({x.size(0), x.size(1), n_heads, x.size(2)}).contiguous();
}
}  // namespace

TransformerBlockImpl::TransformerBlockImpl(const HookedTransformerConfig& cfg, int64_t layer)
    : cfg_(cfg) {
  // Registration order is TransformerLens's, so hook_dict lists hooks in the same order.
  if (has_norm(cfg)) {
    if (cfg.use_pre_norm) ln1 = register_module("ln1", make_norm(cfg));
    if (cfg.use_normalization_before_and_after)  // never folded: keeps its weight
      ln1_post = register_module("ln1_post", make_norm(cfg, /*weighted=*/true));
    if (!cfg.attn_only) {
      if (cfg.use_pre_norm) ln2 = register_module("ln2", make_norm(cfg));
      if (cfg.use_normalization_before_and_after)
        ln2_post = register_module("ln2_post", make_norm(cfg, /*weighted=*/true));
    }
  }
  attn = register_module("attn", Attention(cfg, layer));
  if (!cfg.attn_only) mlp = register_module("mlp", make_mlp(cfg));
  auto hook = [this](const char* name, std::optional<HookFlag> flag = std::nullopt) {
    return register_module(name, std::make_shared<HookPoint>(flag));
  };
  hook_attn_in = hook("hook_attn_in", HookFlag::use_attn_in);
  hook_q_input = hook("hook_q_input", HookFlag::use_split_qkv_input);
  hook_k_input = hook("hook_k_input", HookFlag::use_split_qkv_input);
  hook_v_input = hook("hook_v_input", HookFlag::use_split_qkv_input);
  hook_mlp_in = hook("hook_mlp_in", HookFlag::use_hook_mlp_in);
  hook_attn_out = hook("hook_attn_out");
  hook_mlp_out = hook("hook_mlp_out");
  hook_resid_pre = hook("hook_resid_pre");
  hook_resid_mid = hook("hook_resid_mid");
  hook_resid_post = hook("hook_resid_post");
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> TransformerBlockImpl::attention_inputs(
    const torch::Tensor& resid_pre) {
  auto norm = [&](const torch::Tensor& x) { return ln1 ? ln1->forward(x) : x; };
  torch::Tensor attn_in = resid_pre;  // [batch, pos, d_model]
  if (cfg_.use_attn_in)               // [batch, pos, head_index, d_model]
    attn_in = hook_attn_in->forward(repeat_along_head_dimension(resid_pre, cfg_.n_heads));
  if (cfg_.use_split_qkv_input) {
    // [batch, pos, head_index, d_model] each; ln1 then acts per head
    auto q_in = hook_q_input->forward(repeat_along_head_dimension(resid_pre, cfg_.n_heads));
    auto k_in = hook_k_input->forward(repeat_along_head_dimension(resid_pre, cfg_.n_heads));
    auto v_in = hook_v_input->forward(repeat_along_head_dimension(resid_pre, cfg_.n_heads));
    return {norm(q_in), norm(k_in), norm(v_in)};
  }
  // TransformerLens calls ln1 once each for the query, key and value input, so ln1's hooks fire
  // three times (an editing hook edits each separately). Without ln1 hooks once is enough.
  if (ln1 && ln1->has_hooks()) return {norm(attn_in), norm(attn_in), norm(attn_in)};
  auto normalized = norm(attn_in);
  return {normalized, normalized, normalized};
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& resid_pre_in,
                                            const std::optional<torch::Tensor>& attention_mask,
                                            HookedTransformerKeyValueCacheEntry* past_kv_cache_entry) {
  auto resid_pre = hook_resid_pre->forward(resid_pre_in);  // [batch, pos, d_model]
  auto [q_in, k_in, v_in] = attention_inputs(resid_pre);
  auto attn_out = attn->forward(q_in, k_in, v_in, attention_mask, past_kv_cache_entry);  // [batch, pos, d_model]
  if (ln1_post) attn_out = ln1_post->forward(attn_out);
  attn_out = hook_attn_out->forward(attn_out);  // [batch, pos, d_model]
  if (cfg_.attn_only) return hook_resid_post->forward(resid_pre + attn_out);

  // The MLP reads resid_mid, or resid_pre in a parallel block.
  torch::Tensor resid_mid;  // [batch, pos, d_model]
  if (!cfg_.parallel_attn_mlp) resid_mid = hook_resid_mid->forward(resid_pre + attn_out);
  const auto& mlp_reads = cfg_.parallel_attn_mlp ? resid_pre : resid_mid;
  auto mlp_in = cfg_.use_hook_mlp_in ? hook_mlp_in->forward(mlp_reads.clone()) : mlp_reads;
  auto normalized = ln2 ? ln2->forward(mlp_in) : mlp_in;  // [batch, pos, d_model]
  auto mlp_out = mlp->forward(normalized);                // [batch, pos, d_model]
  if (ln2_post) mlp_out = ln2_post->forward(mlp_out);
  mlp_out = hook_mlp_out->forward(mlp_out);  // [batch, pos, d_model]
  if (cfg_.parallel_attn_mlp) return hook_resid_post->forward(resid_pre + attn_out + mlp_out);
  return hook_resid_post->forward(resid_mid + mlp_out);  // [batch, pos, d_model]
}

}  // namespace tlens
