// Microseconds per window of PumpModel.sample (the default scenario: 4096 samples at 12,800 Hz)
// for healthy pumps and for pumps with each fault kind at mid-life, in this thread. With
// --baseline DIR (another copy of simulator/physics/, e.g. an older commit's) it runs both models
// interleaved in one process, batch by batch in alternating order, so that the noise of a
// shared machine falls on both alike, and reports the median batch of each.
// Run: npx tsx bench/pump.bench.ts [--baseline DIR] [--rounds 200]

import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { FAULT_KINDS, type Degradation } from "../simulator/physics/degradation.js";
import { loadScenario } from "../simulator/scenario/scenario.js";

const PUMPS = 20;
const WARMUP_ROUNDS = 50;
const DAY_MS = 86_400_000;

const { values } = parseArgs({ options: { baseline: { type: "string" }, rounds: { type: "string", default: "200" } } });
const rounds = Number(values.rounds);
const scenario = loadScenario(new URL("../scenarios/default.json", import.meta.url).pathname);
const startMs = Date.parse(scenario.start);

interface Sampler { sample(out: Float32Array, sampleRateHz: number, timeMs: number): number }
interface Implementation { name: string; models: (faults: (i: number) => Degradation[]) => Sampler[] }

async function implementation(name: string, dir: string): Promise<Implementation> {
  const pump = await import(`${dir}/pump.ts`);
  // The drawn parameters moved to pump-params.ts; an older copy has them in pump.ts.
  const params = fs.existsSync(`${dir}/pump-params.ts`) ? await import(`${dir}/pump-params.ts`) : pump;
  const { Random } = await import(`${dir}/random.ts`);
  return {
    name,
    models: (faults) => Array.from({ length: PUMPS }, (_, i) => {
      const random = Random.forItem(scenario.seed, i);
      return new pump.PumpModel(params.drawPump(scenario.pump, random), random, faults(i), params.bearingOrders(scenario.bearing!)) as Sampler;
    }),
  };
}

const implementations = [await implementation("current", new URL("../simulator/physics", import.meta.url).pathname)];
if (values.baseline !== undefined) implementations.unshift(await implementation("baseline", values.baseline));

/** Every pump has the fault from day 1, failing on day 21: the windows fall around day 11. */
const cases: [string, (i: number) => Degradation[]][] = [
  ["healthy", () => []],
  ...FAULT_KINDS.map((kind): [string, (i: number) => Degradation[]] => [kind, () => [{ kind, onsetMs: startMs + DAY_MS, failureMs: startMs + 21 * DAY_MS }]]),
];

const window = new Float32Array(scenario.window);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

console.log(`PumpModel.sample: ${scenario.window} samples at ${scenario.sample_rate_hz} Hz, ${PUMPS} pumps a batch, median of ${rounds} batches, node ${process.version}`);
console.log(["case".padEnd(16), ...implementations.map((m) => `${m.name} us/window`.padStart(20)), ...(implementations.length > 1 ? ["ratio".padStart(8)] : [])].join(""));
for (const [name, faults] of cases) {
  const sets = implementations.map((m) => m.models(faults));
  const times: number[][] = implementations.map(() => []);
  for (let round = 0; round < WARMUP_ROUNDS + rounds; round++) {
    const timeMs = startMs + 10 * DAY_MS + round * 600_000;
    for (let j = 0; j < sets.length; j++) {
      const k = round % 2 === 0 ? j : sets.length - 1 - j; // alternate which runs first
      const started = performance.now();
      for (const model of sets[k]) model.sample(window, scenario.sample_rate_hz, timeMs);
      if (round >= WARMUP_ROUNDS) times[k].push(((performance.now() - started) * 1000) / PUMPS);
    }
  }
  const medians = times.map(median);
  console.log([name.padEnd(16), ...medians.map((us) => us.toFixed(1).padStart(20)),
    ...(medians.length > 1 ? [`${(medians[0] / medians[1]).toFixed(2)}x`.padStart(8)] : [])].join(""));
}
