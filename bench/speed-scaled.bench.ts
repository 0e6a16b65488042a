// The diagnosis at shaft speeds the recordings were not made at: CWRU's 12 kHz drive-end records
// replayed as a machine turning s times as fast, recorded at s times the rate. Declaring the
// rate s × 12 kHz scales every frequency in the record by s (the shaft, its harmonics, the
// bearing's tones, the resonances they ring, the supply's lines) and every duration by 1/s, so
// the record is the same vibration in shaft orders at a shaft of s × 29–30 Hz: 7.5 Hz at
// s = 0.25 (a slow pump), 90 Hz at s = 3. Nothing the firmware does may depend on the speed
// but through those orders; a rule written in hertz or seconds that should have been written in
// orders shows as a change in the verdicts. Run with the manifest's speed (× s), without it in
// the firmware's default range (600–3600 rpm, which 7.5 and 90 Hz lie outside), and without it
// in the default range × s (what the user of such a machine configures: --rpm-range).
// Run: npx tsx bench/speed-scaled.bench.ts [--data ../shared/data] [--image build/firmware.wasm]

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { compileFirmware } from "../host/runtime/firmware.js";
import { replay, readRecording, type ReplayOptions } from "../simulator/replay/replay.js";
import { geometryOf, parseRecordsManifest } from "../simulator/replay/recordings.js";

const { values } = parseArgs({
  options: { data: { type: "string", default: "../shared/data" }, image: { type: "string", default: "build/firmware.wasm" } },
});
const SCALES = [0.25, 0.5, 0.75, 1, 1.5, 2, 3];
/** The firmware's default speed range without rpm (firmware/config.ts). */
const DEFAULT_RPM_RANGE: [number, number] = [600, 3600];
const SOURCE_RATE_HZ = 12_000;
const WINDOW = 4096;
const SPEED_TOLERANCE_PCT = 0.5;
const EXPECTED: Record<string, string> = { normal: "none", inner: "inner_race", outer: "outer_race", ball: "rolling_element" };
const RACES = new Set(["inner_race", "outer_race"]);

const cwruDir = path.join(values.data!, "cwru");
const manifest = parseRecordsManifest(path.join(cwruDir, "manifest.json"), JSON.parse(fs.readFileSync(path.join(cwruDir, "manifest.json"), "utf8")));
const records = manifest.records.filter((r) => r.sample_rate_hz === SOURCE_RATE_HZ && r.sensor === "drive_end" && r.shaft_rpm !== null);
const firmware = await compileFirmware(new Uint8Array(fs.readFileSync(values.image!)));

type Mode = "rpm" | "default range" | "range × s";
interface Tally { right: number; wrongRace: number; speedWithin: number; speedRuns: number; verdicts: string[] }
const MODES: Mode[] = ["rpm", "default range", "range × s"];

console.log(`${records.length} CWRU 12 kHz drive-end records, windows of ${WINDOW} samples, each record declared at s × ${SOURCE_RATE_HZ / 1000} kHz (every frequency × s)`);
console.log("records right (verdict = label's) / race records called the other race / speed within 0.5 % (runs without rpm)");
const baseline: Record<Mode, string[]> = { rpm: [], "default range": [], "range × s": [] };
/** Each scale's tallies, for the comparison with s = 1's verdicts. */
const scaledVerdicts = new Map<number, Record<Mode, Tally>>();
for (const scale of SCALES) {
  const tallies: Record<Mode, Tally> = Object.fromEntries(MODES.map((m) => [m, { right: 0, wrongRace: 0, speedWithin: 0, speedRuns: 0, verdicts: [] }])) as unknown as Record<Mode, Tally>;
  for (const record of records) {
    const samples = readRecording(path.join(cwruDir, record.file));
    const base: ReplayOptions = {
      rateHz: SOURCE_RATE_HZ * scale, window: WINDOW, firmware, units: record.units,
      geometry: geometryOf(manifest.bearings[record.bearing]),
    };
    const shaftHz = (record.shaft_rpm! * scale) / 60;
    for (const mode of MODES) {
      const options: ReplayOptions = mode === "rpm" ? { ...base, rpm: record.shaft_rpm! * scale }
        : mode === "range × s" ? { ...base, rpmRange: [DEFAULT_RPM_RANGE[0] * scale, DEFAULT_RPM_RANGE[1] * scale] } : base;
      const result = await replay(samples, options);
      const tally = tallies[mode];
      const verdict = result.summary.fault;
      tally.verdicts.push(verdict);
      if (verdict === EXPECTED[record.label]) tally.right++;
      if (RACES.has(verdict) && RACES.has(EXPECTED[record.label] ?? "") && verdict !== EXPECTED[record.label]) tally.wrongRace++;
      if (mode !== "rpm") {
        const measured = result.windows.filter((w) => (w.features.shaft_conf ?? 0) > 0).map((w) => w.features.shaft_hz as number).sort((x, y) => x - y);
        tally.speedRuns++;
        if (measured.length > 0) {
          const median = measured.length % 2 ? measured[measured.length >> 1] : (measured[(measured.length >> 1) - 1] + measured[measured.length >> 1]) / 2;
          if ((Math.abs(median - shaftHz) / shaftHz) * 100 <= SPEED_TOLERANCE_PCT) tally.speedWithin++;
        }
      }
    }
  }
  if (scale === 1) for (const mode of MODES) baseline[mode] = tallies[mode].verdicts;
  const cells = MODES.map((mode) => {
    const t = tallies[mode];
    const speed = mode === "rpm" ? "" : ` / speed ${t.speedWithin} of ${t.speedRuns}`;
    return `${mode}: ${t.right} of ${records.length} right / ${t.wrongRace} other race${speed}`;
  });
  console.log(`  s = ${String(scale).padEnd(4)} shaft ${(29.95 * scale).toFixed(1).padStart(4)} Hz  ${cells.join("  |  ")}`);
  scaledVerdicts.set(scale, tallies);
}

console.log("records whose verdict differs from s = 1's, per mode");
for (const scale of SCALES) {
  if (scale === 1) continue;
  const tallies = scaledVerdicts.get(scale)!;
  console.log(`  s = ${String(scale).padEnd(4)} ${MODES.map((mode) => `${mode}: ${tallies[mode].verdicts.filter((v, i) => v !== baseline[mode][i]).length}`).join(", ")}`);
}
