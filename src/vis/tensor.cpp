#include "tlens/vis/tensor.h"

#include <torch/torch.h>

#include "tlens/error.h"

namespace tlens::vis {

std::vector<float> to_vector(const torch::Tensor& tensor) {
  auto flat = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous().reshape({-1});
  return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}

namespace {
torch::Tensor drop_batch_of_one(const torch::Tensor& t, int64_t wanted_dims, const char* what) {
  if (t.dim() == wanted_dims + 1 && t.size(0) == 1) return t[0];
  if (t.dim() != wanted_dims)
    throw Error(what, "expected " + std::to_string(wanted_dims) + " dims, got shape " +
                          c10::str(t.sizes()),
                "index the cache down to one head (attention_pattern) or one layer");
  return t;
}
}  // namespace

Html attention_pattern(const std::vector<std::string>& tokens, const torch::Tensor& pattern,
                       const AttentionPatternOptions& options) {
  auto p = drop_batch_of_one(pattern, 2, "attention_pattern: pattern");  // [dest, src]
  return attention_pattern(tokens, to_vector(p), options);
}

Html attention_heads(const std::vector<std::string>& tokens, const torch::Tensor& attention,
                     const std::vector<std::string>& head_names,
                     const AttentionPatternOptions& options) {
  auto a = drop_batch_of_one(attention, 3, "attention_heads: attention");  // [head, dest, src]
  return attention_heads(tokens, to_vector(a), a.size(0), head_names, options);
}

Html line(const torch::Tensor& y, const LineOptions& options) {
  return line(to_vector(y.reshape({-1})), options);
}

Html colored_tokens(const std::vector<std::string>& tokens, const torch::Tensor& values,
                    const ColoredTokensOptions& options) {
  return colored_tokens(tokens, to_vector(values.reshape({-1})), options);
}

}  // namespace tlens::vis
