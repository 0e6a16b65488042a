// The window's sizes and the buffers the analysis's steps share, sized once by windowInit() for
// the configured window length and never reallocated; element access for the hot loops.

import { fftInit, nextPowerOfTwo } from "../fft";
import { SPEED_POINTS_MAX } from "../speed-stream";
import { spectrumInit } from "../spectrum";
import { STATUS_OK } from "../status";
import { BAND_WIDTH_MAX_SHARE, STREAM_POINTS } from "./constants";
import { machine } from "./machine";
import { ASSERTS, holds } from "../assert";

/** Samples per window (0 until windowInit), the FFT's size (the window zero-padded to a power of
 *  two), its bins and their spacing in this window. */
export let window_samples: i32 = 0;
export let fft_size: i32 = 0;
export let bins: i32 = 0;
export let bin_hz: f64 = 0.0;
/** Unwindowed FFT of the mean-removed window (fft_size + 2 f32, interleaved re, im). */
export let raw: StaticArray<f32> = new StaticArray<f32>(0);
/** Power per bin of the Hann spectrum, (m/s²)² per bin, so a band's sum is its mean square. */
export let power: StaticArray<f32> = new StaticArray<f32>(0);
/** The band's complex baseband signal, then the spectrum of its squared envelope; before the
 *  envelope analysis, the high band's powers for their median. */
export let baseband: StaticArray<f32> = new StaticArray<f32>(0);
/** The squared envelope, before its mean is known. */
export let envelope: StaticArray<f32> = new StaticArray<f32>(0);
export let envelope_points_max: i32 = 0;
/** The first and the last sample of the block whose FFT `raw` holds (as placed: mean removed,
 *  scaled), for the band envelopes' end matching (envelope.ts). */
export let raw_first: f64 = 0.0;
export let raw_last: f64 = 0.0;
export function setRawEnds(first: f64, last: f64): void {
  raw_first = first;
  raw_last = last;
}

/** Sizes the shared buffers for windows of `samples` (once per boot). */
export function windowInit(samples: i32): i32 {
  // The envelope of a band of fft_size/12 bins needs twice as many points, as a power of two,
  // and its complex FFT needs tables for twice that; the envelope stream's spectrum needs them
  // for its STREAM_POINTS, the speed stream's for its SPEED_POINTS_MAX: build them first, for
  // the largest need. The streams' lengths do not follow the window's: a shorter window would
  // read the speed and the envelope over less time, in coarser bins (a 2,048-sample window's
  // envelope stream was 0.34 s against a 4,096-sample one's 0.68 s).
  const padded = nextPowerOfTwo(samples, 256);
  envelope_points_max = nextPowerOfTwo(2 * (<i32>(<f64>padded * BAND_WIDTH_MAX_SHARE) + 2), 256);
  const fft_status = fftInit(max(max(padded, 2 * envelope_points_max), max(STREAM_POINTS, SPEED_POINTS_MAX)));
  if (fft_status < 0) return fft_status;
  fft_size = padded;
  bins = (padded >> 1) + 1;
  // The window's FFT, and the speed stream's spectrum (SPEED_POINTS_MAX + 2 f32).
  raw = new StaticArray<f32>(max(fft_size, SPEED_POINTS_MAX) + 2);
  // A padded window needs its own Hann-windowed transform (spectrum.ts, with its window
  // tables, working in `raw` before the raw FFT); an unpadded one takes its Hann spectrum from
  // the raw FFT and needs neither.
  if (padded != samples) {
    const spectrum_status = spectrumInit(samples, changetype<usize>(raw));
    if (spectrum_status < 0) return spectrum_status;
  }
  power = new StaticArray<f32>(max(bins, SPEED_POINTS_MAX / 2 + 1)); // and the speed stream's powers
  // And the high band's powers, the envelope stream's spectrum (STREAM_POINTS + 2 f32) and the
  // speed stream's prominences.
  baseband = new StaticArray<f32>(max(max(2 * envelope_points_max, bins), max(STREAM_POINTS + 2, SPEED_POINTS_MAX / 2 + 1)));
  envelope = new StaticArray<f32>(envelope_points_max);
  // What the steps write into them: the window's FFT and its Hann powers; a band's complex
  // envelope, then its spectrum (2 × its points), and the high band's powers; its squared envelope.
  if (ASSERTS) assert(fft_size >= samples && holds(raw, 0, fft_size + 2) && holds(power, 0, bins), "window buffers shorter than the window's transforms");
  if (ASSERTS) assert(holds(baseband, 0, 2 * envelope_points_max) && holds(baseband, 0, bins) && holds(baseband, 0, STREAM_POINTS + 2) && holds(envelope, 0, envelope_points_max), "envelope buffers shorter than a band's envelope");
  window_samples = samples;
  return STATUS_OK;
}

/** The bin spacing of this window's spectra, at the configured sample rate. */
export function windowBegin(): void {
  bin_hz = machine.sample_rate_hz / <f64>fft_size;
}

// Element access for the hot loops: the same load or store as unchecked(array[i]), inlined.
// The size-optimised build (-O3z) leaves StaticArray's accessors as calls, a call per element.
// @ts-ignore: decorator
@inline export function getF32(array: StaticArray<f32>, i: i32): f32 {
  return load<f32>(changetype<usize>(array) + (<usize>i << 2));
}
// @ts-ignore: decorator
@inline export function setF32(array: StaticArray<f32>, i: i32, value: f32): void {
  store<f32>(changetype<usize>(array) + (<usize>i << 2), value);
}
// @ts-ignore: decorator
@inline export function getF64(array: StaticArray<f64>, i: i32): f64 {
  return load<f64>(changetype<usize>(array) + (<usize>i << 3));
}
// @ts-ignore: decorator
@inline export function setF64(array: StaticArray<f64>, i: i32, value: f64): void {
  store<f64>(changetype<usize>(array) + (<usize>i << 3), value);
}
