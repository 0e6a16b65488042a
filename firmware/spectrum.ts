// Single-sided amplitude spectrum of one vibration window: mean removal, a Hann or flat-top
// window, a zero-padded real FFT (fft.ts), and scaling so that a sine of amplitude A reads A.
//
// Choices, and why:
// - Mean removal: accelerometers carry gravity and bias offsets; through a window's main lobe
//   that offset would bury the lowest bins (1× of a slow pump), so bin 0 reads ~0, not the DC.
// - Periodic (DFT-even) windows, precomputed once for the configured window length and stored
//   as their first half (w[n] = w[L − n]) to halve their memory.
//   Hann: w[n] = 0.5 − 0.5·cos(2πn/L), coherent gain 0.5: exact at bin centres, up to −15 %
//   (1.42 dB scalloping) half-way between bins. For line frequencies and noise floors.
//   Flat-top: HFT90D (Heinzel, Rüdiger & Schilling 2002), peak-normalised, coherent gain
//   ≈ 0.2098, amplitude flat to 0.045 % anywhere between bins. For amplitudes to trust.
// - Window lengths that are not a power of two (FEMTO's 2560 samples): zero-pad to the next
//   power of two (at least SPECTRUM_SIZE_MIN). Padding adds nothing to Σw, so dividing by the
//   window's own sum over its L samples keeps amplitudes exact; the bins are just finer than
//   1/L: bin k is at k · sample_rate / fft_size Hz, and a line is several bins wide.
// - Scaling: A[k] = 2·|X[k]| / Σw for 0 < k < N/2, |X[k]| / Σw at k = 0 and k = N/2 (peak
//   amplitude, in the samples' units). For band power (velocity RMS) sum A[k]²/2 over the band
//   and divide by spectrumEnbwBins(kind), the window's noise bandwidth in bins.
//
// Memory, allocated once by spectrumInit(L): the FFT buffer (N + 2 f32, which ends up holding
// the amplitudes) and the two half windows (2 × (L/2 + 1) f32), plus fft.ts's tables.

import { fftInit, fftRealPlaced, fftSlot, fftSlotShift, cosTurns, nextPowerOfTwo, FFT_SIZE_MAX } from "./fft";

/** The smallest spectrum: short windows are zero-padded to it. */
const SPECTRUM_SIZE_MIN: i32 = 256;
import { WINDOW_SAMPLES_MIN, WINDOW_SAMPLES_MAX } from "./config";
// Every window the configuration allows has a spectrum.
if (WINDOW_SAMPLES_MAX > FFT_SIZE_MAX || WINDOW_SAMPLES_MIN < 1) ERROR("configured windows beyond the FFT's sizes");
import { STATUS_OK, STATUS_NOT_INITIALISED, STATUS_BAD_ARGUMENT, STATUS_NEEDS_REBOOT } from "./status";
import { ASSERTS, holds } from "./assert";

export const WINDOW_HANN: i32 = 0;
export const WINDOW_FLAT_TOP: i32 = 1;

// HFT90D as Σ c_m·cos(2πmn/L) with alternating signs; divided by Σ|c_m| so its peak is 1.
const FLAT_TOP_C0: f64 = 1.0;
const FLAT_TOP_C1: f64 = -1.942604;
const FLAT_TOP_C2: f64 = 1.340318;
const FLAT_TOP_C3: f64 = -0.440811;
const FLAT_TOP_C4: f64 = 0.043097;
const FLAT_TOP_PEAK: f64 = 4.766830;

let window_samples: i32 = 0;
let fft_size: i32 = 0;
let buffer: StaticArray<f32> = new StaticArray<f32>(0);
let hann_half: StaticArray<f32> = new StaticArray<f32>(0);
let hann_sum: f64 = 0.0;
let hann_square_sum: f64 = 0.0;
let flat_top_sum: f64 = 0.0;
let flat_top_square_sum: f64 = 0.0;

/** Prepares spectra of `samples` long windows (WINDOW_SAMPLES_MIN..FFT_SIZE_MAX). Once only:
 *  the same length again is a no-op, another one returns STATUS_NEEDS_REBOOT. Also returns
 *  fftInit's status when the FFT tables were built earlier for a smaller size. */
/** The flat-top window at sample `at` of the first half, as the f32 applied. It is computed
 *  each time rather than kept: only checks of amplitudes ask for it, and a table would hold
 *  5 KiB of a 2560-sample window's two pages. */
function flatTopAt(at: i32): f32 {
  const turns = <f64>at / <f64>window_samples;
  const flat = FLAT_TOP_C0 + FLAT_TOP_C1 * cosTurns(turns) + FLAT_TOP_C2 * cosTurns(2.0 * turns)
    + FLAT_TOP_C3 * cosTurns(3.0 * turns) + FLAT_TOP_C4 * cosTurns(4.0 * turns);
  return <f32>(flat / FLAT_TOP_PEAK);
}

export function spectrumInit(samples: i32, work_ptr: usize = 0): i32 {
  if (samples < WINDOW_SAMPLES_MIN || samples > FFT_SIZE_MAX) return STATUS_BAD_ARGUMENT;
  if (window_samples != 0) return samples == window_samples ? STATUS_OK : STATUS_NEEDS_REBOOT;
  const size = nextPowerOfTwo(samples, SPECTRUM_SIZE_MIN);
  const status = fftInit(size);
  if (status < 0) return status;

  const half = samples >> 1;
  // A caller with a buffer of size + 2 f32 free while it takes a spectrum lends it.
  buffer = work_ptr != 0 ? changetype<StaticArray<f32>>(work_ptr) : new StaticArray<f32>(size + 2);
  hann_half = new StaticArray<f32>(half + 1);
  if (ASSERTS) assert(holds(hann_half, 0, half + 1) && holds(buffer, 0, size + 2), "spectrum buffers shorter than their window");
  for (let n = 0; n <= half; n++) {
    unchecked(hann_half[n] = <f32>(0.5 - 0.5 * cosTurns(<f64>n / <f64>samples)));
  }
  window_samples = samples;
  // The sums come from the f32 values applied, so the scaling matches them.
  for (let n = 0; n < samples; n++) {
    const at = n <= half ? n : samples - n;
    const hann = <f64>unchecked(hann_half[at]);
    const flat = <f64>flatTopAt(at);
    hann_sum += hann;
    hann_square_sum += hann * hann;
    flat_top_sum += flat;
    flat_top_square_sum += flat * flat;
  }
  fft_size = size;
  return STATUS_OK;
}

/** Amplitude spectrum of `count` (= the initialised length) f32 samples at `samples_ptr` (apart
 *  from the spectrum's own buffer) with window `window_kind`. Returns the number of bins
 *  (fft_size/2 + 1), whose amplitudes are at spectrumPtr(); or STATUS_NOT_INITIALISED, or
 *  STATUS_BAD_ARGUMENT for another count, an unknown window or a buffer outside memory. */
export function spectrumCompute(samples_ptr: usize, count: i32, window_kind: i32): i32 {
  if (window_samples == 0) return STATUS_NOT_INITIALISED;
  if (count != window_samples) return STATUS_BAD_ARGUMENT;
  if (window_kind != WINDOW_HANN && window_kind != WINDOW_FLAT_TOP) return STATUS_BAD_ARGUMENT;
  const end = <u64>samples_ptr + (<u64>count << 2);
  if (samples_ptr == 0 || end > (<u64>memory.size() << 16)) return STATUS_BAD_ARGUMENT;

  // Its writes: the window, its zero padding and the amplitudes, all within fft_size + 2 f32.
  if (ASSERTS) assert(count <= fft_size && holds(buffer, 0, fft_size + 2), "spectrum past its buffer");
  // The samples are read while the buffer is written out of order: they must lie apart from it.
  if (ASSERTS) assert(samples_ptr + (<usize>count << 2) <= changetype<usize>(buffer) || changetype<usize>(buffer) + (<usize>(fft_size + 2) << 2) <= samples_ptr, "samples inside the spectrum's buffer");
  const out = changetype<usize>(buffer);
  const hann_table = changetype<usize>(hann_half);
  const hann = window_kind == WINDOW_HANN;
  let sum: f64 = 0.0;
  for (let n = 0; n < count; n++) sum += <f64>load<f32>(samples_ptr + (<usize>n << 2));
  const mean = <f32>(sum / <f64>count);
  const half = count >> 1;
  // Each windowed sample, and the zero padding, goes where the FFT wants it: sample pair n/2 at
  // its fftSlot, so the transform needs no permutation.
  const shift = fftSlotShift(fft_size >> 1);
  for (let n = 0; n < fft_size; n++) {
    let value: f32 = 0.0;
    if (n < count) {
      const at = n <= half ? n : count - n;
      const x = load<f32>(samples_ptr + (<usize>n << 2)) - mean;
      value = x * (hann ? load<f32>(hann_table + (<usize>at << 2)) : flatTopAt(at));
    }
    store<f32>(out + fftSlot(n >> 1, shift) + ((<usize>n & 1) << 2), value);
  }

  const bins = fftRealPlaced(out, fft_size);
  if (bins < 0) return bins;
  // Amplitude k overwrites the real part of bin k/2 or earlier, so one forward pass is safe.
  const window_sum = window_kind == WINDOW_HANN ? hann_sum : flat_top_sum;
  const scale = <f32>(2.0 / window_sum);
  for (let k = 0; k < bins; k++) {
    const re = load<f32>(out + (<usize>k << 3));
    const im = load<f32>(out + (<usize>k << 3), 4);
    store<f32>(out + (<usize>k << 2), sqrt<f32>(re * re + im * im) * scale);
  }
  // Bins 0 and N/2 have no mirror image in the negative frequencies.
  store<f32>(out, load<f32>(out) * 0.5);
  store<f32>(out + (<usize>(bins - 1) << 2), load<f32>(out + (<usize>(bins - 1) << 2)) * 0.5);
  return bins;
}

/** The amplitudes of the last spectrumCompute (f32, spectrumBins() of them). */
export function spectrumPtr(): usize { return changetype<usize>(buffer); }
/** The zero-padded FFT size; bin k is at k · sample_rate_hz / spectrumFftSize() Hz. 0 before init. */
export function spectrumFftSize(): i32 { return fft_size; }
export function spectrumBins(): i32 { return fft_size == 0 ? 0 : (fft_size >> 1) + 1; }

/** Σw / L of a window (0.5 for Hann, ≈ 0.2098 for the flat-top); 0 before init or for an unknown kind. */
export function spectrumCoherentGain(window_kind: i32): f64 {
  if (window_samples == 0) return 0.0;
  if (window_kind == WINDOW_HANN) return hann_sum / <f64>window_samples;
  if (window_kind == WINDOW_FLAT_TOP) return flat_top_sum / <f64>window_samples;
  return 0.0;
}

/** Equivalent noise bandwidth of a window in FFT bins, N·Σw²/(Σw)² (Hann: 1.5·N/L). */
export function spectrumEnbwBins(window_kind: i32): f64 {
  if (window_samples == 0) return 0.0;
  if (window_kind == WINDOW_HANN) return <f64>fft_size * hann_square_sum / (hann_sum * hann_sum);
  if (window_kind == WINDOW_FLAT_TOP) return <f64>fft_size * flat_top_square_sum / (flat_top_sum * flat_top_sum);
  return 0.0;
}
