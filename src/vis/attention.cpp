#include "tlens/vis/attention.h"

#include <string>

#include "page.h"
#include "tlens/error.h"
#include "vis_assets.h"

namespace tlens::vis {
namespace {

// Checks shared by both views; `view` names the function in messages.
void check_pattern_input(const std::string& view, const std::vector<std::string>& tokens,
                         const std::vector<float>& values, int64_t n_heads,
                         const AttentionPatternOptions& options) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) {
    throw Error(view, "got no tokens", "pass the prompt's str_tokens, one per position");
  }
  const int64_t expected = n_heads * n * n;
  if (static_cast<int64_t>(values.size()) != expected) {
    const std::string shape = n_heads == 1 ? "[dest, src]" : "[head, dest, src]";
    const std::string dims = (n_heads == 1 ? "" : std::to_string(n_heads) + "*") +
                             std::to_string(n) + "*" + std::to_string(n);
    throw Error(view,
                "expected " + shape + " = " + dims + " = " + std::to_string(expected) +
                    " values for " + std::to_string(n) + " tokens, got " +
                    std::to_string(values.size()),
                "pass one layer's pattern for this prompt (e.g. cache(\"pattern\", layer)[0]), "
                "flattened row-major, with the same tokens it was computed from");
  }
  if (const int64_t bad = detail::first_non_finite(values); bad >= 0) {
    const int64_t h = bad / (n * n), dest = bad / n % n, src = bad % n;
    throw Error(view,
                (n_heads == 1 ? "" : "head " + std::to_string(h) + ", ") + "dest " +
                    std::to_string(dest) + ", src " + std::to_string(src) + " is " +
                    std::to_string(values[bad]) + ", not a finite number",
                "an attention pattern is a softmax output in [0, 1]; check the model's forward "
                "or the tensor you passed");
  }
  if (!(options.max_value > 0) || !(options.min_value < 0)) {
    throw Error(view,
                "the colour scale needs min_value < 0 < max_value, got min_value " +
                    std::to_string(options.min_value) + " and max_value " +
                    std::to_string(options.max_value),
                "leave them at -1 and 1 for attention patterns");
  }
}

detail::Json options_json(const AttentionPatternOptions& options) {
  return {
      {"max_value", options.max_value},           {"min_value", options.min_value},
      {"positive_color", options.positive_color}, {"negative_color", options.negative_color},
      {"mask_upper_tri", options.mask_upper_tri}, {"show_axis_labels", options.show_axis_labels}};
}

}  // namespace

Html attention_pattern(const std::vector<std::string>& tokens, const std::vector<float>& pattern,
                       const AttentionPatternOptions& options) {
  check_pattern_input("attention_pattern", tokens, pattern, 1, options);
  detail::Json data = {{"tokens", tokens},
                       {"pattern", pattern},
                       {"options", options_json(options)},
                       {"title", options.title}};
  // One head: a labelled heatmap with a tooltip.
  return detail::make_page("attention_pattern", data, assets::attention_pattern_js);
}

Html attention_heads(const std::vector<std::string>& tokens, const std::vector<float>& attention,
                     int64_t n_heads, const std::vector<std::string>& head_names,
                     const AttentionPatternOptions& options) {
  if (n_heads <= 0) {
    throw Error("attention_heads", "n_heads must be positive, got " + std::to_string(n_heads),
                "pass the layer's number of heads, cfg.n_heads");
  }
  if (!head_names.empty() && static_cast<int64_t>(head_names.size()) != n_heads) {
    throw Error("attention_heads",
                "got " + std::to_string(head_names.size()) + " head names for " +
                    std::to_string(n_heads) + " heads",
                "pass one name per head, or none for \"Head 0\", \"Head 1\", ...");
  }
  check_pattern_input("attention_heads", tokens, attention, n_heads, options);
  std::vector<std::string> names = head_names;
  for (int64_t h = static_cast<int64_t>(names.size()); h < n_heads; ++h) {
    names.push_back("Head " + std::to_string(h));
  }
  detail::Json data = {
      {"tokens", tokens},    {"attention", attention},           {"n_heads", n_heads},
      {"head_names", names}, {"options", options_json(options)}, {"title", options.title}};
  // All heads: thumbnails (hover previews, click locks) and the focused head zoomed.
  return detail::make_page("attention_heads", data, assets::attention_heads_js);
}

}  // namespace tlens::vis
