#include "tlens/vis/tokens.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "page.h"
#include "tlens/error.h"

namespace tlens::vis {
namespace {

// Inline token spans coloured by value, a legend for the scale, the value on hover.
const char* const kColoredTokensScript = R"tlensjs(
const { data, root, el } = tlens;
const scale = tlens.colorScale(data);
const text = el("div", "tokens");
const spans = data.tokens.map((token, i) => {
  const colour = scale(data.values[i]);
  const span = el("span", "tok", tlens.display(token));
  span.dataset.index = i;
  span.style.background = tlens.rgbCss(colour);
  span.style.color = tlens.textColorOn(colour);
  span.addEventListener("mousemove", (e) => tlens.showTooltip(
      null, [["Token", tlens.display(token), true], ["Value", tlens.fmt(data.values[i]), false]],
      e.clientX, e.clientY));
  span.addEventListener("mouseleave", tlens.hideTooltip);
  text.appendChild(span);
  if (/\n/.test(token)) text.appendChild(el("br"));
  return span;
});
root.appendChild(text);

const legend = el("div", "legend");
const bar = el("canvas");
bar.width = 240;
bar.height = 12;
const ctx = bar.getContext("2d");
for (let x = 0; x < bar.width; ++x) {
  const v = data.min_value + (data.max_value - data.min_value) * (x + 0.5) / bar.width;
  ctx.fillStyle = tlens.rgbCss(scale(v));
  ctx.fillRect(x, 0, 1, bar.height);
}
legend.append(el("span", "", tlens.fmt(data.min_value)), bar, el("span", "", tlens.fmt(data.max_value)));
root.appendChild(legend);
window.tlensView = { spans, colorOf: scale };
)tlensjs";

}  // namespace

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
  return detail::make_page("colored_tokens", data, kColoredTokensScript);
}

}  // namespace tlens::vis
