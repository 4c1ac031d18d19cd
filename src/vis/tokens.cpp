#include "tlens/vis/tokens.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "page.h"
#include "tlens/error.h"
#include "vis_assets.h"

namespace tlens::vis {

Html colored_tokens(const std::vector<std::string>& tokens, const std::vector<float>& values,
                    const ColoredTokensOptions& options) {
  if (values.size() != tokens.size()) {
    throw Error("colored_tokens",
                "got " + std::to_string(values.size()) + " values for " +
                    std::to_string(tokens.size()) + " tokens",
                "pass one value per token (a [pos] vector for one prompt)");
  }
  if (const int64_t bad = detail::first_non_finite(values); bad >= 0) {
    throw Error("colored_tokens",
                "values[" + std::to_string(bad) + "] (token " + std::to_string(bad) + ") is " +
                    std::to_string(values[bad]) + ", not a finite number",
                "colour by finite values; check the computation that produced them");
  }
  float largest = 0.0f;  // max |value|: the default scale is symmetric around 0
  for (float v : values) largest = std::max(largest, std::fabs(v));
  if (largest == 0.0f) largest = 1.0f;  // all zero: everything white, on a unit scale
  const float max_value = options.max_value.value_or(largest);
  const float min_value = options.min_value.value_or(-largest);
  if (!(max_value > 0) || !(min_value < 0)) {
    throw Error("colored_tokens",
                "the colour scale needs min_value < 0 < max_value, got min_value " +
                    std::to_string(min_value) + " and max_value " + std::to_string(max_value),
                "leave them unset to scale by max |value|");
  }
  detail::Json data = {{"tokens", tokens},
                       {"values", values},
                       {"max_value", max_value},
                       {"min_value", min_value},
                       {"positive_color", options.positive_color},
                       {"negative_color", options.negative_color},
                       {"title", options.title}};
  // Inline token spans coloured by value, a legend for the scale, the value on hover.
  return detail::make_page("colored_tokens", data, assets::colored_tokens_js);
}

}  // namespace tlens::vis
