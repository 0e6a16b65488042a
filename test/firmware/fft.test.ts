// The firmware's real FFT (firmware/fft.ts) and amplitude spectrum (firmware/spectrum.ts) through
// the debug build: against a float64 DFT, on sines of known amplitude, and on bad sizes.

import fs from "node:fs";
import * as loader from "@assemblyscript/loader";
import { describe, expect, it } from "vitest";
import { Random } from "../../simulator/physics/random.js";
import { DEBUG_IMAGE } from "../../host/runtime/images.js";

const STATUS_NOT_INITIALISED = -1;
const STATUS_BAD_ARGUMENT = -2;
const STATUS_NO_ROOM = -6;
const STATUS_NEEDS_REBOOT = -11;
const WINDOW_HANN = 0;
const WINDOW_FLAT_TOP = 1;

interface FftExports extends Record<string, unknown> {
  Float32Array_ID: WebAssembly.Global;
  debug_fft_init(size_max: number): number;
  debug_fft_status(size: number): number;
  debug_fft(samples: number): number;
  debug_fft_placed(samples: number): number;
  debug_fft_conjugate(values: number, count: number, halfFilled: number): number;
  debug_spectrum_init(window_samples: number): number;
  debug_spectrum_status(count: number, window_kind: number): number;
  debug_amplitude_spectrum(samples: number, window_kind: number): number;
  debug_spectrum_window(window_kind: number): number;
}
type Firmware = loader.ASUtil & FftExports;

/** A fresh instance: fft.ts and spectrum.ts initialise once per instance, like on a device. */
async function firmware(): Promise<Firmware> {
  const host = {
    clock_ms: () => 0n, log: () => {}, publish: () => 0, storage_read: () => -1, storage_write: () => 0,
    panic: () => { throw new Error("firmware panic"); },
  };
  const { exports } = await loader.instantiate<FftExports>(fs.readFileSync(DEBUG_IMAGE), { host });
  return exports as Firmware;
}

function withSamples<T>(fw: Firmware, samples: Float32Array, call: (ptr: number) => T): T {
  const ptr = fw.__pin(fw.__newArray(fw.Float32Array_ID.value as number, samples));
  try {
    return call(ptr);
  } finally {
    fw.__unpin(ptr);
  }
}

function fft(fw: Firmware, samples: Float32Array): Float64Array {
  return withSamples(fw, samples, (ptr) => fw.__getFloat64Array(fw.debug_fft(ptr)));
}

function amplitudes(fw: Firmware, samples: Float32Array, window_kind: number): Float32Array {
  return withSamples(fw, samples, (ptr) => fw.__getFloat32Array(fw.debug_amplitude_spectrum(ptr, window_kind)));
}

/** Bins 0..N/2 of the DFT of `x` in float64, interleaved re, im. */
function referenceDft(x: Float32Array): Float64Array {
  const n = x.length;
  const cos = Float64Array.from({ length: n }, (_, i) => Math.cos((2 * Math.PI * i) / n));
  const sin = Float64Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * i) / n));
  const out = new Float64Array(n + 2);
  for (let k = 0; k <= n / 2; k++) {
    let re = 0;
    let im = 0;
    for (let i = 0, at = 0; i < n; i++, at = (at + k) % n) {
      re += x[i] * cos[at];
      im -= x[i] * sin[at];
    }
    out[2 * k] = re;
    out[2 * k + 1] = im;
  }
  return out;
}

function sine(count: number, amplitude: number, cycles_per_sample: number, phase: number, offset = 0): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => offset + amplitude * Math.sin(2 * Math.PI * cycles_per_sample * i + phase));
}

function peak(values: Float32Array): { bin: number; value: number } {
  let bin = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[bin]) bin = k;
  return { bin, value: values[bin] };
}

describe("fftReal", () => {
  it("matches a float64 DFT on seeded gaussian noise within 2e-6 · RMS · √N for N = 16, 64, 256, 1024, 4096, 8192", async () => {
    const fw = await firmware();
    const random = new Random(2024);
    for (const n of [16, 64, 256, 1024, 4096, 8192]) {
      const x = Float32Array.from({ length: n }, () => random.gaussian() * 3 + 0.5);
      const got = fft(fw, x);
      const want = referenceDft(x);
      expect(got.length).toBe(n + 2);
      const rms = Math.sqrt(x.reduce((sum, v) => sum + v * v, 0) / n);
      let error = 0;
      for (let k = 0; k <= n / 2; k++) error = Math.max(error, Math.hypot(got[2 * k] - want[2 * k], got[2 * k + 1] - want[2 * k + 1]));
      expect(error / (rms * Math.sqrt(n))).toBeLessThan(2e-6);
    }
  });

  it("gives an impulse a flat spectrum and a constant a single DC bin", async () => {
    const fw = await firmware();
    const impulse = new Float32Array(512);
    impulse[0] = 1;
    expect(Array.from(fft(fw, impulse))).toEqual(Array.from({ length: 514 }, (_, i) => (i % 2 === 0 ? 1 : 0)));
    const dc = fft(fw, new Float32Array(256).fill(2));
    expect(dc[0]).toBe(512);
    expect(Math.max(...dc.slice(2).map(Math.abs))).toBeLessThan(1e-4);
  });

  it("refuses sizes that are zero, not a power of two, outside 16..8192 or above fftInit's", async () => {
    const fw = await firmware();
    expect(fw.debug_fft_status(1024)).toBe(STATUS_NOT_INITIALISED);
    expect(fw.debug_fft_init(1000)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_fft_init(16384)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_fft_init(1024)).toBe(0);
    expect(fw.debug_fft_init(512)).toBe(0); // smaller: the tables already serve it
    expect(fw.debug_fft_init(2048)).toBe(STATUS_NEEDS_REBOOT); // larger: would allocate again
    expect(fw.debug_fft_status(0)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_fft_status(-1024)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_fft_status(1000)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_fft_status(8)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_fft_status(16384)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_fft_status(2048)).toBe(STATUS_NO_ROOM);
    expect(fw.debug_fft_status(1024)).toBe(513);
    expect(fw.debug_fft_status(256)).toBe(129);
    expect(fft(fw, new Float32Array(1000)).length).toBe(0);
  });
});

describe("transforms for samples the caller places", () => {
  it("fftRealPlaced over samples written at their fftSlot gives fftReal's bins bit for bit", async () => {
    const fw = await firmware();
    const random = new Random(77);
    for (const n of [256, 512, 1024, 2048, 4096, 8192]) {
      const x = Float32Array.from({ length: n }, () => random.gaussian() * 2 - 0.3);
      const placed = withSamples(fw, x, (ptr) => fw.__getFloat64Array(fw.debug_fft_placed(ptr)));
      expect(placed.length).toBe(n + 2);
      expect(Array.from(placed)).toEqual(Array.from(fft(fw, x)));
    }
  });

  it("fftConjugateHalfFilled gives fftComplex's transform of the zero-padded conjugates bit for bit", async () => {
    const fw = await firmware();
    const random = new Random(78);
    const conjugate = (values: Float32Array, count: number, halfFilled: boolean): number[] =>
      withSamples(fw, values, (ptr) => Array.from(fw.__getFloat64Array(fw.debug_fft_conjugate(ptr, count, halfFilled ? 1 : 0))));
    for (const count of [4, 8, 256, 512, 1024, 2048, 4096]) {
      for (const filled of [1, Math.max(1, count >> 3), (count >> 2) + 1, count >> 1]) {
        const values = Float32Array.from({ length: 2 * filled }, () => random.gaussian());
        const want = conjugate(values, count, false);
        expect(want.length).toBe(2 * count);
        expect(conjugate(values, count, true)).toEqual(want);
      }
    }
  });

  it("fftConjugateHalfFilled refuses more values than half the points", async () => {
    const fw = await firmware();
    const values = new Float32Array(2 * 129);
    const got = withSamples(fw, values, (ptr) => Array.from(fw.__getFloat64Array(fw.debug_fft_conjugate(ptr, 256, 1))));
    expect(got).toEqual([STATUS_BAD_ARGUMENT]);
  });
});

describe("amplitude spectrum", () => {
  it("Hann: a sine of amplitude 2.5 at bin 300 of 4096, on a DC offset of 1, reads 2.5 ± 0.01 % at bin 300", async () => {
    const fw = await firmware();
    const spectrum = amplitudes(fw, sine(4096, 2.5, 300 / 4096, 0.7, 1), WINDOW_HANN);
    expect(spectrum.length).toBe(2049);
    const top = peak(spectrum);
    expect(top.bin).toBe(300);
    expect(Math.abs(top.value - 2.5) / 2.5).toBeLessThan(1e-4);
    expect(spectrum[0]).toBeLessThan(1e-4); // the offset is removed, not leaked into the low bins
    expect(spectrum[2]).toBeLessThan(1e-4);
  });

  it("Hann: half-way between bins a sine reads 15 % low (the scalloping the flat-top avoids)", async () => {
    const fw = await firmware();
    const spectrum = amplitudes(fw, sine(4096, 1, 300.5 / 4096, 0.2), WINDOW_HANN);
    const top = peak(spectrum);
    expect([300, 301]).toContain(top.bin);
    expect(top.value).toBeGreaterThan(0.845);
    expect(top.value).toBeLessThan(0.855);
  });

  it("flat-top, 2560 samples at 25.6 kHz zero-padded to 4096: sines between bins read their amplitude ± 0.1 % within one bin", async () => {
    const fw = await firmware();
    const rate_hz = 25600;
    const fft_size = 4096;
    const lines = [
      { hz: 171.9, amplitude: 0.8 },
      { hz: 1000.37, amplitude: 3 },
      { hz: 3333.3, amplitude: 0.05 },
      { hz: 11111.1, amplitude: 1.5 },
    ];
    for (const [index, line] of lines.entries()) {
      if (index > 0) expect(fw.debug_spectrum_init(2560)).toBe(0); // same length again: a no-op
      const spectrum = amplitudes(fw, sine(2560, line.amplitude, line.hz / rate_hz, index), WINDOW_FLAT_TOP);
      expect(spectrum.length).toBe(fft_size / 2 + 1);
      const top = peak(spectrum);
      // The top is flat by design, so either neighbour of the true frequency may be the highest.
      expect(Math.abs(top.bin - (line.hz * fft_size) / rate_hz)).toBeLessThan(1);
      expect(Math.abs(top.value - line.amplitude) / line.amplitude).toBeLessThan(1e-3);
    }
  });

  it("reports the windows' coherent gain and noise bandwidth (Hann 0.5 and 1.5 bins, HFT90D 0.2098 and 3.8832 bins, × N/L)", async () => {
    const fw = await firmware();
    expect(fw.debug_spectrum_init(2560)).toBe(0);
    const hann = fw.__getFloat64Array(fw.debug_spectrum_window(WINDOW_HANN));
    const flat = fw.__getFloat64Array(fw.debug_spectrum_window(WINDOW_FLAT_TOP));
    expect(hann[0]).toBe(4096);
    expect(hann[1]).toBeCloseTo(0.5, 6);
    expect(hann[2]).toBeCloseTo((1.5 * 4096) / 2560, 5);
    expect(flat[1]).toBeCloseTo(1 / 4.76683, 5);
    expect(flat[2]).toBeCloseTo((3.8832 * 4096) / 2560, 3);
  });

  it("refuses a window length outside 16..8192, another length after init, another count and an unknown window", async () => {
    const fw = await firmware();
    expect(fw.debug_spectrum_status(2560, WINDOW_HANN)).toBe(STATUS_NOT_INITIALISED);
    expect(fw.debug_spectrum_init(0)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_spectrum_init(15)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_spectrum_init(8193)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_spectrum_init(2560)).toBe(0);
    expect(fw.debug_spectrum_init(4096)).toBe(STATUS_NEEDS_REBOOT);
    expect(fw.debug_spectrum_status(2559, WINDOW_HANN)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_spectrum_status(0, WINDOW_HANN)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_spectrum_status(2560, 2)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_spectrum_status(2560, -1)).toBe(STATUS_BAD_ARGUMENT);
    expect(fw.debug_spectrum_status(2560, WINDOW_FLAT_TOP)).toBe(2049);
  });

  it("pads short windows to 256 points: 100 samples give 129 bins", async () => {
    const fw = await firmware();
    const spectrum = amplitudes(fw, sine(100, 1, 10 / 100, 0), WINDOW_FLAT_TOP);
    expect(spectrum.length).toBe(129);
    const top = peak(spectrum);
    expect(Math.abs(top.bin - 25.6)).toBeLessThan(1);
    expect(Math.abs(top.value - 1)).toBeLessThan(2e-3);
  });
});
