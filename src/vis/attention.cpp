#include "tlens/vis/attention.h"

#include <string>

#include "page.h"
#include "tlens/error.h"

namespace tlens::vis {
namespace {

// One head: a labelled heatmap with a tooltip.
const char* const kAttentionPatternScript = R"tlensjs(
const { data, root } = tlens;
const n = data.tokens.length;
const cell = tlens.bigCell(n);
const map = tlens.heatmap({ tokens: data.tokens, cell, labels: data.options.show_axis_labels,
                            mask: data.options.mask_upper_tri, scale: tlens.colorScale(data.options),
                            tooltip: true, gap: cell >= 12 });
map.draw(data.pattern);
root.appendChild(map.root);
window.tlensView = { heatmaps: [map], colorOf: tlens.colorScale(data.options) };
)tlensjs";

// All heads: thumbnails (hover previews, click locks) and the focused head zoomed.
const char* const kAttentionHeadsScript = R"tlensjs(
const { data, root, el } = tlens;
const n = data.tokens.length, H = data.n_heads;
const scale = tlens.colorScale(data.options);
const head = (h) => data.attention.slice(h * n * n, (h + 1) * n * n);  // [dest, src]
const headColor = (h) => `hsl(${Math.round(h / H * 360)}, 70%, 45%)`;

root.appendChild(el("h3", "", "Head Selector (hover to view, click to lock)"));
const grid = el("div", "thumbs");
const thumbCell = Math.max(1, Math.floor(84 / n));
const thumbs = data.head_names.map((name, h) => {
  const thumb = el("div", "thumb");
  thumb.dataset.head = h;
  thumb.tabIndex = 0;
  thumb.style.setProperty("--head-color", headColor(h));
  const map = tlens.heatmap({ tokens: data.tokens, cell: thumbCell, labels: false,
                              mask: data.options.mask_upper_tri, scale, tooltip: false, gap: false });
  if (n * thumbCell > 120) map.canvas.style.width = map.canvas.style.height = "120px";
  map.draw(head(h));
  thumb.append(el("div", "thumb-name", name), map.root);
  grid.appendChild(thumb);
  return thumb;
});
root.appendChild(grid);
root.appendChild(el("p", "hint", "Hover a head to preview it; click it to keep it, click it again to let go."));

const title = el("h3", "zoom-title");
const swatch = el("span", "zoom-swatch"), titleText = el("span", "zoom-name");
title.id = "zoom-title";
title.append(swatch, titleText);
const cell = tlens.bigCell(n);
const big = tlens.heatmap({ tokens: data.tokens, cell, labels: data.options.show_axis_labels,
                            mask: data.options.mask_upper_tri, scale, tooltip: true, gap: cell >= 12 });
big.root.id = "zoom";
root.append(title, big.root);

// As CircuitsVis's hover lock: a locked head stays in focus; otherwise the hovered one, else head 0.
let hovered = null, locked = null, shown = -1;
function refocus() {
  const focused = locked ?? hovered ?? 0;
  thumbs.forEach((thumb, h) => {
    thumb.classList.toggle("focused", h === focused);
    thumb.classList.toggle("locked", h === locked);
  });
  if (focused === shown) return;
  shown = focused;
  title.style.setProperty("--head-color", headColor(focused));
  titleText.textContent = `${data.head_names[focused]} Zoomed`;
  big.draw(head(focused));
  window.tlensView.focused = focused;
}
thumbs.forEach((thumb, h) => {
  thumb.addEventListener("mouseenter", () => { hovered = h; refocus(); });
  thumb.addEventListener("mouseleave", () => { hovered = null; refocus(); });
  const toggle = () => { locked = locked === h ? null : h; refocus(); };
  thumb.addEventListener("click", toggle);
  thumb.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
});
window.tlensView = { heatmaps: [big], colorOf: scale, focused: 0 };
refocus();
)tlensjs";

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
  return detail::make_page("attention_pattern", data, kAttentionPatternScript);
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
  return detail::make_page("attention_heads", data, kAttentionHeadsScript);
}

}  // namespace tlens::vis
