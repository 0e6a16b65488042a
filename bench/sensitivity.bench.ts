// A sensor of another sensitivity: the same vibration with its samples scaled by each factor
// (a sensor 100 times less sensitive, or a recording in the wrong units: m/s² read as g is 9.8 ×
// too large). Every bearing test is a ratio of the window's own numbers, so the bearing's
// evidence must not move; the ISO zone, an absolute velocity, must. Every CWRU record with a
// stated speed is replayed as recorded and scaled: records right per scale, the records whose
// windows' diagnoses changed, and the windows whose bearing findings changed (which should be
// none).
// Powers of two (--scales 0.125,8) scale every sample exactly, so any change there comes from an
// absolute constant; other factors also round each sample anew. A DC level added (--offsets, in
// g: gravity on a MEMS sensor's axis, a bias) must move nothing either: the analysis takes the
// vibration about the window's mean.
// Run: npx tsx bench/sensitivity.bench.ts [--data ../shared/data] [--image build/firmware.wasm] [--without-rpm]
//        [--scales 0.01,0.1,9.80665,100] [--offsets 1,-3,10]

import path from "node:path";
import { parseArgs } from "node:util";
import { replay, readRecording, type ReplayResult } from "../simulator/replay/replay.js";
import { geometryOf } from "../simulator/replay/recordings.js";
import { cwruWithSpeed, EXPECTED } from "./cwru-records.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data" }, image: { type: "string", default: "build/firmware.wasm" },
    "without-rpm": { type: "boolean", default: false }, scales: { type: "string", default: "0.01,0.1,9.80665,100" },
    offsets: { type: "string", default: "1,-3,10" },
  },
});
const SCALES = values.scales === "" ? [] : values.scales!.split(",").map(Number);
if (SCALES.some((k) => !(k > 0))) throw new Error("--scales needs factors above 0, comma-separated");
const OFFSETS = values.offsets === "" ? [] : values.offsets!.split(",").map(Number);
if (OFFSETS.some((c) => !Number.isFinite(c))) throw new Error("--offsets needs levels in g, comma-separated");
/** Each variant of the recording: its name and what it does to a sample. */
const VARIANTS: [string, (x: number) => number][] = [
  ...SCALES.map((k): [string, (x: number) => number] => [`× ${k}`, (x) => x * k]),
  ...OFFSETS.map((c): [string, (x: number) => number] => [`${c < 0 ? "−" : "+"} ${Math.abs(c)} g`, (x) => x + c]),
];
const BEARING_FAULTS = new Set(["outer_race", "inner_race", "rolling_element"]);

const { cwruDir, manifest, records, firmware } = await cwruWithSpeed(values.data!, values.image!);
const started = performance.now();
console.log(`sensitivity: ${records.length} CWRU records with a stated speed, the speed ${values["without-rpm"] ? "measured" : "given"}, ` +
  `samples ${VARIANTS.map(([name]) => name).join(", ")} against as recorded; ${values.image}`);
const bearingFindings = (result: ReplayResult): string[] =>
  result.windows.map((w) => w.findings.filter((f) => BEARING_FAULTS.has(f.kind)).map((f) => f.kind).join(","));
let rightAsRecorded = 0;
const right = VARIANTS.map(() => 0);
const changedRecords = VARIANTS.map(() => [] as string[]);
const changedBearingWindows = VARIANTS.map(() => 0);
for (const record of records) {
  const samples = readRecording(path.join(cwruDir, record.file));
  const options = {
    rateHz: record.sample_rate_hz, window: 4096, firmware, geometry: geometryOf(manifest.bearings[record.bearing]),
    ...(values["without-rpm"] ? {} : { rpm: record.shaft_rpm! }),
  };
  const base = await replay(samples, options);
  const expected = EXPECTED[record.label];
  if (base.summary.fault === expected) rightAsRecorded++;
  const baseFindings = bearingFindings(base);
  for (const [i, [, change]] of VARIANTS.entries()) {
    const scaled = await replay(samples.map(change), options);
    if (scaled.summary.fault === expected) right[i]++;
    const findings = bearingFindings(scaled);
    changedBearingWindows[i] += findings.filter((f, w) => f !== baseFindings[w]).length;
    const diagnoses = (result: ReplayResult): string => result.windows.map((w) => w.fault).join(" ");
    if (diagnoses(scaled) !== diagnoses(base)) {
      const counts = (result: ReplayResult): string => Object.entries(result.summary.windows_by_fault).filter(([, n]) => n > 0).map(([f, n]) => `${f} ${n}`).join(", ");
      changedRecords[i].push(`CWRU ${record.record} ${record.label} ${record.sample_rate_hz / 1000} kHz: ${base.summary.fault} (${counts(base)}) → ${scaled.summary.fault} (${counts(scaled)})`);
    }
  }
}
console.log(`  as recorded: ${rightAsRecorded} of ${records.length} right`);
for (const [i, [name]] of VARIANTS.entries()) {
  console.log(`  ${name}: ${right[i]} of ${records.length} right; windows whose bearing findings changed ${changedBearingWindows[i]}; ` +
    `records whose windows' diagnoses changed ${changedRecords[i].length}${changedRecords[i].length > 0 ? `\n    ${changedRecords[i].join("\n    ")}` : ""}`);
}
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
