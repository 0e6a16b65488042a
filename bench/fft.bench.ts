// Times one 4096-sample real FFT: the firmware's fft.ts built with the release flags (-O3z) and
// for speed (-O3), fft.js's realTransform, and native KissFFT (kiss_fftr, cc -O2); and the
// whole analysis of a 4096-sample window by build/firmware.wasm through the host runtime.
// Prints the median ns per transform (or window) over interleaved rounds, and the ratios.
// Run: npx tsx bench/fft.bench.ts   (needs libkissfft-dev for the native row; skipped otherwise)

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import FFT from "fft.js";
import { compileFirmware, Firmware } from "../host/runtime/firmware.js";
import { MemoryStorage } from "../host/storage/storage.js";
import { encodeFirmwareConfig } from "../protocol/messages.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SIZE = 4096;
const ROUNDS = 15;
const ROUND_MS_TARGET = 40;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One timed round: ns per transform. */
type Round = () => number;

/** Calibrates repeats so a round of `run` takes ~ROUND_MS_TARGET (warming V8 up to its optimising tier). */
function inProcess(run: (repeats: number) => void): Round {
  let repeats = 1;
  for (let i = 0; i < 30; i++) {
    const start = process.hrtime.bigint();
    run(repeats);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ms > ROUND_MS_TARGET / 4 && i > 3) { repeats = Math.max(1, Math.round(repeats * ROUND_MS_TARGET / ms)); break; }
    repeats *= 2;
  }
  return () => {
    const start = process.hrtime.bigint();
    run(repeats);
    return Number(process.hrtime.bigint() - start) / repeats;
  };
}

function testSignal(size: number): Float32Array {
  const x = new Float32Array(size);
  let seed = 12345;
  for (let i = 0; i < size; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    x[i] = (seed >>> 8) / 16777216 - 0.5;
  }
  return x;
}

async function buildBench(name: string, optimize: string[]): Promise<Uint8Array> {
  const out = path.join(root, "build", `fft-bench${name}.wasm`); // name is "-O3z" or "-O3"
  const args = [
    "bench/firmware-bench.ts", "--baseDir", root, "--outFile", out, ...optimize, "--converge", "--noAssert",
    "--runtime", "stub", "--use", "abort=firmware/panic/panic", "--initialMemory", "2", "--maximumMemory", "4",
  ];
  // asc applies ./asconfig.json (the firmware's entries and output files) unless told otherwise;
  // hiding it keeps this build to the bench entry and away from build/firmware.*.
  const readFile = (name: string, dir: string): Promise<string | null> =>
    name === "asconfig.json" ? Promise.resolve(null) : fs.promises.readFile(path.resolve(dir, name), "utf8").catch(() => null);
  const { error } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr, readFile });
  if (error) throw new Error(`bench module ${name} failed to build: ${error.message}`);
  return fs.readFileSync(out);
}

interface BenchExports {
  memory: WebAssembly.Memory;
  bench_fft_init(size_max: number): number;
  bench_input_ptr(): number;
  bench_output_ptr(): number;
  bench_table_bytes(): number;
  bench_fft_run(size: number, repeats: number): number;
}

async function instantiate(bytes: Uint8Array): Promise<BenchExports> {
  const host = {
    clock_ms: () => 0n, log: () => {}, publish: () => 0, storage_read: () => -1, storage_write: () => -1,
    panic: () => { throw new Error("firmware panic in the FFT bench"); },
  };
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(new Uint8Array(bytes)), { host });
  return instance.exports as unknown as BenchExports;
}

interface Row { name: string; note: string; round: Round; ns?: number }

async function firmwareRow(name: string, optimize: string[], input: Float32Array, reference: number[]): Promise<Row> {
  const bytes = await buildBench(name, optimize);
  const wasm = await instantiate(bytes);
  if (wasm.bench_fft_init(SIZE) < 0) throw new Error("bench_fft_init failed");
  new Float32Array(wasm.memory.buffer, wasm.bench_input_ptr(), SIZE).set(input);
  if (wasm.bench_fft_run(SIZE, 1) !== SIZE / 2 + 1) throw new Error("bench_fft_run failed");
  const bins = new Float32Array(wasm.memory.buffer, wasm.bench_output_ptr(), SIZE + 2);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < SIZE + 2; i++) {
    diff = Math.max(diff, Math.abs(bins[i] - reference[i]));
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  const round = inProcess((repeats) => { wasm.bench_fft_run(SIZE, repeats); });
  return { name: `firmware fft.ts ${name}`, round, note: `${bytes.length} B wasm, tables ${wasm.bench_table_bytes()} B, max |Δ| vs fft.js ${(diff / scale).toExponential(1)} of max |X|` };
}

function fftJsRow(input: Float32Array): { row: Row; reference: number[] } {
  const fft = new FFT(SIZE);
  const data = Float64Array.from(input);
  const out = fft.createComplexArray() as number[];
  fft.realTransform(out, data);
  const reference = out.slice(0, SIZE + 2);
  // One argument shape only: a second one (say a Float64Array out) makes realTransform
  // polymorphic in V8 and slows every call, which would understate fft.js.
  const round = inProcess((r) => { for (let i = 0; i < r; i++) fft.realTransform(out, data); });
  return { row: { name: "fft.js realTransform", round, note: "Float64Array in, createComplexArray() out" }, reference };
}

function kissRow(): Row | null {
  const exe = path.join(root, "build", "fft_bench_native");
  let flags: string[];
  try {
    flags = execFileSync("pkg-config", ["--cflags", "--libs", "kissfft-float"], { encoding: "utf8" }).trim().split(/\s+/);
  } catch {
    console.log("kissfft: pkg-config kissfft-float not found (apt-get install libkissfft-dev); native row skipped");
    return null;
  }
  execFileSync("cc", ["-O2", path.join(root, "bench/native/fft_bench.c"), "-o", exe, ...flags, "-lm"], { stdio: "inherit" });
  // One process per round, so the native rounds interleave with the others like they do.
  const round = (): number => {
    const output = execFileSync(exe, [String(SIZE), "1000", "1"], { encoding: "utf8" });
    const match = /^ns_per_transform ([\d.]+)$/m.exec(output);
    if (!match) throw new Error(`unexpected fft_bench output:\n${output}`);
    return Number(match[1]);
  };
  return { name: "KissFFT kiss_fftr (native)", round, note: "cc -O2, Debian libkissfft-float" };
}

/** The release firmware analysing whole windows: what a device does with each one. */
async function analysisRow(withBearing: boolean): Promise<Row> {
  const cwru = path.join(root, "..", "shared", "data", "cwru", "cwru-105-inner-12k.f32");
  const recording = fs.existsSync(cwru) ? new Float32Array(fs.readFileSync(cwru).buffer.slice(0, 16 * SIZE * 4)) : testSignal(16 * SIZE);
  const compiled = await compileFirmware(new Uint8Array(fs.readFileSync(path.join(root, "build", "firmware.wasm"))));
  let published = 0;
  const firmware = await Firmware.instantiate(compiled, {
    clockMs: () => 0, log: () => {}, publish: () => { published++; return true; }, storage: new MemoryStorage(),
  });
  const config: Record<string, unknown> = { device: "bench", rate_hz: 12000, window: SIZE, rpm: 1797 };
  if (withBearing) config.bearing = [9, 7.94, 39.04, 0];
  firmware.init(encodeFirmwareConfig(config as never));
  let t = 0;
  const windows = recording.length / SIZE;
  const round = inProcess((repeats) => {
    for (let r = 0; r < repeats; r++) {
      const w = r % windows;
      firmware.process(recording.subarray(w * SIZE, (w + 1) * SIZE), t, 12000);
      t += 1000;
    }
  });
  void published;
  return {
    name: withBearing ? "release firmware, whole window" : "  same, no bearing geometry",
    round,
    note: withBearing ? `${compiled.bytes.length} B wasm; features, spectrum, velocity, speed, envelope (3 bands), diagnosis, SenML` : "no envelope analysis",
  };
}

const input = testSignal(SIZE);
const { row: fftJs, reference } = fftJsRow(input);
const release = await firmwareRow("-O3z", ["--optimizeLevel", "3", "--shrinkLevel", "2"], input, reference);
const speed = await firmwareRow("-O3", ["--optimizeLevel", "3", "--shrinkLevel", "0"], input, reference);
const kiss = kissRow();
const whole = await analysisRow(true);
const wholeNoBearing = await analysisRow(false);
const rows = [release, speed, fftJs, ...(kiss ? [kiss] : []), whole, wholeNoBearing];
// Rounds interleave the implementations, so a busy machine slows them all alike.
const samples = rows.map((): number[] => []);
for (let round = 0; round < ROUNDS; round++) rows.forEach((row, i) => samples[i].push(row.round()));
rows.forEach((row, i) => { row.ns = median(samples[i]); });
const ns = (row: Row): number => row.ns ?? NaN;

console.log(`\nreal FFT, N = ${SIZE}, median of ${ROUNDS} rounds, node ${process.version}\n`);
console.log(`${"implementation".padEnd(30)} ${"ns/transform".padStart(12)}  notes`);
for (const row of rows) console.log(`${row.name.padEnd(30)} ${ns(row).toFixed(0).padStart(12)}  ${row.note}`);
console.log("");
for (const fw of [release, speed]) {
  const ratios = [`${fw.name}: / fft.js ${(ns(fw) / ns(fftJs)).toFixed(2)}`];
  if (kiss) ratios.push(`/ kissfft ${(ns(fw) / ns(kiss)).toFixed(2)}`);
  console.log(ratios.join(", "));
}
console.log(`whole analysis of a ${SIZE}-sample window: ${(ns(whole) / 1e6).toFixed(3)} ms (target < 0.5 ms), = ${(ns(whole) / ns(release)).toFixed(1)} firmware FFTs, ${(ns(whole) / ns(fftJs)).toFixed(1)} fft.js FFTs${kiss ? `, ${(ns(whole) / ns(kiss)).toFixed(1)} KissFFT FFTs` : ""}`);
