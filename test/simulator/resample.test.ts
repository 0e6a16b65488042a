// The resampler bench/resampled.bench.ts replays CWRU's 48 kHz records through, and the warp
// bench/speed-wander.bench.ts reads them at a wandering pace with: what they keep and what they
// remove, measured on tones.

import { describe, expect, it } from "vitest";
import { resample, warp } from "../../simulator/replay/resample.js";

/** A tone of `amplitude` at `hz`, `count` samples at `rateHz`. */
function tone(count: number, rateHz: number, hz: number, amplitude = 1): Float32Array {
  return Float32Array.from({ length: count }, (_, n) => amplitude * Math.sin((2 * Math.PI * hz * n) / rateHz));
}

/** The amplitude of the tone at `hz` in `x` (a least-squares fit of sine and cosine over the
 *  middle, clear of the kernel's edges). */
function amplitudeAt(x: Float32Array, rateHz: number, hz: number): number {
  let ss = 0, cc = 0, sc = 0, xs = 0, xc = 0;
  for (let n = 200; n < x.length - 200; n++) {
    const s = Math.sin((2 * Math.PI * hz * n) / rateHz), c = Math.cos((2 * Math.PI * hz * n) / rateHz);
    ss += s * s; cc += c * c; sc += s * c; xs += x[n] * s; xc += x[n] * c;
  }
  const det = ss * cc - sc * sc;
  const a = (xs * cc - xc * sc) / det, b = (xc * ss - xs * sc) / det;
  return Math.hypot(a, b);
}

describe("resample", () => {
  it("48 kHz to 20 kHz: floor(n · 5 / 12) samples, a 3 kHz tone's amplitude within 0.1 % at its frequency", () => {
    const out = resample(tone(48_000, 48_000, 3000, 2), 5, 12);
    expect(out.length).toBe(20_000);
    expect(Math.abs(amplitudeAt(out, 20_000, 3000) / 2 - 1)).toBeLessThan(1e-3);
  });

  it("keeps a tone at 0.38 of the new rate within 1 %, below what the firmware reads (0.4)", () => {
    const out = resample(tone(48_000, 48_000, 0.38 * 32_000), 2, 3);
    expect(Math.abs(amplitudeAt(out, 32_000, 0.38 * 32_000) - 1)).toBeLessThan(0.01);
  });

  it("removes a tone at 0.6 of the new rate by 100 dB: nothing of it folds to 0.4 of the new rate", () => {
    const out = resample(tone(48_000, 48_000, 0.6 * 25_600), 8, 15);
    expect(out.length).toBe(25_600);
    // It would fold to 0.4 of the new rate.
    expect(amplitudeAt(out, 25_600, 0.4 * 25_600)).toBeLessThan(10 ** (-100 / 20));
  });

  it("keeps a tone at 0.4 of the old rate within 0.01 % on the way up, and its image above the old band 100 dB down", () => {
    const out = resample(tone(48_000, 48_000, 0.4 * 48_000), 4, 3);
    expect(out.length).toBe(64_000);
    expect(Math.abs(amplitudeAt(out, 64_000, 19_200) - 1)).toBeLessThan(1e-4);
    // Upsampling leaves images of the old spectrum about the old rate: 48 − 19.2 kHz.
    expect(amplitudeAt(out, 64_000, 48_000 - 19_200)).toBeLessThan(10 ** (-100 / 20));
  });

  it("keeps the mean (unit gain at DC) and refuses ratios that are not whole numbers", () => {
    const out = resample(new Float32Array(9600).fill(0.25), 1, 2);
    expect(out.length).toBe(4800);
    expect(Math.abs(out[2400] - 0.25)).toBeLessThan(1e-6);
    expect(() => resample(new Float32Array(10), 1.5, 2)).toThrow(RangeError);
    expect(() => resample(new Float32Array(10), 0, 2)).toThrow(RangeError);
  });
});

describe("warp", () => {
  it("read at a steady pace of 1.01, a 1 kHz tone comes out at 1010 Hz, its amplitude within 0.1 %", () => {
    const out = warp(tone(12_000, 12_000, 1000, 2), (m) => 1.01 * m, 1.01);
    // It stops where the kernel (34 input samples either side at this pace) would pass the input's end.
    const half = 34;
    expect(Math.floor(1.01 * (out.length - 1)) + half).toBeLessThan(12_000);
    expect(Math.floor(1.01 * out.length) + half).toBeGreaterThanOrEqual(12_000);
    expect(Math.abs(amplitudeAt(out, 12_000, 1010) / 2 - 1)).toBeLessThan(1e-3);
  });

  it("read at the pace 1 + A sin(2π t / T), a tone's phase follows the integral of the pace", () => {
    const rate = 12_000, hz = 500, wander = 0.02, w = (2 * Math.PI) / (1 * rate);
    const out = warp(tone(3 * rate, rate, hz), (m) => m + (wander / w) * (1 - Math.cos(w * m)), 1 + wander);
    let worst = 0;
    for (let m = 100; m < out.length - 100; m++) {
      const expected = Math.sin((2 * Math.PI * hz * (m + (wander / w) * (1 - Math.cos(w * m)))) / rate);
      worst = Math.max(worst, Math.abs(out[m] - expected));
    }
    expect(worst).toBeLessThan(1e-3);
  });

  it("refuses a fastest pace below 1", () => {
    expect(() => warp(new Float32Array(100), (m) => m, 0.5)).toThrow(RangeError);
  });
});
