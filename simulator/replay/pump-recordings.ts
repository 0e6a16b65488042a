// Continuous recordings of the simulator's pump (physics/pump.ts: its bearing faults from a
// physical model, not from the firmware's formulas) at any sample rate and shaft speed, for
// replaying through the firmware where no real recording exists: bench/generality.bench.ts and
// the tests that hold the diagnosis across rates, speeds and bearings.

import { PumpModel } from "../physics/pump.js";
import { bearingOrders, drawPump, SUPPLY_MM_S_DEFAULT } from "../physics/pump-params.js";
import { Random } from "../physics/random.js";
import type { FaultKind } from "../physics/degradation.js";

/** At least this many shaft turns per recording, and at least this many seconds. */
const TURNS_MIN = 100;
const SECONDS_MIN = 4;
/** The running-speed lines' ranges at 25 Hz (g), scaled to other speeds at the same velocity:
 *  a healthy pump's ISO zone does not depend on its speed. */
const LINES_AT_HZ = 25;

export interface PumpRecording {
  samples: Float32Array;
  /** The pump's mean shaft speed (Hz). */
  shaftHz: number;
  /** Where its motor's magnetic line lies (Hz), twice the supply's frequency. */
  supplyHz: number;
}

/** A recording of `seconds` (default: 100 shaft turns, 4 s at least) of a pump whose shaft turns
 *  at `shaftHz` (its driver's synchronous speed less 1.5 % slip), with an SKF-like bearing of
 *  `geometry` and `kind` at the severity its fault has `severityTimeMs` into a 1000 ms life
 *  (severity (t / 1000)^2.5: 400 gives 0.10), or no fault. Deterministic in `seed`. */
export function pumpRecording(options: {
  rateHz: number; shaftHz: number; geometry: [number, number, number, number];
  kind: FaultKind | "none"; seed: number; severityTimeMs?: number; seconds?: number;
  /** The motor's magnetic line's RMS velocity range, mm/s (default SUPPLY_MM_S_DEFAULT; [0, 0]: none). */
  supplyMmS?: [number, number];
}): PumpRecording {
  const { rateHz, shaftHz, geometry, kind, seed } = options;
  const random = new Random(seed);
  const scale = shaftHz / LINES_AT_HZ;
  const model = new PumpModel(drawPump({
    rpm: [(shaftHz * 60) / 0.985, (shaftHz * 60) / 0.985], vanes: [5, 7], slip: [0.01, 0.02], load: [0.7, 0.8],
    imbalance_g: [0.005 * scale, 0.03 * scale], misalignment_g: [0.003 * scale, 0.015 * scale],
    vane_pass_g: [0.03 * scale, 0.12 * scale], noise_g: [0.01, 0.03], supply_mm_s: options.supplyMmS ?? SUPPLY_MM_S_DEFAULT,
  }, random), random, kind === "none" ? [] : [{ kind, onsetMs: 0, failureMs: 1000 }], bearingOrders(geometry));
  const seconds = options.seconds ?? Math.max(SECONDS_MIN, TURNS_MIN / shaftHz);
  const samples = new Float32Array(Math.round(seconds * rateHz));
  model.sample(samples, rateHz, options.severityTimeMs ?? 400);
  return { samples, shaftHz: model.shaftHz, supplyHz: model.parameters.supply_hz };
}
