#include "tlens/head_detector.h"

#include <cmath>

#include <torch/torch.h>

#include "tlens/error.h"

namespace tlens {

namespace {

// [pos] or [1, pos] -> [pos], int64.
torch::Tensor one_sequence(const torch::Tensor& tokens, const char* what) {
  auto flat = tokens.dim() == 2 && tokens.size(0) == 1 ? tokens[0] : tokens;
  TORCH_CHECK(flat.dim() == 1, what, ": expected tokens [pos] or [1, pos], got ", tokens.sizes());
  return flat.to(torch::kLong);
}

bool is_lower_triangular(const torch::Tensor& matrix) {
  return torch::equal(matrix, torch::tril(matrix));
}

}  // namespace

const std::vector<std::string>& head_names() {
  static const std::vector<std::string> names = {"previous_token_head", "duplicate_token_head",
                                                 "induction_head"};
  return names;
}

torch::Tensor get_previous_token_head_detection_pattern(const torch::Tensor& tokens) {
  const int64_t pos = one_sequence(tokens, "previous_token_head").size(0);
  // Ones on the diagonal just below the main one: query i attends to key i - 1.
  return torch::constant_pad_nd(torch::eye(pos - 1), {0, 1, 1, 0});  // [query_pos, key_pos]
}

torch::Tensor get_duplicate_token_head_detection_pattern(const torch::Tensor& tokens) {
  auto seq = one_sequence(tokens, "duplicate_token_head");  // [pos]
  // [query_pos, key_pos]: 1 where the key holds the same token as the query.
  auto equal = (seq.unsqueeze(1) == seq.unsqueeze(0)).to(torch::kFloat32);
  equal.fill_diagonal_(0);  // every token is a duplicate of itself; that does not count
  return torch::tril(equal);
}

torch::Tensor get_induction_head_detection_pattern(const torch::Tensor& tokens) {
  auto duplicate = get_duplicate_token_head_detection_pattern(tokens);  // [query_pos, key_pos]
  // Shift every key one to the right (attend to the token after the earlier copy); key 0 gets 0s.
  auto shifted = torch::roll(duplicate, /*shifts=*/1, /*dims=*/1);
  shifted.select(1, 0).zero_();
  return torch::tril(shifted);  // [query_pos, key_pos]
}

torch::Tensor get_detection_pattern(const std::string& head_name, const torch::Tensor& tokens) {
  if (head_name == "previous_token_head") return get_previous_token_head_detection_pattern(tokens);
  if (head_name == "duplicate_token_head") return get_duplicate_token_head_detection_pattern(tokens);
  if (head_name == "induction_head") return get_induction_head_detection_pattern(tokens);
  std::string nearest = nearest_name(head_name, head_names());
  throw Error("detection pattern '" + head_name + "'",
              "is not a head name (previous_token_head, duplicate_token_head, induction_head)",
              nearest.empty() ? "pass one of the head names or a [pos, pos] tensor"
                              : "did you mean '" + nearest + "'?");
}

double compute_head_attention_similarity_score(const torch::Tensor& attention_pattern_in,
                                               const torch::Tensor& detection_pattern_in,
                                               bool exclude_bos, bool exclude_current_token,
                                               ErrorMeasure error_measure) {
  auto attention_pattern = attention_pattern_in.to(torch::kFloat32).clone();  // [query_pos, key_pos]
  auto detection_pattern = detection_pattern_in.to(attention_pattern.device(), torch::kFloat32);
  TORCH_CHECK(attention_pattern.dim() == 2 && attention_pattern.size(0) == attention_pattern.size(1),
              "attention pattern: expected a square [query_pos, key_pos], got ",
              attention_pattern.sizes());
  TORCH_CHECK(detection_pattern.sizes() == attention_pattern.sizes(),
              "detection pattern: expected [query_pos, key_pos] = ", attention_pattern.sizes(),
              ", got ", detection_pattern.sizes());
  TORCH_CHECK(is_lower_triangular(detection_pattern),
              "detection pattern: must be lower triangular (a query cannot attend to later keys)");

  if (error_measure == ErrorMeasure::mul) {
    if (exclude_bos) attention_pattern.select(1, 0).zero_();
    if (exclude_current_token) attention_pattern.fill_diagonal_(0);
    auto score = attention_pattern * detection_pattern;  // [query_pos, key_pos]
    return (score.sum() / attention_pattern.sum()).item<double>();
  }
  auto abs_diff = (attention_pattern - detection_pattern).abs();  // [query_pos, key_pos]
  const int64_t size = abs_diff.size(0);
  if (exclude_bos) abs_diff.select(1, 0).zero_();
  if (exclude_current_token) abs_diff.fill_diagonal_(0);
  const double error = abs_diff.mean().item<double>() * static_cast<double>(size);
  return 1.0 - std::round(error * 1000.0) / 1000.0;
}

namespace {

// Scores for one row of a batched run; `detection_for_row` gives that row's pattern.
template <typename PatternFn>
torch::Tensor detect_head_batched(HookedTransformer& model, const torch::Tensor& tokens_in,
                                  PatternFn detection_for_row, const DetectHeadOptions& options) {
  auto tokens = tokens_in.dim() == 1 ? tokens_in.unsqueeze(0) : tokens_in;  // [batch, pos]
  TORCH_CHECK(tokens.dim() == 2, "detect_head: expected tokens [pos] or [batch, pos], got ",
              tokens_in.sizes());
  const auto& cfg = model->cfg;
  const int64_t pos = tokens.size(1);
  if (!(1 < pos && pos < cfg.n_ctx))
    throw Error("detect_head", "the sequence has " + std::to_string(pos) +
                                   " tokens; it must have more than 1 and fewer than n_ctx = " +
                                   std::to_string(cfg.n_ctx),
                "use a shorter or longer sequence");

  std::vector<std::vector<bool>> wanted(cfg.n_layers, std::vector<bool>(cfg.n_heads, options.heads().empty()));
  for (const auto& [layer, head] : options.heads()) {
    if (layer < 0 || layer >= cfg.n_layers || head < 0 || head >= cfg.n_heads)
      throw Error("head (" + std::to_string(layer) + ", " + std::to_string(head) + ")",
                  "is not in the model (" + std::to_string(cfg.n_layers) + " layers x " +
                      std::to_string(cfg.n_heads) + " heads)",
                  "");
    wanted[layer][head] = true;
  }

  torch::NoGradGuard no_grad;
  auto [logits, cache] = model->run_with_cache(
      tokens, CacheOptions().names_filter(NamesFilter([](const std::string& name) {
        return name.size() >= 12 && name.compare(name.size() - 12, 12, "hook_pattern") == 0;
      })));
  auto scores = torch::zeros({cfg.n_layers, cfg.n_heads}, torch::kFloat64);  // [layer, head_index]
  for (int64_t row = 0; row < tokens.size(0); ++row) {
    auto detection = detection_for_row(tokens[row]);  // [query_pos, key_pos]
    for (int64_t layer = 0; layer < cfg.n_layers; ++layer) {
      const auto& pattern = cache("pattern", layer, "attn");  // [batch, head_index, query_pos, key_pos]
      for (int64_t head = 0; head < cfg.n_heads; ++head) {
        double score = wanted[layer][head]
                           ? compute_head_attention_similarity_score(
                                 pattern[row][head], detection, options.exclude_bos(),
                                 options.exclude_current_token(), options.error_measure())
                           : -1.0;
        scores[layer][head] += score;
      }
    }
  }
  return (scores / static_cast<double>(tokens.size(0))).to(torch::kFloat32);
}

}  // namespace

torch::Tensor detect_head(HookedTransformer& model, const torch::Tensor& tokens,
                          const std::string& head_name, const DetectHeadOptions& options) {
  get_detection_pattern(head_name, torch::zeros({2}, torch::kLong));  // validates the name first
  return detect_head_batched(
      model, tokens, [&](const torch::Tensor& row) { return get_detection_pattern(head_name, row); },
      options);
}

torch::Tensor detect_head(HookedTransformer& model, const torch::Tensor& tokens,
                          const torch::Tensor& detection_pattern, const DetectHeadOptions& options) {
  const int64_t pos = tokens.size(-1);
  TORCH_CHECK(detection_pattern.dim() == 2 && detection_pattern.size(0) == pos &&
                  detection_pattern.size(1) == pos,
              "detection pattern: expected [query_pos, key_pos] = [", pos, ", ", pos, "], got ",
              detection_pattern.sizes());
  return detect_head_batched(
      model, tokens, [&](const torch::Tensor&) { return detection_pattern; }, options);
}

torch::Tensor detect_head(HookedTransformer& model, const std::vector<std::string>& texts,
                          const std::string& head_name, const DetectHeadOptions& options) {
  TORCH_CHECK(!texts.empty(), "detect_head: no text given");
  torch::Tensor total;
  for (const auto& text : texts) {
    auto scores = detect_head(model, model->to_tokens(text), head_name, options);  // [layer, head_index]
    total = total.defined() ? total + scores : scores;
  }
  return total / static_cast<double>(texts.size());
}

}  // namespace tlens
