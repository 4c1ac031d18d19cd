// TransformerLens's utils: get_act_name (the cache shorthand) and the language-model loss.
//
//   tlens::get_act_name("pattern", 0, "attn")   // "blocks.0.attn.hook_pattern"
//   tlens::get_act_name("attn", 0)              // "blocks.0.attn.hook_pattern" (alias)
//   tlens::get_act_name("scale4ln1")            // "blocks.4.ln1.hook_scale"
//   tlens::get_act_name("embed")                // "hook_embed"
#pragma once

#include <optional>
#include <string>

#include <torch/types.h>

namespace tlens {

// get_act_name(name, layer, layer_type) with TransformerLens's rules: names containing '.' or
// starting with "hook_" pass through; "k6"-style shorthand is split; aliases attn->pattern,
// attn_logits->attn_scores, key/query/value->k/q/v, mlp_pre/mid/post->pre/mid/post; layer types
// a->attn, m->mlp, b/block/blocks->"", attention->attn; q/k/v/z/result/pattern/attn_scores force
// "attn" and pre/post/mid/pre_linear force "mlp"; scale/normalized without a layer -> ln_final.
std::string get_act_name(const std::string& name, std::optional<int64_t> layer = std::nullopt,
                         const std::string& layer_type = "");

// Next-token cross-entropy of logits [batch, pos, d_vocab] against tokens [batch, pos].
// Mean over predicted tokens -> scalar; per_token -> [batch, pos - 1]. With an attention mask
// [batch, pos], only pairs where both tokens are real count (masked entries are 0 per token).
torch::Tensor lm_cross_entropy_loss(const torch::Tensor& logits, const torch::Tensor& tokens,
                                    const std::optional<torch::Tensor>& attention_mask = std::nullopt,
                                    bool per_token = false);

}  // namespace tlens
