// The diagnosis at sample rates the recordings were not made at: CWRU's 48 kHz drive-end records
// resampled to 20, 24, 25.6 and 32 kHz, and up to 64 and 96 kHz, and its 12 kHz drive-end
// records up to 64 and 96 kHz (a Kaiser-windowed sinc, cut at 0.45 of the lower rate, 100 dB
// down beyond: what an accelerometer's converter at that rate would have passed below the
// firmware's 0.4 fs), replayed through the release firmware with the manifest's speed and
// without it. The same bearings and faults as `impeller validate`'s, but every rate-dependent
// choice of the firmware (window length in seconds, bin spacing, the bands' bank, the spectral
// kurtosis's frames, the envelope stream's decimation and span, the speed stream's) made anew:
// real vibration through the plan a new rate makes, which no record here was tuned on. A rate
// above the recording's leaves the band above its old one empty, which no sensor does: there
// the accelerometer's own noise is added, white at SENSOR_NOISE_G_PER_SQRT_HZ (a 64 or 96 kHz
// acquisition is a piezoelectric sensor's, not the simulator's MEMS one), from a fixed seed.
// The 12 kHz records' content ends at 5.4 kHz: at 96 kHz the firmware must find it under 40 kHz
// of the sensor's noise, as on a machine whose bearing rings low. What the resampling keeps:
// simulator/replay/resample.ts.
// Run: npx tsx bench/resampled.bench.ts [--data ../shared/data] [--image build/firmware.wasm]

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { compileFirmware } from "../host/runtime/firmware.js";
import { replay, readRecording, type ReplayResult } from "../simulator/replay/replay.js";
import { geometryOf, parseRecordsManifest } from "../simulator/replay/recordings.js";
import { resample } from "../simulator/replay/resample.js";
import { Random } from "../simulator/physics/random.js";
import { addSensorNoise, SENSOR_NOISE_G_PER_SQRT_HZ } from "../simulator/replay/paths.js";

const { values } = parseArgs({
  options: { data: { type: "string", default: "../shared/data" }, image: { type: "string", default: "build/firmware.wasm" } },
});
/** New rates as up / down from each source rate. */
const RATES: Record<number, Array<{ name: string; up: number; down: number }>> = {
  48_000: [
    { name: "20 kHz", up: 5, down: 12 }, { name: "24 kHz", up: 1, down: 2 },
    { name: "25.6 kHz", up: 8, down: 15 }, { name: "32 kHz", up: 2, down: 3 },
    { name: "64 kHz", up: 4, down: 3 }, { name: "96 kHz", up: 2, down: 1 },
  ],
  12_000: [{ name: "64 kHz", up: 16, down: 3 }, { name: "96 kHz", up: 8, down: 1 }],
};
const NOISE_SEED = 1;
const EXPECTED: Record<string, string> = { normal: "none", inner: "inner_race", outer: "outer_race", ball: "rolling_element" };
const RACES = new Set(["inner_race", "outer_race"]);

const cwruDir = path.join(values.data!, "cwru");
const manifest = parseRecordsManifest(path.join(cwruDir, "manifest.json"), JSON.parse(fs.readFileSync(path.join(cwruDir, "manifest.json"), "utf8")));
const records = manifest.records.filter((r) => RATES[r.sample_rate_hz] !== undefined && r.sensor === "drive_end" && r.shaft_rpm !== null)
  .sort((a, b) => b.sample_rate_hz - a.sample_rate_hz);
const random = new Random(NOISE_SEED);

/** `samples` (at `fromHz`) at up / down times the rate, with the sensor's noise when the rate rises. */
function atRate(samples: Float32Array, fromHz: number, up: number, down: number): Float32Array {
  const x = resample(samples, up, down);
  if (up <= down) return x;
  return addSensorNoise(x, (fromHz * up) / down, random);
}
const firmware = await compileFirmware(new Uint8Array(fs.readFileSync(values.image!)));

interface Tally { records: number; right: number; windows: number; windowsRight: number; otherRace: number; speedWithin: number; speedRuns: number }
const tallies = new Map<string, Tally>();
const lines: string[] = [];
const started = performance.now();
for (const record of records) {
  const samples = readRecording(path.join(cwruDir, record.file));
  const geometry = geometryOf(manifest.bearings[record.bearing]);
  const expected = EXPECTED[record.label];
  const verdicts: string[] = [];
  for (const rate of RATES[record.sample_rate_hz]) {
    const rateHz = (record.sample_rate_hz * rate.up) / rate.down;
    const x = atRate(samples, record.sample_rate_hz, rate.up, rate.down);
    for (const mode of ["rpm given", "rpm measured"] as const) {
      const result: ReplayResult = await replay(x, { rateHz, window: 4096, firmware, geometry, ...(mode === "rpm given" ? { rpm: record.shaft_rpm! } : {}) });
      const key = `${record.sample_rate_hz / 1000} kHz to ${rate.name}|${mode}`;
      const t = tallies.get(key) ?? { records: 0, right: 0, windows: 0, windowsRight: 0, otherRace: 0, speedWithin: 0, speedRuns: 0 };
      t.records++;
      if (result.summary.fault === expected) t.right++;
      t.windows += result.windows.length;
      t.windowsRight += result.windows.filter((w) => w.fault === expected).length;
      if (RACES.has(expected)) t.otherRace += result.windows.filter((w) => RACES.has(w.fault) && w.fault !== expected).length;
      if (mode === "rpm measured") {
        const speeds = result.windows.filter((w) => w.features.shaft_conf > 0).map((w) => w.features.shaft_hz).sort((p, q) => p - q);
        if (speeds.length > 0) {
          t.speedRuns++;
          const median = speeds[speeds.length >> 1];
          if (Math.abs(median / (record.shaft_rpm! / 60) - 1) <= 0.005) t.speedWithin++;
        }
      }
      tallies.set(key, t);
      verdicts.push(result.summary.fault === expected ? "+" : result.summary.fault.slice(0, 5));
    }
  }
  lines.push(`  ${record.file.padEnd(26)} ${verdicts.map((v, i) => (i % 2 === 0 ? v.padStart(6) + "/" : v.padEnd(6))).join("")}`);
}
const sources = Object.keys(RATES).map(Number).sort((a, b) => b - a);
console.log(`resampled: CWRU's drive-end records with a stated speed, ${sources.map((from) => `${records.filter((r) => r.sample_rate_hz === from).length} at ${from / 1000} kHz to ${RATES[from].map((r) => r.name).join(", ")}`).join("; ")}; ` +
  `the sensor's noise ${SENSOR_NOISE_G_PER_SQRT_HZ * 1e6} µg/√Hz where the rate rises; ${values.image}`);
console.log("  per record and rate, the verdict with the speed given / measured (+ right)");
for (const line of lines) console.log(line);
for (const mode of ["rpm given", "rpm measured"] as const) {
  console.log(`${mode}:`);
  for (const from of sources) {
    for (const rate of RATES[from]) {
      const t = tallies.get(`${from / 1000} kHz to ${rate.name}|${mode}`)!;
      const speed = mode === "rpm measured" ? `; speed within 0.5 % ${t.speedWithin} of ${t.speedRuns}` : "";
      console.log(`  ${`${from / 1000} kHz to ${rate.name}`.padEnd(18)} records right ${t.right} of ${t.records}; windows right ${t.windowsRight} of ${t.windows}; race windows called the other race ${t.otherRace}${speed}`);
    }
  }
}
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
