// The console's charts, drawn as SVG: a trend over time, and a spectrum with marked lines.

const NS = "http://www.w3.org/2000/svg";
const WIDTH = 460;
const HEIGHT = 130;
const PAD = { left: 44, right: 8, top: 16, bottom: 20 };

function el(name, attributes, text) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function niceLabel(value) {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  return magnitude >= 100 ? value.toFixed(0) : magnitude >= 1 ? value.toFixed(1) : value.toPrecision(2);
}

/** A frame: title, axes and a y range; returns the svg and x/y scalers. */
function frame(title, xs, ys) {
  const svg = el("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart", role: "img", "aria-label": title });
  const [x0, x1] = xs;
  const [y0, y1] = ys;
  const sx = (x) => PAD.left + ((x - x0) / (x1 - x0 || 1)) * (WIDTH - PAD.left - PAD.right);
  const sy = (y) => HEIGHT - PAD.bottom - ((y - y0) / (y1 - y0 || 1)) * (HEIGHT - PAD.top - PAD.bottom);
  svg.append(el("text", { x: PAD.left, y: 11, class: "chart-title" }, title));
  svg.append(el("line", { x1: PAD.left, y1: HEIGHT - PAD.bottom, x2: WIDTH - PAD.right, y2: HEIGHT - PAD.bottom, class: "axis" }));
  svg.append(el("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: HEIGHT - PAD.bottom, class: "axis" }));
  svg.append(el("text", { x: PAD.left - 4, y: sy(y1) + 4, class: "tick", "text-anchor": "end" }, niceLabel(y1)));
  svg.append(el("text", { x: PAD.left - 4, y: sy(y0), class: "tick", "text-anchor": "end" }, niceLabel(y0)));
  return { svg, sx, sy };
}

function range(values) {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    low = Math.min(low, v);
    high = Math.max(high, v);
  }
  if (low === Infinity) return [0, 1];
  if (low === high) return [low - 0.5, high + 0.5];
  return [Math.min(0, low), high];
}

/** A trend: `times` (Unix s) against `values` (null: no value), x labelled in days from the first. */
export function trendChart(title, times, values, color) {
  const xs = times.length > 1 ? [times[0], times.at(-1)] : [0, 1];
  const { svg, sx, sy } = frame(title, xs, range(values));
  let path = "";
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) return;
    path += `${path === "" ? "M" : "L"}${sx(times[i]).toFixed(1)},${sy(v).toFixed(1)}`;
  });
  svg.append(el("path", { d: path, class: "series", stroke: color }));
  if (times.length > 1) {
    const days = (times.at(-1) - times[0]) / 86400;
    svg.append(el("text", { x: WIDTH - PAD.right, y: HEIGHT - 6, class: "tick", "text-anchor": "end" }, `${days.toFixed(1)} d`));
  }
  return svg;
}

/** A spectrum up to `maxHz`: `values` per bin of `binHz` (bin k at k × binHz), with `marks`
 *  [{hz, label}] drawn as lines. */
export function spectrumChart(title, spectrum, maxHz, marks, color) {
  const bins = Math.min(spectrum.values.length, Math.floor(maxHz / spectrum.binHz) + 1);
  const shown = Array.from(spectrum.values.subarray(1, bins));
  const { svg, sx, sy } = frame(title, [0, maxHz], [0, Math.max(...shown, 1e-12)]);
  for (const mark of marks) {
    if (mark.hz <= 0 || mark.hz > maxHz) continue;
    svg.append(el("line", { x1: sx(mark.hz), x2: sx(mark.hz), y1: PAD.top, y2: HEIGHT - PAD.bottom, class: "mark" }));
    svg.append(el("text", { x: sx(mark.hz) + 2, y: PAD.top + 8, class: "tick" }, mark.label));
  }
  let path = "";
  shown.forEach((a, i) => { path += `${i === 0 ? "M" : "L"}${sx((i + 1) * spectrum.binHz).toFixed(1)},${sy(a).toFixed(1)}`; });
  svg.append(el("path", { d: path, class: "series", stroke: color }));
  svg.append(el("text", { x: WIDTH - PAD.right, y: HEIGHT - 6, class: "tick", "text-anchor": "end" }, `${maxHz.toFixed(0)} Hz`));
  return svg;
}
