"use strict";
const tlens = (() => {
  const data = JSON.parse(document.getElementById("tlens-data").textContent);
  const root = document.getElementById("tlens-root");

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A token as a person should see it: spaces kept as they are, a newline shown as a pilcrow.
  const display = (token) => token.replace(/\r?\n/g, "\u00b6");

  function fmt(v) {
    const a = Math.abs(v);
    return (a === 0 || (a >= 1e-3 && a < 1e6)) ? v.toFixed(4) : v.toExponential(3);
  }

  // Any CSS colour -> [r, g, b], using the canvas's own parser.
  const probe = document.createElement("canvas").getContext("2d");
  function parseColor(css) {
    probe.fillStyle = "#000000";
    probe.fillStyle = css;
    const s = probe.fillStyle;  // "#rrggbb", or "rgba(r, g, b, a)" when there is an alpha
    if (s[0] === "#") return [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
    return s.match(/[\d.]+/g).slice(0, 3).map(Number);
  }

  // Colours are mixed in CIE Lab (D65), as CircuitsVis does, so half-way blue is a soft violet.
  const WHITE_POINT = [0.95047, 1.0, 1.08883];
  const EPSILON = 216 / 24389, KAPPA = 24389 / 27;
  const toLinear = (c) => (c /= 255, c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
  const fromLinear = (c) => {
    c = c <= 0.0031308 ? 12.92 * c : 1.055 * Math.pow(c, 1 / 2.4) - 0.055;
    return Math.round(Math.min(1, Math.max(0, c)) * 255);
  };
  function rgbToLab(rgb) {
    const [r, g, b] = rgb.map(toLinear);
    const xyz = [0.4124564 * r + 0.3575761 * g + 0.1804375 * b,
                 0.2126729 * r + 0.7151522 * g + 0.0721750 * b,
                 0.0193339 * r + 0.1191920 * g + 0.9503041 * b];
    const f = (t) => (t > EPSILON ? Math.cbrt(t) : (KAPPA * t + 16) / 116);
    const [fx, fy, fz] = xyz.map((v, i) => f(v / WHITE_POINT[i]));
    return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
  }
  function labToRgb([L, A, B]) {
    const fy = (L + 16) / 116, fx = fy + A / 500, fz = fy - B / 200;
    const inv = (t) => (t * t * t > EPSILON ? t * t * t : (116 * t - 16) / KAPPA);
    const [x, y, z] = [inv(fx), inv(fy), inv(fz)].map((v, i) => v * WHITE_POINT[i]);
    return [fromLinear(3.2404542 * x - 1.5371385 * y - 0.4985314 * z),
            fromLinear(-0.9692660 * x + 1.8760108 * y + 0.0415560 * z),
            fromLinear(0.0556434 * x - 0.2040259 * y + 1.0572252 * z)];
  }
  function mix(from, to, t) {
    const a = rgbToLab(from), b = rgbToLab(to);
    return labToRgb(a.map((v, i) => v + (b[i] - v) * t));
  }
  const clamp01 = (t) => Math.min(1, Math.max(0, t));

  // CircuitsVis's scale: v >= 0 goes from white (0) to the positive colour (max_value), v < 0 from
  // white to the negative colour (min_value).
  // The mix is tabulated in 1024 steps per side: a big heatmap draws each cell from a table.
  function colorScale({ min_value, max_value, positive_color, negative_color }) {
    const STEPS = 1024, white = [255, 255, 255];
    const table = (color) => Array.from({ length: STEPS + 1 }, (_, k) => mix(color, white, k / STEPS));
    const positive = table(parseColor(positive_color)), negative = table(parseColor(negative_color));
    const at = (side, t) => side[Math.round(clamp01(t) * STEPS)];
    return (v) => (v >= 0 ? at(positive, 1 - v / max_value) : at(negative, 1 - v / min_value));
  }
  const MASK_COLOR = [200, 200, 200];
  const rgbCss = (c) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
  const textColorOn = (c) => ((c[0] * 299 + c[1] * 587 + c[2] * 114) / 1000 / 255 < 0.6 ? "#fff" : "#1f2328");

  // One tooltip per page. rows: [label, text, isToken].
  const tooltip = el("div", "tlens-tooltip");
  tooltip.id = "tlens-tooltip";
  tooltip.hidden = true;
  document.body.appendChild(tooltip);
  function showTooltip(title, rows, clientX, clientY) {
    tooltip.replaceChildren();
    if (title !== null) tooltip.appendChild(el("div", "tt-title", title));
    const table = el("table");
    for (const [label, text, isToken] of rows) {
      const tr = el("tr");
      tr.appendChild(el("th", "", label));
      const td = el("td");
      td.appendChild(el("span", isToken ? "chip" : "", text));
      tr.appendChild(td);
      table.appendChild(tr);
    }
    tooltip.appendChild(table);
    tooltip.hidden = false;
    const box = tooltip.getBoundingClientRect();
    let x = clientX + 14, y = clientY + 14;
    if (x + box.width > window.innerWidth - 4) x = Math.max(4, clientX - box.width - 14);
    if (y + box.height > window.innerHeight - 4) y = Math.max(4, clientY - box.height - 14);
    tooltip.style.left = `${x}px`;
    tooltip.style.top = `${y}px`;
  }
  const hideTooltip = () => { tooltip.hidden = true; };

  // Cell size in CSS pixels for a large n x n heatmap: about 600px wide, cells 2..32px.
  const bigCell = (n) => Math.max(2, Math.min(32, Math.floor(600 / n)));

  // A [dest, src] heatmap on a canvas. Returns { root, canvas, draw(values) }; with `tooltip`,
  // hovering a cell shows (dest, src), both tokens and the value.
  function heatmap({ tokens, cell, labels, mask, scale, tooltip: withTooltip, gap }) {
    const n = tokens.length;
    const box = el("div", "hm");
    box.style.setProperty("--cell", `${cell}px`);
    const plot = el("div", "hm-plot");
    const canvas = el("canvas", "hm-canvas");
    const cursor = el("div", "hm-cursor");
    plot.append(canvas, cursor);
    box.appendChild(plot);
    canvas.dataset.rows = n;
    canvas.dataset.cols = n;
    if (labels) {
      // With small cells, one label per `every` tokens, each spanning its block of cells.
      const every = Math.ceil(11 / cell);
      const fontSize = Math.min(12, Math.max(8, cell - 2));
      const ylabels = el("div", "hm-ylabels"), xlabels = el("div", "hm-xlabels");
      for (let i = 0; i < n; i += every) {
        const text = `${display(tokens[i])} (${i})`, span = `${Math.min(every, n - i) * cell}px`;
        for (const axis of [ylabels, xlabels]) {
          const label = el("div", "hm-label", text);
          label.title = text;
          label.style.fontSize = `${fontSize}px`;
          label.style.lineHeight = `${Math.max(cell, fontSize + 2)}px`;
          if (axis === ylabels) label.style.height = span; else label.style.width = span;
          axis.appendChild(label);
        }
      }
      box.append(el("div", "hm-ytitle", "Destination Token"), ylabels, xlabels,
                 el("div", "hm-xtitle", "Source Token"));
    }
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(n * cell * dpr);
    canvas.height = canvas.width;
    canvas.style.width = canvas.style.height = `${n * cell}px`;
    const ctx = canvas.getContext("2d");
    const g = gap ? Math.max(1, Math.round(dpr)) : 0;
    let values = null;
    const masked = (dest, src) => mask && src > dest;
    // Pixels are written directly (not fillRect per cell): 12 heads of 400 tokens draw at once.
    const edges = Array.from({ length: n + 1 }, (_, k) => Math.round(k * cell * dpr));
    function draw(v) {
      values = v;
      const width = canvas.width, image = ctx.createImageData(width, canvas.height), px = image.data;
      px.fill(255);  // white, opaque: the gaps between cells
      for (let dest = 0; dest < n; ++dest) {
        for (let src = 0; src < n; ++src) {
          const [r, gr, b] = masked(dest, src) ? MASK_COLOR : scale(v[dest * n + src]);
          for (let y = edges[dest]; y < edges[dest + 1] - g; ++y) {
            for (let x = edges[src], at = 4 * (y * width + x); x < edges[src + 1] - g; ++x, at += 4) {
              px[at] = r; px[at + 1] = gr; px[at + 2] = b;
            }
          }
        }
      }
      ctx.putImageData(image, 0, 0);
    }
    if (withTooltip) {
      canvas.addEventListener("mousemove", (e) => {
        const r = canvas.getBoundingClientRect();
        const src = Math.min(n - 1, Math.max(0, Math.floor((e.clientX - r.left) / r.width * n)));
        const dest = Math.min(n - 1, Math.max(0, Math.floor((e.clientY - r.top) / r.height * n)));
        Object.assign(cursor.style, { display: "block", left: `${src * cell}px`, top: `${dest * cell}px`,
                                      width: `${cell}px`, height: `${cell}px` });
        showTooltip(`(${dest}, ${src})`, [
          ["Src", display(tokens[src]), true],
          ["Dest", display(tokens[dest]), true],
          ["Value", masked(dest, src) ? "N/A" : fmt(values[dest * n + src]), false],
        ], e.clientX, e.clientY);
      });
      canvas.addEventListener("mouseleave", () => { cursor.style.display = "none"; hideTooltip(); });
    }
    return { root: box, canvas, draw };
  }

  if (data.title) {
    root.appendChild(el("h2", "tlens-title", data.title));
    document.title = data.title;
  }

  return { data, root, el, display, fmt, parseColor, mix, colorScale, MASK_COLOR, rgbCss, textColorOn,
           showTooltip, hideTooltip, bigCell, heatmap };
})();
window.tlens = tlens;
