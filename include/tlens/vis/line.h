// A line plot: the seed's px.line(predictions, hover_name=str_tokens[1:]), as an offline HTML page.
//
//   tlens::vis::LineOptions options;
//   options.hover_names = {str_tokens.begin() + 1, str_tokens.end()};
//   options.y_title = "probability of the next token";
//   tlens::vis::line(predictions, options).save("predictions.html");
//
// x is the point's index (or its x_labels entry); hovering near a point shows its hover name
// and value.
#pragma once

#include <string>
#include <vector>

#include "tlens/vis/html.h"

namespace tlens::vis {

struct LineOptions {
  std::vector<std::string> x_labels;     // tick label per point; empty: the index 0..n-1
  std::vector<std::string> hover_names;  // bold first line of each point's tooltip; empty: none
  std::string x_title = "index";         // plotly express's defaults for a 1-D tensor
  std::string y_title = "value";
  std::string title;
};

// `y` has one value per point; x_labels and hover_names, when given, have as many entries.
Html line(const std::vector<float>& y, const LineOptions& options = {});

}  // namespace tlens::vis
