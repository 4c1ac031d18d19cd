#include "page.h"

#include <cmath>

#include "vis_assets.h"

namespace tlens::vis::detail {
namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

}  // namespace

std::string json_for_script(const Json& data) {
  std::string json = data.dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
  // Outside strings JSON has none of these characters; inside strings the \u forms mean the same.
  replace_all(json, "&", "\\u0026");
  replace_all(json, "<", "\\u003c");
  replace_all(json, ">", "\\u003e");
  return json;
}

// Each asset starts on the line after its opening tag.
Html make_page(const std::string& view, const Json& data, std::string_view view_script) {
  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"generator\" content=\"tlens::vis\">\n";
  html += "<title>tlens: " + view + "</title>\n";
  html += "<style>\n" + std::string(assets::page_css) + "</style>\n</head>\n<body>\n";
  html += "<div id=\"tlens-root\" class=\"tlens-" + view + "\"></div>\n";
  html += "<script type=\"application/json\" id=\"tlens-data\">" + json_for_script(data) +
          "</script>\n";
  // Shared by every view: reads the data, and offers the colour scale, the tooltip and the heatmap.
  html += "<script>\n" + std::string(assets::common_js) + "</script>\n";
  html += "<script>\"use strict\";\n(() => {\n" + std::string(view_script) + "})();\n</script>\n";
  html += "</body>\n</html>\n";
  return Html(std::move(html));
}

int64_t first_non_finite(const std::vector<float>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) return static_cast<int64_t>(i);
  }
  return -1;
}

}  // namespace tlens::vis::detail
