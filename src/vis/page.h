// Internal to tlens_vis: how every view becomes one self-contained page.
//
// A page is: our CSS (assets/page.css), a <script type="application/json"> holding the view's
// data, our shared JS (assets/common.js: colour scale, tooltip, heatmap), then the view's own
// script (assets/<view>.js), which reads the data and builds the DOM with textContent only — so a
// token is never parsed as HTML. The assets are compiled in by CMake (tlens_embed_files).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tlens/vis/html.h"

namespace tlens::vis::detail {

// JSON with float numbers, so 0.1f is written as 0.1 and not 0.10000000149011612.
using Json = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t,
                                  std::uint64_t, float>;

// `view` names the page (its <title> and a class on the root); `data` is what `view_script` (one
// of the embedded assets, e.g. assets::line_js) reads as `tlens.data`.
Html make_page(const std::string& view, const Json& data, std::string_view view_script);

// The data as it is embedded in the page: ASCII-only JSON (invalid UTF-8 becomes U+FFFD) in which
// '<', '>' and '&' are \u escapes, so no token can close the <script> element or open a comment.
std::string json_for_script(const Json& data);

// Index of the first NaN or infinity in `values`, or -1 if all are finite.
int64_t first_non_finite(const std::vector<float>& values);

}  // namespace tlens::vis::detail
