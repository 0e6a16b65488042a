// Exports of the debug build only (build/firmware.debug.wasm, the second entry file beside
// index.ts): firmware internals that the test harness calls with JS arrays through
// @assemblyscript/loader. Never in the flashable build, nor anything only this file imports.

import {
  computeTimeFeatures, feature_mean, feature_rms, feature_peak, feature_peak_to_peak,
  feature_crest, feature_kurtosis, feature_skewness,
} from "../features";
import { halfToF64, writeBegin, writeEnd } from "../cbor";
import {
  fftInit, fftReal, fftComplex, fftRealPlaced, fftSlot, fftSlotShift, fftConjugateHalfFilled, FFT_SIZE_MAX,
} from "../fft";
import { STATUS_BAD_ARGUMENT } from "../status";
import {
  spectrumInit, spectrumCompute, spectrumPtr, spectrumFftSize, spectrumCoherentGain, spectrumEnbwBins,
} from "../spectrum";
import {
  cborDecode, cborDecoderInit, cborEncodeNode, cborNodesCapacity, cbor_consumed, CBOR_NODES_DEFAULT, CBOR_ERR_NO_ROOM,
} from "./cbor-decoder";
import { diagnostic } from "./cbor-diag";
import { averagedLnTail } from "../analysis/evidence";
import { lnKurtosisTail } from "../stats";
import { speedInit, speedCapture, streamValue, stream_count, stream_rate_hz, stream_knocks, KNOCK_SCRATCH_BYTES } from "../speed-stream";

/** [mean, rms, peak, peak_to_peak, crest, kurtosis, skewness] of `samples` times `scale`. */
export function debug_time_features(samples: Float32Array, scale: f64): Float64Array {
  computeTimeFeatures(samples.dataStart, samples.length, scale);
  const out = new Float64Array(7);
  out[0] = feature_mean;
  out[1] = feature_rms;
  out[2] = feature_peak;
  out[3] = feature_peak_to_peak;
  out[4] = feature_crest;
  out[5] = feature_kurtosis;
  out[6] = feature_skewness;
  return out;
}

export function debug_half_to_f64(half: u32): f64 {
  return halfToF64(half);
}

// FFT and spectrum (firmware/fft.ts, firmware/spectrum.ts).

export function debug_fft_init(size_max: i32): i32 {
  return fftInit(size_max);
}

/** fftReal's status for `size` on a scratch buffer big enough for any valid size. */
export function debug_fft_status(size: i32): i32 {
  const scratch = new StaticArray<f32>(FFT_SIZE_MAX + 2);
  return fftReal(changetype<usize>(scratch), size, changetype<usize>(scratch));
}

/** Bins 0..N/2 of the real FFT of `samples` (N = its length), interleaved re, im, out of place;
 *  empty on error. Builds the tables for FFT_SIZE_MAX when debug_fft_init was not called. */
export function debug_fft(samples: Float32Array): Float64Array {
  fftInit(FFT_SIZE_MAX);
  const out = new StaticArray<f32>(samples.length + 2);
  const bins = fftReal(samples.dataStart, samples.length, changetype<usize>(out));
  if (bins < 0) return new Float64Array(0);
  const result = new Float64Array(bins << 1);
  for (let i = 0; i < bins << 1; i++) result[i] = <f64>out[i];
  return result;
}

/** debug_fft by the other road: the samples written at their slots (fftSlot), then fftRealPlaced. */
export function debug_fft_placed(samples: Float32Array): Float64Array {
  fftInit(FFT_SIZE_MAX);
  const size = samples.length;
  if (size < 2 || (size & (size - 1)) != 0) return new Float64Array(0);
  const buffer = new StaticArray<f32>(size + 2);
  const at = changetype<usize>(buffer);
  const shift = fftSlotShift(size >> 1);
  for (let i = 0; i < size >> 1; i++) {
    store<f32>(at + fftSlot(i, shift), samples[i << 1]);
    store<f32>(at + fftSlot(i, shift), samples[(i << 1) + 1], 4);
  }
  const bins = fftRealPlaced(at, size);
  if (bins < 0) return new Float64Array(0);
  const result = new Float64Array(bins << 1);
  for (let i = 0; i < bins << 1; i++) result[i] = <f64>buffer[i];
  return result;
}

/** The FFT of `count` points whose first values are the conjugates of `values` (interleaved
 *  re, im) and whose others are zero: by fftConjugateHalfFilled when `half_filled`, else by
 *  fftComplex over the zero-padded conjugates. [status] alone on error. */
export function debug_fft_conjugate(values: Float32Array, count: i32, half_filled: bool): Float64Array {
  fftInit(FFT_SIZE_MAX);
  const filled = values.length >> 1;
  if (count < 2 || count > (FFT_SIZE_MAX >> 1) || filled > count) {
    const error = new Float64Array(1);
    error[0] = <f64>STATUS_BAD_ARGUMENT;
    return error;
  }
  const out = new StaticArray<f32>(count << 1);
  let status: i32;
  if (half_filled) {
    status = fftConjugateHalfFilled(values.dataStart, filled, changetype<usize>(out), count);
  } else {
    for (let i = 0; i < filled; i++) {
      out[i << 1] = values[i << 1];
      out[(i << 1) + 1] = -values[(i << 1) + 1];
    }
    status = fftComplex(changetype<usize>(out), count);
  }
  if (status < 0) {
    const error = new Float64Array(1);
    error[0] = <f64>status;
    return error;
  }
  const result = new Float64Array(count << 1);
  for (let i = 0; i < count << 1; i++) result[i] = <f64>out[i];
  return result;
}

export function debug_spectrum_init(window_samples: i32): i32 {
  return spectrumInit(window_samples);
}

/** spectrumCompute's status for a buffer of `count` samples (zeros) and `window_kind`. */
export function debug_spectrum_status(count: i32, window_kind: i32): i32 {
  const scratch = new StaticArray<f32>(count > 0 && count <= FFT_SIZE_MAX ? count : 0);
  return spectrumCompute(changetype<usize>(scratch), count, window_kind);
}

/** Amplitudes of bins 0..N/2 of `samples` (spectrumInit with their length first, once per
 *  instance); empty on error. */
export function debug_amplitude_spectrum(samples: Float32Array, window_kind: i32): Float32Array {
  const init = spectrumInit(samples.length);
  if (init < 0) return new Float32Array(0);
  const bins = spectrumCompute(samples.dataStart, samples.length, window_kind);
  if (bins < 0) return new Float32Array(0);
  const result = new Float32Array(bins);
  memory.copy(result.dataStart, spectrumPtr(), <usize>bins << 2);
  return result;
}

/** [fft_size, coherent gain, ENBW in bins] of `window_kind` after spectrumInit. */
export function debug_spectrum_window(window_kind: i32): Float64Array {
  const result = new Float64Array(3);
  result[0] = <f64>spectrumFftSize();
  result[1] = spectrumCoherentGain(window_kind);
  result[2] = spectrumEnbwBins(window_kind);
  return result;
}

/** Runtime class id of Float32Array, for the loader's __newArray. */
export const Float32Array_ID = idof<Float32Array>();

// CBOR decoder and encoder (debug/cbor-decoder.ts); diagnostic notation (debug/cbor-diag.ts).

let cbor_debug_status: i32 = 0;
let cbor_last_page: i32 = -1;

export function debug_cbor_init(nodes_max: i32): i32 {
  return cborDecoderInit(nodes_max);
}

/** cborDecode() of `input`: the number of nodes, or a CBOR_ERR_* status. */
export function debug_cbor_decode(input: Uint8Array): i32 {
  cbor_debug_status = cborDecode(input.dataStart, input.length);
  return cbor_debug_status;
}

/** cborDecode() of `len` bytes at `ptr`, for inputs the harness placed itself. */
export function debug_cbor_decode_raw(ptr: usize, len: i32): i32 {
  cbor_debug_status = cborDecode(ptr, len);
  return cbor_debug_status;
}

/** The start of a page that is the last of linear memory, grown for the purpose (again only
 *  when the runtime grew memory since), so an input placed at its very end has nothing after
 *  it: a read past the input traps. The node table is allocated first. */
export function debug_cbor_last_page(): usize {
  if (cborNodesCapacity() == 0) cborDecoderInit(CBOR_NODES_DEFAULT);
  if (cbor_last_page < 0 || cbor_last_page != memory.size() - 1) cbor_last_page = memory.grow(1);
  return cbor_last_page < 0 ? 0 : <usize>cbor_last_page << 16;
}

/** The status of the last debug_cbor_* call: nodes decoded, or a CBOR_ERR_* status. */
export function debug_cbor_status(): i32 {
  return cbor_debug_status;
}

/** Bytes the last decode consumed (up to where it stopped, when it failed). */
export function debug_cbor_consumed(): i32 {
  return cbor_consumed;
}

/** `input` re-encoded in preferred serialization; empty with debug_cbor_status() < 0 when
 *  it does not decode. */
export function debug_cbor_roundtrip(input: Uint8Array): Uint8Array {
  cbor_debug_status = cborDecode(input.dataStart, input.length);
  if (cbor_debug_status < 0) return new Uint8Array(0);
  // Only an indefinite container of many items grows (its count's head): 9 bytes at most each.
  const capacity = input.length * 2 + 16;
  const out = new Uint8Array(capacity);
  writeBegin(out.dataStart, capacity);
  const written = cborEncodeNode(0) ? writeEnd() : -1;
  if (written < 0) {
    cbor_debug_status = CBOR_ERR_NO_ROOM;
    return new Uint8Array(0);
  }
  return out.subarray(0, written);
}

/** Diagnostic notation of `input`, with indefinite-length marks when `marks`; empty with
 *  debug_cbor_status() < 0 when it does not decode. */
export function debug_cbor_diagnostic(input: Uint8Array, marks: bool): string {
  cbor_debug_status = cborDecode(input.dataStart, input.length);
  if (cbor_debug_status < 0) return "";
  return diagnostic(0, marks);
}

/** Runtime class id of Uint8Array, for the loader's __newArray. */
export const Uint8Array_ID = idof<Uint8Array>();

// The envelope evidence's noise model (firmware/analysis/evidence.ts).

/** ln of the probability under noise that a bin of an average worth `shape` spectra stands
 *  `peak` over the median `median` of `count` floor bins (averagedLnTail). */
export function debug_averaged_ln_tail(peak: f64, median: f64, count: i32, shape: i32): f64 {
  return averagedLnTail(peak, median, count, shape);
}

// Whether a window holds impacts (firmware/analysis/bearing.ts, stats.ts).

/** ln of the probability that `count` Gaussian samples have kurtosis `kurtosis` or more
 *  (lnKurtosisTail). */
export function debug_ln_kurtosis_tail(kurtosis: f64, count: i32): f64 {
  return lnKurtosisTail(kurtosis, count);
}

/** The speed stream (speed-stream.ts), window by window: begin with the window's length, the
 *  rate and the top harmonic to keep, feed consecutive windows, then read [its rate, its points
 *  in the decimated signal's units]. */
let speed_window: i32 = 0;
let speed_rate_hz: f64 = 0.0;
let speed_top_hz: f64 = 0.0;
let speed_previous: StaticArray<f32> = new StaticArray<f32>(0);
let speed_current: StaticArray<f32> = new StaticArray<f32>(0);
let speed_scratch_a: StaticArray<f32> = new StaticArray<f32>(0);
let speed_scratch_b: StaticArray<f32> = new StaticArray<f32>(0);
let speed_windows: i32 = 0;
export function debug_speed_stream_begin(window: i32, rate_hz: f64, top_hz: f64): void {
  speed_window = window;
  speed_rate_hz = rate_hz;
  speed_top_hz = top_hz;
  speedInit(window);
  speed_previous = new StaticArray<f32>(window);
  speed_current = new StaticArray<f32>(window);
  speed_scratch_a = new StaticArray<f32>(max(window + 2, KNOCK_SCRATCH_BYTES >> 2));
  speed_scratch_b = new StaticArray<f32>(max(window / 2 + 2, KNOCK_SCRATCH_BYTES >> 2));
  speed_windows = 0;
}
export function debug_speed_stream_feed(samples: Float32Array): void {
  const kept = speed_previous;
  speed_previous = speed_current;
  speed_current = kept;
  for (let i = 0; i < speed_window; i++) unchecked(speed_current[i] = samples[i]);
  const previous = speed_windows > 0 ? changetype<usize>(speed_previous) : 0;
  speedCapture(changetype<usize>(speed_current), previous, speed_rate_hz, speed_top_hz, speed_top_hz / 10.0, changetype<usize>(speed_scratch_a), changetype<usize>(speed_scratch_b));
  speed_windows++;
}
export function debug_speed_stream_knocks(): i32 {
  return stream_knocks;
}
export function debug_speed_stream_points(): Float64Array {
  const out = new Float64Array(stream_count + 1);
  out[0] = stream_rate_hz;
  for (let i = 0; i < stream_count; i++) out[i + 1] = streamValue(i);
  return out;
}
