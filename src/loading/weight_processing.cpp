#include "tlens/loading/weight_processing.h"

#include <algorithm>
#include <functional>

#include <torch/torch.h>

#include "tlens/error.h"

namespace tlens::loading {

namespace {
torch::Tensor& at(StateDict& sd, const std::string& key) {
  auto it = sd.find(key);
  if (it == sd.end())
    throw Error("weight processing", "state dict has no '" + key + "'",
                "process a complete GPT-2 state dict, with unprocessed LayerNorm weights");
  return it->second;
}

std::string block(int64_t l) { return "blocks." + std::to_string(l) + "."; }

bool is_16_bit(const torch::Tensor& t) {
  return t.scalar_type() == torch::kFloat16 || t.scalar_type() == torch::kBFloat16;
}

// W = fn(W), computed in float32, where fn reduces at most over `axis`. A float32 W is replaced
// whole; a 16-bit W (a 16-bit checkpoint loaded as it is) is updated in place, slice by slice
// along another dimension, so no float32 copy of a whole weight exists at once.
void update(torch::Tensor& W, int64_t axis, const std::function<torch::Tensor(const torch::Tensor&)>& fn) {
  if (!is_16_bit(W)) {
    W = fn(W);
    return;
  }
  if (W.dim() < 2) {
    W.copy_(fn(W.to(torch::kFloat32)));
    return;
  }
  const int64_t dim = axis == 0 ? 1 : 0, size = W.size(dim);
  const int64_t per_index = W.numel() / std::max<int64_t>(size, 1);
  const int64_t step = std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(per_index, 1));
  for (int64_t i = 0; i < size; i += step) {
    auto slice = W.narrow(dim, i, std::min(step, size - i));
    slice.copy_(fn(slice.to(torch::kFloat32)));
  }
}

// Folds a LayerNorm (w, b) [d_model] into a reader W whose d_model axis is `axis`, with bias
// `bias` of W's shape minus that axis.
void fold_into_reader(torch::Tensor& W, torch::Tensor& bias, const torch::Tensor& w,
                      const torch::Tensor& b, int64_t axis, bool fold_biases, bool center_weights) {
  std::vector<int64_t> shape(W.dim(), 1);
  shape[axis] = -1;
  auto w32 = w.to(torch::kFloat32).view(shape);
  if (fold_biases) {  // uses the unscaled W
    auto b32 = b.to(torch::kFloat32).view(shape);
    bias = (bias.to(torch::kFloat32) + (W.to(torch::kFloat32) * b32).sum(axis)).to(bias.scalar_type());
  }
  update(W, axis, [&](const torch::Tensor& x) {
    auto folded = x * w32;
    return center_weights ? folded - folded.mean(axis, /*keepdim=*/true) : folded;
  });
}
}  // namespace

// "attn.W_K" or, under grouped-query attention, TransformerLens's "attn._W_K".
static std::string kv(const HookedTransformerConfig& cfg, const std::string& name) {
  return (cfg.n_key_value_heads > 0 ? "attn._" : "attn.") + name;
}

void fold_layer_norm(StateDict& sd, const HookedTransformerConfig& cfg, bool fold_biases,
                     bool center_weights) {
  // RMSNorm has no bias and does not center: only its weight moves (TransformerLens passes
  // fold_biases = center_weights = false for RMS models).
  const bool rms = cfg.uses_rms_norm();
  if (rms) fold_biases = center_weights = false;
  auto w_of = [&](const std::string& ln) { return at(sd, ln + ".w"); };
  auto b_of = [&](const std::string& ln) { return rms ? torch::Tensor() : at(sd, ln + ".b"); };
  auto drop = [&](const std::string& ln) {
    sd.erase(ln + ".w");
    sd.erase(ln + ".b");
  };
  for (int64_t l = 0; l < cfg.n_layers && cfg.use_pre_norm; ++l) {
    const std::string p = block(l);
    auto w1 = w_of(p + "ln1"), b1 = b_of(p + "ln1");
    // W [head_index or kv_head, d_model, d_head], b [head_index or kv_head, d_head]
    fold_into_reader(at(sd, p + "attn.W_Q"), at(sd, p + "attn.b_Q"), w1, b1, 1, fold_biases, center_weights);
    for (const char* x : {"K", "V"})
      fold_into_reader(at(sd, p + kv(cfg, std::string("W_") + x)), at(sd, p + kv(cfg, std::string("b_") + x)),
                       w1, b1, 1, fold_biases, center_weights);
    drop(p + "ln1");
    if (cfg.attn_only) continue;
    auto w2 = w_of(p + "ln2"), b2 = b_of(p + "ln2");
    // W_in (and a gated MLP's W_gate) [d_model, d_mlp], b_in [d_mlp]
    fold_into_reader(at(sd, p + "mlp.W_in"), at(sd, p + "mlp.b_in"), w2, b2, 0, fold_biases, center_weights);
    if (cfg.gated_mlp) {
      torch::Tensor no_bias = torch::zeros({cfg.d_mlp});  // the gate has none
      fold_into_reader(at(sd, p + "mlp.W_gate"), no_bias, w2, b2, 0, false, center_weights);
    }
    drop(p + "ln2");
  }
  // W_U [d_model, d_vocab], b_U [d_vocab]
  fold_into_reader(at(sd, "unembed.W_U"), at(sd, "unembed.b_U"), w_of("ln_final"), b_of("ln_final"),
                   0, fold_biases, center_weights);
  drop("ln_final");
}

void center_writing_weights(StateDict& sd, const HookedTransformerConfig& cfg) {
  auto center_last = [&](const std::string& key) {
    auto& t = at(sd, key);
    update(t, t.dim() - 1, [](const torch::Tensor& x) { return x - x.mean(-1, /*keepdim=*/true); });
  };
  center_last("embed.W_E");  // [d_vocab, d_model]
  if (sd.count("pos_embed.W_pos")) center_last("pos_embed.W_pos");  // [n_ctx, d_model]
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = block(l);
    center_last(p + "attn.W_O");  // [head_index, d_head, d_model]
    center_last(p + "attn.b_O");  // [d_model]
    if (cfg.attn_only) continue;
    center_last(p + "mlp.W_out");  // [d_mlp, d_model]
    center_last(p + "mlp.b_out");  // [d_model]
  }
}

void center_unembed(StateDict& sd) {
  auto& W_U = at(sd, "unembed.W_U");  // [d_model, d_vocab]
  update(W_U, 1, [](const torch::Tensor& x) { return x - x.mean(-1, /*keepdim=*/true); });
  auto& b_U = at(sd, "unembed.b_U");  // [d_vocab]
  b_U = b_U - b_U.mean();
}

void fold_value_biases(StateDict& sd, const HookedTransformerConfig& cfg) {
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = block(l);
    auto& b_V = at(sd, p + kv(cfg, "b_V"));  // [head_index or kv_head, d_head]
    auto& W_O = at(sd, p + "attn.W_O");      // [head_index, d_head, d_model]
    auto& b_O = at(sd, p + "attn.b_O");      // [d_model]
    // each kv head's bias for each of its query heads: [head_index, d_head]
    auto b_V_heads = b_V.repeat_interleave(cfg.n_heads / b_V.size(0), 0);
    // head_index d_head, head_index d_head d_model -> d_model
    b_O = b_O + (b_V_heads.unsqueeze(-1) * W_O).sum(torch::IntArrayRef{0, 1});
    b_V = torch::zeros_like(b_V);
  }
}

void process_weights(StateDict& sd, HookedTransformerConfig& cfg, const ProcessingFlags& flags) {
  const bool layer_norm = cfg.normalization_type == "LN" || cfg.normalization_type == "LNPre";
  // Mixture-of-experts MLPs keep their norms: TransformerLens 2.18 skips the fold for them but
  // still drops the norm weights (a bug, its log-probs then differ from HF's); tlens keeps them.
  // A LayerNorm's bias cannot fold into a gated MLP (TransformerLens's b_in is added after the
  // gate's product): LayerNorm + gated models (StableLM) keep their norms too.
  const bool foldable = cfg.num_experts <= 0 && !(layer_norm && cfg.gated_mlp);
  if (flags.fold_ln && foldable && (cfg.normalization_type == "LN" || cfg.normalization_type == "RMS")) {
    fold_layer_norm(sd, cfg);
    cfg.normalization_type = cfg.normalization_type == "LN" ? "LNPre" : "RMSPre";
  }
  if (flags.center_writing_weights && layer_norm && !cfg.final_rms) center_writing_weights(sd, cfg);
  // Soft-capped logits (Gemma 2) are not shift-invariant: TransformerLens leaves W_U alone.
  if (flags.center_unembed && cfg.output_logits_soft_cap <= 0) center_unembed(sd);
  // Clamped values (OLMo's clip_qkv) are not linear in b_V: it stays where it is.
  if (flags.fold_value_biases && cfg.clip_qkv <= 0) {
    fold_value_biases(sd, cfg);
    if (flags.center_writing_weights && layer_norm) {
      for (int64_t l = 0; l < cfg.n_layers; ++l) {
        auto& b_O = at(sd, block(l) + "attn.b_O");
        b_O = b_O - b_O.mean();
      }
    }
  }
}

}  // namespace tlens::loading
