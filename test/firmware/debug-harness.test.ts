// The debug build through @assemblyscript/loader: firmware internals called with JS arrays,
// checked against the TypeScript reference on seeded random input.

import fs from "node:fs";
import * as loader from "@assemblyscript/loader";
import { beforeAll, describe, expect, it } from "vitest";
import { Random } from "../../simulator/physics/random.js";
import { timeFeatures } from "../support/features-reference.js";
import { DEBUG_IMAGE } from "../../host/runtime/images.js";
import { silentHostImports } from "../../host/runtime/harness-hosts.js";

interface DebugExports extends Record<string, unknown> {
  debug_time_features(samples: number, scale: number): number;
  debug_half_to_f64(half: number): number;
  Float32Array_ID: WebAssembly.Global;
}

let exports: loader.ASUtil & DebugExports;

beforeAll(async () => {
  const host = silentHostImports();
  const instance = await loader.instantiate<DebugExports>(fs.readFileSync(DEBUG_IMAGE), { host });
  exports = instance.exports as loader.ASUtil & DebugExports;
});

function features(samples: Float32Array, scale: number): number[] {
  const { __newArray, __getFloat64Array, __pin, __unpin } = exports;
  const input = __pin(__newArray(floatArrayId(), samples));
  try {
    return Array.from(__getFloat64Array(exports.debug_time_features(input, scale)));
  } finally {
    __unpin(input);
  }
}

function floatArrayId(): number {
  return exports.Float32Array_ID.value as number;
}

describe("debug build internals", () => {
  it("time features equal the TypeScript reference on 20 random windows (relative 1e-12)", () => {
    const random = new Random(7);
    for (let round = 0; round < 20; round++) {
      const samples = Float32Array.from({ length: 64 + round * 97 }, () => random.gaussian() * 0.3 + Math.sin(round));
      const got = features(samples, 9.80665);
      const want = timeFeatures(samples, 9.80665);
      const expected = [want.mean, want.rms, want.peak, want.peakToPeak, want.crest, want.kurtosis, want.skewness];
      got.forEach((value, index) => expect(Math.abs(value - expected[index])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected[index]))));
    }
  });

  it("time features from the window's one pass (sums about its first sample) hold where that sample lies far out or the window sits on a DC level (relative 1e-8: finer than the f32 telemetry carries them in, 6e-8)", () => {
    const random = new Random(11);
    for (const [first, level] of [[1e5, 0], [-3e3, 0], [0, 1e4], [40, -250]]) {
      const samples = Float32Array.from({ length: 4096 }, () => level + random.gaussian() * 0.3);
      samples[0] = level + first;
      const got = features(samples, 1);
      const want = timeFeatures(samples, 1);
      const expected = [want.mean, want.rms, want.peak, want.peakToPeak, want.crest, want.kurtosis, want.skewness];
      got.forEach((value, index) => expect(Math.abs(value - expected[index])).toBeLessThanOrEqual(1e-8 * Math.max(1, Math.abs(expected[index]))));
    }
  });

  it("a constant signal has zero RMS and zero crest, kurtosis and skewness", () => {
    expect(features(new Float32Array(32).fill(2), 1)).toEqual([2, 0, 0, 0, 0, 0, 0]);
  });

  it("decodes half-precision floats as RFC 8949 Appendix D does", () => {
    expect(exports.debug_half_to_f64(0x3c00)).toBe(1);
    expect(exports.debug_half_to_f64(0x3e00)).toBe(1.5);
    expect(exports.debug_half_to_f64(0x7bff)).toBe(65504);
    expect(exports.debug_half_to_f64(0x0001)).toBe(5.960464477539063e-8);
    expect(exports.debug_half_to_f64(0x0400)).toBe(0.00006103515625);
    expect(exports.debug_half_to_f64(0xc400)).toBe(-4);
    expect(exports.debug_half_to_f64(0x7c00)).toBe(Infinity);
    expect(exports.debug_half_to_f64(0xfc00)).toBe(-Infinity);
    expect(exports.debug_half_to_f64(0x7e00)).toBeNaN();
    expect(Object.is(exports.debug_half_to_f64(0x8000), -0)).toBe(true);
  });
});
