// head_detector: TransformerLens's head_detector.py — how much each head's attention pattern looks
// like a previous-token, duplicate-token or induction head.
//
//   auto tokens = model->to_tokens("one two three one two three");   // [1, pos], BOS first
//   torch::Tensor scores = tlens::detect_head(model, tokens, "induction_head");
//   // scores: [n_layers, n_heads]; heads not asked for score -1
//   scores = tlens::detect_head(model, tokens, "previous_token_head",
//                               tlens::DetectHeadOptions().heads({{0, 1}, {1, 3}}));
//
// A detection pattern is a [query_pos, key_pos] 0/1 matrix (lower triangular) of where such a head
// should attend. With error_measure "mul" a head scores
//     sum(pattern * detection_pattern) / sum(pattern)
// i.e. the share of its attention mass (summed over every query position, BOS included unless
// excluded) that lands on the detection pattern. Every query row sums to 1, so a perfect induction
// head on a sequence repeated twice scores about 1/2 (the first half has nothing to attend to).
// With "abs" it scores 1 - round(mean(|pattern - detection_pattern|) * pos, 3).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

#include "tlens/hooked_transformer.h"

namespace tlens {

enum class ErrorMeasure { mul, abs };
using LayerHead = std::pair<int64_t, int64_t>;  // (layer, head_index), TransformerLens's LayerHeadTuple

// detect_head()'s keyword arguments, TransformerLens's names and defaults.
struct DetectHeadOptions {
  // (layer, head) pairs to score; empty = every head.
  TORCH_ARG(std::vector<LayerHead>, heads) = {};
  TORCH_ARG(bool, exclude_bos) = false;            // zero the attention to position 0
  TORCH_ARG(bool, exclude_current_token) = false;  // zero the attention to the query itself
  TORCH_ARG(ErrorMeasure, error_measure) = ErrorMeasure::mul;
};

// The head names detect_head accepts: previous_token_head, duplicate_token_head, induction_head.
const std::vector<std::string>& head_names();

// tokens [pos] (or [1, pos]) -> detection pattern [query_pos, key_pos], float32.
// Previous token: 1 at (i, i - 1).
torch::Tensor get_previous_token_head_detection_pattern(const torch::Tensor& tokens);
// Duplicate token: 1 at (i, j) for j < i with tokens[j] == tokens[i].
torch::Tensor get_duplicate_token_head_detection_pattern(const torch::Tensor& tokens);
// Induction: the duplicate pattern shifted one key to the right, 1 at (i, j + 1) for
// j + 1 <= i with tokens[j] == tokens[i], j < i (attend to the token after the earlier copy).
torch::Tensor get_induction_head_detection_pattern(const torch::Tensor& tokens);
// One of head_names() -> its pattern; tlens::Error for another name.
torch::Tensor get_detection_pattern(const std::string& head_name, const torch::Tensor& tokens);

// One head: attention_pattern [query_pos, key_pos] against detection_pattern [query_pos, key_pos].
// The attention pattern is copied, not modified.
double compute_head_attention_similarity_score(const torch::Tensor& attention_pattern,
                                               const torch::Tensor& detection_pattern,
                                               bool exclude_bos = false,
                                               bool exclude_current_token = false,
                                               ErrorMeasure error_measure = ErrorMeasure::mul);

// Runs `model` on `tokens` ([pos] or [batch, pos]: each row one sequence, as TransformerLens's
// list of strings; the scores are averaged over rows) and scores every requested head ->
// [n_layers, n_heads], -1 for heads not requested. Needs 1 < pos < n_ctx, as TransformerLens.
torch::Tensor detect_head(HookedTransformer& model, const torch::Tensor& tokens,
                          const std::string& head_name, const DetectHeadOptions& options = {});
// With a fixed detection pattern [pos, pos] (the same for every row).
torch::Tensor detect_head(HookedTransformer& model, const torch::Tensor& tokens,
                          const torch::Tensor& detection_pattern,
                          const DetectHeadOptions& options = {});
// Text, tokenized with to_tokens (BOS prepended by default); a list is averaged.
torch::Tensor detect_head(HookedTransformer& model, const std::vector<std::string>& texts,
                          const std::string& head_name, const DetectHeadOptions& options = {});

}  // namespace tlens
