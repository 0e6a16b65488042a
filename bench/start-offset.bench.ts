// How much a record's verdict hangs on where its replay starts. A recording replayed
// continuously streams its bearing's envelope in the bands of the window that began the stream
// (their spectral kurtosis the largest in that window: ANALYSIS.md §5), and measures its speed
// from the windows it has seen so far; a recording that starts a quarter of a window later cuts
// every window elsewhere, and its first window may choose other bands. Every CWRU record with a
// stated speed is replayed from OFFSETS (in windows) on, as `impeller validate` replays it from 0:
// records right per offset, the records whose verdict is not the same at every offset, and the
// windows right per offset. The vibration is the same at every offset but for the skipped start.
// Run: npx tsx bench/start-offset.bench.ts [--data ../shared/data] [--image build/firmware.wasm]
//        [--without-rpm] [--rate 12000|48000]

import path from "node:path";
import { parseArgs } from "node:util";
import { replay, readRecording } from "../simulator/replay/replay.js";
import { geometryOf } from "../simulator/replay/recordings.js";
import { cwruWithSpeed, EXPECTED } from "./cwru-records.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data" }, image: { type: "string", default: "build/firmware.wasm" },
    "without-rpm": { type: "boolean", default: false }, rate: { type: "string" },
  },
});
const WINDOW = 4096;
/** Where each replay starts, in windows: a quarter of a window apart, up to one and a quarter. */
const OFFSETS = [0, 0.25, 0.5, 0.75, 1, 1.25];
const rate = values.rate === undefined ? undefined : Number(values.rate);

const set = await cwruWithSpeed(values.data!, values.image!);
const { cwruDir, manifest, firmware } = set;
const started = performance.now();
const records = set.records.filter((r) => rate === undefined || r.sample_rate_hz === rate);
console.log(`start offset: ${records.length} CWRU records with a stated speed${rate === undefined ? "" : ` at ${rate / 1000} kHz`}, ` +
  `the speed ${values["without-rpm"] ? "measured" : "given"}, each replayed from ${OFFSETS.join(", ")} windows on; ${values.image}`);
const right = OFFSETS.map(() => 0);
const windowsRight = OFFSETS.map(() => 0);
const windows = OFFSETS.map(() => 0);
const unsteady: string[] = [];
for (const record of records) {
  const samples = readRecording(path.join(cwruDir, record.file));
  const expected = EXPECTED[record.label];
  const verdicts: string[] = [];
  for (const [i, offset] of OFFSETS.entries()) {
    const result = await replay(samples.subarray(Math.round(offset * WINDOW)), {
      rateHz: record.sample_rate_hz, window: WINDOW, firmware, geometry: geometryOf(manifest.bearings[record.bearing]),
      ...(values["without-rpm"] ? {} : { rpm: record.shaft_rpm! }),
    });
    const named = result.summary.windows_by_fault[expected as keyof typeof result.summary.windows_by_fault] ?? 0;
    if (result.summary.fault === expected) right[i]++;
    windowsRight[i] += named;
    windows[i] += result.summary.windows;
    verdicts.push(`${result.summary.fault}${result.summary.fault === expected ? "+" : ""} ${named}/${result.summary.windows}`);
  }
  const verdictsOnly = verdicts.map((v) => v.split(" ")[0]);
  if (new Set(verdictsOnly).size > 1) unsteady.push(`CWRU ${record.record} ${record.label} ${record.sample_rate_hz / 1000} kHz: ${verdicts.join(", ")}`);
}
console.log(`  records right, by offset: ${right.join(", ")} of ${records.length}`);
console.log(`  windows right, by offset: ${windowsRight.map((n, i) => `${n} of ${windows[i]}`).join(", ")}`);
console.log(`  records whose verdict is not the same at every offset: ${unsteady.length}${unsteady.length > 0 ? `\n    ${unsteady.join("\n    ")}` : ""}`);
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
