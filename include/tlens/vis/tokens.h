// Tokens coloured by a value: CircuitsVis's colored_tokens, as an offline HTML page.
//
//   // e.g. the direct logit attribution of each position
//   tlens::vis::colored_tokens(str_tokens, values).save("dla.html");
//
// Positive values are blue, negative red, 0 white; by default the scale runs from -m to m with
// m = max |value|. Spaces stay visible, a newline shows as ¶ and breaks the line, and hovering a
// token shows it with its value.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tlens/vis/html.h"

namespace tlens::vis {

struct ColoredTokensOptions {
  std::optional<float> max_value;  // drawn as pure positive_color; default max |value|
  std::optional<float> min_value;  // drawn as pure negative_color; default -max |value|
  std::string positive_color = "blue";
  std::string negative_color = "red";
  std::string title;
};

// `values` has one entry per token.
Html colored_tokens(const std::vector<std::string>& tokens, const std::vector<float>& values,
                    const ColoredTokensOptions& options = {});

}  // namespace tlens::vis
