// Per-window cost of Firmware.process for two firmware images, interleaved in one run over the
// same windows: pumps of the default scenario (deviceConfig, PumpModel), most healthy and some
// with each kind of fault at a visible severity, so the envelope analysis runs as in a fleet.
// Rounds alternate the images (A B, then B A) so drift on a shared machine falls on both; the
// medians over rounds are printed with the ratio. Every message each image publishes is
// compared byte for byte, and the first telemetry records that differ are printed.
// Run: npx tsx bench/firmware-compare.bench.ts --a old.wasm [--b build/firmware.wasm] [--rounds 15]

import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { compileFirmware, Firmware, type CompiledFirmware } from "../host/runtime/firmware.js";
import { decodeSenml } from "../protocol/senml.js";
import { benchDevice, benchPumps, FAULTS, WINDOWS_PER_PUMP, scenario, startMs } from "./default-pumps.js";

const WARMUP_ROUNDS = 3;

const { values } = parseArgs({
  options: { a: { type: "string" }, b: { type: "string", default: "build/firmware.wasm" }, rounds: { type: "string", default: "15" } },
});
if (values.a === undefined) throw new Error("--a <firmware.wasm> is required (the image to compare against)");
const rounds = Number(values.rounds);
const pumps = benchPumps();

interface Image { name: string; devices: Firmware[]; published: Uint8Array[][]; times: number[] }

async function image(name: string, file: string): Promise<Image> {
  const compiled: CompiledFirmware = await compileFirmware(new Uint8Array(fs.readFileSync(file)));
  const published: Uint8Array[][] = [];
  const devices: Firmware[] = [];
  for (const pump of pumps) {
    const messages: Uint8Array[] = [];
    published.push(messages);
    devices.push(await benchDevice(compiled, pump, (message) => messages.push(message)));
  }
  return { name, devices, published, times: [] };
}

/** One pass of every pump's windows through one image: µs per window. */
function pass(target: Image, round: number): number {
  let elapsedMs = 0;
  for (let w = 0; w < WINDOWS_PER_PUMP; w++) {
    for (let p = 0; p < pumps.length; p++) {
      const timeMs = startMs + ((round * WINDOWS_PER_PUMP + w) * pumps.length + p) * 600_000;
      const started = performance.now();
      target.devices[p].process(pumps[p].windows[w], timeMs, scenario.sample_rate_hz);
      elapsedMs += performance.now() - started;
    }
  }
  return (elapsedMs * 1000) / (WINDOWS_PER_PUMP * pumps.length);
}

function median(list: number[]): number {
  const sorted = [...list].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const a = await image("A", values.a);
const b = await image("B", values.b);
for (let round = 0; round < WARMUP_ROUNDS + rounds; round++) {
  const order = round % 2 === 0 ? [a, b] : [b, a];
  for (const target of order) {
    const us = pass(target, round);
    if (round >= WARMUP_ROUNDS) target.times.push(us);
  }
}

let windows = 0;
let differing = 0;
const shown: string[] = [];
for (let p = 0; p < pumps.length; p++) {
  const [left, right] = [a.published[p], b.published[p]];
  for (let m = 0; m < Math.max(left.length, right.length); m++) {
    windows++;
    if (left[m] !== undefined && right[m] !== undefined && Buffer.compare(left[m], right[m]) === 0) continue;
    differing++;
    if (shown.length >= 8 || left[m] === undefined || right[m] === undefined) continue;
    const [ra, rb] = [decodeSenml(left[m]), decodeSenml(right[m])];
    const fields = ra.map((record, r) => [record, rb[r]] as const)
      .filter(([x, y]) => JSON.stringify(x) !== JSON.stringify(y))
      .map(([x, y]) => `${String(x.n ?? x.bn)}: ${JSON.stringify(x.v ?? x.vs)} vs ${JSON.stringify(y?.v ?? y?.vs)}`);
    shown.push(`pump ${p} message ${m}: ${fields.join(", ")}`);
  }
}

console.log(`firmware compare: ${pumps.length} pumps (${FAULTS.length} with faults) × ${WINDOWS_PER_PUMP} windows of ${scenario.window} samples at ${scenario.sample_rate_hz} Hz, ${rounds} rounds alternating, node ${process.version}`);
console.log(`A ${values.a}: median ${median(a.times).toFixed(1)} us/window (min ${Math.min(...a.times).toFixed(1)}, max ${Math.max(...a.times).toFixed(1)})`);
console.log(`B ${values.b}: median ${median(b.times).toFixed(1)} us/window (min ${Math.min(...b.times).toFixed(1)}, max ${Math.max(...b.times).toFixed(1)})`);
const ratios = a.times.map((t, i) => b.times[i] / t);
const ratio = median(ratios);
console.log(`B / A: median of per-round ratios ${ratio.toFixed(3)} (${(Math.abs(1 - ratio) * 100).toFixed(1)} % ${ratio > 1 ? "more" : "less"})`);
console.log(`telemetry: ${windows - differing} of ${windows} messages identical byte for byte`);
for (const line of shown) console.log(`  ${line}`);
