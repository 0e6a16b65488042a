// How the diagnosis holds across sample rates, shaft speeds and bearings the CWRU records do not
// cover: the simulator's pump (simulator/physics/pump.ts: elements slipping 1–2 %, speed drift,
// cyclostationary impacts, load zones, resonances anywhere from 1 kHz to 0.4 × the rate, a MEMS
// sensor's noise and 16-bit converter), a continuous recording per case, replayed through the
// release firmware with the speed given and without it. Not the firmware's mirror: its faults
// come from a bearing model, not from the formulas the firmware looks for. One case per rate,
// speed, bearing and fault, each from its own seed (fixed by its place in the grid): the figures
// are deterministic.
//
// Without the speed, the firmware searches its default range (600–3600 rpm) when the shaft
// lies in it, and otherwise the range a user would configure for that machine (half to 1.2 ×
// its speed, `--rpm-range`). The running-speed lines scale from their 25 Hz ranges at the same
// velocity (a healthy pump's ISO zone does not depend on its speed); the fault is at a tenth
// of its severity at failure.
// With --high-pass HZ each recording passes a fourth-order high-pass first, with the sensor's
// noise floor after it (bench/paths.bench.ts's path: a housing or a sensor that carries no
// shaft lines), so that no window measures the speed and a configured one is never confirmed.
// Run: npx tsx bench/generality.bench.ts [--image build/firmware.wasm] [--severity-time 400] [--alone 600] [--high-pass 1000]

import fs from "node:fs";
import { parseArgs } from "node:util";
import { compileFirmware } from "../host/runtime/firmware.js";
import { replay, BEARINGS } from "../simulator/replay/replay.js";
import { pumpRecording } from "../simulator/replay/pump-recordings.js";
import { highPass, addSensorNoise } from "../simulator/replay/paths.js";
import { Random } from "../simulator/physics/random.js";

const { values } = parseArgs({
  options: {
    image: { type: "string", default: "build/firmware.wasm" }, "severity-time": { type: "string", default: "400" },
    // One case's windows printed, e.g. --show "100 kHz 5 Hz SKF 6205 inner_race".
    show: { type: "string" },
    // Each recording cut into windows alone, this many seconds apart, as a fleet takes them
    // (ANALYSIS.md §5, "Windows alone"), instead of replayed continuously.
    alone: { type: "string" },
    "high-pass": { type: "string" },
  },
});
const RATES_HZ = [10_000, 25_600, 48_828, 100_000];
const SHAFTS_HZ = [5, 12.5, 25, 50, 100];
const BEARING_CASES: Record<string, [number, number, number, number]> = {
  "SKF 6205": BEARINGS["6205"],
  "SKF 6203": BEARINGS["6203"],
  "8 × 5.97 mm on 31.62 mm": [8, 5.97, 31.62, 0],
  // An angular-contact bearing: its contact angle shortens the ratio (d/D cos α), the only
  // case here whose defect orders the angle moves.
  "13 × 7.5 mm on 38.5 mm at 25°": [13, 7.5, 38.5, 25],
};
const KINDS = ["outer_race", "inner_race", "rolling_element", "none"] as const;
/** The default speed range (firmware config.ts), rpm. */
const DEFAULT_RPM_RANGE: [number, number] = [600, 3600];
/** Severity time on the fault's 0–1000 ms life (severity = (t/1000)^2.5: 400 gives 0.10). */
const severityTime = Number(values["severity-time"]);
const firmware = await compileFirmware(new Uint8Array(fs.readFileSync(values.image!)));
const aloneS = values.alone === undefined ? undefined : Number(values.alone);
const highPassHz = values["high-pass"] === undefined ? undefined : Number(values["high-pass"]);
if (highPassHz !== undefined && !(highPassHz > 0)) throw new Error("--high-pass needs the corner in Hz, above 0");
if (aloneS !== undefined && !(aloneS > 0)) throw new Error("--alone needs the seconds between windows, above 0");

type Mode = "rpm given" | "rpm measured";
const right = new Map<string, number>();
const runs = new Map<string, number>();
const wrongRace: string[] = [];
/** Per window, over the bearing-fault cases: windows that name the drawn fault, windows that
 *  name another bearing fault, and all of them, per mode. */
const windowsRight = new Map<string, number>();
const windowsWrongBearing = new Map<string, number>();
const windowsAll = new Map<string, number>();
const BEARING_FAULTS = ["outer_race", "inner_race", "rolling_element"];
const falseAlarms: string[] = [];
const count = (key: string, ok: boolean): void => {
  runs.set(key, (runs.get(key) ?? 0) + 1);
  right.set(key, (right.get(key) ?? 0) + (ok ? 1 : 0));
};
const started = performance.now();
console.log(`generality: the simulator's pump${aloneS === undefined ? "" : `, each recording cut into windows alone ${aloneS} s apart`}${highPassHz === undefined ? "" : `, high-passed at ${highPassHz} Hz`} at ${RATES_HZ.map((r) => r / 1000).join(", ")} kHz, shafts of ${SHAFTS_HZ.join(", ")} Hz, ` +
  `${Object.keys(BEARING_CASES).length} bearings, ${KINDS.join(" / ")}; ${values.image}`);
console.log("  row: rate and shaft; per bearing and fault, the verdict with the speed given / measured (+ right)");
/** Each case's seed, from its place in the grid: the first three bearings' cases keep the seeds
 *  1–240 they had before the fourth bearing came, whose cases follow from 241. */
const FIRST_BEARINGS = 3;
const caseSeed = (rate: number, shaft: number, bearing: number, kind: number): number => bearing < FIRST_BEARINGS
  ? 1 + ((rate * SHAFTS_HZ.length + shaft) * FIRST_BEARINGS + bearing) * KINDS.length + kind
  : 1 + RATES_HZ.length * SHAFTS_HZ.length * FIRST_BEARINGS * KINDS.length
    + (((rate * SHAFTS_HZ.length + shaft) * (Object.keys(BEARING_CASES).length - FIRST_BEARINGS) + bearing - FIRST_BEARINGS) * KINDS.length + kind);
for (const [rateIndex, rateHz] of RATES_HZ.entries()) {
  for (const [shaftIndex, shaftHz] of SHAFTS_HZ.entries()) {
    const cells: string[] = [];
    for (const [bearingIndex, [bearing, geometry]] of Object.entries(BEARING_CASES).entries()) {
      for (const [kindIndex, kind] of KINDS.entries()) {
        const seed = caseSeed(rateIndex, shaftIndex, bearingIndex, kindIndex);
        const recording = pumpRecording({ rateHz, shaftHz, geometry, kind, seed, severityTimeMs: severityTime });
        const pumpShaftHz = recording.shaftHz;
        const samples = highPassHz === undefined ? recording.samples : addSensorNoise(highPass(recording.samples, rateHz, highPassHz), rateHz, new Random(seed));
        const rpm = pumpShaftHz * 60;
        const inDefault = rpm >= DEFAULT_RPM_RANGE[0] && rpm <= DEFAULT_RPM_RANGE[1];
        const marks: string[] = [];
        for (const mode of ["rpm given", "rpm measured"] as Mode[]) {
          const windows = Math.floor(samples.length / 4096);
          const result = await replay(aloneS === undefined ? samples : samples.subarray(0, windows * 4096), {
            rateHz, window: 4096, firmware, geometry,
            ...(aloneS === undefined ? {} : { timesS: Array.from({ length: windows }, (_, i) => i * aloneS) }),
            ...(mode === "rpm given" ? { rpm } : inDefault ? {} : { rpmRange: [rpm * 0.5, rpm * 1.2] as [number, number] }),
          });
          const verdict = result.summary.fault;
          if (values.show === `${rateHz / 1000} kHz ${shaftHz} Hz ${bearing} ${kind}`) {
            console.log(`    ${values.show}, ${mode}: shaft ${pumpShaftHz.toFixed(3)} Hz, ${result.windows.length} windows`);
            for (const w of result.windows) {
              const f = w.features;
              console.log(`      ${w.index} ${w.fault} shaft ${f.shaft_hz.toFixed(3)} band ${f.band_lo.toFixed(0)}–${f.band_hi.toFixed(0)} ` +
                `log10 p outer ${f.bpfo_lp.toFixed(1)} inner ${f.bpfi_lp.toFixed(1)} element ${f.bsf_lp.toFixed(1)} stream ${f.env_s.toFixed(2)} s kurtosis ${f.kurtosis.toFixed(1)}`);
            }
          }
          const ok = verdict === kind;
          if (kind === "none") {
            for (const w of result.windows) {
              windowsAll.set(`${mode}|none`, (windowsAll.get(`${mode}|none`) ?? 0) + 1);
              if (BEARING_FAULTS.includes(w.fault)) windowsWrongBearing.set(`${mode}|none`, (windowsWrongBearing.get(`${mode}|none`) ?? 0) + 1);
            }
          } else {
            for (const w of result.windows) {
              windowsAll.set(mode, (windowsAll.get(mode) ?? 0) + 1);
              if (w.fault === kind) windowsRight.set(mode, (windowsRight.get(mode) ?? 0) + 1);
              else if (BEARING_FAULTS.includes(w.fault)) windowsWrongBearing.set(mode, (windowsWrongBearing.get(mode) ?? 0) + 1);
            }
          }
          count(`${mode}|${kind}`, ok);
          count(`${mode}|all`, ok);
          count(`${mode}|${rateHz}`, ok);
          if (kind !== "none" && !ok && BEARING_FAULTS.includes(verdict)) {
            wrongRace.push(`${rateHz / 1000} kHz ${shaftHz} Hz ${bearing} ${kind} called ${verdict} (${mode})`);
          }
          if (kind === "none" && !ok) {
            // What the pump gave it: its velocity and its 1× line (mm/s RMS), and the ISO zone.
            const middle = result.windows[result.windows.length >> 1];
            falseAlarms.push(`${rateHz / 1000} kHz ${shaftHz} Hz ${bearing}: ${verdict} (${mode}); ` +
              `velocity ${(middle.features.vel_rms * 1000).toFixed(2)} mm/s, 1× ${(middle.features.v_1x * 1000).toFixed(2)} mm/s, zone ${middle.iso_zone}`);
          }
          marks.push(ok ? "+" : verdict.slice(0, 5));
        }
        cells.push(marks.join("/"));
      }
    }
    console.log(`  ${`${rateHz / 1000} kHz ${shaftHz} Hz`.padEnd(19)}${cells.map((c) => c.padEnd(12)).join("")}`);
  }
}
const share = (key: string): string => `${right.get(key) ?? 0} of ${runs.get(key) ?? 0}`;
for (const mode of ["rpm given", "rpm measured"] as Mode[]) {
  console.log(`${mode}: right ${share(`${mode}|all`)}; ${KINDS.map((k) => `${k} ${share(`${mode}|${k}`)}`).join(", ")}; ` +
    `by rate ${RATES_HZ.map((r) => `${r / 1000} kHz ${share(`${mode}|${r}`)}`).join(", ")}`);
  console.log(`  windows of the bearing faults, ${mode}: ${windowsRight.get(mode) ?? 0} of ${windowsAll.get(mode) ?? 0} name the fault, ` +
    `${windowsWrongBearing.get(mode) ?? 0} name another bearing fault; of the healthy pumps' ${windowsAll.get(`${mode}|none`) ?? 0} windows, ` +
    `${windowsWrongBearing.get(`${mode}|none`) ?? 0} name a bearing fault`);
}
console.log(`a bearing fault called another bearing fault: ${wrongRace.length}${wrongRace.length > 0 ? `\n  ${wrongRace.join("\n  ")}` : ""}`);
console.log(`a healthy pump (no fault drawn, its residual unbalance at most 1.3 mm/s) called something else: ${falseAlarms.length}${falseAlarms.length > 0 ? `\n  ${falseAlarms.join("\n  ")}` : ""}`);
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
