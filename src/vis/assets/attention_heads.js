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
