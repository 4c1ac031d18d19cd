// The views of tlens/vis, fed with tensors straight from an ActivationCache.
//
//   auto [logits, cache] = model->run_with_cache(tokens, tlens::CacheOptions().remove_batch_dim(true));
//   auto str_tokens = model->to_str_tokens(tokens);
//   tlens::vis::attention_pattern(str_tokens, cache("pattern", 0, "attn")[5]).save("L0H5.html");
//   tlens::vis::attention_heads(str_tokens, cache("pattern", 5, "attn")).save("L5.html");
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "tlens/vis/attention.h"
#include "tlens/vis/line.h"
#include "tlens/vis/tokens.h"

namespace tlens::vis {

// pattern [dest, src] (a leading batch dim of 1 is dropped)
Html attention_pattern(const std::vector<std::string>& tokens, const torch::Tensor& pattern,
                       const AttentionPatternOptions& options = {});
// attention [head_index, dest, src]; head_names default "Head i"
Html attention_heads(const std::vector<std::string>& tokens, const torch::Tensor& attention,
                     const std::vector<std::string>& head_names = {},
                     const AttentionPatternOptions& options = {});
// y [n]
Html line(const torch::Tensor& y, const LineOptions& options = {});
// values [n], one per token
Html colored_tokens(const std::vector<std::string>& tokens, const torch::Tensor& values,
                    const ColoredTokensOptions& options = {});

// A float tensor's values, row-major (any shape).
std::vector<float> to_vector(const torch::Tensor& tensor);

}  // namespace tlens::vis
