#include "tlens/components/attention.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "backend/attention.h"
#include "backend/linear.h"
#include "tlens/error.h"

namespace tlens {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ALiBi's per-head slopes, as Hugging Face's BLOOM makes them: for a power of two H,
// 2^(-8 (h + 1) / H); otherwise those of the nearest lower power of two, then every other slope
// of twice that many. (TransformerLens 2.18 uses 2^(-8 (h + 1) / H) for every H.)
torch::Tensor alibi_slopes(int64_t n_heads) {
  const int64_t closest = int64_t{1} << static_cast<int>(std::floor(std::log2(n_heads)));
  auto powers = [](int64_t n, int64_t count, int64_t step) {
    const double base = std::pow(2.0, -std::pow(2.0, -(std::log2(n) - 3)));
    std::vector<float> out;
    for (int64_t i = 0; i < count; ++i) out.push_back(static_cast<float>(std::pow(base, 1 + i * step)));
    return out;
  };
  auto slopes = powers(closest, closest, 1);
  if (closest != n_heads) {
    auto extra = powers(2 * closest, n_heads - closest, 2);
    slopes.insert(slopes.end(), extra.begin(), extra.end());
  }
  return torch::tensor(slopes);  // [head_index]
}

// (a, b) -> (-b, a) for each rotary pair: halves (i, i + n/2), or adjacent (2i, 2i + 1).
torch::Tensor rotate_every_two(const torch::Tensor& x, bool adjacent) {
  if (adjacent) {
    auto pairs = x.unflatten(-1, {-1, 2});                      // [..., n/2, 2]
    auto even = pairs.select(-1, 0), odd = pairs.select(-1, 1);  // [..., n/2]
    return torch::stack({-odd, even}, -1).flatten(-2);          // [..., n]
  }
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);  // [..., n]
}

}  // namespace

AttentionImpl::AttentionImpl(const HookedTransformerConfig& cfg, int64_t layer)
    : cfg_(cfg), attn_scale_(cfg.effective_attn_scale(layer)), local_(cfg.is_local_layer(layer)) {
  const int64_t H = cfg.n_heads, H_kv = cfg.kv_heads(), d = cfg.d_model, dh = cfg.d_head;
  // Grouped-query attention keeps TransformerLens's names for the grouped weights.
  const bool grouped = cfg.n_key_value_heads > 0;
  const std::string kv = grouped ? "_" : "";
  W_Q = register_parameter("W_Q", torch::empty({H, d, dh}));
  W_K = register_parameter(kv + "W_K", torch::empty({H_kv, d, dh}));
  W_V = register_parameter(kv + "W_V", torch::empty({H_kv, d, dh}));
  W_O = register_parameter("W_O", torch::empty({H, dh, d}));  // [head_index, d_head, d_model]
  b_Q = register_parameter("b_Q", torch::zeros({H, dh}));
  b_K = register_parameter(kv + "b_K", torch::zeros({H_kv, dh}));
  b_V = register_parameter(kv + "b_V", torch::zeros({H_kv, dh}));
  b_O = register_parameter("b_O", torch::zeros({d}));
  if (cfg.use_qk_norm) {  // over d_head, or (OLMo 2) over all heads' dims
    q_norm = register_module("q_norm", RMSNorm(cfg, cfg.qk_norm_per_head ? dh : H * dh, /*pre=*/false));
    k_norm = register_module("k_norm", RMSNorm(cfg, cfg.qk_norm_per_head ? dh : H_kv * dh, /*pre=*/false));
  }
  // Registration order is TransformerLens's hook_dict order.
  hook_k = register_module("hook_k", std::make_shared<HookPoint>());
  hook_q = register_module("hook_q", std::make_shared<HookPoint>());
  hook_v = register_module("hook_v", std::make_shared<HookPoint>());
  hook_z = register_module("hook_z", std::make_shared<HookPoint>());
  hook_attn_scores = register_module("hook_attn_scores", std::make_shared<HookPoint>());
  hook_pattern = register_module("hook_pattern", std::make_shared<HookPoint>());
  hook_result = register_module("hook_result", std::make_shared<HookPoint>(HookFlag::use_attn_result));
  if (cfg.positional_embedding_type == "rotary") {
    hook_rot_k = register_module("hook_rot_k", std::make_shared<HookPoint>());
    hook_rot_q = register_module("hook_rot_q", std::make_shared<HookPoint>());
  }
  // Local layers may turn at their own base (Gemma 3); linear rope scaling stretches the
  // positions of the others.
  rotary_base_ = local_ && cfg.rotary_base_local > 0 ? cfg.rotary_base_local : cfg.rotary_base;
  rotary_position_scale_ = local_ ? 1.0 : 1.0 / cfg.rotary_linear_scaling_factor;
  if (grouped && (cfg.use_split_qkv_input || cfg.use_attn_in))
    throw Error("HookedTransformerConfig", "use_split_qkv_input / use_attn_in with grouped-query attention are not supported",
                "leave them off for models with n_key_value_heads");
}

void AttentionImpl::pretty_print(std::ostream& stream) const {
  stream << (cfg_.n_key_value_heads > 0 ? "GroupedQueryAttention" : "Attention");
}

const torch::Tensor& AttentionImpl::causal_mask(int64_t pos, const torch::Device& device) {
  if (!causal_mask_.defined() || causal_mask_.size(0) != pos || causal_mask_.device() != device) {
    auto ones = torch::ones({pos, pos}, torch::dtype(torch::kBool).device(device));
    causal_mask_ = ones.triu(1);  // key after query
    // key at or before query - window: outside the window, which counts the query itself
    if (local_) causal_mask_ = causal_mask_ | ones.tril(-cfg_.window_size);
  }
  return causal_mask_;
}

std::pair<torch::Tensor, torch::Tensor> AttentionImpl::rotary_tables(int64_t n, const torch::Device& device) {
  if (rotary_cos_.defined() && rotary_cos_.size(0) >= n && rotary_cos_.device() == device)
    return {rotary_cos_, rotary_sin_};
  n = std::max<int64_t>(n, std::min<int64_t>(cfg_.n_ctx, 4096));
  const int64_t rotary_dim = cfg_.rotary_dim;
  const auto f32 = torch::dtype(torch::kFloat32);
  auto pos = torch::arange(n, f32) * rotary_position_scale_;  // [n]
  torch::Tensor freq;                                          // [rotary_dim / 2]: 1 / frequency
  if (cfg_.use_NTK_by_parts_rope) {
    // Llama 3.1's rope: long wavelengths slowed by `factor`, short ones kept, a blend between.
    auto inv_freq = 1.0 / torch::pow(rotary_base_, torch::arange(0, rotary_dim, 2, torch::kLong).to(torch::kFloat32) / rotary_dim);
    const double factor = cfg_.NTK_by_parts_factor, low = cfg_.NTK_by_parts_low_freq_factor,
                 high = cfg_.NTK_by_parts_high_freq_factor;
    const double old_len = static_cast<double>(cfg_.NTK_original_ctx_len);
    auto wavelen = 2 * M_PI / inv_freq;
    auto scaled = torch::where(wavelen > old_len / low, inv_freq / factor, inv_freq);
    auto smooth = (old_len / wavelen - low) / (high - low);
    auto smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
    auto medium = (wavelen >= old_len / high) & (wavelen <= old_len / low);
    freq = 1.0 / torch::where(medium, smoothed, scaled);
  } else {
    auto dim = torch::arange(rotary_dim / 2, f32);
    freq = torch::pow(rotary_base_, dim / (rotary_dim / 2.0));
  }
  // Pair i's frequency at both of its dims: [f0, f0, f1, f1, ...] or [f0 .. fn, f0 .. fn].
  freq = cfg_.rotary_adjacent_pairs ? freq.repeat_interleave(2) : freq.repeat({2});  // [rotary_dim]
  auto angles = pos.unsqueeze(1) / freq.unsqueeze(0);  // [n, rotary_dim]
  rotary_cos_ = angles.cos().to(device);
  rotary_sin_ = angles.sin().to(device);
  return {rotary_cos_, rotary_sin_};
}

torch::Tensor AttentionImpl::apply_rotary(const torch::Tensor& x, const torch::Tensor& positions) {
  const int64_t rotary_dim = cfg_.rotary_dim;
  // The tables cover every position below key_pos (forward made them), and a position never
  // exceeds its key's index: no need to read the largest one back from the tensor.
  const auto& cos_table = rotary_cos_;
  const auto& sin_table = rotary_sin_;
  // [batch or 1, pos, 1, rotary_dim], in x's dtype (TransformerLens casts its tables to cfg.dtype)
  auto cos = cos_table.index_select(0, positions.reshape(-1)).view({positions.size(0), positions.size(1), 1, rotary_dim}).to(x.scalar_type());
  auto sin = sin_table.index_select(0, positions.reshape(-1)).view({positions.size(0), positions.size(1), 1, rotary_dim}).to(x.scalar_type());
  auto x_rot = x.narrow(-1, 0, rotary_dim);  // [batch, pos, heads, rotary_dim]
  auto rotated = x_rot * cos + rotate_every_two(x_rot, cfg_.rotary_adjacent_pairs) * sin;
  if (rotary_dim == x.size(-1)) return rotated;  // [batch, pos, heads, d_head]
  return torch::cat({rotated, x.narrow(-1, rotary_dim, x.size(-1) - rotary_dim)}, -1);
}

torch::Tensor AttentionImpl::alibi_bias(int64_t past_pos, int64_t pos, int64_t key_pos,
                                        const torch::Device& device) {
  auto query = torch::arange(past_pos, past_pos + pos, torch::kFloat32).unsqueeze(1);  // [query_pos, 1]
  auto key = torch::arange(key_pos, torch::kFloat32).unsqueeze(0);                     // [1, key_pos]
  auto distance = (key - query).clamp_max(0);  // [query_pos, key_pos]: key - query, 0 in the future
  return (alibi_slopes(cfg_.n_heads).view({-1, 1, 1}) * distance).to(device);  // [head_index, query_pos, key_pos]
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& query_input,
                                     const torch::Tensor& key_input,
                                     const torch::Tensor& value_input,
                                     const std::optional<torch::Tensor>& attention_mask,
                                     HookedTransformerKeyValueCacheEntry* past_kv_cache_entry) {
  const int64_t pos = query_input.size(1);
  const int64_t H = cfg_.n_heads, dh = cfg_.d_head;
  // [batch, pos, head_index or kv_head, d_head] each: input @ W + b per head
  auto [q, k, v] = backend::attention_qkv(query_input, key_input, value_input, W_Q, W_K, W_V,
                                          b_Q, b_K, b_V);
  if (cfg_.clip_qkv > 0) {  // OLMo
    q = q.clamp(-cfg_.clip_qkv, cfg_.clip_qkv);
    k = k.clamp(-cfg_.clip_qkv, cfg_.clip_qkv);
    v = v.clamp(-cfg_.clip_qkv, cfg_.clip_qkv);
  }
  const int64_t groups = H / W_K.size(0);  // query heads per key/value head
  if (groups > 1 && cfg_.ungroup_grouped_query_attention) {
    k = k.repeat_interleave(groups, 2);  // [batch, pos, head_index, d_head]
    v = v.repeat_interleave(groups, 2);  // [batch, pos, head_index, d_head]
  }
  q = hook_q->forward(q);
  k = hook_k->forward(k);
  v = hook_v->forward(v);
  if (q_norm && cfg_.qk_norm_per_head) {
    // over d_head, each (batch, pos, head) a row: [batch * pos * heads, d_head] as TransformerLens
    q = q_norm->forward(q.reshape({-1, dh})).view(q.sizes());
    k = k_norm->forward(k.reshape({-1, dh})).view(k.sizes());
  } else if (q_norm) {
    // over every head's dims: [batch, pos, heads * d_head]
    q = q_norm->forward(q.flatten(2)).view(q.sizes());
    k = k_norm->forward(k.flatten(2)).view(k.sizes());
  }

  // With a cache: the keys and values of the earlier positions come first; query i is position
  // past_pos + i. As TransformerLens, the cache holds keys before rotation.
  int64_t past_pos = 0;
  if (past_kv_cache_entry) {
    past_pos = past_kv_cache_entry->past_keys.size(1);
    std::tie(k, v) = past_kv_cache_entry->append(k, v);  // [batch, key_pos, kv_head, d_head]
  }
  const int64_t key_pos = k.size(1);

  if (cfg_.positional_embedding_type == "rotary") {
    // [batch or 1, key_pos]: a key's position counts the real tokens before it (with a padding
    // mask), the queries are the last pos of them
    torch::Tensor positions;
    if (attention_mask)
      positions = (attention_mask->cumsum(1) - 1).clamp_min(0);
    else
      positions = torch::arange(key_pos, torch::dtype(torch::kLong).device(q.device())).unsqueeze(0);
    rotary_tables(key_pos, q.device());  // [key_pos or more, rotary_dim]
    q = hook_rot_q->forward(apply_rotary(q, positions.narrow(1, past_pos, pos)));  // [batch, pos, head_index, d_head]
    k = hook_rot_k->forward(apply_rotary(k, positions));  // [batch, key_pos, kv_head, d_head]
  }
  if (k.size(2) != H) {
    k = k.repeat_interleave(H / k.size(2), 2);  // [batch, key_pos, head_index, d_head]
    v = v.repeat_interleave(H / v.size(2), 2);  // [batch, key_pos, head_index, d_head]
  }

  // Nobody looks at the scores or the pattern: the fused causal attention computes z without
  // materializing [batch, head_index, query_pos, key_pos].
  const bool plain_causal = !local_ && cfg_.positional_embedding_type != "alibi" &&
                            cfg_.attn_scores_soft_cap <= 0;
  if (!past_kv_cache_entry && plain_causal && !hook_attn_scores->has_hooks() &&
      !hook_pattern->has_hooks() && backend::fused_attention_fits(v, attention_mask.has_value())) {
    auto z = backend::causal_attention(q, k, v, attn_scale_);  // [batch, pos, head_index, d_head]
    return output(hook_z->forward(z));  // [batch, pos, d_model]
  }

  // float16 / bfloat16: scores and pattern in float32, as TransformerLens computes them.
  const auto dtype = v.scalar_type();
  if (dtype != torch::kFloat32 && dtype != torch::kFloat64) {
    q = q.to(torch::kFloat32);  // [batch, pos, head_index, d_head]
    k = k.to(torch::kFloat32);  // [batch, key_pos, head_index, d_head]
  }

  // batch query_pos head_index d_head, batch key_pos head_index d_head
  //   -> batch head_index query_pos key_pos
  // (q / scale) @ k: scaling q ([batch, pos, head_index, d_head]) is cheaper than scaling the
  // scores ([batch, head_index, pos, pos]), and exact for a power-of-two scale (GPT-2's 8).
  auto scores = torch::matmul((q / attn_scale_).permute({0, 2, 1, 3}), k.permute({0, 2, 3, 1}));
  if (cfg_.attn_scores_soft_cap > 0) {  // Gemma 2: c tanh(scores / c)
    const double cap = cfg_.attn_scores_soft_cap;
    scores = cap * torch::tanh(scores / cap);  // [batch, head_index, query_pos, key_pos]
  }
  if (cfg_.positional_embedding_type == "alibi")  // [batch, head_index, query_pos, key_pos]
    scores = scores + alibi_bias(past_pos, pos, key_pos, scores.device()).unsqueeze(0);

  // One query after the cached positions (a generation step) is the last position: no key lies
  // in its future, and only pads (and, on a local layer, keys outside the window) are masked.
  if (pos == 1 && past_pos > 0) {
    if (attention_mask)  // [batch, 1, 1, key_pos]: the key is a pad
      scores.masked_fill_((*attention_mask == 0).view({-1, 1, 1, key_pos}), -kInf);
    if (local_ && key_pos > cfg_.window_size)
      scores.narrow(-1, 0, key_pos - cfg_.window_size).fill_(-kInf);
  } else {
    // [query_pos, key_pos]: the rows of the square mask that belong to this forward's queries
    torch::Tensor masked = causal_mask(key_pos, scores.device()).narrow(0, past_pos, pos);
    if (attention_mask) {
      // [batch, 1, query_pos, key_pos]: in the future, or the key is a pad
      masked = (masked.unsqueeze(0) | (*attention_mask == 0).unsqueeze(1)).unsqueeze(1);
    }
    scores.masked_fill_(masked, -kInf);  // scores is our own
  }
  scores = hook_attn_scores->forward(scores);  // [batch, head_index, query_pos, key_pos]

  auto pattern = torch::softmax(scores, -1);  // [batch, head_index, query_pos, key_pos]
  // A query whose keys are all masked (a left pad) has a NaN row; TransformerLens makes it 0.
  // Without a padding mask every row keeps its diagonal, so the check is skipped.
  if (attention_mask) pattern = torch::nan_to_num(pattern, 0.0, 0.0, 0.0);
  pattern = hook_pattern->forward(pattern).to(dtype);  // [batch, head_index, query_pos, key_pos]

  // batch head_index query_pos key_pos, batch key_pos head_index d_head
  //   -> batch query_pos head_index d_head
  auto z = torch::matmul(pattern, v.permute({0, 2, 1, 3})).permute({0, 2, 1, 3});
  return output(hook_z->forward(z));  // [batch, pos, d_model]
}

torch::Tensor AttentionImpl::output(const torch::Tensor& z) {
  const int64_t batch = z.size(0), pos = z.size(1);
  const int64_t H = cfg_.n_heads, dh = cfg_.d_head, d = cfg_.d_model;
  if (cfg_.use_attn_result) {
    // batch pos head_index d_head, head_index d_head d_model -> batch pos head_index d_model
    auto result = hook_result->forward(torch::einsum("bphd,hdm->bphm", {z, W_O}));
    return result.sum(2) + b_O;  // [batch, pos, d_model]
  }
  // [batch * pos, head_index * d_head] @ [head_index * d_head, d_model] + b_O
  auto out = backend::linear(z.reshape({batch * pos, H * dh}), W_O.reshape({H * dh, d}), b_O);
  return out.view({batch, pos, d});  // [batch, pos, d_model]
}

}  // namespace tlens
