// What supervision costs: process() of one 4096-sample window (12.8 kHz, full configuration:
// envelope analysis and all) through the in-thread runtime and through the worker runtime,
// whose call is a postMessage each way plus one synchronous import round trip per publish
// (the telemetry pack), answered by the main thread. Median and 90th percentile, µs, of
// WINDOWS windows after WARMUP, in this process; also a boot (instantiate + init) each way,
// the start of a worker, and tick() (no publish: the bare call overhead).
// Run: npx tsx bench/runtime.bench.ts

import fs from "node:fs";
import { compileFirmware, type FirmwareHost } from "../host/runtime/firmware.js";
import { InlineRuntime, type FirmwareRuntime } from "../host/runtime/runtime.js";
import { MemoryStorage } from "../host/storage/storage.js";
import { WorkerRuntime } from "../host/runtime/worker-runtime.js";
import { encodeFirmwareConfig, type FirmwareConfig } from "../protocol/messages.js";
import { Random } from "../simulator/physics/random.js";

const WINDOW = 4096;
const RATE_HZ = 12_800;
const WARMUP = 30;
const WINDOWS = 300;
const TICKS = 2000;
const CONFIG: FirmwareConfig = {
  device: "bench", rate_hz: RATE_HZ, window: WINDOW, units: "g", rpm: 2960, vanes: 6, bearing: [9, 7.94, 39.04, 0],
};

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const compiled = await compileFirmware(new Uint8Array(fs.readFileSync(new URL("../build/firmware.wasm", import.meta.url))));
const random = new Random(1);
const signal = Float32Array.from({ length: WINDOW }, (_, i) => 0.1 * Math.sin((2 * Math.PI * 49.3 * i) / RATE_HZ) + 0.02 * random.gaussian());
let published = 0;
const host: FirmwareHost = { clockMs: () => 0, publish: () => (published++, true), log: () => {}, storage: new MemoryStorage() };

async function measure(name: string, runtime: FirmwareRuntime): Promise<number> {
  let started = performance.now();
  await runtime.boot(encodeFirmwareConfig(CONFIG));
  const bootMs = performance.now() - started;
  const times: number[] = [];
  for (let w = 0; w < WARMUP + WINDOWS; w++) {
    started = performance.now();
    const count = await runtime.process(signal, w * 1000, RATE_HZ);
    if (count !== 1) throw new Error(`window ${w} published ${count} messages, not 1`);
    if (w >= WARMUP) times.push((performance.now() - started) * 1000);
  }
  const ticks: number[] = [];
  for (let t = 0; t < TICKS; t++) {
    started = performance.now();
    await runtime.tick(WARMUP * 1000 + WINDOWS * 1000);
    ticks.push((performance.now() - started) * 1000);
  }
  const median = quantile(times, 0.5);
  console.log(`${name.padEnd(7)} process(4096): median ${median.toFixed(0)} µs, p90 ${quantile(times, 0.9).toFixed(0)} µs; tick: median ${quantile(ticks, 0.5).toFixed(1)} µs; boot ${bootMs.toFixed(1)} ms`);
  await runtime.close();
  return median;
}

console.log(`node ${process.version}, ${WINDOWS} windows of ${WINDOW} samples at ${RATE_HZ} Hz after ${WARMUP} warm-up`);
const inline = await measure("inline", new InlineRuntime(compiled, host));
const started = performance.now();
const worker = new WorkerRuntime(compiled, host);
await worker.boot(encodeFirmwareConfig(CONFIG)); // starts the worker: not part of the measured boot below
console.log(`worker start + first boot: ${(performance.now() - started).toFixed(0)} ms`);
const supervised = await measure("worker", worker);
console.log(`worker overhead per window: ${(supervised - inline).toFixed(0)} µs (${((supervised / inline - 1) * 100).toFixed(1)} %)`);
