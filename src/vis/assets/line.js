const { data, root, el } = tlens;
const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, text) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};
const y = data.y, n = y.length;
const labels = data.x_labels.length ? data.x_labels.map(tlens.display) : y.map((_, i) => String(i));

// "Nice" ticks: about `count` steps of 1, 2 or 5 times a power of ten, covering [lo, hi].
function ticks(lo, hi, count) {
  const raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw * (1 - 1e-9));
  const first = Math.floor(lo / step + 1e-9), last = Math.ceil(hi / step - 1e-9);
  return Array.from({ length: last - first + 1 }, (_, k) => +((first + k) * step).toFixed(12));
}
let lo = y.reduce((a, b) => Math.min(a, b), 0), hi = y.reduce((a, b) => Math.max(a, b), -Infinity);
if (hi - lo < 1e-12) hi = lo + 1;
const yTicks = ticks(lo, hi, 5);
lo = yTicks[0];
hi = yTicks[yTicks.length - 1];

const rotate = data.x_labels.length > 0;
const longest = labels.reduce((a, s) => Math.max(a, s.length), 0);
const W = Math.max(560, Math.min(1100, 60 + n * 28)), H = 420;
const M = { left: 72, right: 24, top: 20, bottom: rotate ? 36 + Math.min(110, longest * 7) : 54 };
const plotW = W - M.left - M.right, plotH = H - M.top - M.bottom;
const xAt = (i) => M.left + (n === 1 ? plotW / 2 : (i / (n - 1)) * plotW);
const yAt = (v) => M.top + (1 - (v - lo) / (hi - lo)) * plotH;

const chart = svg("svg", { class: "line-svg", width: W, height: H, viewBox: `0 0 ${W} ${H}` });
for (const t of yTicks) {
  chart.appendChild(svg("line", { class: "grid", x1: M.left, x2: W - M.right, y1: yAt(t), y2: yAt(t) }));
  chart.appendChild(svg("text", { class: "tick", x: M.left - 8, y: yAt(t) + 4, "text-anchor": "end" },
                        String(+t.toPrecision(6))));
}
const every = Math.max(1, Math.ceil(n / Math.floor(plotW / (rotate ? 16 : 40))));
labels.forEach((label, i) => {
  if (i % every !== 0) return;
  const x = xAt(i), yBase = H - M.bottom + 14;
  chart.appendChild(svg("line", { class: "axis", x1: x, x2: x, y1: H - M.bottom, y2: H - M.bottom + 5 }));
  const text = svg("text", { class: "tick", x, y: yBase, "text-anchor": rotate ? "end" : "middle",
                             "xml:space": "preserve" }, label);
  if (rotate) text.setAttribute("transform", `rotate(-60 ${x} ${yBase - 4})`);
  chart.appendChild(text);
});
chart.appendChild(svg("line", { class: "axis", x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom }));
chart.appendChild(svg("line", { class: "axis", x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom }));
chart.appendChild(svg("text", { class: "axis-title", x: M.left + plotW / 2, y: H - 6, "text-anchor": "middle" },
                      data.x_title));
chart.appendChild(svg("text", { class: "axis-title", x: 16, y: M.top + plotH / 2, "text-anchor": "middle",
                                transform: `rotate(-90 16 ${M.top + plotH / 2})` }, data.y_title));
chart.appendChild(svg("polyline", { class: "series", points: y.map((v, i) => `${xAt(i)},${yAt(v)}`).join(" ") }));
const points = y.map((v, i) => {
  const c = svg("circle", { class: "pt", cx: xAt(i), cy: yAt(v), r: 3.5 });
  c.dataset.index = i;
  chart.appendChild(c);
  return c;
});
const overlay = svg("rect", { x: M.left - 8, y: 0, width: plotW + 16, height: H - M.bottom + 8, fill: "transparent" });
chart.appendChild(overlay);

let active = null;
overlay.addEventListener("mousemove", (e) => {
  const r = chart.getBoundingClientRect();
  const px = (e.clientX - r.left) * (W / r.width);
  const i = n === 1 ? 0 : Math.min(n - 1, Math.max(0, Math.round((px - M.left) / plotW * (n - 1))));
  if (active !== null) { points[active].classList.remove("active"); points[active].setAttribute("r", 3.5); }
  active = i;
  points[i].classList.add("active");
  points[i].setAttribute("r", 6);
  const name = data.hover_names.length ? tlens.display(data.hover_names[i]) : null;
  tlens.showTooltip(name, [[data.x_title, labels[i], rotate], [data.y_title, tlens.fmt(y[i]), false]],
                    e.clientX, e.clientY);
});
overlay.addEventListener("mouseleave", () => {
  if (active !== null) { points[active].classList.remove("active"); points[active].setAttribute("r", 3.5); }
  active = null;
  tlens.hideTooltip();
});
root.appendChild(chart);
window.tlensView = { points };
