// weight_processing: TransformerLens's from_pretrained weight processing, on a state dict in
// TransformerLens names. Each step leaves the model's log-probs unchanged.
//
//   tlens::loading::fold_layer_norm(state_dict, cfg);       // ln w, b folded into the readers
//   tlens::loading::center_writing_weights(state_dict, cfg);
//   tlens::loading::center_unembed(state_dict);
//   tlens::loading::fold_value_biases(state_dict, cfg);
#pragma once

#include <map>
#include <string>

#include <torch/types.h>

#include "tlens/config.h"

namespace tlens::loading {

using StateDict = std::map<std::string, torch::Tensor>;

// Folds each LayerNorm's w and b into the weights that read its output (W_Q/W_K/W_V, W_in,
// W_U) and their biases; with center_weights also centers those reading weights over d_model.
// Removes the ln*.w / ln*.b keys: the model then uses LayerNormPre.
void fold_layer_norm(StateDict& state_dict, const HookedTransformerConfig& cfg,
                     bool fold_biases = true, bool center_weights = true);
// Removes the mean over d_model of everything that writes to the residual stream:
// W_E, W_pos, W_O, b_O, W_out, b_out.
void center_writing_weights(StateDict& state_dict, const HookedTransformerConfig& cfg);
// W_U -= its mean over the vocabulary, b_U -= its mean: logits shift by a constant per position.
void center_unembed(StateDict& state_dict);
// b_O += sum over heads of b_V @ W_O, then b_V = 0 (exact because pattern rows sum to 1).
void fold_value_biases(StateDict& state_dict, const HookedTransformerConfig& cfg);

struct ProcessingFlags {
  bool fold_ln = true;
  bool center_writing_weights = true;
  bool center_unembed = true;
  bool fold_value_biases = true;
};
// The steps in TransformerLens's order (fold_ln, center_writing_weights, center_unembed,
// fold_value_biases and then b_O re-centered). Sets cfg.normalization_type to LNPre with fold_ln.
void process_weights(StateDict& state_dict, HookedTransformerConfig& cfg,
                     const ProcessingFlags& flags);

}  // namespace tlens::loading
