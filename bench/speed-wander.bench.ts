// A shaft whose speed wanders: a pump on a drive whose speed is not held, a load that comes and
// goes. Every CWRU record with a stated speed is replayed as its machine would sound had its
// speed wandered by ± A about the stated one, sinusoidally over a period of T seconds: the
// recording read at the pace s(t) = 1 + A sin(2π t / T) (simulator/replay/resample.ts, warp),
// which moves every frequency in it by s(t) (its resonances too, which a real machine's would
// not). The streams span 2.7 s (the speed) and 0.68 s (the envelope) of a speed they take as
// steady; a wander of A moves a line at order k by k A of the shaft's rate over half a period.
// Printed per wander, with the stated (mean) speed configured and without it: records and
// windows right, race windows called the other race, and the median and largest error of the
// windows' measured speed against the speed at their middle.
// Run: npx tsx bench/speed-wander.bench.ts [--data ../shared/data] [--image build/firmware.wasm]
//        [--wanders 0,0.005,0.01,0.02] [--period 4] [--verbose (each record with a race window
//        called the other race, or a verdict not its label's)]

import path from "node:path";
import { parseArgs } from "node:util";
import { replay, readRecording } from "../simulator/replay/replay.js";
import { geometryOf } from "../simulator/replay/recordings.js";
import { warp } from "../simulator/replay/resample.js";
import { cwruWithSpeed, EXPECTED } from "./cwru-records.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data" }, image: { type: "string", default: "build/firmware.wasm" },
    wanders: { type: "string", default: "0,0.005,0.01,0.02" }, period: { type: "string", default: "4" },
    verbose: { type: "boolean", default: false },
  },
});
const WANDERS = values.wanders!.split(",").map(Number);
const PERIOD_S = Number(values.period);
if (WANDERS.some((a) => !(a >= 0 && a < 0.2)) || !(PERIOD_S > 0)) throw new Error("--wanders takes shares from 0 below 0.2, --period seconds above 0");
const WINDOW = 4096;
const RACES = new Set(["inner_race", "outer_race"]);

const { cwruDir, manifest, records, firmware } = await cwruWithSpeed(values.data!, values.image!);
const started = performance.now();
console.log(`speed wander: ${records.length} CWRU records with a stated speed, the speed wandering ± A over ${PERIOD_S} s; ${values.image}`);
const sources = records.map((record) => ({ record, samples: readRecording(path.join(cwruDir, record.file)) }));
for (const wander of WANDERS) {
  for (const given of [true, false]) {
    let right = 0, windowsRight = 0, windows = 0, otherRace = 0;
    const errors: number[] = [];
    const notes: string[] = [];
    for (const { record, samples } of sources) {
      const fs = record.sample_rate_hz;
      // Input position of output sample m: fs ∫ s dt.
      const w = (2 * Math.PI) / (PERIOD_S * fs);
      const position = (m: number): number => m + (wander / w) * (1 - Math.cos(w * m));
      const wandered = wander === 0 ? samples : warp(samples, position, 1 + wander);
      const result = await replay(wandered, {
        rateHz: fs, window: WINDOW, firmware, geometry: geometryOf(manifest.bearings[record.bearing]),
        ...(given ? { rpm: record.shaft_rpm! } : {}),
      });
      const expected = EXPECTED[record.label];
      if (result.summary.fault === expected) right++;
      const other = result.windows.filter((w) => RACES.has(expected) && RACES.has(w.fault) && w.fault !== expected).length;
      if (values.verbose && (other > 0 || result.summary.fault !== expected)) notes.push(`CWRU ${record.record} ${record.label} ${fs / 1000} kHz: ${result.summary.fault}, ${other} windows the other race`);
      for (const window of result.windows) {
        windows++;
        if (window.fault === expected) windowsRight++;
        if (RACES.has(expected) && RACES.has(window.fault) && window.fault !== expected) otherRace++;
        if (!given && window.features.shaft_conf > 0) {
          const middle = window.index * WINDOW + WINDOW / 2;
          const trueHz = (record.shaft_rpm! / 60) * (1 + wander * Math.sin(w * middle));
          errors.push(Math.abs(window.features.shaft_hz / trueHz - 1) * 100);
        }
      }
    }
    errors.sort((a, b) => a - b);
    const speed = given ? "" : `; speed measured in ${errors.length} windows, error median ${(errors[errors.length >> 1] ?? NaN).toFixed(2)} %, 90th ${(errors[Math.floor(errors.length * 0.9)] ?? NaN).toFixed(2)} %`;
    console.log(`  ± ${(wander * 100).toFixed(1)} %, speed ${given ? "given" : "measured"}: records right ${right} of ${records.length}; windows right ${windowsRight} of ${windows}; race windows called the other race ${otherRace}${speed}`);
    for (const note of notes) console.log(`    ${note}`);
  }
}
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
