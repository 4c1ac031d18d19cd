#include "tlens/vis/line.h"

#include <string>

#include "page.h"
#include "tlens/error.h"
#include "vis_assets.h"

namespace tlens::vis {

Html line(const std::vector<float>& y, const LineOptions& options) {
  if (y.empty()) {
    throw Error("line", "got no values to plot", "pass one value per point, e.g. the predictions");
  }
  const auto check_count = [&](const std::vector<std::string>& names, const std::string& field) {
    if (!names.empty() && names.size() != y.size()) {
      throw Error(
          "line",
          "options." + field + " has " + std::to_string(names.size()) + " entries for " +
              std::to_string(y.size()) + " values",
          "give one per point (for predictions of the next token: str_tokens[1:]), or none");
    }
  };
  check_count(options.x_labels, "x_labels");
  check_count(options.hover_names, "hover_names");
  if (const int64_t bad = detail::first_non_finite(y); bad >= 0) {
    throw Error(
        "line",
        "y[" + std::to_string(bad) + "] is " + std::to_string(y[bad]) + ", not a finite number",
        "plot finite values (e.g. probabilities, or log-probabilities clamped away from -inf)");
  }
  detail::Json data = {{"y", y},
                       {"x_labels", options.x_labels},
                       {"hover_names", options.hover_names},
                       {"x_title", options.x_title},
                       {"y_title", options.y_title},
                       {"title", options.title}};
  // An SVG line plot with a point per value; hovering anywhere over the plot picks the nearest
  // point along x, as plotly's default hover does.
  return detail::make_page("line", data, assets::line_js);
}

}  // namespace tlens::vis
