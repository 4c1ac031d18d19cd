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
