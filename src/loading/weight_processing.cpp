#include "tlens/loading/weight_processing.h"

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

// Folds a LayerNorm (w, b) [d_model] into a reader W whose d_model axis is `axis`, with bias
// `bias` of W's shape minus that axis.
void fold_into_reader(torch::Tensor& W, torch::Tensor& bias, const torch::Tensor& w,
                      const torch::Tensor& b, int64_t axis, bool fold_biases, bool center_weights) {
  std::vector<int64_t> shape(W.dim(), 1);
  shape[axis] = -1;
  if (fold_biases) bias = bias + (W * b.view(shape)).sum(axis);  // uses the unscaled W
  W = W * w.view(shape);
  if (center_weights) W = W - W.mean(axis, /*keepdim=*/true);
}
}  // namespace

void fold_layer_norm(StateDict& sd, const HookedTransformerConfig& cfg, bool fold_biases,
                     bool center_weights) {
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = block(l);
    auto w1 = at(sd, p + "ln1.w"), b1 = at(sd, p + "ln1.b");
    for (const char* x : {"Q", "K", "V"}) {
      // W [head_index, d_model, d_head], b [head_index, d_head]
      fold_into_reader(at(sd, p + "attn.W_" + x), at(sd, p + "attn.b_" + x), w1, b1, 1,
                       fold_biases, center_weights);
    }
    sd.erase(p + "ln1.w");
    sd.erase(p + "ln1.b");
    if (cfg.attn_only) continue;
    // W_in [d_model, d_mlp], b_in [d_mlp]
    fold_into_reader(at(sd, p + "mlp.W_in"), at(sd, p + "mlp.b_in"), at(sd, p + "ln2.w"),
                     at(sd, p + "ln2.b"), 0, fold_biases, center_weights);
    sd.erase(p + "ln2.w");
    sd.erase(p + "ln2.b");
  }
  // W_U [d_model, d_vocab], b_U [d_vocab]
  fold_into_reader(at(sd, "unembed.W_U"), at(sd, "unembed.b_U"), at(sd, "ln_final.w"),
                   at(sd, "ln_final.b"), 0, fold_biases, center_weights);
  sd.erase("ln_final.w");
  sd.erase("ln_final.b");
}

void center_writing_weights(StateDict& sd, const HookedTransformerConfig& cfg) {
  auto center_last = [&](const std::string& key) {
    auto& t = at(sd, key);
    t = t - t.mean(-1, /*keepdim=*/true);
  };
  center_last("embed.W_E");  // [d_vocab, d_model]
  center_last("pos_embed.W_pos");  // [n_ctx, d_model]
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
  W_U = W_U - W_U.mean(-1, /*keepdim=*/true);
  auto& b_U = at(sd, "unembed.b_U");  // [d_vocab]
  b_U = b_U - b_U.mean();
}

void fold_value_biases(StateDict& sd, const HookedTransformerConfig& cfg) {
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string p = block(l);
    auto& b_V = at(sd, p + "attn.b_V");  // [head_index, d_head]
    auto& W_O = at(sd, p + "attn.W_O");  // [head_index, d_head, d_model]
    auto& b_O = at(sd, p + "attn.b_O");  // [d_model]
    // head_index d_head, head_index d_head d_model -> d_model
    b_O = b_O + (b_V.unsqueeze(-1) * W_O).sum(torch::IntArrayRef{0, 1});
    b_V = torch::zeros_like(b_V);
  }
}

void process_weights(StateDict& sd, HookedTransformerConfig& cfg, const ProcessingFlags& flags) {
  const bool layer_norm = cfg.normalization_type == "LN" || cfg.normalization_type == "LNPre";
  if (flags.fold_ln && cfg.normalization_type == "LN") {
    fold_layer_norm(sd, cfg);
    cfg.normalization_type = "LNPre";
  }
  if (flags.center_writing_weights && layer_norm && !cfg.final_rms) center_writing_weights(sd, cfg);
  if (flags.center_unembed) center_unembed(sd);
  if (flags.fold_value_biases) {
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
