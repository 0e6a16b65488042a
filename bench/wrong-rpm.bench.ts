// A configured speed that is not the machine's: every CWRU record with a stated speed, replayed
// with `rpm` set to the stated speed times a factor, from a nameplate's few per cent (a 4-pole
// motor rated 1750 rpm turning at 1797 unloaded) to a configuration of another machine. The
// firmware seeks a configured speed from 0.94 to 1/0.94 of it, no further, and doubts it where
// that range shows nothing and the machine's whole range shows another family it does not
// explain (firmware/ANALYSIS.md §4): this prints, per factor, the records right, those called the other race (the failure
// a wrong speed invites: a defect read at the wrong speed lands on another defect's order), and
// the windows whose measured speed is within 0.5 % of the stated one; and, where the configured
// speed is doubted, the windows whose telemetry gives the speed the signal shows (`seen_hz`),
// and those of them within 0.5 % of the stated speed.
// Run: npx tsx bench/wrong-rpm.bench.ts [--image build/firmware.wasm] [--data ../shared/data] [--factors 0.5,2]

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { compileFirmware } from "../host/runtime/firmware.js";
import { replay, readRecording } from "../simulator/replay/replay.js";
import { geometryOf, parseRecordsManifest } from "../simulator/replay/recordings.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data" }, image: { type: "string", default: "build/firmware.wasm" },
    factors: { type: "string", default: "0.67,0.8,0.833,0.9,0.97,1,1.03,1.1,1.2,1.25,1.5" },
  },
});
const FACTORS = values.factors!.split(",").map(Number);
if (FACTORS.some((f) => !(f > 0))) throw new Error(`--factors: positive numbers, comma-separated (got ${values.factors})`);
const EXPECTED: Record<string, string> = { normal: "none", inner: "inner_race", outer: "outer_race", ball: "rolling_element" };
const OTHER_RACE: Record<string, string> = { inner: "outer_race", outer: "inner_race" };

const cwruDir = path.join(values.data!, "cwru");
const manifest = parseRecordsManifest(path.join(cwruDir, "manifest.json"), JSON.parse(fs.readFileSync(path.join(cwruDir, "manifest.json"), "utf8")));
const records = manifest.records.filter((r) => r.shaft_rpm !== null);
const firmware = await compileFirmware(new Uint8Array(fs.readFileSync(values.image!)));

interface Tally { right: number; otherRace: number; windows: number; speedWithin: number; seen: number; seenWithin: number }
const tallies = FACTORS.map((): Tally => ({ right: 0, otherRace: 0, windows: 0, speedWithin: 0, seen: 0, seenWithin: 0 }));
const started = performance.now();
for (const record of records) {
  const samples = readRecording(path.join(cwruDir, record.file));
  const geometry = geometryOf(manifest.bearings[record.bearing]);
  const trueHz = record.shaft_rpm! / 60;
  for (const [i, factor] of FACTORS.entries()) {
    const result = await replay(samples, { rateHz: record.sample_rate_hz, window: 4096, firmware, geometry, rpm: record.shaft_rpm! * factor });
    const t = tallies[i];
    if (result.summary.fault === EXPECTED[record.label]) t.right++;
    if (result.summary.fault === OTHER_RACE[record.label]) t.otherRace++;
    t.windows += result.windows.length;
    t.speedWithin += result.windows.filter((w) => Math.abs(w.features.shaft_hz / trueHz - 1) <= 0.005).length;
    const seen = result.windows.map((w) => w.features.seen_hz).filter((hz): hz is number => hz !== undefined);
    t.seen += seen.length;
    t.seenWithin += seen.filter((hz) => Math.abs(hz / trueHz - 1) <= 0.005).length;
  }
}
console.log(`wrong rpm: CWRU's ${records.length} records with a stated speed, rpm configured at the stated speed × each factor; ${values.image}`);
for (const [i, factor] of FACTORS.entries()) {
  const t = tallies[i];
  console.log(`  × ${String(factor).padEnd(5)} records right ${String(t.right).padStart(2)} of ${records.length}; race records called the other race ${t.otherRace}; windows whose speed is within 0.5 % of the stated one ${t.speedWithin} of ${t.windows}; ` +
    `windows that give the speed the signal shows ${t.seen}, within 0.5 % ${t.seenWithin}`);
}
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
