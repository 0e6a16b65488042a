// Instructions a firmware image executes per window, counted exactly (bench/wasm-count.ts
// rewrites the image to count them), and its f64 and f32 arithmetic: in the image, and
// executed per window. The windows are the default scenario's pumps (bench/default-pumps.ts),
// processed as the fleet does: one window alone every 10 minutes. An interpreter on a device
// pays per instruction (13–29 × V8's time here), and a single-precision FPU pays a software
// routine per f64 operation: these counts, not V8's time, are what a board sees. With --a, an
// older image is counted too and the ratios printed; both images' telemetry must agree byte
// for byte with the uninstrumented image's (the counting changes nothing else).
// With --profile, the functions that execute the most of them (names from the .wat beside the
// image, as the build writes it).
// Run: npx tsx bench/instructions.bench.ts [--a old.wasm] [--b build/firmware.wasm] [--profile]

import fs from "node:fs";
import { parseArgs } from "node:util";
import { compileFirmware, Firmware } from "../host/runtime/firmware.js";
import { benchDevice, benchPumps, FAULTS, HEALTHY_PUMPS, WINDOWS_PER_PUMP, scenario, startMs } from "./default-pumps.js";
import { COUNTERS, instrument, staticCounts } from "./wasm-count.js";

const { values } = parseArgs({
  options: { a: { type: "string" }, b: { type: "string", default: "build/firmware.wasm" }, profile: { type: "boolean", default: false } },
});
const PROFILE_ROWS = 20;
const pumps = benchPumps();

interface Counts { instructions: number; f64: number; f32: number }
interface Measured { file: string; bytes: number; image: Counts; perWindow: Counts[]; healthy: Counts; faulty: Counts; telemetryMatches: boolean }

/** Every pump's windows through `bytes` (instrumented or not): counts per window, and telemetry. */
async function run(bytes: Uint8Array): Promise<{ perWindow: Counts[]; telemetry: Uint8Array[]; functions: Map<string, number> }> {
  const compiled = await compileFirmware(bytes);
  const perWindow: Counts[] = [];
  const functions = new Map<string, number>();
  const telemetry: Uint8Array[] = [];
  for (const pump of pumps) {
    const device = await benchDevice(compiled, pump, (message) => telemetry.push(message));
    const atInit = functionCounts(device);
    for (let w = 0; w < WINDOWS_PER_PUMP; w++) {
      const before = read(device);
      device.process(pump.windows[w], startMs + (w * pumps.length + pump.index) * 600_000, scenario.sample_rate_hz);
      const after = read(device);
      perWindow.push({ instructions: after[0] - before[0], f64: after[1] - before[1], f32: after[2] - before[2] });
    }
    // Per function, over the pump's windows (not its init).
    for (const [name, count] of functionCounts(device)) functions.set(name, (functions.get(name) ?? 0) + count - (atInit.get(name) ?? 0));
  }
  return { perWindow, telemetry, functions };
}

function functionCounts(device: Firmware): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [name, global] of Object.entries(exportsOf(device))) {
    if (name.startsWith("__function")) counts.set(name, Number(global?.value ?? 0n));
  }
  return counts;
}

function exportsOf(device: Firmware): Record<string, WebAssembly.Global | undefined> {
  return (device as unknown as { exports: Record<string, WebAssembly.Global | undefined> }).exports;
}

/** The counters' values (zeros for an image that was not instrumented). The bench reaches into
 *  the instance's exports: the counters are no part of the ABI. */
function read(device: Firmware): number[] {
  const exports = exportsOf(device);
  return COUNTERS.map((name) => Number(exports[name]?.value ?? 0n));
}

function median(list: number[]): number {
  const sorted = [...list].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function medians(list: Counts[]): Counts {
  return { instructions: median(list.map((c) => c.instructions)), f64: median(list.map((c) => c.f64)), f32: median(list.map((c) => c.f32)) };
}

async function measure(file: string): Promise<Measured> {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const plain = await run(bytes);
  const counted = await run(instrument(bytes));
  const telemetryMatches = plain.telemetry.length === counted.telemetry.length
    && plain.telemetry.every((m, i) => Buffer.compare(m, counted.telemetry[i]) === 0);
  const isHealthy = (i: number): boolean => Math.floor(i / WINDOWS_PER_PUMP) < HEALTHY_PUMPS;
  return {
    file, bytes: bytes.length, image: staticCounts(bytes), perWindow: counted.perWindow, telemetryMatches,
    healthy: medians(counted.perWindow.filter((_, i) => isHealthy(i))),
    faulty: medians(counted.perWindow.filter((_, i) => !isHealthy(i))),
  };
}

const format = (n: number): string => Math.round(n).toLocaleString("en-GB");

function print(label: string, m: Measured): void {
  console.log(`${label} ${m.file}: ${format(m.bytes)} bytes; in the image ${format(m.image.instructions)} instructions, f64 arithmetic ${format(m.image.f64)}, f32 arithmetic ${format(m.image.f32)}`);
  for (const [name, c] of [["healthy pumps", m.healthy], ["pumps with faults", m.faulty], ["all", medians(m.perWindow)]] as const) {
    console.log(`  per window, ${name} (median): ${format(c.instructions)} instructions executed, f64 arithmetic ${format(c.f64)}, f32 arithmetic ${format(c.f32)}`);
  }
  console.log(`  telemetry of the counting image identical to the image's: ${m.telemetryMatches ? "yes" : "NO"}`);
}

console.log(`instructions per window: ${pumps.length} pumps (${FAULTS.length} with faults) × ${WINDOWS_PER_PUMP} windows of ${scenario.window} samples at ${scenario.sample_rate_hz} Hz, each window alone (as the fleet's, 10 minutes apart)`);
const b = await measure(values.b);
if (values.a !== undefined) {
  const a = await measure(values.a);
  print("A", a);
  print("B", b);
  const all = (m: Measured): Counts => medians(m.perWindow);
  const ratio = (x: number, y: number): string => (y === 0 ? "n/a" : (x / y).toFixed(3));
  console.log(`B / A per window (median): instructions ${ratio(all(b).instructions, all(a).instructions)}, f64 arithmetic ${ratio(all(b).f64, all(a).f64)}; in the image: f64 arithmetic ${ratio(b.image.f64, a.image.f64)}, bytes ${ratio(b.bytes, a.bytes)}`);
} else {
  print("image", b);
}
if (!b.telemetryMatches) process.exitCode = 1;
if (values.profile) await profile(values.b);

/** The functions of `file` that execute the most instructions per window, themselves. */
async function profile(file: string): Promise<void> {
  const { functions } = await run(instrument(new Uint8Array(fs.readFileSync(file)), true));
  const wat = file.replace(/\.wasm$/, ".wat");
  const names = fs.existsSync(wat) ? [...fs.readFileSync(wat, "utf8").matchAll(/^ \(func (\$\S+)|\(import "[^"]*" "[^"]*" \(func (\$\S+)/gm)].map((m) => m[1] ?? m[2]) : [];
  const windows = pumps.length * WINDOWS_PER_PUMP;
  const total = [...functions.values()].reduce((sum, n) => sum + n, 0);
  console.log(`profile of ${file}: the ${PROFILE_ROWS} functions executing the most instructions per window, themselves (names from ${fs.existsSync(wat) ? wat : "nowhere: no .wat beside the image"})`);
  for (const [key, count] of [...functions.entries()].sort((x, y) => y[1] - x[1]).slice(0, PROFILE_ROWS)) {
    const index = Number(key.slice("__function".length));
    console.log(`  ${format(count / windows).padStart(11)}  ${(100 * count / total).toFixed(1).padStart(5)} %  ${names[index] ?? `function ${index}`}`);
  }
}

