// A fingerprint of the pump model's output: sha256 of every window PumpModel.sample writes (and
// the shaft speed it returns, and the thermal model's readings) for 42 pumps of the default
// scenario, healthy and with every fault kind alone and together, over a fault's whole P–F
// interval, at the default rate and window and at three others. An optimisation of the model
// must leave it unchanged: the simulator is deterministic by seed.
// Run: npx tsx bench/pump-hash.ts [--dir DIR]  (DIR: another copy of simulator/physics/ to fingerprint)

import { createHash } from "node:crypto";
import fs from "node:fs";
import { parseArgs } from "node:util";
import { FAULT_KINDS, type Degradation } from "../simulator/physics/degradation.js";
import { loadScenario } from "../simulator/scenario/scenario.js";

const PUMPS = 42;
const DAY_MS = 86_400_000;
/** Days of each window after the scenario's start: before onset (day 1) to past failure (day 25). */
const DAYS = [0, 1.5, 3, 6, 10, 14, 18, 22, 24.9, 30];
/** [sample rate, window]: the default first. */
const FORMATS: [number, number][] = [[12_800, 4096], [25_600, 2048], [4000, 1000], [51_200, 8192]];

const { values } = parseArgs({ options: { dir: { type: "string" } } });
const dir = values.dir ?? new URL("../simulator/physics", import.meta.url).pathname;
const pump = await import(`${dir}/pump.ts`);
// The drawn parameters moved to pump-params.ts; an older copy has them in pump.ts.
const params = fs.existsSync(`${dir}/pump-params.ts`) ? await import(`${dir}/pump-params.ts`) : pump;
const { Random } = await import(`${dir}/random.ts`);
const { ThermalModel } = await import(`${dir}/thermal.ts`);
const scenario = loadScenario(new URL("../scenarios/default.json", import.meta.url).pathname);
const startMs = Date.parse(scenario.start);

/** Pump i: healthy when i % 7 is 0, else one fault kind; from pump 35 on, two or three. */
function faultsOf(i: number): Degradation[] {
  const fault = (k: number, shiftDays: number): Degradation => ({
    kind: FAULT_KINDS[k % FAULT_KINDS.length], onsetMs: startMs + (1 + shiftDays) * DAY_MS, failureMs: startMs + (25 + shiftDays) * DAY_MS,
  });
  if (i >= 35) return [fault(i, 0), fault(i + 2, 0.5), ...(i % 2 === 0 ? [fault(i + 4, -0.5)] : [])];
  return i % 7 === 0 ? [] : [fault(i % 7 - 1, (i % 5) - 2)];
}

const all = createHash("sha256");
for (const [rateHz, samples] of FORMATS) {
  const format = createHash("sha256");
  const window = new Float32Array(samples);
  const shafts = new Float64Array(2);
  for (let i = 0; i < PUMPS; i++) {
    const random = Random.forItem(scenario.seed, i);
    const orders = i === 7 ? undefined : params.bearingOrders(scenario.bearing!);
    const model = new pump.PumpModel(params.drawPump(scenario.pump, random), random, faultsOf(i), orders);
    const thermal = new ThermalModel(scenario.seed, i, model);
    for (const day of DAYS) {
      for (let repeat = 0; repeat < 2; repeat++) {
        const timeMs = startMs + day * DAY_MS + repeat * 1_800_000 + i * 1000;
        shafts[0] = model.sample(window, rateHz, timeMs);
        shafts[1] = thermal.temperatureC(timeMs);
        format.update(new Uint8Array(window.buffer));
        format.update(new Uint8Array(shafts.buffer));
      }
    }
  }
  const digest = format.digest("hex");
  all.update(digest);
  console.log(`${rateHz} Hz × ${samples}: ${digest}`);
}
console.log(`all: ${all.digest("hex")}`);
