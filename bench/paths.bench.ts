// The diagnosis through transmission paths the recordings were not made through: CWRU's records
// with a stated speed (12 kHz drive and fan end, 48 kHz drive end), each passed through a filter
// that another machine's housing, mounting or sensor could put between the bearing and the
// firmware, or buried in white noise, then replayed through the release firmware with the
// manifest's speed and without it.
//
//   high-passed at 1 kHz   a fourth-order Butterworth high-pass: the shaft's lines (30 Hz) are
//                          80 dB down, as on a machine whose housing carries little of them or
//                          behind a sensor coupled for high frequencies only. The bearing's
//                          impacts ring above it, untouched: the envelope sees what it saw.
//   low-passed at 2.5 kHz  a fourth-order Butterworth low-pass: the resonances the records ring
//                          at (3 to 5 kHz at 12 kHz, higher at 48 kHz) are gone or 20 dB down.
//   resonance at 1.2 kHz   a +20 dB peak (Q 4) where the records ring at nothing: a structure
//                          that rings elsewhere than CWRU's.
//   noise 0 dB, -10 dB     white noise of the record's own RMS, and of three times it.
//
// The filters: simulator/replay/paths.ts, run forwards once (causal, as a sensor's path is); after
// each, the sensor's own noise floor (1.5 µg/√Hz), which the band a filter empties would hold.
// Without it that band holds the float32 rounding of what the filter kept, a function of the
// machine's low-frequency lines, which no sensor gives. The noise comes from a fixed seed. A path that takes the evidence away may
// leave a record unnamed; what must not happen is a confident wrong race.
// Run: npx tsx bench/paths.bench.ts [--data ../shared/data] [--image build/firmware.wasm]

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { compileFirmware } from "../host/runtime/firmware.js";
import { replay, readRecording } from "../simulator/replay/replay.js";
import { geometryOf, parseRecordsManifest } from "../simulator/replay/recordings.js";
import { Random } from "../simulator/physics/random.js";
import { highPass, lowPass, resonance, addSensorNoise } from "../simulator/replay/paths.js";

const { values } = parseArgs({
  options: { data: { type: "string", default: "../shared/data" }, image: { type: "string", default: "build/firmware.wasm" } },
});
const EXPECTED: Record<string, string> = { normal: "none", inner: "inner_race", outer: "outer_race", ball: "rolling_element" };
const OTHER_RACE: Record<string, string> = { inner: "outer_race", outer: "inner_race" };
const NOISE_SEED = 7;

function rms(x: Float32Array): number {
  let sum = 0;
  for (const v of x) sum += v * v;
  return Math.sqrt(sum / x.length);
}

function withNoise(x: Float32Array, share: number, random: Random): Float32Array {
  const noise = new Float64Array(x.length);
  random.normals(noise, x.length, share * rms(x));
  return x.map((v, i) => v + noise[i]);
}

const PATHS: Array<{ name: string; apply: (x: Float32Array, rateHz: number, random: Random) => Float32Array }> = [
  { name: "as recorded", apply: (x) => x },
  { name: "high-passed at 1 kHz", apply: (x, fs, random) => addSensorNoise(highPass(x, fs, 1000), fs, random) },
  { name: "low-passed at 2.5 kHz", apply: (x, fs, random) => addSensorNoise(lowPass(x, fs, 2500), fs, random) },
  { name: "resonance at 1.2 kHz", apply: (x, fs, random) => addSensorNoise(resonance(x, fs, 1200, 4, 20), fs, random) },
  { name: "noise 0 dB", apply: (x, _fs, random) => withNoise(x, 1, random) },
  { name: "noise -10 dB", apply: (x, _fs, random) => withNoise(x, 3, random) },
];

const cwruDir = path.join(values.data!, "cwru");
const manifest = parseRecordsManifest(path.join(cwruDir, "manifest.json"), JSON.parse(fs.readFileSync(path.join(cwruDir, "manifest.json"), "utf8")));
const records = manifest.records.filter((r) => r.shaft_rpm !== null);
const firmware = await compileFirmware(new Uint8Array(fs.readFileSync(values.image!)));
const started = performance.now();

console.log(`transmission paths: CWRU's ${records.length} records with a stated speed through each path; ${values.image}`);
console.log("  per path and mode: records right by label, race records called the other race (and which)");
for (const p of PATHS) {
  for (const mode of ["rpm given", "rpm measured"] as const) {
    const right: Record<string, [number, number]> = {};
    const otherRace: string[] = [];
    const random = new Random(NOISE_SEED);
    for (const record of records) {
      const samples = p.apply(readRecording(path.join(cwruDir, record.file)), record.sample_rate_hz, random);
      const result = await replay(samples, {
        rateHz: record.sample_rate_hz, window: 4096, firmware, geometry: geometryOf(manifest.bearings[record.bearing]),
        ...(mode === "rpm given" ? { rpm: record.shaft_rpm! } : {}),
      });
      const verdict = result.summary.fault;
      right[record.label] ??= [0, 0];
      right[record.label][1]++;
      if (verdict === EXPECTED[record.label]) right[record.label][0]++;
      if (OTHER_RACE[record.label] === verdict) otherRace.push(String(record.record));
    }
    const total = Object.values(right).reduce((sum, [r, n]) => [sum[0] + r, sum[1] + n], [0, 0]);
    const labels = Object.entries(right).map(([label, [r, n]]) => `${label} ${r}/${n}`).join(", ");
    console.log(`  ${p.name.padEnd(22)} ${mode.padEnd(12)}  right ${String(total[0]).padStart(2)} of ${total[1]} (${labels}); other race ${otherRace.length}${otherRace.length > 0 ? ` (${otherRace.join(" ")})` : ""}`);
  }
}
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
