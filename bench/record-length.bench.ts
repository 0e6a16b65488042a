// The diagnosis of short recordings: every CWRU record replayed from its start for only its first
// T seconds (1, 1.5, 2, 3 and 5 s, and whole: 10 s at 12 kHz, 1.3–5 s at 48 kHz), with the
// manifest's speed and without it, as `impeller validate` replays a whole one. Another rig's
// recordings may be that short (one to a few seconds is common), and what streams across windows
// (the speed's decimated acquisition, 2.7 s; the bearing's envelope, 0.68 s) holds less there:
// the first windows decide from less, and the verdict (the named class of a third of the windows)
// rests on fewer of them. A record shorter than T is replayed whole, and counted at every T.
// Run: npx tsx bench/record-length.bench.ts [--data ../shared/data] [--image build/firmware.wasm]
//        [--lengths 1,1.5,2,3,5]

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { compileFirmware } from "../host/runtime/firmware.js";
import { replay, readRecording } from "../simulator/replay/replay.js";
import { geometryOf, parseRecordsManifest, WINDOW_DEFAULT } from "../simulator/replay/recordings.js";
import { RIGHT_FAULT } from "../simulator/verdict/validation.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data" }, image: { type: "string", default: "build/firmware.wasm" },
    lengths: { type: "string", default: "1,1.5,2,3,5" },
  },
});
const lengths = values.lengths!.split(",").map(Number);
if (lengths.some((t) => !(t > 0))) throw new Error("--lengths takes seconds above 0, separated by commas");
const LENGTHS: (number | "whole")[] = [...lengths, "whole"];
const MODES = ["rpm given", "rpm measured"] as const;
const RACES = new Set(["inner_race", "outer_race"]);

const cwruDir = path.join(values.data!, "cwru");
const manifestFile = path.join(cwruDir, "manifest.json");
const manifest = parseRecordsManifest(manifestFile, JSON.parse(fs.readFileSync(manifestFile, "utf8")));
const firmware = await compileFirmware(new Uint8Array(fs.readFileSync(values.image!)));

interface Tally { records: number; right: number; windows: number; windowsRight: number; wrongRecords: number; otherRaceWindows: number; normalsCalled: number }
const tallies = new Map<string, Tally>();
const started = performance.now();
for (const record of manifest.records) {
  const expected = RIGHT_FAULT[record.label as keyof typeof RIGHT_FAULT];
  if (expected === undefined) continue;
  const samples = readRecording(path.join(cwruDir, record.file));
  const geometry = geometryOf(manifest.bearings[record.bearing]);
  const group = `${record.sample_rate_hz / 1000} kHz`;
  for (const length of LENGTHS) {
    const count = length === "whole" ? samples.length : Math.min(samples.length, Math.round(length * record.sample_rate_hz));
    for (const mode of MODES) {
      if (mode === "rpm given" && record.shaft_rpm === null) continue;
      const result = await replay(samples.subarray(0, count), {
        rateHz: record.sample_rate_hz, window: WINDOW_DEFAULT, firmware, geometry, ...(mode === "rpm given" ? { rpm: record.shaft_rpm! } : {}),
      });
      for (const key of [`${group}|${length}|${mode}|${record.label}`, `all|${length}|${mode}|${record.label}`]) {
        const t = tallies.get(key) ?? { records: 0, right: 0, windows: 0, windowsRight: 0, wrongRecords: 0, otherRaceWindows: 0, normalsCalled: 0 };
        t.records++;
        if (result.summary.fault === expected) t.right++;
        t.windows += result.windows.length;
        t.windowsRight += result.windows.filter((w) => w.fault === expected).length;
        if (RACES.has(expected)) {
          t.otherRaceWindows += result.windows.filter((w) => RACES.has(w.fault) && w.fault !== expected).length;
          if (RACES.has(result.summary.fault) && result.summary.fault !== expected) t.wrongRecords++;
        }
        if (expected === "none" && result.summary.fault !== "none") t.normalsCalled++;
        tallies.set(key, t);
      }
    }
  }
}

console.log(`record length: CWRU's ${manifest.records.length} records, each replayed from its start for its first T seconds, windows of ${WINDOW_DEFAULT}; ${values.image}`);
console.log("records right of the label's records (race records and windows called the other race; normal records called a fault), then windows right");
const LABEL_ORDER = ["normal", "inner", "outer", "ball"];
for (const mode of MODES) {
  console.log(`${mode}:`);
  for (const group of ["12 kHz", "48 kHz", "all"]) {
    console.log(`  ${group}`);
    for (const length of LENGTHS) {
      const cells = LABEL_ORDER.map((label) => {
        const t = tallies.get(`${group}|${length}|${mode}|${label}`);
        if (t === undefined) return "";
        const wrong = label === "normal" ? ` (${t.normalsCalled})` : label === "ball" ? "" : ` (${t.wrongRecords}; ${t.otherRaceWindows})`;
        return `${label} ${t.right}/${t.records}${wrong} ${t.windowsRight}/${t.windows}`;
      }).filter((cell) => cell !== "");
      console.log(`    ${(length === "whole" ? "whole" : `${length} s`).padEnd(7)} ${cells.map((c) => c.padEnd(36)).join("")}`);
    }
  }
}
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
