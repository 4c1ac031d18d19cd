// Attention views: CircuitsVis's attention_pattern and attention_heads, as offline HTML pages.
//
//   // the seed's cv.attention.attention_pattern(cache["pattern", 0, "attn"][5], tokens=str_tokens)
//   auto head = cache("pattern", 0)[0][5].contiguous();                     // [dest, src]
//   std::vector<float> pattern(head.data_ptr<float>(), head.data_ptr<float>() + head.numel());
//   tlens::vis::attention_pattern(str_tokens, pattern).save("l0h5.html");
//
//   // all heads of layer 5, named "H0".."H11"; all_heads is [head, dest, src], flattened
//   tlens::vis::attention_heads(str_tokens, all_heads, 12, head_names).save("l5.html");
//
// Colours follow CircuitsVis: a value v >= 0 is blue mixed with white by 1 - v/max_value (so
// max_value is pure blue and 0 is white), v < 0 is red mixed the same way by v/min_value, and the
// masked upper triangle (src > dest, which causal attention never looks at) is grey.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tlens/vis/html.h"

namespace tlens::vis {

struct AttentionPatternOptions {
  float max_value = 1.0f;   // the value drawn as pure positive_color (CircuitsVis's default)
  float min_value = -1.0f;  // the value drawn as pure negative_color
  std::string positive_color = "blue";  // any CSS colour
  std::string negative_color = "red";
  bool mask_upper_tri = true;    // grey out src > dest
  bool show_axis_labels = true;  // "token (idx)" on both axes
  std::string title;             // shown above the view; empty for none
};

// One head. `tokens` has n entries; `pattern` is [dest, src], row-major, n*n values.
// The heatmap has source tokens on x and destination tokens on y; hovering a cell shows
// (dest, src), both tokens and the value.
Html attention_pattern(const std::vector<std::string>& tokens, const std::vector<float>& pattern,
                       const AttentionPatternOptions& options = {});

// All heads of a layer. `attention` is [head, dest, src], row-major, n_heads*n*n values.
// A thumbnail per head (named `head_names[i]`, default "Head i"): hovering previews a head,
// clicking locks it (clicking it again unlocks), and the focused head is shown large below,
// titled "<name> Zoomed".
Html attention_heads(const std::vector<std::string>& tokens, const std::vector<float>& attention,
                     int64_t n_heads, const std::vector<std::string>& head_names = {},
                     const AttentionPatternOptions& options = {});

}  // namespace tlens::vis
