// The firmware beside the textbook: every labelled record of a data folder (as `impeller validate`
// reads it: ../shared/data, or another rig's folder with a manifest.json) diagnosed window by
// window by the release firmware with the manifest's speed, and by the textbook envelope method a
// reader would try first: one fixed band (2 kHz to 8 kHz, or to 0.4 of the rate where that is
// lower: what an anti-alias filter passes), its squared envelope's spectrum in the same window,
// and the defect whose first three harmonics stand highest over the spectrum's median named,
// nothing tuned. The textbook has no "none": it names a defect in every window, a healthy
// machine's too, so it is a ceiling on how often a forced choice names the race, not a
// diagnosis; the firmware must also leave a healthy bearing and noise unnamed (a finding's
// false-finding probability, firmware/ANALYSIS.md §5). Where the textbook names a labelled
// race in far more windows than the firmware, the firmware leaves evidence unused there; that
// is the figure to look at on a rig no record here came from.
// Run: npx tsx bench/textbook.bench.ts [DIR] [--only SET] [--window 4096] [--image build/firmware.wasm]

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { compileFirmware } from "../host/runtime/firmware.js";
import { readRecording, verdictOf } from "../simulator/replay/replay.js";
import { dataSets, geometryOf, parseRecordsManifest, DATA_DIR_DEFAULT, LABELS, WINDOW_DEFAULT, type LabelledRecord } from "../simulator/replay/recordings.js";
import { bearingOrders } from "../simulator/physics/pump-params.js";
import { validate, groupName, RIGHT_FAULT } from "../simulator/verdict/validation.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { only: { type: "string" }, window: { type: "string" }, image: { type: "string", default: "build/firmware.wasm" } },
});
const dir = path.resolve(positionals[0] ?? DATA_DIR_DEFAULT);
const window = values.window === undefined ? WINDOW_DEFAULT : Number(values.window);
if (!Number.isInteger(window) || window < 256 || (window & (window - 1)) !== 0) throw new Error("--window needs a power of two of 256 samples or more");

/** The textbook's band: 2–8 kHz, the usual fixed choice for rolling-element bearings, cut at 0.4
 *  fs, the highest frequency an anti-alias filter passes flat. */
const BAND_LOW_HZ = 2000;
const BAND_HIGH_HZ = 8000;
const PASSBAND_SHARE = 0.4;
const HARMONICS = 3;
const DEFECTS = ["outer_race", "inner_race", "rolling_element"] as const;
type Defect = (typeof DEFECTS)[number];
const RACES = new Set<string>(["outer_race", "inner_race"]);

/** In-place iterative radix-2 FFT of re/im (length a power of two); inverse when `sign` is +1. */
function fft(re: Float64Array, im: Float64Array, sign: -1 | 1): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(angle);
    const wi = Math.sin(angle);
    for (let start = 0; start < n; start += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len >> 1; k++) {
        const a = start + k;
        const b = a + (len >> 1);
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
        const next = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = next;
      }
    }
  }
}

/** The textbook's defect in one window: the squared envelope of the band (its analytic signal by
 *  FFT), mean removed, Hann-windowed, its amplitude spectrum; each defect's score the sum over
 *  its first three harmonics of the largest bin within ±1 bin of h × its frequency over the
 *  spectrum's median up to past the highest harmonic sought. */
function textbookDefect(samples: Float32Array, rateHz: number, frequencies: Record<Defect, number>): Defect | null {
  const n = samples.length;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += samples[i];
  mean /= n;
  for (let i = 0; i < n; i++) re[i] = samples[i] - mean;
  fft(re, im, -1);
  const binHz = rateHz / n;
  const low = Math.ceil(BAND_LOW_HZ / binHz);
  const high = Math.floor(Math.min(BAND_HIGH_HZ, PASSBAND_SHARE * rateHz) / binHz);
  if (high <= low) return null;
  for (let k = 0; k < n; k++) {
    const keep = k >= low && k <= high ? 2 : 0;
    re[k] *= keep;
    im[k] *= keep;
  }
  fft(re, im, 1);
  const envelope = new Float64Array(n);
  let envelopeMean = 0;
  for (let i = 0; i < n; i++) {
    envelope[i] = (re[i] * re[i] + im[i] * im[i]) / (n * n);
    envelopeMean += envelope[i];
  }
  envelopeMean /= n;
  for (let i = 0; i < n; i++) {
    re[i] = (envelope[i] - envelopeMean) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
    im[i] = 0;
  }
  fft(re, im, -1);
  const amplitude = (k: number): number => Math.hypot(re[k], im[k]);
  const top = Math.max(...DEFECTS.map((d) => frequencies[d]));
  const last = Math.min(n >> 1, Math.ceil(((HARMONICS + 0.5) * top) / binHz));
  if (last < 4) return null;
  const spread = Array.from({ length: last - 1 }, (_, i) => amplitude(i + 1)).sort((a, b) => a - b);
  const median = spread[spread.length >> 1];
  if (!(median > 0)) return null;
  let best: Defect | null = null;
  let bestScore = -Infinity;
  for (const defect of DEFECTS) {
    let score = 0;
    for (let h = 1; h <= HARMONICS; h++) {
      const at = Math.round((h * frequencies[defect]) / binHz);
      let peak = 0;
      for (let k = Math.max(1, at - 1); k <= Math.min(n >> 1, at + 1); k++) peak = Math.max(peak, amplitude(k));
      score += peak / median;
    }
    if (score > bestScore) {
      bestScore = score;
      best = defect;
    }
  }
  return best;
}

interface Tally { records: number; textbookRight: number; firmwareRight: number; windows: number; textbookWindows: number; firmwareWindows: number; textbookOther: number; firmwareOther: number }
const tallies = new Map<string, Tally>();
const tally = (key: string): Tally => {
  let t = tallies.get(key);
  if (t === undefined) tallies.set(key, (t = { records: 0, textbookRight: 0, firmwareRight: 0, windows: 0, textbookWindows: 0, firmwareWindows: 0, textbookOther: 0, firmwareOther: 0 }));
  return t;
};

const started = performance.now();
const firmware = await compileFirmware(new Uint8Array(fs.readFileSync(values.image!)));
const report = await validate({ dir, only: values.only, window, firmware });
const firmwareRuns = new Map((report.records?.runs ?? []).filter((r) => r.mode === "with_rpm").map((r) => [`${r.set}/${r.file}`, r]));
const sets = dataSets(dir).filter((set) => values.only === undefined || set.name === values.only);
const named = sets.length > 1;
const perRecord: string[] = [];
for (const set of sets) {
  const manifestJson = JSON.parse(fs.readFileSync(set.manifest, "utf8")) as Record<string, unknown>;
  if (manifestJson.records === undefined) continue;
  const manifest = parseRecordsManifest(set.manifest, manifestJson, set.name);
  for (const record of manifest.records as LabelledRecord[]) {
    const right = RIGHT_FAULT[record.label as keyof typeof RIGHT_FAULT];
    const ours = firmwareRuns.get(`${set.name}/${record.file}`);
    if (record.shaft_rpm === null || right === undefined || ours === undefined || ours.error !== null) continue;
    const samples = readRecording(path.join(set.dir, record.file));
    const shaftHz = record.shaft_rpm / 60;
    // An element's defect strikes both races once a spin: twice BSF.
    const orders = bearingOrders(geometryOf(manifest.bearings[record.bearing]));
    const frequencies: Record<Defect, number> = { outer_race: orders.bpfo * shaftHz, inner_race: orders.bpfi * shaftHz, rolling_element: 2 * orders.bsf * shaftHz };
    const byFault: Record<string, number> = {};
    let windows = 0;
    for (let start = 0; start + window <= samples.length; start += window) {
      const defect = textbookDefect(samples.subarray(start, start + window), record.sample_rate_hz, frequencies) ?? "none";
      byFault[defect] = (byFault[defect] ?? 0) + 1;
      windows++;
    }
    const key = `${groupName(record.sample_rate_hz, record.sensor, named ? set.name : null)}|${record.label}`;
    const t = tally(key);
    const all = tally(`all records|${record.label}`);
    const other = (counts: Record<string, number>): number =>
      RACES.has(right) ? Object.entries(counts).filter(([f]) => RACES.has(f) && f !== right).reduce((s, [, c]) => s + c, 0) : 0;
    for (const x of [t, all]) {
      x.records++;
      x.windows += windows;
      x.textbookWindows += byFault[right] ?? 0;
      x.firmwareWindows += ours.windows_by_fault[right] ?? 0;
      x.textbookRight += verdictOf(byFault, windows) === right ? 1 : 0;
      x.firmwareRight += ours.verdict === right ? 1 : 0;
      x.textbookOther += other(byFault);
      x.firmwareOther += other(ours.windows_by_fault);
    }
    perRecord.push(`  ${String(record.record).padEnd(8)} ${key.replace("|", " ").padEnd(34)} textbook ${verdictOf(byFault, windows).padEnd(15)} ${String(byFault[right] ?? 0).padStart(3)}/${windows}   firmware ${ours.verdict.padEnd(15)} ${String(ours.windows_by_fault[right] ?? 0).padStart(3)}/${ours.windows}`);
  }
}

const pct = (a: number, b: number): string => (b === 0 ? "-" : `${((100 * a) / b).toFixed(0)} %`);
console.log(`The firmware beside the textbook envelope method (one ${BAND_LOW_HZ / 1000}–${BAND_HIGH_HZ / 1000} kHz band, at most ${PASSBAND_SHARE} fs; the defect of the highest three harmonics named, no "none"): ${dir}, ${window}-sample windows, the manifest's speed`);
console.log("right: the label's diagnosis (normal: none; the textbook names a defect in every window of a healthy machine); other race: race windows named the other race");
console.log(`${"group".padEnd(36)}${"label".padEnd(8)}${"records right: textbook / firmware".padStart(36)}${"windows right: textbook / firmware".padStart(40)}${"other race".padStart(16)}`);
const LABEL_ORDER: readonly string[] = LABELS;
const rank = (key: string): [number, number] => {
  const [group, label] = key.split("|");
  const labelRank = LABEL_ORDER.includes(label) ? LABEL_ORDER.indexOf(label) : LABEL_ORDER.length;
  return [group === "all records" ? 1 : 0, labelRank];
};
const groups = [...new Set([...tallies.keys()].map((key) => key.split("|")[0]))];
const ordered = [...tallies].sort(([a], [b]) => rank(a)[0] - rank(b)[0] || groups.indexOf(a.split("|")[0]) - groups.indexOf(b.split("|")[0]) || rank(a)[1] - rank(b)[1]);
for (const [key, t] of ordered) {
  const [group, label] = key.split("|");
  console.log(`${group.padEnd(36)}${label.padEnd(8)}${`${t.textbookRight} / ${t.firmwareRight} of ${t.records}`.padStart(36)}${`${t.textbookWindows} (${pct(t.textbookWindows, t.windows)}) / ${t.firmwareWindows} (${pct(t.firmwareWindows, t.windows)}) of ${t.windows}`.padStart(40)}${`${t.textbookOther} / ${t.firmwareOther}`.padStart(16)}`);
}
console.log("\nper record: verdict and windows right");
for (const line of perRecord) console.log(line);
console.log(`\n${((performance.now() - started) / 1000).toFixed(1)} s`);
