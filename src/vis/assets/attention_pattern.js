const { data, root } = tlens;
const n = data.tokens.length;
const cell = tlens.bigCell(n);
const map = tlens.heatmap({ tokens: data.tokens, cell, labels: data.options.show_axis_labels,
                            mask: data.options.mask_upper_tri, scale: tlens.colorScale(data.options),
                            tooltip: true, gap: cell >= 12 });
map.draw(data.pattern);
root.appendChild(map.root);
window.tlensView = { heatmaps: [map], colorOf: tlens.colorScale(data.options) };
