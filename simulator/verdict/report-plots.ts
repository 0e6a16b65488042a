// The HTML report's figures, inline SVG: per pump its features over simulated time on a shared
// axis with the diagnosis strip under them and the fault's onset, failure and detection marked;
// the fleet's diagnosis strips; every series thinned to a bound. Names are escaped here too.

import { timeOrdered, type TimeOrdered } from "../../operator/telemetry-log.js";
import type { ReportInput } from "./findings.js";

export const DAY_MS = 86_400_000;
/** Points per plotted series at most: a bucket's minimum and maximum for half as many buckets. */
export const SERIES_POINTS_MAX = 500;
/** Cells of a diagnosis strip at most. */
const STRIP_CELLS_MAX = 400;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "#39" }[c]};`);
}
export const h = escapeHtml;

/** Colours of the diagnoses, in the strips and the legend; the envelope lines share them. */
const FAULT_COLOURS: Record<string, string> = {
  none: "#cfe8c9", unknown: "#b9b9b9", outer_race: "#d62728", inner_race: "#ff7f0e", rolling_element: "#9467bd",
  cavitation: "#1f77b4", imbalance: "#8c564b", misalignment: "#e377c2", sensor_fault: "#17becf",
};
const OTHER_COLOUR = "#444444";
export const colour = (fault: string): string => FAULT_COLOURS[fault] ?? OTHER_COLOUR;

export type Pump = ReportInput["pumps"][number];
export interface TimeAxis { fromMs: number; toMs: number }

export function packsOf(run: ReportInput, device: string): TimeOrdered {
  return timeOrdered(run.collector.devices.get(device)?.telemetry ?? []);
}

export type Point = [number, number];
interface Series { name: string; colour: string; points: Point[] }
export interface Panel { title: string; lines: Series[]; fixed?: [number, number] }
export interface Marker { ms: number; kind: "onset" | "failure" | "detect"; label: string; title: string }

const PLOT_W = 640;
const LEFT = 54;
const RIGHT = 20;
const PANEL_H = 74;
const PANEL_GAP = 18;
const STRIP_H = 14;
const AXIS_H = 18;

/** One figure per pump: the panels stacked on a shared time axis, the diagnosis strip under them. */
export function pumpPlot(panels: Panel[], markers: Marker[], strip: Cell[], x: TimeAxis): string {
  const innerW = PLOT_W - LEFT - RIGHT;
  const px = (ms: number): number => LEFT + ((ms - x.fromMs) / (x.toMs - x.fromMs)) * innerW;
  const top = 22;
  const stripY = top + panels.length * (PANEL_H + PANEL_GAP);
  const height = stripY + STRIP_H + AXIS_H;
  const out: string[] = [`<svg class="plot" viewBox="0 0 ${PLOT_W} ${height}" role="img">`];
  panels.forEach((panel, i) => {
    const y0 = top + i * (PANEL_H + PANEL_GAP);
    const values = panel.lines.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
    const [low, high] = panel.fixed ?? [0, niceCeiling(values.length > 0 ? Math.max(...values) : 1)];
    const py = (v: number): number => y0 + PANEL_H - ((v - low) / (high - low || 1)) * PANEL_H;
    out.push(`<rect class="panel" x="${LEFT}" y="${y0}" width="${innerW}" height="${PANEL_H}"/>`);
    for (const v of [low, (low + high) / 2, high]) {
      out.push(`<line class="grid" x1="${LEFT}" x2="${LEFT + innerW}" y1="${f1(py(v))}" y2="${f1(py(v))}"/><text class="tick" x="${LEFT - 4}" y="${f1(py(v) + 3)}" text-anchor="end">${figure(v)}</text>`);
    }
    for (const s of panel.lines) {
      const d = pathOf(decimate(s.points), px, py);
      if (d !== "") out.push(`<path class="line" stroke="${s.colour}" d="${d}"><title>${h(s.name)}</title></path>`);
    }
    out.push(`<text class="ptitle" x="${LEFT}" y="${y0 - 5}">${h(panel.title)}</text>`);
  });
  for (const cell of strip) {
    out.push(`<rect x="${f1(px(cell.fromMs))}" y="${stripY}" width="${f1(Math.max(px(cell.toMs) - px(cell.fromMs), 0.6))}" height="${STRIP_H}" fill="${colour(cell.fault)}"><title>${h(cell.fault)}</title></rect>`);
  }
  out.push(`<rect class="frame" x="${LEFT}" y="${stripY}" width="${innerW}" height="${STRIP_H}"/><text class="tick" x="${LEFT - 4}" y="${stripY + 10}" text-anchor="end">diagnosis</text>`);
  for (const m of markers) {
    if (m.ms < x.fromMs || m.ms > x.toMs) continue;
    const mx = f1(px(m.ms));
    out.push(`<g><title>${h(m.title)}</title><line class="m-${m.kind}" x1="${mx}" x2="${mx}" y1="${top - 14}" y2="${stripY + STRIP_H}"/><text class="mlabel m-${m.kind}-t" x="${mx}" y="${top - 15}" text-anchor="middle">${m.label}</text></g>`);
  }
  out.push(timeTicks(x, px, stripY + STRIP_H));
  out.push(`</svg>`);
  return out.join("");
}

export function fleetStrips(run: ReportInput, pumps: readonly Pump[], x: TimeAxis): string {
  const rowH = 11;
  const labelW = 64;
  const innerW = PLOT_W * 1.5 - labelW - RIGHT;
  const width = labelW + innerW + RIGHT;
  const px = (ms: number): number => labelW + ((ms - x.fromMs) / (x.toMs - x.fromMs)) * innerW;
  const height = pumps.length * (rowH + 2) + AXIS_H;
  const out: string[] = [`<svg class="fleet" viewBox="0 0 ${width} ${height}" role="img">`];
  pumps.forEach((pump, i) => {
    const y = i * (rowH + 2);
    out.push(`<text class="tick" x="${labelW - 4}" y="${y + rowH - 2}" text-anchor="end"><a href="#${anchor(pump.device)}">${h(pump.device)}</a></text>`);
    for (const cell of diagnoses(packsOf(run, pump.device))) {
      out.push(`<rect x="${f1(px(cell.fromMs))}" y="${y}" width="${f1(Math.max(px(cell.toMs) - px(cell.fromMs), 0.6))}" height="${rowH}" fill="${colour(cell.fault)}"/>`);
    }
    for (const d of pump.degradations) {
      if (d.onsetMs <= x.toMs) out.push(`<line class="m-onset" x1="${f1(px(d.onsetMs))}" x2="${f1(px(d.onsetMs))}" y1="${y}" y2="${y + rowH}"/>`);
      if (d.failureMs <= x.toMs) out.push(`<line class="m-failure" x1="${f1(px(d.failureMs))}" x2="${f1(px(d.failureMs))}" y1="${y}" y2="${y + rowH}"/>`);
    }
  });
  out.push(timeTicks(x, px, pumps.length * (rowH + 2)));
  out.push(`</svg>`);
  return out.join("");
}

export interface Cell { fromMs: number; toMs: number; fault: string }

/** The diagnosis per window, as at most STRIP_CELLS_MAX cells (each the most frequent
 *  diagnosis of its stretch of time), adjacent equal cells merged. */
export function diagnoses(packs: TimeOrdered): Cell[] {
  if (packs.length === 0) return [];
  const windowMs = packs.length > 1 ? (packs.time(packs.length - 1) - packs.time(0)) * 1000 / (packs.length - 1) : 60_000;
  const cells: Cell[] = [];
  const per = Math.ceil(packs.length / STRIP_CELLS_MAX);
  for (let i = 0; i < packs.length; i += per) {
    const end = Math.min(i + per, packs.length);
    const counts = new Map<string, number>();
    for (let j = i; j < end; j++) {
      const fault = packs.text(j, "fault") ?? "?";
      counts.set(fault, (counts.get(fault) ?? 0) + 1);
    }
    const fault = [...counts].sort((a, b) => b[1] - a[1])[0][0];
    const fromMs = packs.time(i) * 1000;
    const toMs = packs.time(end - 1) * 1000 + windowMs;
    const last = cells.at(-1);
    if (last !== undefined && last.fault === fault && fromMs - last.toMs < windowMs * 1.5) last.toMs = toMs;
    else cells.push({ fromMs, toMs, fault });
  }
  return cells;
}

/** At most SERIES_POINTS_MAX points: per stretch of time its lowest and highest point, in time order. */
export function decimate(points: readonly Point[]): Point[] {
  const finite = points.filter((p) => Number.isFinite(p[1]));
  if (finite.length <= SERIES_POINTS_MAX) return finite;
  const buckets = SERIES_POINTS_MAX / 2;
  const out: Point[] = [];
  for (let b = 0; b < buckets; b++) {
    const group = finite.slice(Math.floor((b * finite.length) / buckets), Math.floor(((b + 1) * finite.length) / buckets));
    if (group.length === 0) continue;
    let low = group[0];
    let high = group[0];
    for (const p of group) {
      if (p[1] < low[1]) low = p;
      if (p[1] > high[1]) high = p;
    }
    if (low === high) out.push(low);
    else out.push(...(low[0] <= high[0] ? [low, high] : [high, low]));
  }
  return out;
}

function pathOf(points: readonly Point[], px: (ms: number) => number, py: (v: number) => number): string {
  return points.map((p, i) => `${i === 0 ? "M" : "L"}${f1(px(p[0]))} ${f1(py(p[1]))}`).join("");
}

function timeTicks(x: TimeAxis, px: (ms: number) => number, y: number): string {
  const spanDays = (x.toMs - x.fromMs) / DAY_MS;
  const steps = [1 / 24, 3 / 24, 6 / 24, 12 / 24, 1, 2, 5, 7, 14, 30, 60, 90, 180, 365];
  const step = steps.find((s) => spanDays / s <= 12) ?? 365;
  const out: string[] = [];
  for (let t = 0; t <= spanDays + 1e-9; t += step) {
    const tx = f1(px(x.fromMs + t * DAY_MS));
    const label = step < 1 ? `${Math.round(t * 24)} h` : `day ${Math.round(t)}`;
    out.push(`<line class="axis" x1="${tx}" x2="${tx}" y1="${y}" y2="${y + 4}"/><text class="tick" x="${tx}" y="${y + 14}" text-anchor="middle">${label}</text>`);
  }
  return out.join("");
}

export function legend(): string {
  return Object.keys(FAULT_COLOURS).map((fault) => `${swatch(fault)}${fault}`).join(" ") +
    ` <span class="m onset">P</span> onset <span class="m failure">F</span> failure`;
}

export const swatch = (fault: string): string => `<span class="sw" style="background:${colour(fault)}"></span>`;
export const anchor = (device: string): string => `pump-${encodeURIComponent(device).replace(/[^A-Za-z0-9_-]/g, "_")}`;
const f1 = (v: number): string => (Math.round(v * 10) / 10).toString();

function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= value) ?? 10) * magnitude;
}

function figure(value: number): string {
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) < 100) return String(Number(value.toPrecision(3)));
  const magnitude = Math.abs(value);
  return magnitude >= 100 ? value.toFixed(0) : magnitude >= 10 ? value.toFixed(1) : magnitude >= 0.1 ? value.toFixed(2) : value.toPrecision(2);
}
