// TransformerLens's utils: get_act_name (the cache shorthand) and the language-model loss.
//
//   tlens::get_act_name("pattern", 0, "attn")   // "blocks.0.attn.hook_pattern"
//   tlens::get_act_name("attn", 0)              // "blocks.0.attn.hook_pattern" (alias)
//   tlens::get_act_name("scale4ln1")            // "blocks.4.ln1.hook_scale"
//   tlens::get_act_name("embed")                // "hook_embed"
#pragma once

#include <optional>
#include <string>

#include <ATen/core/Generator.h>
#include <torch/arg.h>
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

// sample_logits's keyword arguments, TransformerLens's names and defaults.
struct SampleLogitsOptions {
  TORCH_ARG(std::optional<int64_t>, top_k) = std::nullopt;  // keep the k largest (ties kept)
  TORCH_ARG(std::optional<double>, top_p) = std::nullopt;   // nucleus, in (0, 1]; only without top_k
  TORCH_ARG(double, temperature) = 1.0;                     // 0: argmax
  TORCH_ARG(double, freq_penalty) = 0.0;  // subtracted per earlier occurrence; needs the tokens
};

// TransformerLens's utils.sample_logits: one token per row of final_logits [batch, d_vocab].
// temperature 0 is argmax. Else: logits / temperature; minus freq_penalty × the count of each
// token in `tokens` [batch, pos] (when freq_penalty > 0); then top_k, or else top_p (the smallest
// set of most likely tokens whose probability reaches top_p; the most likely always stays); then
// a draw from the softmax in float32 with `generator` (default: torch's default generator, the one
// torch.manual_seed seeds). -> [batch], int64. Bad options are errors before any work.
torch::Tensor sample_logits(const torch::Tensor& final_logits, const SampleLogitsOptions& options = {},
                            const std::optional<torch::Tensor>& tokens = std::nullopt,
                            std::optional<at::Generator> generator = std::nullopt);
// The checks sample_logits makes (generate runs them before its first forward).
void check_sample_logits_options(const SampleLogitsOptions& options);

}  // namespace tlens
