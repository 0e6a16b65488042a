// The decimated stream the shaft speed is read from (firmware/speed-stream.ts), through the
// debug build: its points are i16 of a common step, re-stepped as the signal's size changes, and
// a weak shaft line beside a strong line whose size keeps changing stays as it was.

import fs from "node:fs";
import * as loader from "@assemblyscript/loader";
import { beforeAll, describe, expect, it } from "vitest";
import { DEBUG_IMAGE } from "../../host/runtime/images.js";
import { silentHostImports } from "../../host/runtime/harness-hosts.js";
import { readRecording } from "../../simulator/replay/replay.js";

interface DebugExports extends Record<string, unknown> {
  Float32Array_ID: WebAssembly.Global;
  debug_speed_stream_begin(window: number, rateHz: number, topHz: number): void;
  debug_speed_stream_feed(samples: number): void;
  debug_speed_stream_points(): number;
  debug_speed_stream_knocks(): number;
}

let exports: loader.ASUtil & DebugExports;

beforeAll(async () => {
  const instance = await loader.instantiate<DebugExports>(fs.readFileSync(DEBUG_IMAGE), { host: silentHostImports() });
  exports = instance.exports as loader.ASUtil & DebugExports;
});

const RATE_HZ = 96_000;
const WINDOW = 4096;
const WINDOWS = 160;
const TOP_HZ = 300;

/** The stream after `windows` windows at `rateHz` of `signal(i, w)` (sample i from the first, in
 *  window w), harmonics up to `topHz` (the speed range's top a tenth of it): its rate, its points
 *  and the knocks it excised. */
function streamOf(rateHz: number, windows: number, signal: (i: number, w: number) => number, topHz = TOP_HZ): { rateHz: number; points: Float64Array; knocks: number } {
  exports.debug_speed_stream_begin(WINDOW, rateHz, topHz);
  const x = new Float32Array(WINDOW);
  for (let w = 0; w < windows; w++) {
    for (let n = 0; n < WINDOW; n++) x[n] = signal(w * WINDOW + n, w);
    const input = exports.__pin(exports.__newArray(exports.Float32Array_ID.value as number, x));
    exports.debug_speed_stream_feed(input);
    exports.__unpin(input);
  }
  const out = Float64Array.from(exports.__getFloat64Array(exports.debug_speed_stream_points()));
  const knocks = exports.debug_speed_stream_knocks();
  exports.__collect();
  return { rateHz: out[0], points: out.subarray(1), knocks };
}

/** The stream after WINDOWS windows of a 1 g line at 150 Hz whose size changes by `growth` a
 *  window and a steady 1 mg line at 29 Hz. */
function stream(growth: number): { rateHz: number; points: Float64Array } {
  return streamOf(RATE_HZ, WINDOWS, (i, w) => growth ** w * Math.sin((2 * Math.PI * 150 * i) / RATE_HZ) + 1e-3 * Math.sin((2 * Math.PI * 29 * i) / RATE_HZ));
}

/** The amplitude at `hz` over the newest `count` points (Hann-weighted DFT). */
function amplitude(points: Float64Array, rateHz: number, hz: number, count: number): number {
  let re = 0, im = 0, weights = 0;
  const from = points.length - count;
  for (let n = from; n < points.length; n++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * (n - from)) / count);
    weights += w;
    re += w * points[n] * Math.cos((2 * Math.PI * hz * n) / rateHz);
    im -= w * points[n] * Math.sin((2 * Math.PI * hz * n) / rateHz);
  }
  return (2 * Math.hypot(re, im)) / weights;
}

describe("the speed stream's i16 points (speed-stream.ts)", () => {
  it("decimates 96 kHz by 128 to 750 Hz for harmonics up to 300 Hz, 32 points a window, 4096 kept", () => {
    const { rateHz, points } = stream(1);
    expect(rateHz).toBe(750);
    expect(points.length).toBe(4096); // the stream's length: 128 windows' points, the rest gone
  });

  // Each window's largest point moves the step; re-stepped by powers of two, the points held are
  // rounded once a halving and multiplied exactly, so what the re-steps leave stays within a step.
  // A step set to exactly what each window needed rounded every point again at every window: with
  // the strong line shrinking 1 % a window the 29 Hz line came out 46 % low and the empty 41 Hz
  // at 9e-4 of a g; growing 0.3 % a window the line 0.17 % off, growing 1 % 0.26 % off and 41 Hz
  // at 1.0e-5, growing 2 % 41 Hz at 1.6e-5. The price of a power of two, a step up to twice what
  // the largest point needs, shows where the line moves fastest: 1.7 % off at 2 % a window.
  const CASES: Array<[growth: number, lineError: number, floor: number]> = [
    [1, 0.001, 1e-6], [0.99, 0.001, 1e-6], [1.003, 0.001, 1e-6], [1.01, 0.001, 5e-6], [1.02, 0.02, 1e-5],
  ];
  for (const [growth, lineError, floor] of CASES) {
    it(`keeps a 1 mg line beside a 1 g one changing by ${growth} a window: within ${lineError * 100} %, and under ${floor} g where there is nothing`, () => {
      const { rateHz, points } = stream(growth);
      expect(Math.abs(amplitude(points, rateHz, 29, 4096) / 1e-3 - 1)).toBeLessThan(lineError);
      expect(amplitude(points, rateHz, 41, 4096)).toBeLessThan(floor);
    });
  }
});

const line = (i: number): number => 1e-3 * Math.sin((2 * Math.PI * 29 * i) / 12_000);

describe("the speed stream through a knock and a DC level", () => {
  it("holds a 0.5 g burst among 1 mg windows as it came: the quiet windows after it re-step the stream finer only once every point held fits", () => {
    // Re-stepped finer from the quiet windows' points alone, the burst's held points were
    // multiplied past their i16 and wrapped: the stream's largest point came out at 0.0019 g.
    const { points } = streamOf(12_000, 12, (i, w) => line(i) + (w === 3 ? 0.5 * Math.sin((2 * Math.PI * 100 * i) / 12_000) : 0));
    expect(Math.max(...points)).toBeGreaterThan(0.49);
    expect(Math.min(...points)).toBeLessThan(-0.49);
  });

  it("holds its points from a DC level (gravity on a MEMS axis): 1 g added moves every point by 1 g and the 1 mg line by nothing", () => {
    const plain = streamOf(12_000, 12, (i) => line(i));
    const lifted = streamOf(12_000, 12, (i) => 1 + line(i));
    expect(lifted.points.length).toBe(plain.points.length);
    // The step follows the points' spread about the level, not the level: as fine either way.
    const offsets = lifted.points.map((p, k) => p - 1 - plain.points[k]);
    expect(Math.max(...offsets.map(Math.abs))).toBeLessThan(1e-6);
    const count = 2048;
    expect(Math.abs(amplitude(lifted.points, lifted.rateHz, 29, count) / amplitude(plain.points, plain.rateHz, 29, count) - 1)).toBeLessThan(1e-3);
  });
});

describe("the speed stream excises a knock (test/fixtures, CWRU 132 at 12 kHz)", () => {
  // A knock on the pipe: a 3 kHz ring of 20 × the record's RMS, 5 ms. Its abrupt start leaves the
  // stream one point far from the rest, whose flat spectrum hid the shaft's lines for as long as
  // the stream held it (firmware/speed-stream.ts, exciseKnocks).
  const samples = readRecording(new URL("../fixtures/cwru-132-outer-12k-excerpt.f32", import.meta.url).pathname);
  let squares = 0;
  for (const x of samples) squares += x * x;
  const rms = Math.sqrt(squares / samples.length);
  const knocked = (window: number): Float32Array => {
    const out = Float32Array.from(samples);
    const at = window * WINDOW + 1000;
    for (let k = 0; k < 60; k++) out[at + k] += 20 * rms * Math.exp(-k / 12) * Math.sin((2 * Math.PI * 3000 * k) / 12_000);
    return out;
  };
  const of = (x: Float32Array) => streamOf(12_000, 12, (i) => x[i], 600);

  it("leaves the recording as it came: nothing excised", () => {
    expect(of(samples).knocks).toBe(0);
  });

  it("a knock in the seventh window: one excision, the stream changed only within the cascade's reach of it, and no point stands out any more", () => {
    const clean = of(samples);
    const struck = of(knocked(6));
    expect(struck.knocks).toBe(1);
    expect(struck.points.length).toBe(clean.points.length);
    const changed = [...struck.points.keys()].filter((k) => struck.points[k] !== clean.points[k]);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed[changed.length - 1] - changed[0]).toBeLessThanOrEqual(40);
    const largest = (p: Float64Array): number => Math.max(...p.map(Math.abs));
    expect(largest(struck.points)).toBeLessThanOrEqual(largest(clean.points));
  });

  it("a knock in the second window, before the stream holds a reference, goes once it does", () => {
    expect(of(knocked(1)).knocks).toBe(1);
  });

  it("a window three times louder is the machine's own: nothing excised", () => {
    const louder = Float32Array.from(samples, (x, i) => (i >= 6 * WINDOW && i < 7 * WINDOW ? 3 * x : x));
    expect(of(louder).knocks).toBe(0);
  });
});
