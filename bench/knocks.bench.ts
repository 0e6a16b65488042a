// Knocks: a pump's pipe is struck now and then (a valve closing, water hammer, a tool), and the
// accelerometer rings. Every CWRU record with a stated speed is replayed as recorded and with a
// knock added every `--every` windows from the fourth on: a 3 kHz ring (a structural
// resonance, inside the bands the envelope reads at 12 and 48 kHz) starting at full amplitude,
// `--peak` times the record's RMS, decaying with a 1 ms time constant over 5 ms. A knock is one
// event: it should cost the windows that hold it, not the ones after. Printed: records and windows
// right as recorded and knocked, and the records whose windows right fell by more than 3.
// Run: npx tsx bench/knocks.bench.ts [--data ../shared/data] [--image build/firmware.wasm]
//        [--without-rpm] [--peak 20] [--every 10] [--offset 1000 (the knock's first sample in its window)]

import path from "node:path";
import { parseArgs } from "node:util";
import { replay, readRecording } from "../simulator/replay/replay.js";
import { geometryOf } from "../simulator/replay/recordings.js";
import { cwruWithSpeed, EXPECTED } from "./cwru-records.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data" }, image: { type: "string", default: "build/firmware.wasm" },
    "without-rpm": { type: "boolean", default: false }, peak: { type: "string", default: "20" }, every: { type: "string", default: "10" },
    offset: { type: "string", default: "1000" },
  },
});
const WINDOW = 4096;
const PEAK = Number(values.peak);
const EVERY = Number(values.every);
if (!(PEAK > 0) || !Number.isInteger(EVERY) || EVERY < 1) throw new Error("--peak needs a factor above 0 and --every a whole number of windows from 1");
if (!Number.isInteger(Number(values.offset)) || Number(values.offset) < 0 || Number(values.offset) >= 4096) throw new Error("--offset needs a sample of the window, 0 to 4095");
const RING_HZ = 3000;
const DECAY_S = 0.001;
const LENGTH_S = 0.005;
/** Where in its window a knock starts (samples). */
const OFFSET = Number(values.offset);
const FIRST_WINDOW = 3;

/** The record with a knock every EVERY windows from FIRST_WINDOW on. */
function knocked(samples: Float32Array, rateHz: number): Float32Array {
  let squares = 0;
  for (const x of samples) squares += x * x;
  const peak = PEAK * Math.sqrt(squares / samples.length);
  const out = Float32Array.from(samples);
  for (let w = FIRST_WINDOW; (w + 1) * WINDOW <= out.length; w += EVERY) {
    const at = w * WINDOW + OFFSET;
    for (let k = 0; k < LENGTH_S * rateHz && at + k < out.length; k++) {
      out[at + k] += peak * Math.exp(-k / (DECAY_S * rateHz)) * Math.sin((2 * Math.PI * RING_HZ * k) / rateHz);
    }
  }
  return out;
}

const { cwruDir, manifest, records, firmware } = await cwruWithSpeed(values.data!, values.image!);
const started = performance.now();
console.log(`knocks: ${records.length} CWRU records with a stated speed, the speed ${values["without-rpm"] ? "measured" : "given"}, ` +
  `a ${RING_HZ / 1000} kHz ring of ${PEAK} × the record's RMS every ${EVERY} windows; ${values.image}`);
let rightAsRecorded = 0;
let rightKnocked = 0;
let windowsAsRecorded = 0;
let windowsKnocked = 0;
let windowsAll = 0;
const fallen: string[] = [];
for (const record of records) {
  const samples = readRecording(path.join(cwruDir, record.file));
  const options = {
    rateHz: record.sample_rate_hz, window: WINDOW, firmware, geometry: geometryOf(manifest.bearings[record.bearing]),
    ...(values["without-rpm"] ? {} : { rpm: record.shaft_rpm! }),
  };
  const expected = EXPECTED[record.label];
  const clean = await replay(samples, options);
  const hit = await replay(knocked(samples, record.sample_rate_hz), options);
  const named = (result: typeof clean): number => (result.summary.windows_by_fault as Record<string, number>)[expected] ?? 0;
  if (clean.summary.fault === expected) rightAsRecorded++;
  if (hit.summary.fault === expected) rightKnocked++;
  windowsAsRecorded += named(clean);
  windowsKnocked += named(hit);
  windowsAll += clean.windows.length;
  if (named(clean) - named(hit) > 3 || clean.summary.fault !== hit.summary.fault) {
    fallen.push(`CWRU ${record.record} ${record.label} ${record.sample_rate_hz / 1000} kHz: ${clean.summary.fault} (${named(clean)} of ${clean.windows.length} windows) → ${hit.summary.fault} (${named(hit)})`);
  }
}
console.log(`  records right: ${rightAsRecorded} as recorded, ${rightKnocked} knocked, of ${records.length}`);
console.log(`  windows right: ${windowsAsRecorded} as recorded, ${windowsKnocked} knocked, of ${windowsAll}`);
console.log(`  records that lost more than 3 windows or their verdict: ${fallen.length}${fallen.length > 0 ? `\n    ${fallen.join("\n    ")}` : ""}`);
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
