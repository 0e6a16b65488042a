// The vibration analysis of one window, as firmware/ANALYSIS.md describes it: spectrum, ISO
// velocity severity, running-speed lines, envelope analysis at the bearing's defect
// frequencies, and a diagnosis with strength, severity and health index. Buffers are sized
// once by analysisInit(); analyse() allocates nothing and every loop has a fixed bound.

import { fftInit, fftRealPlaced, fftConjugateHalfFilled, fftSlot, fftSlotShift, cosTurns } from "./fft";
import { spectrumInit, spectrumCompute, spectrumPtr, spectrumEnbwBins, WINDOW_HANN } from "./spectrum";
import { STATUS_OK, STATUS_BAD_ARGUMENT } from "./status";

// ---- Thresholds (ANALYSIS.md §6) -------------------------------------------------------
export const STRENGTH_FAULT: f64 = 3.0;
export const STRENGTH_SUSPECT: f64 = 2.5;
const STRENGTH_SEVERE: f64 = 6.0;
const STRENGTH_FAILED: f64 = 12.0;
const KURTOSIS_ABNORMAL: f64 = 5.0;
const KURTOSIS_FAILED: f64 = 12.0;
const CREST_ABNORMAL: f64 = 7.0;
const MISALIGNMENT_2X_OVER_1X: f64 = 0.75;
const RUNNING_SPEED_SHARE: f64 = 0.5;
const FLATNESS_NOISE: f64 = 0.5;

// ---- Fixed sizes and bounds -------------------------------------------------------------
const VELOCITY_LOW_HZ: f64 = 10.0;
const VELOCITY_HIGH_HZ: f64 = 1000.0;
const LINE_HALF_BINS: i32 = 2; // Hann's main lobe
const HANN_ENBW_BINS: f64 = 1.5;
const BAND_COUNT_BANK: i32 = 5;
/** Bank bands enveloped besides the spectral-kurtosis band (or the bank band that nearly is it):
 *  those with the most power in the Hann spectrum. */
const BANK_BANDS_BY_POWER: i32 = 2;
const BAND_FRACTION: f64 = 1.0 / 12.0; // band width and spacing as a share of the sample rate
const SK_FRAME: i32 = 256;
const SK_HOP: i32 = 256;
const HARMONICS: i32 = 3;
const SPEED_HARMONICS: i32 = 3;
const SPEED_STEPS_PER_BIN: i32 = 4;
const SPEED_CANDIDATES_MAX: i32 = 4096;
const SPEED_PROMINENCE: f64 = 3.0;
const SPEED_LOW_SHARE: f64 = 0.94;
const SPEED_HIGH_SHARE: f64 = 1.02;
const DEFECT_TOLERANCE: f64 = 0.01;
const BACKGROUND_HALF_BINS: i32 = 15;
const MEDIAN_SCRATCH: i32 = 2 * BACKGROUND_HALF_BINS + 1;
const HF_LOW_SHARE: f64 = 1.0 / 8.0;
const HF_HIGH_SHARE: f64 = 1.0 / 2.5;

export const FAULT_NONE: i32 = 0;
export const FAULT_IMBALANCE: i32 = 1;
export const FAULT_MISALIGNMENT: i32 = 2;
export const FAULT_OUTER_RACE: i32 = 3;
export const FAULT_INNER_RACE: i32 = 4;
export const FAULT_ROLLING_ELEMENT: i32 = 5;
export const FAULT_CAVITATION: i32 = 6;
export const FAULT_UNKNOWN: i32 = 7;
/** The window is no measurement (firmware/sensor-health.ts): no machine diagnosis is drawn from it. */
export const FAULT_SENSOR: i32 = 8;

/** What the analysis needs to know of the machine (from the configuration). */
export class Machine {
  sample_rate_hz: f64 = 0.0;
  shaft_hz_nominal: f64 = 0.0; // 0: unknown
  shaft_hz_min: f64 = 10.0;
  shaft_hz_max: f64 = 60.0;
  vanes: i32 = 0;
  bpfo_order: f64 = 0.0; // 0: no bearing geometry
  bpfi_order: f64 = 0.0;
  bsf_order: f64 = 0.0;
  ftf_order: f64 = 0.0;
  band_low_hz: f64 = 0.0; // 0, 0: choose the band
  band_high_hz: f64 = 0.0;
  zone_ab_mm_s: f64 = 1.4;
  zone_bc_mm_s: f64 = 2.8;
  zone_cd_mm_s: f64 = 4.5;
  cavitation_m_s2: f64 = 2.0;
}

/** The results of the last analyse(). */
export class Result {
  velocity_rms_mm_s: f64 = 0.0;
  iso_zone: i32 = 0;
  shaft_hz: f64 = 0.0;
  speed_measured: bool = false;
  line_1x_mm_s: f64 = 0.0;
  line_2x_mm_s: f64 = 0.0;
  line_3x_mm_s: f64 = 0.0;
  line_vane_mm_s: f64 = 0.0;
  bpfo_strength: f64 = 0.0;
  bpfi_strength: f64 = 0.0;
  bsf_strength: f64 = 0.0;
  bpfi_sideband: f64 = 0.0;
  band_low_hz: f64 = 0.0;
  band_high_hz: f64 = 0.0;
  hf_floor_m_s2: f64 = 0.0;
  hf_flatness: f64 = 0.0;
  fault: i32 = FAULT_NONE;
  strength: f64 = 0.0;
  severity: i32 = 0;
  health: f64 = 0.0;
}

export const machine = new Machine();
export const result = new Result();

let window_samples: i32 = 0;
let fft_size: i32 = 0;
let bins: i32 = 0;
let bin_hz: f64 = 0.0;
let enbw_bins: f64 = 1.0;
/** Unwindowed FFT of the mean-removed window (fft_size + 2 f32, interleaved re, im). */
let raw: StaticArray<f32> = new StaticArray<f32>(0);
/** Power per bin of the Hann spectrum, (m/s²)² per bin, so a band's sum is its mean square. */
let power: StaticArray<f32> = new StaticArray<f32>(0);
/** The band's complex baseband signal, then the spectrum of its squared envelope; before the
 *  envelope analysis, the high band's powers for their median. */
let baseband: StaticArray<f32> = new StaticArray<f32>(0);
/** The squared envelope, before its mean is known. */
let envelope: StaticArray<f32> = new StaticArray<f32>(0);
let envelope_hann: StaticArray<f32> = new StaticArray<f32>(0);
let envelope_points_max: i32 = 0;
let envelope_points: i32 = 0;
/** Spectral kurtosis: one frame, its Hann window, and per-bin sums of |X|² and |X|⁴. */
let sk_frame: StaticArray<f32> = new StaticArray<f32>(0);
let sk_hann: StaticArray<f32> = new StaticArray<f32>(0);
let sk_sum2: StaticArray<f64> = new StaticArray<f64>(0);
let sk_sum4: StaticArray<f64> = new StaticArray<f64>(0);
/** Scratch for the median of a line's background. (The high-frequency band's median works in
 *  `baseband`, free until the envelope analysis.) */
let scratch: StaticArray<f32> = new StaticArray<f32>(MEDIAN_SCRATCH);

function nextPowerOfTwo(n: i32, floor: i32): i32 {
  let size = floor;
  while (size < n) size <<= 1; // at most 31 turns
  return size;
}

/** Sizes every buffer for windows of `samples` (once per boot). */
export function analysisInit(samples: i32): i32 {
  if (window_samples != 0) return samples == window_samples ? STATUS_OK : STATUS_BAD_ARGUMENT;
  // The envelope of a band of fft_size/12 bins needs twice as many points, as a power of two,
  // and its complex FFT needs tables for twice that: build them first, for the larger need.
  const padded = nextPowerOfTwo(samples, 256);
  envelope_points_max = nextPowerOfTwo(2 * (<i32>(<f64>padded * BAND_FRACTION) + 2), 256);
  const fft_status = fftInit(max(padded, 2 * envelope_points_max));
  if (fft_status < 0) return fft_status;
  // A padded window needs its own Hann-windowed transform (spectrum.ts, with its window
  // tables); an unpadded one takes its Hann spectrum from the raw FFT and needs neither.
  if (padded != samples) {
    const spectrum_status = spectrumInit(samples);
    if (spectrum_status < 0) return spectrum_status;
  }
  fft_size = padded;
  bins = (padded >> 1) + 1;
  raw = new StaticArray<f32>(fft_size + 2);
  power = new StaticArray<f32>(bins);
  baseband = new StaticArray<f32>(max(2 * envelope_points_max, bins)); // and the high band's powers
  envelope = new StaticArray<f32>(envelope_points_max);
  envelope_hann = new StaticArray<f32>(envelope_points_max);
  sk_frame = new StaticArray<f32>(SK_FRAME + 2);
  sk_hann = new StaticArray<f32>(SK_FRAME);
  sk_sum2 = new StaticArray<f64>(SK_FRAME / 2 + 1);
  sk_sum4 = new StaticArray<f64>(SK_FRAME / 2 + 1);
  for (let n = 0; n < SK_FRAME; n++) {
    unchecked(sk_hann[n] = <f32>(0.5 - 0.5 * cosTurns(<f64>n / <f64>SK_FRAME)));
  }
  for (let n = 0; n < envelope_points_max; n++) {
    unchecked(envelope_hann[n] = <f32>(0.5 - 0.5 * cosTurns(<f64>n / <f64>envelope_points_max)));
  }
  window_samples = samples;
  return STATUS_OK;
}

// ---------------------------------------------------------------------------------------
// Small numeric helpers

// Element access for the hot loops: the same load or store as unchecked(array[i]), inlined.
// The size-optimised build (-O3z) leaves StaticArray's accessors as calls, a call per element.
// @ts-ignore: decorator
@inline function getF32(array: StaticArray<f32>, i: i32): f32 {
  return load<f32>(changetype<usize>(array) + (<usize>i << 2));
}
// @ts-ignore: decorator
@inline function setF32(array: StaticArray<f32>, i: i32, value: f32): void {
  store<f32>(changetype<usize>(array) + (<usize>i << 2), value);
}
// @ts-ignore: decorator
@inline function getF64(array: StaticArray<f64>, i: i32): f64 {
  return load<f64>(changetype<usize>(array) + (<usize>i << 3));
}
// @ts-ignore: decorator
@inline function setF64(array: StaticArray<f64>, i: i32, value: f64): void {
  store<f64>(changetype<usize>(array) + (<usize>i << 3), value);
}

/** Median of the first `count` values of `scratch` (at most MEDIAN_SCRATCH: the neighbourhood
 *  of a line), the value of rank count/2. A selection that moves no data: a value's rank is
 *  counted (how many lie below it, how many equal it), which says whether it is the median or
 *  on which side the median lies; the values outside the bounds so found are skipped, so about
 *  as few values are counted as quickselect would take for pivots, with branch-free counting
 *  and no stores. At most count² steps; the values stay where they are. */
function scratchMedian(count: i32): f64 {
  if (count <= 0) return 0.0;
  const target = count >> 1;
  const base = changetype<usize>(scratch);
  const end = base + (<usize>count << 2);
  let low: f32 = -Infinity; // the median is above low and below high
  let high: f32 = Infinity;
  for (let at = base; at < end; at += 4) {
    const value = load<f32>(at);
    if (!(value > low && value < high)) continue;
    let below = 0;
    let equal = 0;
    for (let other = base; other < end; other += 4) {
      const x = load<f32>(other);
      below += <i32>(x < value);
      equal += <i32>(x == value);
    }
    if (below > target) high = value;
    else if (below + equal <= target) low = value;
    else return <f64>value;
  }
  return <f64>load<f32>(base + (<usize>target << 2)); // only with NaN among the values
}

const RADIX_BUCKETS: i32 = 256;
/** Histogram of one byte of the values' bits, for powerMedian. */
const radix_counts = new StaticArray<i32>(RADIX_BUCKETS);

/** Median of the first `count` values of `baseband`, all of them non-negative (powers), the
 *  value of rank count/2; reorders them. A radix select: the bits of non-negative floats order
 *  as their values do, so four rounds, one per byte from the top, each count that byte, keep
 *  the bucket that holds the rank (the values in the buckets below move the rank down) and drop
 *  the rest; what is left has the median's bits. No branch depends on the data but the short
 *  bucket scan, and equal values cost nothing extra (a silent window is all zeros). */
function powerMedian(count: i32): f64 {
  if (count <= 0) return 0.0;
  const base = changetype<usize>(baseband);
  const counts = changetype<usize>(radix_counts);
  let rank = count >> 1;
  let remaining = count;
  for (let shift = 24; shift >= 0; shift -= 8) {
    memory.fill(counts, 0, <usize>RADIX_BUCKETS << 2);
    for (let i = 0; i < remaining; i++) {
      const at = counts + (<usize>((load<u32>(base + (<usize>i << 2)) >>> shift) & 0xff) << 2);
      store<i32>(at, load<i32>(at) + 1);
    }
    let bucket = 0;
    for (; bucket < RADIX_BUCKETS - 1; bucket++) {
      const in_bucket = load<i32>(counts + (<usize>bucket << 2));
      if (rank < in_bucket) break;
      rank -= in_bucket;
    }
    let kept = 0;
    for (let i = 0; i < remaining; i++) {
      const bits = load<u32>(base + (<usize>i << 2));
      store<u32>(base + (<usize>kept << 2), bits);
      kept += <i32>(((bits >>> shift) & 0xff) == <u32>bucket);
    }
    remaining = kept;
  }
  return <f64>getF32(baseband, 0);
}

function binOf(hz: f64): i32 {
  return <i32>Math.round(hz / bin_hz);
}

/** Linear interpolation of the amplitude (√power) at `hz`. */
function amplitudeAt(hz: f64): f64 {
  const position = hz / bin_hz;
  const k = <i32>Math.floor(position);
  if (k < 1 || k + 1 >= bins) return 0.0;
  const t = position - <f64>k;
  return (1.0 - t) * Math.sqrt(<f64>getF32(power, k)) + t * Math.sqrt(<f64>getF32(power, k + 1));
}

/** Velocity RMS (mm/s) of the line at `hz`: the energy of ±LINE_HALF_BINS around it. */
function lineVelocity(hz: f64): f64 {
  const centre = binOf(hz);
  if (hz <= 0.0 || centre < 1 || centre >= bins - 1) return 0.0;
  let velocity_ms: f64 = 0.0;
  for (let k = max(1, centre - LINE_HALF_BINS); k <= min(bins - 1, centre + LINE_HALF_BINS); k++) {
    const omega = 2.0 * Math.PI * <f64>k * bin_hz;
    velocity_ms += <f64>getF32(power, k) / (omega * omega);
  }
  return Math.sqrt(velocity_ms) * 1000.0;
}

// ---------------------------------------------------------------------------------------
// Steps

/** The unwindowed FFT of the mean-removed window in m/s² (for the envelope), and the Hann
 *  spectrum as power per bin in (m/s²)². When the window needs no zero-padding, the Hann
 *  spectrum comes from the same FFT (Hann is the cosine sum 0.5, −0.25, −0.25 on bins k,
 *  k∓1); a padded window is windowed over its own samples and transformed again. */
function spectra(samples_ptr: usize, scale: f64): i32 {
  let sum: f64 = 0.0;
  for (let n = 0; n < window_samples; n++) sum += <f64>load<f32>(samples_ptr + (<usize>n << 2));
  const mean = sum / <f64>window_samples;
  const out = changetype<usize>(raw);
  // Written in pairs where the FFT wants them (fftSlot), zero-padded to fft_size.
  const half = fft_size >> 1;
  const shift = fftSlotShift(half);
  for (let i = 0; i < half; i++) {
    const n = i << 1;
    let even: f32 = 0.0, odd: f32 = 0.0;
    if (n < window_samples) even = <f32>((<f64>load<f32>(samples_ptr + (<usize>n << 2)) - mean) * scale);
    if (n + 1 < window_samples) odd = <f32>((<f64>load<f32>(samples_ptr + (<usize>n << 2), 4) - mean) * scale);
    const slot = out + fftSlot(i, shift);
    store<f32>(slot, even);
    store<f32>(slot, odd, 4);
  }
  const raw_bins = fftRealPlaced(out, fft_size);
  if (raw_bins < 0) return raw_bins;
  if (fft_size == window_samples) {
    hannPowerFromRaw();
    return STATUS_OK;
  }
  const status = spectrumCompute(samples_ptr, window_samples, WINDOW_HANN);
  if (status < 0) return status;
  enbw_bins = spectrumEnbwBins(WINDOW_HANN);
  const amplitudes = spectrumPtr();
  for (let k = 0; k < bins; k++) {
    const a = <f64>load<f32>(amplitudes + (<usize>k << 2)) * scale;
    setF32(power, k, <f32>(a * a * 0.5 / enbw_bins));
  }
  return STATUS_OK;
}

/** Power per bin of the periodic Hann window of length fft_size, from the unwindowed bins:
 *  amplitude A = 2|X_w|/Σw with Σw = N/2, power A²/2 over the noise bandwidth of 1.5 bins, as
 *  one factor on |X_w|² (no square root). The loop slides over the bins, loading each once. */
function hannPowerFromRaw(): void {
  const x = changetype<usize>(raw);
  const half = fft_size >> 1;
  const amplitude_scale = 4.0 / <f64>fft_size; // 2 / Σw
  enbw_bins = HANN_ENBW_BINS;
  const power_scale = amplitude_scale * amplitude_scale * 0.5 / HANN_ENBW_BINS;
  // X[-1] = conj X[1] and X[N/2+1] = conj X[N/2-1] for a real signal, and the two ends have no
  // mirror image in the negative frequencies (half the amplitude, a quarter of the power).
  setF32(power, 0, hannEndPower(x, 0, 1, power_scale));
  setF32(power, half, hannEndPower(x, half, half - 1, power_scale));
  let below_re = <f64>load<f32>(x);
  let below_im = <f64>load<f32>(x, 4);
  let re = <f64>load<f32>(x, 8);
  let im = <f64>load<f32>(x, 12);
  for (let k = 1; k < half; k++) {
    const above = x + (<usize>(k + 1) << 3);
    const above_re = <f64>load<f32>(above);
    const above_im = <f64>load<f32>(above, 4);
    const w_re = 0.5 * re - 0.25 * (below_re + above_re);
    const w_im = 0.5 * im - 0.25 * (below_im + above_im);
    setF32(power, k, <f32>((w_re * w_re + w_im * w_im) * power_scale));
    below_re = re;
    below_im = im;
    re = above_re;
    im = above_im;
  }
}

/** hannPowerFromRaw at an end bin `k` (0 or N/2), whose neighbours on both sides are bin
 *  `neighbour` and its conjugate. */
function hannEndPower(x: usize, k: i32, neighbour: i32, power_scale: f64): f32 {
  const re = 0.5 * <f64>load<f32>(x + (<usize>k << 3)) - 0.5 * <f64>load<f32>(x + (<usize>neighbour << 3));
  const im = 0.5 * <f64>load<f32>(x + (<usize>k << 3), 4);
  return <f32>((re * re + im * im) * power_scale * 0.25);
}

function velocityAndZone(): void {
  let mean_square: f64 = 0.0;
  const high_hz = Math.min(VELOCITY_HIGH_HZ, machine.sample_rate_hz * 0.5);
  for (let k = 1; k < bins; k++) {
    const hz = <f64>k * bin_hz;
    if (hz < VELOCITY_LOW_HZ || hz > high_hz) continue;
    const omega = 2.0 * Math.PI * hz;
    mean_square += <f64>getF32(power, k) / (omega * omega);
  }
  const v = Math.sqrt(mean_square) * 1000.0;
  result.velocity_rms_mm_s = v;
  result.iso_zone = v < machine.zone_ab_mm_s ? 0 : v < machine.zone_bc_mm_s ? 1 : v < machine.zone_cd_mm_s ? 2 : 3;
}

/** The peak near `hz` refined by parabolic interpolation; 0 when it does not stand out from
 *  its neighbourhood (±BACKGROUND_HALF_BINS, clipped at DC and Nyquist). */
function refinedPeakHz(hz: f64): f64 {
  const centre = binOf(hz);
  if (centre < 2 || centre > bins - 3) return 0.0;
  let peak = centre;
  for (let k = centre - 1; k <= centre + 1; k++) if (getF32(power, k) > getF32(power, peak)) peak = k;
  let count = 0;
  const low = max(1, centre - BACKGROUND_HALF_BINS);
  const high = min(bins - 1, centre + BACKGROUND_HALF_BINS);
  for (let k = low; k <= high && count < MEDIAN_SCRATCH; k++) {
    if (k >= peak - LINE_HALF_BINS && k <= peak + LINE_HALF_BINS) continue;
    setF32(scratch, count, Math.sqrt(getF32(power, k)) as f32);
    count++;
  }
  if (count < 4) return 0.0;
  const background = scratchMedian(count);
  const a = Math.sqrt(<f64>getF32(power, peak - 1));
  const b = Math.sqrt(<f64>getF32(power, peak));
  const c = Math.sqrt(<f64>getF32(power, peak + 1));
  if (b <= 0.0 || b < SPEED_PROMINENCE * background) return 0.0;
  let offset: f64;
  if (fft_size == window_samples) {
    // Grandke's interpolation, exact for a sine through a Hann window: the larger neighbour's
    // ratio α to the peak gives the offset (2α − 1)/(α + 1) bins towards it.
    const alpha = Math.max(a, c) / b;
    offset = (c >= a ? 1.0 : -1.0) * (2.0 * alpha - 1.0) / (alpha + 1.0);
  } else {
    // Zero-padded: the bins are finer than the window's resolution; a parabola fits the lobe.
    const denominator = a - 2.0 * b + c;
    offset = denominator != 0.0 ? 0.5 * (a - c) / denominator : 0.0;
  }
  return (<f64>peak + Math.max(-0.5, Math.min(0.5, offset))) * bin_hz;
}

/** Shaft speed: the frequency whose first harmonics carry the most amplitude, then refined. */
function estimateSpeed(): void {
  let low = machine.shaft_hz_min;
  let high = machine.shaft_hz_max;
  if (machine.shaft_hz_nominal > 0.0) {
    low = machine.shaft_hz_nominal * SPEED_LOW_SHARE;
    high = machine.shaft_hz_nominal * SPEED_HIGH_SHARE;
  }
  const step = bin_hz / <f64>SPEED_STEPS_PER_BIN;
  let best_hz = machine.shaft_hz_nominal;
  let best_sum: f64 = -1.0;
  let hz = low;
  for (let i = 0; i < SPEED_CANDIDATES_MAX && hz <= high; i++) {
    let sum: f64 = 0.0;
    for (let h = 1; h <= SPEED_HARMONICS; h++) sum += amplitudeAt(hz * <f64>h);
    if (sum > best_sum) {
      best_sum = sum;
      best_hz = hz;
    }
    hz += step;
  }
  // Refine with the harmonic that stands out most: its error divides by its order.
  let refined: f64 = 0.0;
  for (let h = SPEED_HARMONICS; h >= 1 && refined == 0.0; h--) {
    const peak_hz = refinedPeakHz(best_hz * <f64>h);
    if (peak_hz > 0.0 && Math.abs(peak_hz / <f64>h - best_hz) <= bin_hz) refined = peak_hz / <f64>h;
  }
  result.speed_measured = refined > 0.0;
  result.shaft_hz = refined > 0.0 ? refined : machine.shaft_hz_nominal;
}

function runningSpeedLines(): void {
  const f = result.shaft_hz;
  result.line_1x_mm_s = lineVelocity(f);
  result.line_2x_mm_s = lineVelocity(2.0 * f);
  result.line_3x_mm_s = lineVelocity(3.0 * f);
  result.line_vane_mm_s = machine.vanes > 0 ? lineVelocity(<f64>machine.vanes * f) : 0.0;
}

/** Broadband floor of the high band (median power × bins, as RMS) and its flatness (median / mean). */
function highFrequencyFloor(): void {
  const k_low = max(1, binOf(machine.sample_rate_hz * HF_LOW_SHARE));
  const k_high = min(bins - 1, binOf(machine.sample_rate_hz * HF_HIGH_SHARE));
  let count = 0;
  let sum: f64 = 0.0;
  for (let k = k_low; k <= k_high; k++) {
    const p = getF32(power, k);
    setF32(baseband, count, p);
    sum += <f64>p;
    count++;
  }
  if (count == 0 || sum <= 0.0) {
    result.hf_floor_m_s2 = 0.0;
    result.hf_flatness = 0.0;
    return;
  }
  const median = powerMedian(count);
  result.hf_floor_m_s2 = Math.sqrt(median * <f64>count);
  result.hf_flatness = median / (sum / <f64>count);
}

/** Centre frequency of the largest spectral kurtosis over short Hann frames of the window. */
function spectralKurtosisCentreHz(samples_ptr: usize): f64 {
  const half = SK_FRAME / 2;
  for (let k = 0; k <= half; k++) {
    setF64(sk_sum2, k, 0.0);
    setF64(sk_sum4, k, 0.0);
  }
  const frame = changetype<usize>(sk_frame);
  const shift = fftSlotShift(half);
  let frames = 0;
  for (let start = 0; start + SK_FRAME <= window_samples; start += SK_HOP) {
    const from = samples_ptr + (<usize>start << 2);
    for (let i = 0; i < half; i++) {
      const n = i << 1;
      const slot = frame + fftSlot(i, shift);
      store<f32>(slot, load<f32>(from + (<usize>n << 2)) * getF32(sk_hann, n));
      store<f32>(slot, load<f32>(from + (<usize>n << 2), 4) * getF32(sk_hann, n + 1), 4);
    }
    if (fftRealPlaced(frame, SK_FRAME) < 0) return 0.0;
    for (let k = 0; k <= half; k++) {
      const re = <f64>load<f32>(frame + (<usize>k << 3));
      const im = <f64>load<f32>(frame + (<usize>k << 3), 4);
      const p = re * re + im * im;
      setF64(sk_sum2, k, getF64(sk_sum2, k) + p);
      setF64(sk_sum4, k, getF64(sk_sum4, k) + p * p);
    }
    frames++;
  }
  if (frames == 0) return 0.0;
  let best_k = 1;
  let best: f64 = -Infinity;
  for (let k = 1; k < half; k++) {
    const s2 = getF64(sk_sum2, k) / <f64>frames;
    if (s2 <= 0.0) continue;
    const sk = getF64(sk_sum4, k) / <f64>frames / (s2 * s2) - 2.0;
    if (sk > best) {
      best = sk;
      best_k = k;
    }
  }
  return <f64>best_k * machine.sample_rate_hz / <f64>SK_FRAME;
}

/** Power of the Hann spectrum over [low_hz, high_hz], (m/s²)². */
function bandPower(low_hz: f64, high_hz: f64): f64 {
  const k_low = max(1, <i32>Math.ceil(low_hz / bin_hz));
  const k_high = min(bins - 1, <i32>Math.floor(high_hz / bin_hz));
  let sum: f64 = 0.0;
  for (let k = k_low; k <= k_high; k++) sum += <f64>getF32(power, k);
  return sum;
}

/** Squared-envelope spectrum of the band [low_hz, high_hz] into `baseband` (bins 0 to
 *  envelope_points/2 at bin_hz spacing, interleaved re, im: envelopeRatio reads their powers).
 *  False when the band is too narrow. */
function envelopeSpectrum(low_hz: f64, high_hz: f64): bool {
  const k_low = max(1, <i32>Math.ceil(low_hz / bin_hz));
  const k_high = min(bins - 2, <i32>Math.floor(high_hz / bin_hz));
  const band_bins = k_high - k_low + 1;
  if (band_bins < 4) return false;
  const points = nextPowerOfTwo(2 * band_bins, 256);
  if (points > envelope_points_max) return false;
  envelope_points = points;
  const z = changetype<usize>(baseband);
  // The band's bins at baseband, zero above: band_bins ≤ points/2. Conjugated: the forward FFT
  // of conj(Z) is the conjugate of the inverse, and |·|² ignores it.
  const source = changetype<usize>(raw) + (<usize>k_low << 3);
  if (fftConjugateHalfFilled(source, band_bins, z, points) < 0) return false;
  const env = changetype<usize>(envelope);
  let sum: f64 = 0.0;
  for (let n = 0; n < points; n++) {
    const re = load<f32>(z + (<usize>n << 3));
    const im = load<f32>(z + (<usize>n << 3), 4);
    const e = re * re + im * im;
    store<f32>(env + (<usize>n << 2), e);
    sum += <f64>e;
  }
  const mean = <f32>(sum / <f64>points);
  const stride = envelope_points_max / points;
  // Mean removed, Hann-windowed, written where the real FFT wants them (fftSlot) in `baseband`,
  // free again; it holds points + 2 f32 and more.
  const half = points >> 1;
  const shift = fftSlotShift(half);
  for (let i = 0; i < half; i++) {
    const n = i << 1;
    const slot = z + fftSlot(i, shift);
    store<f32>(slot, (load<f32>(env + (<usize>n << 2)) - mean) * getF32(envelope_hann, n * stride));
    store<f32>(slot, (load<f32>(env + (<usize>n << 2), 4) - mean) * getF32(envelope_hann, (n + 1) * stride), 4);
  }
  return fftRealPlaced(z, points) >= 0;
}

/** Power of bin `k` of the envelope spectrum, as f32 (its amplitude is the f32 square root). */
// @ts-ignore: decorator
@inline function envelopePower(k: i32): f32 {
  const at = changetype<usize>(baseband) + (<usize>k << 3);
  const re = load<f32>(at);
  const im = load<f32>(at, 4);
  return re * re + im * im;
}

/** Envelope-spectrum peak within ±tolerance of `hz` over the median of its neighbourhood;
 *  1 (no evidence) when the neighbourhood is out of range or empty. Peak and median are taken
 *  of the bins' powers and square-rooted after: the f32 square root keeps the order, so the
 *  amplitudes' peak and median are those roots, without a root per bin. */
function envelopeRatio(hz: f64): f64 {
  const last = envelope_points / 2;
  const tolerance_bins = Math.max(1.0, DEFECT_TOLERANCE * hz / bin_hz);
  const centre = hz / bin_hz;
  const k_low = <i32>Math.ceil(centre - tolerance_bins);
  const k_high = <i32>Math.floor(centre + tolerance_bins);
  if (k_low - BACKGROUND_HALF_BINS < 1 || k_high + BACKGROUND_HALF_BINS > last) return 1.0;
  let peak_power: f32 = 0.0;
  for (let k = k_low; k <= k_high; k++) peak_power = max(peak_power, envelopePower(k));
  let count = 0;
  const centre_bin = <i32>Math.round(centre);
  for (let k = centre_bin - BACKGROUND_HALF_BINS; k <= centre_bin + BACKGROUND_HALF_BINS && count < MEDIAN_SCRATCH; k++) {
    if (k >= k_low && k <= k_high) continue;
    setF32(scratch, count, envelopePower(k));
    count++;
  }
  const peak = <f64>sqrt<f32>(peak_power);
  const background = <f64>sqrt<f32>(<f32>scratchMedian(count));
  if (background <= 0.0) return peak > 0.0 ? STRENGTH_FAILED : 1.0;
  return peak / background;
}

/** Geometric mean of the envelope ratios at the first HARMONICS harmonics of `hz`: the cube
 *  root of their product (three ratios in [1e-6, a few thousand] multiply well inside f64's
 *  range), which spares three logarithms, an exponential and Math.exp's code in the build. */
function defectStrength(hz: f64): f64 {
  if (hz <= 0.0) return 0.0;
  let product: f64 = 1.0;
  for (let h = 1; h <= HARMONICS; h++) {
    product *= Math.max(envelopeRatio(hz * <f64>h), 1e-6);
  }
  return HARMONICS == 3 ? Math.cbrt(product) : Math.pow(product, 1.0 / <f64>HARMONICS);
}

let band_low_hz: StaticArray<f64> = new StaticArray<f64>(BAND_COUNT_BANK + 1);
let band_high_hz: StaticArray<f64> = new StaticArray<f64>(BAND_COUNT_BANK + 1);
/** Each bank band's power (index 1 … BAND_COUNT_BANK), to choose the ones enveloped. */
const band_power = new StaticArray<f64>(BAND_COUNT_BANK + 1);

/** Envelope analysis over the configured band or the candidate bands; keeps the strongest. */
function bearingEvidence(samples_ptr: usize): void {
  result.bpfo_strength = 0.0;
  result.bpfi_strength = 0.0;
  result.bsf_strength = 0.0;
  result.bpfi_sideband = 0.0;
  result.band_low_hz = 0.0;
  result.band_high_hz = 0.0;
  if (machine.bpfo_order <= 0.0 || result.shaft_hz <= 0.0) return;
  const fs = machine.sample_rate_hz;
  const width = fs * BAND_FRACTION;
  const nyquist = fs * 0.5 - bin_hz;
  let bands = 0;
  if (machine.band_high_hz > 0.0) {
    unchecked(band_low_hz[0] = machine.band_low_hz);
    unchecked(band_high_hz[0] = Math.min(machine.band_high_hz, nyquist));
    bands = 1;
  } else {
    // The band around the spectral-kurtosis maximum, or the bank band that nearly is that band;
    // then the bank bands of the most power among the others: a resonance that impacts ring
    // raises its band's power, and each band enveloped costs two transforms of up to 1024 points.
    // Never below the bank's first band: a band reaching down to the running-speed lines and the
    // vane pass would envelope their beats, which fall near any defect frequency now and then.
    const centre = Math.max(spectralKurtosisCentreHz(samples_ptr), width);
    const nearest = <i32>Math.round(centre / width);
    let taken = 0; // bank bands chosen, as bits 1 << b
    if (Math.abs(centre - <f64>nearest * width) > width * 0.25 || nearest > BAND_COUNT_BANK) {
      unchecked(band_low_hz[bands] = centre - width * 0.5);
      unchecked(band_high_hz[bands] = Math.min(centre + width * 0.5, nyquist));
      bands++;
    } else {
      taken |= 1 << nearest;
    }
    for (let b = 1; b <= BAND_COUNT_BANK; b++) {
      unchecked(band_power[b] = bandPower(<f64>b * width - width * 0.5, Math.min(<f64>b * width + width * 0.5, nyquist)));
    }
    for (let pick = 0; pick < BANK_BANDS_BY_POWER; pick++) {
      let best_b = 0;
      for (let b = 1; b <= BAND_COUNT_BANK; b++) {
        if ((taken & (1 << b)) == 0 && (best_b == 0 || unchecked(band_power[b]) > unchecked(band_power[best_b]))) best_b = b;
      }
      if (best_b != 0) taken |= 1 << best_b;
    }
    for (let b = 1; b <= BAND_COUNT_BANK; b++) {
      if ((taken & (1 << b)) == 0) continue;
      unchecked(band_low_hz[bands] = <f64>b * width - width * 0.5);
      unchecked(band_high_hz[bands] = Math.min(<f64>b * width + width * 0.5, nyquist));
      bands++;
    }
  }
  const f = result.shaft_hz;
  let best: f64 = -1.0;
  for (let b = 0; b < bands; b++) {
    if (!envelopeSpectrum(unchecked(band_low_hz[b]), unchecked(band_high_hz[b]))) continue;
    const bpfo = defectStrength(machine.bpfo_order * f);
    const bpfi = defectStrength(machine.bpfi_order * f);
    const bsf = defectStrength(2.0 * machine.bsf_order * f);
    const strongest = Math.max(bpfo, Math.max(bpfi, bsf));
    if (bpfo > result.bpfo_strength) result.bpfo_strength = bpfo;
    if (bsf > result.bsf_strength) result.bsf_strength = bsf;
    if (bpfi > result.bpfi_strength) {
      result.bpfi_strength = bpfi;
      const below = envelopeRatio(machine.bpfi_order * f - f);
      const above = envelopeRatio(machine.bpfi_order * f + f);
      result.bpfi_sideband = Math.sqrt(Math.max(below, 0.0) * Math.max(above, 0.0));
    }
    if (strongest > best) {
      best = strongest;
      result.band_low_hz = unchecked(band_low_hz[b]);
      result.band_high_hz = unchecked(band_high_hz[b]);
    }
  }
}

function clip01(x: f64): f64 {
  return Math.max(0.0, Math.min(1.0, x));
}

function diagnose(kurtosis: f64, crest: f64): void {
  const bearing = Math.max(result.bpfo_strength, Math.max(result.bpfi_strength, result.bsf_strength));
  const line_energy = result.line_1x_mm_s * result.line_1x_mm_s + result.line_2x_mm_s * result.line_2x_mm_s
    + result.line_3x_mm_s * result.line_3x_mm_s;
  const velocity_energy = result.velocity_rms_mm_s * result.velocity_rms_mm_s;
  let fault = FAULT_NONE;
  let strength: f64 = 0.0;
  if (bearing >= STRENGTH_FAULT) {
    strength = bearing;
    fault = bearing == result.bpfo_strength ? FAULT_OUTER_RACE
      : bearing == result.bpfi_strength ? FAULT_INNER_RACE : FAULT_ROLLING_ELEMENT;
  } else if (result.hf_floor_m_s2 >= machine.cavitation_m_s2 && result.hf_flatness >= FLATNESS_NOISE) {
    fault = FAULT_CAVITATION;
    strength = result.hf_floor_m_s2 / machine.cavitation_m_s2;
  } else if (result.iso_zone >= 1 && velocity_energy > 0.0
    && result.line_2x_mm_s >= MISALIGNMENT_2X_OVER_1X * result.line_1x_mm_s
    && line_energy >= RUNNING_SPEED_SHARE * velocity_energy) {
    fault = FAULT_MISALIGNMENT;
    strength = line_energy / velocity_energy;
  } else if (result.iso_zone >= 1 && velocity_energy > 0.0
    && result.line_1x_mm_s * result.line_1x_mm_s >= RUNNING_SPEED_SHARE * velocity_energy) {
    fault = FAULT_IMBALANCE;
    strength = result.line_1x_mm_s * result.line_1x_mm_s / velocity_energy;
  } else if (bearing >= STRENGTH_SUSPECT || kurtosis > KURTOSIS_ABNORMAL || crest > CREST_ABNORMAL || result.iso_zone >= 2) {
    fault = FAULT_UNKNOWN;
    strength = bearing;
  }
  let severity = result.iso_zone;
  if (fault >= FAULT_OUTER_RACE && fault <= FAULT_ROLLING_ELEMENT) {
    const bearing_severity = strength >= STRENGTH_FAILED ? 3 : strength >= STRENGTH_SEVERE ? 2 : 1;
    severity = max(severity, bearing_severity);
  }
  result.fault = fault;
  result.strength = strength;
  result.severity = severity;
  let health = clip01(result.velocity_rms_mm_s / machine.zone_cd_mm_s);
  health = Math.max(health, clip01((bearing - 1.0) / (STRENGTH_FAILED - 1.0)));
  health = Math.max(health, clip01((kurtosis - 3.0) / (KURTOSIS_FAILED - 3.0)));
  if (fault == FAULT_CAVITATION) health = Math.max(health, clip01(result.hf_floor_m_s2 / (2.0 * machine.cavitation_m_s2)));
  result.health = health;
}

/** Analyses the window at `samples_ptr` (window_samples f32 in the configured units; `scale`
 *  turns them into m/s²). `kurtosis` and `crest` come from the time-domain features. */
export function analyse(samples_ptr: usize, scale: f64, kurtosis: f64, crest: f64): i32 {
  if (window_samples == 0) return STATUS_BAD_ARGUMENT;
  bin_hz = machine.sample_rate_hz / <f64>fft_size;
  const status = spectra(samples_ptr, scale);
  if (status < 0) return status;
  velocityAndZone();
  estimateSpeed();
  runningSpeedLines();
  highFrequencyFloor();
  bearingEvidence(samples_ptr);
  diagnose(kurtosis, crest);
  return STATUS_OK;
}
