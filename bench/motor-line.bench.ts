// What the motor's magnetic line costs the speed a pump measures (simulator/physics/pump.ts: the
// pull of an induction motor pulsates at twice its supply's frequency, 2 × pole pairs × the
// synchronous speed, a slip above the shaft's 2× or 4×). The default scenario's first pumps,
// healthy, configured as the fleet configures them (their synchronous speed), each measured
// every 30 minutes, with their motor's line and with it left out (the same pumps otherwise,
// draw for draw): as windows alone, the fleet's default, whose 3.1 Hz bins cannot part the line
// from the harmonic beside it, and as acquisitions of consecutive windows (a scenario's
// `acquisition_windows`), whose speed stream's bins can. Counts the measurements within 0.5 %
// of the model's shaft speed, by the motor's pole pairs.
// Run: npx tsx bench/motor-line.bench.ts [--image build/firmware.wasm] [--pumps 12] [--measurements 40] [--acquisition 8]

import fs from "node:fs";
import { parseArgs } from "node:util";
import { compileFirmware } from "../host/runtime/firmware.js";
import { replay } from "../simulator/replay/replay.js";
import { PumpModel } from "../simulator/physics/pump.js";
import { bearingOrders, drawPump } from "../simulator/physics/pump-params.js";
import { Random } from "../simulator/physics/random.js";
import { loadScenario } from "../simulator/scenario/scenario.js";

const { values } = parseArgs({
  options: {
    image: { type: "string", default: "build/firmware.wasm" }, pumps: { type: "string", default: "12" },
    measurements: { type: "string", default: "40" }, acquisition: { type: "string", default: "8" },
  },
});
const PUMPS = Number(values.pumps);
const MEASUREMENTS = Number(values.measurements);
const ACQUISITION = Number(values.acquisition);
const INTERVAL_S = 1800;
const WITHIN = 0.005;
const scenario = loadScenario(new URL("../scenarios/default.json", import.meta.url).pathname);
const firmware = await compileFirmware(new Uint8Array(fs.readFileSync(values.image!)));
const startMs = Date.parse(scenario.start);
const window = scenario.window;
const rateHz = scenario.sample_rate_hz;

/** Pump `index`'s motor's pole pairs and each measurement's speed error (relative), measured
 *  as acquisitions of `windows` consecutive windows. */
async function errors(index: number, withLine: boolean, windows: number): Promise<{ pairs: number; errors: number[] }> {
  const random = Random.forItem(scenario.seed, index);
  const parameters = drawPump(withLine ? scenario.pump : { ...scenario.pump, supply_mm_s: [0, 0] }, random);
  const model = new PumpModel(parameters, random, [], bearingOrders(scenario.bearing!));
  const samples = new Float32Array(MEASUREMENTS * windows * window);
  const times: number[] = [];
  const shafts: number[] = [];
  for (let m = 0; m < MEASUREMENTS; m++) {
    shafts.push(model.sample(samples.subarray(m * windows * window, (m + 1) * windows * window), rateHz, startMs + m * INTERVAL_S * 1000));
    for (let w = 0; w < windows; w++) times.push(m * INTERVAL_S + (w * window) / rateHz);
  }
  const result = await replay(samples, {
    rateHz, window, firmware, geometry: scenario.bearing, rpm: parameters.rpm, timesS: times, acquisitionWindows: windows,
  });
  // A measurement's value is its last window's (the trend takes that one).
  const measured = Array.from({ length: MEASUREMENTS }, (_, m) => result.windows[m * windows + windows - 1].features.shaft_hz!);
  return { pairs: parameters.pole_pairs, errors: measured.map((hz, m) => Math.abs(hz / shafts[m] - 1)) };
}

const started = performance.now();
console.log(`motor line: the default scenario's first ${PUMPS} pumps, healthy, ${MEASUREMENTS} measurements 30 minutes apart, the speed configured as the fleet does (synchronous); ${values.image}`);
for (const windows of [1, ACQUISITION]) {
  for (const withLine of [true, false]) {
    const byPairs = new Map<number, number[]>();
    for (let index = 0; index < PUMPS; index++) {
      const { pairs, errors: e } = await errors(index, withLine, windows);
      byPairs.set(pairs, [...(byPairs.get(pairs) ?? []), ...e]);
    }
    const cells = [...byPairs.entries()].sort(([a], [b]) => a - b).map(([pairs, e]) => {
      const sorted = [...e].sort((a, b) => a - b);
      return `${pairs === 1 ? "two" : "four"}-pole ${sorted.filter((x) => x < WITHIN).length} of ${sorted.length} (90th percentile ${(100 * sorted[Math.floor(0.9 * sorted.length)]).toFixed(2)} %)`;
    });
    console.log(`  ${windows === 1 ? "windows alone" : `acquisitions of ${windows} windows`}, ${withLine ? "with the motor's line" : "without it"}: within 0.5 % ${cells.join("; ")}`);
  }
}
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
