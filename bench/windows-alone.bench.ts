// The diagnosis from windows alone, as a fleet takes them: one window every ten minutes, none
// following another, so no window streams its envelope (ANALYSIS.md §5, "Windows alone"). Every
// CWRU record with a stated speed is cut into its windows and each is replayed as an acquisition
// of its own, `--interval` seconds after the one before (or, with `--snapshot-windows K`, as
// snapshots of K consecutive windows), with the manifest's speed and without it, against the
// same record replayed as one continuous recording (what `impeller validate` runs). The same
// vibration both ways: what changes is only whether the firmware may join the windows. Each
// window's published speed is held against the stated one, as bench/wrong-rpm.bench.ts does,
// and the windows that end `unknown` with no speed measured (shaft_conf 0) are counted: a
// configured speed no measurement confirmed names no defect where the race depends on it.
// Run: npx tsx bench/windows-alone.bench.ts [--data ../shared/data] [--image build/firmware.wasm]
//        [--interval 600] [--snapshot-windows 1]

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { compileFirmware } from "../host/runtime/firmware.js";
import { replay, readRecording, type ReplayResult } from "../simulator/replay/replay.js";
import { geometryOf, parseRecordsManifest, cutSnapshot, snapshotWindows } from "../simulator/replay/recordings.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data" }, image: { type: "string", default: "build/firmware.wasm" },
    interval: { type: "string", default: "600" }, "snapshot-windows": { type: "string", default: "1" },
  },
});
const WINDOW = 4096;
const intervalS = Number(values.interval);
const snapshotWindowsCount = Number(values["snapshot-windows"]);
if (!(intervalS > 0) || !Number.isInteger(snapshotWindowsCount) || snapshotWindowsCount < 1) {
  throw new Error("--interval needs seconds above 0 and --snapshot-windows a whole number from 1");
}
const EXPECTED: Record<string, string> = { normal: "none", inner: "inner_race", outer: "outer_race", ball: "rolling_element" };
const RACES = new Set(["inner_race", "outer_race"]);
/** A window's speed against the stated one: within half a per cent (validate's mark), or, measured,
 *  further off than the elements' slip (2 %), which the defects' zones allow for (firmware/ANALYSIS.md §5). */
const SPEED_CLOSE = 0.005;
const SLIP = 0.02;

const cwruDir = path.join(values.data!, "cwru");
const manifestFile = path.join(cwruDir, "manifest.json");
const manifest = parseRecordsManifest(manifestFile, JSON.parse(fs.readFileSync(manifestFile, "utf8")));
const records = manifest.records.filter((r) => r.shaft_rpm !== null);
const firmware = await compileFirmware(new Uint8Array(fs.readFileSync(values.image!)));

/** `samples` as snapshots of `snapshotWindowsCount` windows, `intervalS` apart. */
function asSnapshots(samples: Float32Array, rateHz: number): { samples: Float32Array; timesS: number[] } {
  const snapshot = WINDOW * snapshotWindowsCount;
  const count = Math.floor(samples.length / snapshot);
  const starts = Array.from({ length: count }, (_, i) => i * intervalS);
  return snapshotWindows(samples.subarray(0, count * snapshot), rateHz, starts, cutSnapshot(snapshot, WINDOW));
}

interface Tally { records: number; right: number; windows: number; windowsRight: number; otherRace: number; wrongRecords: number; normalsCalled: number; speedWithin: number; speedBeyondSlip: number; unknownUnmeasured: number }
const tallies = new Map<string, Tally>();
const ACQUISITIONS = ["continuous", "alone"] as const;
const MODES = ["rpm given", "rpm measured"] as const;
const lines: string[] = [];
const started = performance.now();
for (const record of records) {
  const samples = readRecording(path.join(cwruDir, record.file));
  const geometry = geometryOf(manifest.bearings[record.bearing]);
  const expected = EXPECTED[record.label];
  const group = `${record.sample_rate_hz / 1000} kHz ${record.sensor.replace("_", " ")}`;
  const snapshots = asSnapshots(samples, record.sample_rate_hz);
  const statedHz = record.shaft_rpm! / 60;
  const verdicts: string[] = [];
  for (const acquisition of ACQUISITIONS) {
    for (const mode of MODES) {
      const options = { rateHz: record.sample_rate_hz, window: WINDOW, firmware, geometry, ...(mode === "rpm given" ? { rpm: record.shaft_rpm! } : {}) };
      const result: ReplayResult = acquisition === "continuous"
        ? await replay(samples, options)
        : await replay(snapshots.samples, { ...options, timesS: snapshots.timesS });
      const error = (w: ReplayResult["windows"][number]): number => Math.abs(w.features.shaft_hz / statedHz - 1);
      const speedWithin = result.windows.filter((w) => error(w) <= SPEED_CLOSE).length;
      // A speed the window measured (not one it was given, nor the range's middle it publishes
      // for none), further off than the slip: the defects are sought where they are not.
      const speedBeyondSlip = result.windows.filter((w) => w.features.shaft_conf > 0 && error(w) > SLIP).length;
      // An abnormality named no defect because no measurement confirmed the speed (shaft_conf 0):
      // a configured one carries its whole uncertainty, and the race read may depend on it.
      const unknownUnmeasured = result.windows.filter((w) => w.fault === "unknown" && w.features.shaft_conf === 0).length;
      for (const key of [`${group}|${acquisition}|${mode}`, `all records|${acquisition}|${mode}`]) {
        const t = tallies.get(key) ?? { records: 0, right: 0, windows: 0, windowsRight: 0, otherRace: 0, wrongRecords: 0, normalsCalled: 0, speedWithin: 0, speedBeyondSlip: 0, unknownUnmeasured: 0 };
        t.records++;
        if (result.summary.fault === expected) t.right++;
        t.windows += result.windows.length;
        t.windowsRight += result.windows.filter((w) => w.fault === expected).length;
        if (RACES.has(expected)) {
          t.otherRace += result.windows.filter((w) => RACES.has(w.fault) && w.fault !== expected).length;
          if (RACES.has(result.summary.fault) && result.summary.fault !== expected) t.wrongRecords++;
        }
        if (expected === "none" && result.summary.fault !== "none") t.normalsCalled++;
        t.speedWithin += speedWithin;
        t.speedBeyondSlip += speedBeyondSlip;
        t.unknownUnmeasured += unknownUnmeasured;
        tallies.set(key, t);
      }
      verdicts.push(result.summary.fault === expected ? "+" : result.summary.fault.slice(0, 5));
    }
  }
  lines.push(`  ${record.file.padEnd(30)} ${verdicts.slice(0, 2).join(" / ").padEnd(14)} ${verdicts.slice(2).join(" / ")}`);
}
const shape = snapshotWindowsCount === 1 ? "each window alone" : `snapshots of ${snapshotWindowsCount} consecutive windows`;
console.log(`windows alone: ${records.length} CWRU records with a stated speed, windows of ${WINDOW}, ${shape}, ${intervalS} s apart, against the record replayed continuously; ${values.image}`);
console.log("  per record, the verdict continuous (speed given / measured), then alone (+ right)");
for (const line of lines) console.log(line);
const groups = [...new Set([...tallies.keys()].map((key) => key.split("|")[0]))].sort((a, b) => (a === "all records" ? 1 : b === "all records" ? -1 : a.localeCompare(b)));
for (const mode of MODES) {
  console.log(`${mode}:`);
  for (const group of groups) {
    for (const acquisition of ACQUISITIONS) {
      const t = tallies.get(`${group}|${acquisition}|${mode}`)!;
      console.log(`  ${group.padEnd(20)} ${acquisition.padEnd(10)} records right ${t.right} of ${t.records}; windows right ${t.windowsRight} of ${t.windows}; ` +
        `race records called the other race ${t.wrongRecords}, race windows ${t.otherRace}; normal records not none ${t.normalsCalled}; ` +
        `speed within 0.5 % ${t.speedWithin}, measured beyond the slip ${t.speedBeyondSlip}; unknown with no speed measured ${t.unknownUnmeasured}`);
    }
  }
}
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
