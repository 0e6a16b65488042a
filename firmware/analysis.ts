// The vibration analysis of one window, as firmware/ANALYSIS.md describes it: spectrum, ISO
// velocity severity, running-speed lines, envelope analysis at the bearing's defect
// frequencies, and a diagnosis with strength, severity and health index. Buffers are sized
// once by analysisInit(); analyse() allocates nothing and every loop has a fixed bound.

import { fftInit, fftRealPlaced, fftConjugateHalfFilled, fftSlot, fftSlotShift, cosTurns } from "./fft";
import { spectrumInit, spectrumCompute, spectrumPtr, spectrumEnbwBins, WINDOW_HANN } from "./spectrum";
import { STATUS_OK, STATUS_BAD_ARGUMENT } from "./status";
import { radixSelect, lnNormalTail } from "./stats";
import { speedInit, speedCapture, speedFromStream, speedFromSpectrum, speed_hz, speed_z, speed_confidence, speed_bin_hz, speed_sum_hh, FAMILY_Z } from "./speed";

// ---- Decision levels (ANALYSIS.md §6) ---------------------------------------------------
/** A finding's false-finding probability per window under noise, after the Bonferroni
 *  correction for every band and defect tested: one window in a thousand of a sound machine. */
const FINDING_ALPHA: f64 = 1e-3;
/** Evidence this improbable under noise, short of a finding, makes the window abnormal. */
const SUSPECT_ALPHA: f64 = 1e-2;
/** Amplitude ratios of a defect's lines over their floor for bearing severity 2 and 3. */
const STRENGTH_SEVERE: f64 = 6.0;
const STRENGTH_FAILED: f64 = 12.0;
const KURTOSIS_ABNORMAL: f64 = 5.0;
const KURTOSIS_FAILED: f64 = 12.0;
const CREST_ABNORMAL: f64 = 7.0;
const MISALIGNMENT_2X_OVER_1X: f64 = 0.75;
const RUNNING_SPEED_SHARE: f64 = 0.5;
const FLATNESS_NOISE: f64 = 0.5;
/** Median over mean of exponential bins (a flat noise spectrum): ln 2. */
const FLATNESS_GAUSSIAN: f64 = 0.6931471805599453;

// ---- Fixed sizes and bounds -------------------------------------------------------------
const VELOCITY_LOW_HZ: f64 = 10.0;
const VELOCITY_HIGH_HZ: f64 = 1000.0;
const LINE_HALF_BINS: i32 = 2; // Hann's main lobe
const HANN_ENBW_BINS: f64 = 1.5;
/** The analogue anti-alias filter of a vibration front end passes up to about 0.4 fs. */
const PASSBAND_SHARE: f64 = 0.4;
/** Envelope bands enveloped per window: those of the largest spectral kurtosis. */
const ENVELOPE_BANDS: i32 = 3;
/** The widest band, as a share of the sample rate: it sizes the envelope buffers (fs/12: M = 1024
 *  points for a 4096-sample window, which keeps the window within two pages). */
const BAND_WIDTH_MAX_SHARE: f64 = 1.0 / 12.0;
/** A bound on the bank: 0.4 fs in half band widths (the narrowest band is 8 bins; 4096-sample
 *  windows give at most 410 of them). */
const BANK_BANDS_MAX: i32 = 512;
const SK_FRAME_MIN: i32 = 16;
const SK_FRAME_MAX: i32 = 256;
/** Defect harmonics tested (ANALYSIS.md §5). */
const HARMONICS: i32 = 3;
/** Rolling elements slip 1–2 % against the cage (Randall & Antoni 2011): the real defect
 *  frequencies lie up to this share below (or, with a speed error, above) the kinematic ones. */
const SLIP_MAX: f64 = 0.02;
/** Background bins whose median is a defect zone's noise floor (15 each side). */
const FLOOR_BINS: i32 = 30;
const MEDIAN_SCRATCH: i32 = FLOOR_BINS + 1;
const LN_2: f64 = 0.6931471805599453;
const LN_10: f64 = 2.302585092994046;
const LOG10_P_MIN: f64 = -300.0;
const HF_LOW_SHARE: f64 = 1.0 / 8.0;
const HF_HIGH_SHARE: f64 = PASSBAND_SHARE;

// ---- Running speed (ANALYSIS.md §4) --------------------------------------------------------
/** The harmonic family is summed up to this many times the top of the speed range. */
const SPEED_HARMONICS_SPAN: f64 = 10.0;
const SPEED_LOW_SHARE: f64 = 0.94;
const SPEED_HIGH_SHARE: f64 = 1.02;
const FINDINGS_MAX: i32 = 4;
const DEFECTS: i32 = 3;
const DEFECT_OUTER: i32 = 0;
const DEFECT_INNER: i32 = 1;
const DEFECT_ELEMENT: i32 = 2;
/** Points of the envelope streamed over consecutive windows (ANALYSIS.md §5). */
const STREAM_POINTS: i32 = 1024;
const STREAM_DECIMATION_MAX: i32 = 16;
/** The stream's rate against the highest modulation it must carry: Nyquist at 1.25 × it. */
const STREAM_RATE_OVER_MODULATION: f64 = 2.5;

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
  /** Each defect's evidence as log10 of its false-finding probability under noise, after the
   *  Bonferroni correction (0 when there is none; −3 is one chance in a thousand). */
  bpfo_log10_p: f64 = 0.0;
  bpfi_log10_p: f64 = 0.0;
  bsf_log10_p: f64 = 0.0;
  /** How sure the speed is: 1 − the probability that noise alone makes its harmonic family. */
  speed_confidence: f64 = 0.0;
  /** Seconds of envelope the bearing evidence was taken over when streamed across consecutive
   *  windows (0: this window alone). */
  stream_s: f64 = 0.0;
  band_low_hz: f64 = 0.0;
  band_high_hz: f64 = 0.0;
  hf_floor_m_s2: f64 = 0.0;
  hf_flatness: f64 = 0.0;
  fault: i32 = FAULT_NONE;
  strength: f64 = 0.0;
  severity: i32 = 0;
  health: f64 = 0.0;
  /** Every finding of the window (the fault above is the most severe of them): kind (FAULT_*),
   *  strength and confidence (1 − its false-finding probability). */
  findings: i32 = 0;
  finding_kind: StaticArray<i32> = new StaticArray<i32>(FINDINGS_MAX);
  finding_strength: StaticArray<f64> = new StaticArray<f64>(FINDINGS_MAX);
  finding_confidence: StaticArray<f64> = new StaticArray<f64>(FINDINGS_MAX);
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
let envelope_points_max: i32 = 0;
let envelope_points: i32 = 0;
/** The envelope spectrum in `baseband` that zoneLnP reads: its bin spacing and last bin. */
let env_bin_hz: f64 = 1.0;
let env_last: i32 = 0;
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
  envelope_points_max = nextPowerOfTwo(2 * (<i32>(<f64>padded * BAND_WIDTH_MAX_SHARE) + 2), 256);
  const fft_status = fftInit(max(padded, 2 * envelope_points_max));
  if (fft_status < 0) return fft_status;
  fft_size = padded;
  bins = (padded >> 1) + 1;
  raw = new StaticArray<f32>(fft_size + 2);
  // A padded window needs its own Hann-windowed transform (spectrum.ts, with its window
  // tables, working in `raw` before the raw FFT); an unpadded one takes its Hann spectrum from
  // the raw FFT and needs neither.
  if (padded != samples) {
    const spectrum_status = spectrumInit(samples, changetype<usize>(raw));
    if (spectrum_status < 0) return spectrum_status;
  }
  power = new StaticArray<f32>(bins);
  baseband = new StaticArray<f32>(max(2 * envelope_points_max, bins)); // and the high band's powers
  envelope = new StaticArray<f32>(envelope_points_max);
  stream_points = min(STREAM_POINTS, envelope_points_max);
  stream = new StaticArray<f32>(stream_points);
  sk_frame = new StaticArray<f32>(SK_FRAME_MAX + 2);
  sk_hann = new StaticArray<f32>(SK_FRAME_MAX);
  sk_sum2 = new StaticArray<f64>(SK_FRAME_MAX / 2 + 1);
  sk_sum4 = new StaticArray<f64>(SK_FRAME_MAX / 2 + 1);
  speedInit(samples, padded);
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

/** Median of the first `count` values of `baseband`, all of them non-negative (powers), the
 *  value of rank count/2; reorders them (stats.ts). */
function powerMedian(count: i32): f64 {
  return radixSelect(changetype<usize>(baseband), count, count >> 1);
}

/** A buffer of at least window_samples f32 that is free until analyse() runs: the raw FFT's,
 *  for a check that looks at the window before it is analysed (sensor-health.ts). */
export function scratchBeforeAnalysis(): usize {
  return changetype<usize>(raw);
}

function binOf(hz: f64): i32 {
  return <i32>Math.round(hz / bin_hz);
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
  // A padded window's Hann spectrum is taken first, in `raw` (lent to spectrum.ts).
  if (fft_size != window_samples) {
    const status = spectrumCompute(samples_ptr, window_samples, WINDOW_HANN);
    if (status < 0) return status;
    enbw_bins = spectrumEnbwBins(WINDOW_HANN);
    const amplitudes = spectrumPtr();
    for (let k = 0; k < bins; k++) {
      const a = <f64>load<f32>(amplitudes + (<usize>k << 2)) * scale;
      setF32(power, k, <f32>(a * a * 0.5 / enbw_bins));
    }
  }
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
  if (fft_size == window_samples) hannPowerFromRaw();
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

/** Relative uncertainty of the speed the defect zones allow for besides slip. */
let speed_tolerance: f64 = 0.0;
/** The speed range sought this window, and the top of the harmonics read for it. */
let speed_low_hz: f64 = 0.0;
let speed_high_hz: f64 = 0.0;
let speed_top_hz: f64 = 0.0;

function speedRange(): void {
  speed_low_hz = machine.shaft_hz_min;
  speed_high_hz = machine.shaft_hz_max;
  const nominal = machine.shaft_hz_nominal;
  if (nominal > 0.0) {
    speed_low_hz = nominal * SPEED_LOW_SHARE;
    speed_high_hz = nominal * SPEED_HIGH_SHARE;
  }
  speed_top_hz = Math.min(PASSBAND_SHARE * machine.sample_rate_hz, SPEED_HARMONICS_SPAN * speed_high_hz);
}

/** Whether this window's speed comes from the decimated acquisition over it and the windows
 *  before; otherwise from its own spectrum. */
let speed_streamed: bool = false;

/** Shaft speed from its harmonic family, over the decimated acquisition of the windows so far
 *  (speed.ts, ANALYSIS.md §4). Runs before the window's own spectra: it borrows their buffers. */
function measureSpeed(samples_ptr: usize, previous_ptr: usize): void {
  speedRange();
  speed_streamed = speedCapture(samples_ptr, previous_ptr, machine.sample_rate_hz, speed_top_hz, changetype<usize>(raw), changetype<usize>(power));
  if (speed_streamed) speedFromStream(speed_low_hz, speed_high_hz, speed_top_hz, machine.ftf_order, changetype<usize>(raw), changetype<usize>(power), changetype<usize>(baseband));
}

/** The window's shaft speed: the measured one when its family is clear (z ≥ FAMILY_Z) and fine
 *  enough to improve on the configured speed; otherwise the configured one. */
function estimateSpeed(): void {
  // A window alone: its own spectrum (`baseband` is free until the high band's floor).
  if (!speed_streamed) speedFromSpectrum(changetype<usize>(power), bins, bin_hz, fft_size != window_samples, speed_low_hz, speed_high_hz, speed_top_hz, machine.ftf_order, changetype<usize>(baseband));
  const nominal = machine.shaft_hz_nominal;
  result.speed_confidence = speed_confidence;
  // The stream places a speed to about one bin at its top harmonic: coarser than the configured
  // speed's own uncertainty (slip), the measurement does not replace it.
  const coarse = nominal > 0.0 && (speed_bin_hz <= 0.0 || speed_bin_hz / speed_top_hz > SLIP_MAX);
  result.speed_measured = speed_hz > 0.0 && speed_z >= FAMILY_Z && !coarse;
  if (result.speed_measured) {
    result.shaft_hz = speed_hz;
    // A line's frequency is good to about a tenth of a bin; the fit divides it by √Σh².
    speed_tolerance = speed_sum_hh > 0.0 ? 0.1 * speed_bin_hz / Math.sqrt(speed_sum_hh) / speed_hz : speed_bin_hz / speed_hz;
  } else {
    result.shaft_hz = nominal > 0.0 ? nominal : speed_hz > 0.0 ? speed_hz : 0.5 * (speed_low_hz + speed_high_hz);
    speed_tolerance = coarse ? SLIP_MAX : nominal > 0.0 ? 1.0 - SPEED_LOW_SHARE : 1.0;
  }
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

let sk_hann_size: i32 = 0;

/** Spectral kurtosis per bin of Hann frames of `frame` samples, one after another, into sk_sum2
 *  (frame/2 + 1 bins at fs/frame): 0 for Gaussian noise, large where impacts ring. */
function spectralKurtosis(samples_ptr: usize, frame: i32): bool {
  const half = frame / 2;
  if (frame != sk_hann_size) {
    for (let n = 0; n < frame; n++) setF32(sk_hann, n, <f32>(0.5 - 0.5 * cosTurns(<f64>n / <f64>frame)));
    sk_hann_size = frame;
  }
  for (let k = 0; k <= half; k++) {
    setF64(sk_sum2, k, 0.0);
    setF64(sk_sum4, k, 0.0);
  }
  const buffer = changetype<usize>(sk_frame);
  const shift = fftSlotShift(half);
  let frames = 0;
  for (let start = 0; start + frame <= window_samples; start += frame) {
    const from = samples_ptr + (<usize>start << 2);
    for (let i = 0; i < half; i++) {
      const n = i << 1;
      const slot = buffer + fftSlot(i, shift);
      store<f32>(slot, load<f32>(from + (<usize>n << 2)) * getF32(sk_hann, n));
      store<f32>(slot, load<f32>(from + (<usize>n << 2), 4) * getF32(sk_hann, n + 1), 4);
    }
    if (fftRealPlaced(buffer, frame) < 0) return false;
    for (let k = 0; k <= half; k++) {
      const re = <f64>load<f32>(buffer + (<usize>k << 3));
      const im = <f64>load<f32>(buffer + (<usize>k << 3), 4);
      const p = re * re + im * im;
      setF64(sk_sum2, k, getF64(sk_sum2, k) + p);
      setF64(sk_sum4, k, getF64(sk_sum4, k) + p * p);
    }
    frames++;
  }
  if (frames == 0) return false;
  for (let k = 0; k <= half; k++) {
    const s2 = getF64(sk_sum2, k) / <f64>frames;
    setF64(sk_sum2, k, s2 > 0.0 ? getF64(sk_sum4, k) / <f64>frames / (s2 * s2) - 2.0 : 0.0);
  }
  return true;
}

/** The highest modulation the chosen bands must carry (set by chooseBands). */
let band_modulation_hz: f64 = 0.0;
let band_low_hz: StaticArray<f64> = new StaticArray<f64>(ENVELOPE_BANDS);
let band_high_hz: StaticArray<f64> = new StaticArray<f64>(ENVELOPE_BANDS);
const band_kurtosis = new StaticArray<f64>(ENVELOPE_BANDS);

/** The bands to envelope (ANALYSIS.md §5): the configured one, or the ENVELOPE_BANDS of a bank of
 *  half-overlapping bands, each wide enough to carry the defects' modulation, whose spectral
 *  kurtosis is largest. Returns how many. */
function chooseBands(samples_ptr: usize): i32 {
  const fs = machine.sample_rate_hz;
  const top_hz = Math.min(fs * PASSBAND_SHARE, fs * 0.5 - bin_hz);
  const f = result.shaft_hz;
  const order_max = Math.max(machine.bpfi_order, Math.max(machine.bpfo_order, 2.0 * machine.bsf_order));
  // The envelope must carry the highest harmonic tested and its shaft sideband, with slip: a
  // band passes modulation up to half its width.
  const modulation_hz = (<f64>HARMONICS * order_max + 1.0) * f * (1.0 + SLIP_MAX + speed_tolerance);
  band_modulation_hz = modulation_hz;
  if (machine.band_high_hz > 0.0) {
    unchecked(band_low_hz[0] = machine.band_low_hz);
    unchecked(band_high_hz[0] = Math.min(machine.band_high_hz, fs * 0.5 - bin_hz));
    return 1;
  }
  const width = Math.max(8.0 * bin_hz, Math.min(2.0 * modulation_hz, fs * BAND_WIDTH_MAX_SHARE));
  // Frames shorter than the fastest defect's impact spacing, so a frame holds one impact.
  let frame = SK_FRAME_MAX;
  while (frame > SK_FRAME_MIN && <f64>frame > fs / (order_max * f)) frame >>= 1;
  frame = min(frame, nextPowerOfTwo(window_samples, 16) >> 1);
  const have_sk = spectralKurtosis(samples_ptr, frame);
  const sk_bin_hz = fs / <f64>frame;
  let count = 0;
  for (let j = 0; j < BANK_BANDS_MAX; j++) {
    // Bands start half their width up: below, the running-speed lines' beats.
    const low = width * 0.5 * <f64>(j + 1);
    const high = low + width;
    if (high > top_hz && j > 0) break;
    let sum: f64 = 0.0;
    let n = 0;
    const k_low = <i32>Math.ceil(low / sk_bin_hz);
    const k_high = min(<i32>Math.floor(Math.min(high, top_hz) / sk_bin_hz), frame / 2);
    for (let k = k_low; k <= k_high && have_sk; k++) {
      sum += getF64(sk_sum2, k);
      n++;
    }
    if (n == 0 && have_sk) {
      sum = getF64(sk_sum2, min(<i32>Math.round((low + high) * 0.5 / sk_bin_hz), frame / 2));
      n = 1;
    }
    const kurtosis = n > 0 ? sum / <f64>n : 0.0;
    // Insert among the kept bands, largest kurtosis first.
    let at = count < ENVELOPE_BANDS ? count : ENVELOPE_BANDS;
    while (at > 0 && unchecked(band_kurtosis[at - 1]) < kurtosis) at--;
    if (at >= ENVELOPE_BANDS) continue;
    const last = min(count, ENVELOPE_BANDS - 1);
    for (let i = last; i > at; i--) {
      unchecked(band_kurtosis[i] = band_kurtosis[i - 1]);
      unchecked(band_low_hz[i] = band_low_hz[i - 1]);
      unchecked(band_high_hz[i] = band_high_hz[i - 1]);
    }
    unchecked(band_kurtosis[at] = kurtosis);
    unchecked(band_low_hz[at] = low);
    unchecked(band_high_hz[at] = Math.min(high, fs * 0.5 - bin_hz));
    if (count < ENVELOPE_BANDS) count++;
  }
  return count;
}

/** Squared-envelope spectrum of the band [low_hz, high_hz] into `baseband` (bins 0 to
 *  envelope_points/2 at bin_hz spacing, interleaved re, im: envelopeRatio reads their powers).
 *  False when the band is too narrow. */
function envelopeSpectrum(low_hz: f64, high_hz: f64): bool {
  const points = bandEnvelope(low_hz, high_hz);
  if (points == 0) return false;
  envelope_points = points;
  env_bin_hz = bin_hz;
  env_last = points / 2;
  return windowedSpectrum(changetype<usize>(envelope), points) >= 0;
}

/** The squared envelope |z|² of the band [low_hz, high_hz] of the spectrum in `raw` into
 *  `envelope`: the band's bins shifted to baseband and inverse-transformed over the returned
 *  number of points (0 when the band is too narrow or too wide), which span the whole block. */
function bandEnvelope(low_hz: f64, high_hz: f64): i32 {
  const k_low = max(1, <i32>Math.ceil(low_hz / bin_hz));
  const k_high = min(bins - 2, <i32>Math.floor(high_hz / bin_hz));
  const band_bins = k_high - k_low + 1;
  if (band_bins < 4) return 0;
  const points = nextPowerOfTwo(2 * band_bins, 256);
  if (points > envelope_points_max) return 0;
  const z = changetype<usize>(baseband);
  // The band's bins at baseband, zero above: band_bins ≤ points/2. Conjugated: the forward FFT
  // of conj(Z) is the conjugate of the inverse, and |·|² ignores it.
  const source = changetype<usize>(raw) + (<usize>k_low << 3);
  if (fftConjugateHalfFilled(source, band_bins, z, points) < 0) return 0;
  const env = changetype<usize>(envelope);
  for (let n = 0; n < points; n++) {
    const re = load<f32>(z + (<usize>n << 3));
    const im = load<f32>(z + (<usize>n << 3), 4);
    store<f32>(env + (<usize>n << 2), re * re + im * im);
  }
  return points;
}

/** The spectrum of `points` values at `values` (a power of two up to envelope_points_max), mean
 *  removed and Hann-windowed, into `baseband` (bins 0 … points/2, interleaved re, im). */
function windowedSpectrum(values: usize, points: i32): i32 {
  let sum: f64 = 0.0;
  for (let n = 0; n < points; n++) sum += <f64>load<f32>(values + (<usize>n << 2));
  const mean = <f32>(sum / <f64>points);
  const z = changetype<usize>(baseband);
  // The periodic Hann window by rotation (cos and sin of 2πn/points, one complex multiply a
  // sample, in f64: no table to keep). Written where the real FFT wants the values (fftSlot);
  // `baseband` holds points + 2 f32 and more.
  const step_cos = cosTurns(1.0 / <f64>points);
  const step_sin = cosTurns(0.25 - 1.0 / <f64>points);
  let c: f64 = 1.0;
  let s: f64 = 0.0;
  const half = points >> 1;
  const shift = fftSlotShift(half);
  for (let i = 0; i < half; i++) {
    const n = i << 1;
    const slot = z + fftSlot(i, shift);
    const w0 = <f32>(0.5 - 0.5 * c);
    let next_c = c * step_cos - s * step_sin;
    s = s * step_cos + c * step_sin;
    c = next_c;
    const w1 = <f32>(0.5 - 0.5 * c);
    next_c = c * step_cos - s * step_sin;
    s = s * step_cos + c * step_sin;
    c = next_c;
    store<f32>(slot, (load<f32>(values + (<usize>n << 2)) - mean) * w0);
    store<f32>(slot, (load<f32>(values + (<usize>n << 2), 4) - mean) * w1, 4);
  }
  return fftRealPlaced(z, points);
}

// ---------------------------------------------------------------------------------------
// Acquisition over consecutive windows (ANALYSIS.md §5): one window of 4096 samples at 48 kHz
// is 85 ms, 11.7 Hz per bin, too coarse to tell a defect's lines from their neighbours. When
// windows follow one another, the squared envelope of one band is streamed across them and
// its spectrum taken over STREAM_POINTS points: finer bins by a longer record, not by wider
// tolerances. The band's envelope is taken per block by FFT, which is circular: only each
// block's middle half is kept, and the block straddling two windows (the previous window's
// second half and this one's first) fills the gap, so the stream is seamless.

let stream: StaticArray<f32> = new StaticArray<f32>(0);
let stream_count: i32 = 0;
let stream_points: i32 = 0;
let stream_low_hz: f64 = 0.0;
let stream_high_hz: f64 = 0.0;
/** The sum of the shaft speeds of the stream's windows, and how many: the acquisition's speed is
 *  their mean. */
let stream_speed_sum: f64 = 0.0;
let stream_windows: i32 = 0;
/** Whether the stream began on a measured speed, and its windows whose speed was far off. */
let stream_speed_measured: bool = false;
let stream_speed_outliers: i32 = 0;
let stream_decimation: i32 = 1;
/** Decimated envelope points per half window, and the stream's sample rate. */
let stream_segment: i32 = 0;
let stream_rate_hz: f64 = 0.0;

function streamReset(): void {
  stream_count = 0;
  stream_segment = 0;
}

/** Starts a stream on the band [low_hz, high_hz] that must carry `modulation_hz`: decimated
 *  (by averaging) to the lowest power-of-two share of the envelope's rate that keeps 2.5 ×
 *  modulation_hz. False when a half window does not map to whole decimated points. */
function streamStart(low_hz: f64, high_hz: f64, modulation_hz: f64, points: i32): bool {
  streamReset();
  const envelope_rate_hz = <f64>points * machine.sample_rate_hz / <f64>fft_size;
  let decimation = 1;
  while (decimation < STREAM_DECIMATION_MAX && envelope_rate_hz / <f64>(decimation * 2) >= STREAM_RATE_OVER_MODULATION * modulation_hz) decimation <<= 1;
  // A quarter window must be whole envelope points, and a half window whole decimated ones.
  const quarter = window_samples * points / fft_size / 4;
  if (quarter * 4 * fft_size != window_samples * points || (2 * quarter) % decimation != 0) return false;
  stream_segment = 2 * quarter / decimation;
  if (2 * stream_segment > stream_points) return false;
  stream_low_hz = low_hz;
  stream_high_hz = high_hz;
  stream_speed_sum = result.shaft_hz;
  stream_windows = 1;
  stream_speed_measured = result.speed_measured;
  stream_speed_outliers = 0;
  stream_decimation = decimation;
  stream_rate_hz = envelope_rate_hz / <f64>decimation;
  return true;
}

/** Appends the middle half of the block envelope in `envelope` (`points` of them) at `offset`
 *  points past the stream's end, averaged in groups of stream_decimation. */
function streamCapture(points: i32, offset: i32): void {
  const env = changetype<usize>(envelope);
  const first = points / 4;
  const at = changetype<usize>(stream) + (<usize>(stream_count + offset) << 2);
  const scale = <f32>(1.0 / <f64>stream_decimation);
  for (let i = 0; i < stream_segment; i++) {
    let sum: f32 = 0.0;
    const from = env + (<usize>(first + i * stream_decimation) << 2);
    for (let d = 0; d < stream_decimation; d++) sum += load<f32>(from + (<usize>d << 2));
    store<f32>(at + (<usize>i << 2), sum * scale);
  }
}

/** Makes room for `adding` points: the oldest go. */
function streamMakeRoom(adding: i32): void {
  const over = stream_count + adding - stream_points;
  if (over <= 0) return;
  const base = changetype<usize>(stream);
  memory.copy(base, base + (<usize>over << 2), <usize>(stream_count - over) << 2);
  stream_count -= over;
}

/** The spectrum of the block made of the previous window's second half and this window's
 *  first half, into `raw` (mean removed, in m/s²), as spectra() makes the window's. */
function straddlingSpectrum(previous_ptr: usize, samples_ptr: usize, scale: f64): i32 {
  const half_window = window_samples >> 1;
  let sum: f64 = 0.0;
  for (let n = 0; n < window_samples; n++) sum += <f64>load<f32>(straddlingAt(previous_ptr, samples_ptr, half_window, n));
  const mean = sum / <f64>window_samples;
  const out = changetype<usize>(raw);
  const half = fft_size >> 1;
  const shift = fftSlotShift(half);
  for (let i = 0; i < half; i++) {
    const n = i << 1;
    let even: f32 = 0.0, odd: f32 = 0.0;
    if (n < window_samples) even = <f32>((<f64>load<f32>(straddlingAt(previous_ptr, samples_ptr, half_window, n)) - mean) * scale);
    if (n + 1 < window_samples) odd = <f32>((<f64>load<f32>(straddlingAt(previous_ptr, samples_ptr, half_window, n + 1)) - mean) * scale);
    const slot = out + fftSlot(i, shift);
    store<f32>(slot, even);
    store<f32>(slot, odd, 4);
  }
  return fftRealPlaced(out, fft_size);
}

// @ts-ignore: decorator
@inline function straddlingAt(previous_ptr: usize, samples_ptr: usize, half_window: i32, n: i32): usize {
  return n < half_window ? previous_ptr + (<usize>(n + half_window) << 2) : samples_ptr + (<usize>(n - half_window) << 2);
}

/** Power of bin `k` of the envelope spectrum, as f32. */
// @ts-ignore: decorator
@inline function envelopePower(k: i32): f32 {
  const at = changetype<usize>(baseband) + (<usize>k << 3);
  const re = load<f32>(at);
  const im = load<f32>(at, 4);
  return re * re + im * im;
}

/** Set by zoneLnP: whether the zone and its floor lay in the envelope spectrum, and the
 *  zone's peak amplitude over the floor's median amplitude. */
let zone_valid: bool = false;
let zone_ratio: f64 = 1.0;

/** The family zoneLnP tests (DEFECT_*), and the shaft speed: bins that other families also
 *  claim, or that hold a running-speed harmonic, cannot tell this defect from them and are
 *  left out of its zones (ANALYSIS.md §5). */
let testing_defect: i32 = -1;
let mask_shaft_hz: f64 = 0.0;
let mask_tolerance: f64 = 0.0;
const defect_hz = new StaticArray<f64>(DEFECTS);

function binMasked(k: i32): bool {
  const hz = <f64>k * env_bin_hz;
  // A running-speed harmonic (its line and its Hann neighbour on each side).
  if (mask_shaft_hz > 0.0) {
    const harmonic = Math.round(hz / mask_shaft_hz) * mask_shaft_hz;
    if (harmonic > 0.0 && Math.abs(hz - harmonic) <= env_bin_hz) return true;
  }
  // A zone of another defect's harmonic series (all of it: an outer race's fourth harmonic can
  // stand where a ball's third is sought).
  for (let d = 0; d < DEFECTS; d++) {
    if (d == testing_defect) continue;
    const f = unchecked(defect_hz[d]);
    if (f <= 0.0) continue;
    const line = Math.max(1.0, Math.round(hz / f)) * f;
    if (Math.abs(hz - line) <= Math.max(env_bin_hz, mask_tolerance * line)) return true;
  }
  return false;
}

/** ln of the probability that noise alone lifts the largest bin within ±half_hz of centre_hz
 *  as far above the floor as it is (ANALYSIS.md §5): a bin of the squared envelope's spectrum
 *  of noise is exponential about its local mean, the floor's median over FLOOR_BINS bins beside
 *  the zone estimates that mean as median / ln 2, and the largest of m such bins exceeds y means
 *  with probability 1 − (1 − e^−y)^m. */
function zoneLnP(centre_hz: f64, half_hz: f64): f64 {
  zone_valid = false;
  zone_ratio = 1.0;
  const last = env_last;
  const centre = centre_hz / env_bin_hz;
  const half = Math.max(1.0, half_hz / env_bin_hz);
  const k_low = max(1, <i32>Math.ceil(centre - half));
  const k_high = <i32>Math.floor(centre + half);
  if (k_high < k_low || k_high + FLOOR_BINS >= last) return 0.0;
  let peak: f32 = 0.0;
  let open_bins = 0;
  for (let k = k_low; k <= k_high; k++) {
    if (binMasked(k)) continue;
    peak = max(peak, envelopePower(k));
    open_bins++;
  }
  if (open_bins == 0) return 0.0;
  // The floor: up to half its bins below the zone, the rest above.
  let count = 0;
  for (let k = max(1, k_low - FLOOR_BINS / 2); k < k_low; k++) {
    setF32(scratch, count, envelopePower(k));
    count++;
  }
  for (let k = k_high + 1; count < FLOOR_BINS; k++) {
    setF32(scratch, count, envelopePower(k));
    count++;
  }
  const median = scratchMedian(count);
  zone_valid = true;
  if (median <= 0.0) {
    zone_ratio = peak > 0.0 ? STRENGTH_FAILED : 1.0;
    return peak > 0.0 ? LOG10_P_MIN * LN_10 : 0.0;
  }
  zone_ratio = Math.sqrt(<f64>peak / median);
  // The floor is an estimate: a bin over a mean estimated from n independent bins exceeds y with
  // probability (1 + y/n)^−n (an F distribution), not e^−y. The median of exponential bins has
  // (ln 2)² the efficiency of their mean, and the Hann window makes neighbouring bins share
  // their power (1.5 bins per independent one), so n and the zone's m are counted accordingly.
  const y = <f64>peak / (median / LN_2);
  const floor_n = <f64>count * LN_2 * LN_2 / HANN_ENBW_BINS;
  const zone_m = Math.max(1.0, <f64>open_bins / HANN_ENBW_BINS);
  const ln_single = -floor_n * Math.log(1.0 + y / floor_n);
  const single = Math.exp(ln_single);
  // For a small single-bin probability q, 1 − (1 − q)^m is m q to within m q².
  const ln_p = single < 1e-8 ? Math.log(zone_m) + ln_single : Math.log(1.0 - Math.pow(1.0 - single, zone_m));
  return Math.max(LOG10_P_MIN * LN_10, Math.min(0.0, ln_p));
}

/** ln of Fisher's combination of `tests` independent probabilities whose logarithms sum to
 *  `sum_ln_p`: P(χ²(2n) > −2 Σ ln p) = e^−s Σ_{k<n} s^k / k!, s = −Σ ln p. */
function fisherLnP(sum_ln_p: f64, tests: i32): f64 {
  if (tests <= 0) return 0.0;
  const s = -sum_ln_p;
  let term: f64 = 1.0;
  let total: f64 = 1.0;
  for (let k = 1; k < tests; k++) {
    term *= s / <f64>k;
    total += term;
  }
  return Math.min(0.0, -s + Math.log(total));
}

/** Set by defectLnP: the geometric mean of the harmonics' amplitude ratios, and that of the
 *  sidebands' when asked for. */
let defect_strength: f64 = 0.0;
let sideband_strength: f64 = 0.0;

/** ln of the combined false-finding probability of the defect at `hz`: its HARMONICS harmonics,
 *  each sought within ±(slip + speed uncertainty), and, for `sideband_hz` > 0, the first
 *  harmonic's sidebands at ± sideband_hz. */
function defectLnP(hz: f64, sideband_hz: f64): f64 {
  defect_strength = 0.0;
  sideband_strength = 0.0;
  if (hz <= 0.0) return 0.0;
  const tolerance = SLIP_MAX + speed_tolerance;
  let sum: f64 = 0.0;
  let tests = 0;
  let product: f64 = 1.0;
  let ratios = 0;
  for (let h = 1; h <= HARMONICS; h++) {
    const line_hz = hz * <f64>h;
    const ln_p = zoneLnP(line_hz, tolerance * line_hz);
    if (!zone_valid) continue;
    sum += ln_p;
    tests++;
    product *= Math.max(zone_ratio, 1e-6);
    ratios++;
  }
  if (ratios > 0) defect_strength = Math.pow(product, 1.0 / <f64>ratios);
  if (sideband_hz > 0.0) {
    let sidebands: f64 = 1.0;
    for (let side = -1; side <= 1; side += 2) {
      const ln_p = zoneLnP(hz + <f64>side * sideband_hz, tolerance * hz);
      if (!zone_valid) continue;
      sum += ln_p;
      tests++;
      sidebands *= Math.max(zone_ratio, 1e-6);
    }
    sideband_strength = Math.sqrt(sidebands);
  }
  return fisherLnP(sum, tests);
}


/** Each defect's ln p and strength in the envelope spectrum zoneLnP reads (set by defectsIn). */
let bpfo_ln_p: f64 = 0.0;
let bpfi_ln_p: f64 = 0.0;
let bsf_ln_p: f64 = 0.0;
let bpfo_strength: f64 = 0.0;
let bpfi_strength: f64 = 0.0;
let bsf_strength: f64 = 0.0;
let bpfi_sidebands: f64 = 0.0;

function defectsIn(f: f64): void {
  unchecked(defect_hz[DEFECT_OUTER] = machine.bpfo_order * f);
  unchecked(defect_hz[DEFECT_INNER] = machine.bpfi_order * f);
  unchecked(defect_hz[DEFECT_ELEMENT] = 2.0 * machine.bsf_order * f);
  mask_shaft_hz = f;
  mask_tolerance = SLIP_MAX + speed_tolerance;
  testing_defect = DEFECT_OUTER;
  bpfo_ln_p = defectLnP(machine.bpfo_order * f, 0.0);
  bpfo_strength = defect_strength;
  testing_defect = DEFECT_ELEMENT;
  bsf_ln_p = defectLnP(2.0 * machine.bsf_order * f, 0.0);
  bsf_strength = defect_strength;
  testing_defect = DEFECT_INNER;
  bpfi_ln_p = defectLnP(machine.bpfi_order * f, f);
  bpfi_strength = defect_strength;
  bpfi_sidebands = sideband_strength;
  testing_defect = -1;
  mask_shaft_hz = 0.0;
}

/** Envelope analysis over the chosen bands; each defect keeps its most significant band, and
 *  its probability is multiplied by the number of bands and defects tested (Bonferroni). Over
 *  consecutive windows (`previous_ptr` the window before, 0 when there is none) the first
 *  band's envelope is streamed too, and once the stream is full its finer spectrum decides. */
function bearingEvidence(samples_ptr: usize, previous_ptr: usize, scale: f64): void {
  result.bpfo_strength = 0.0;
  result.bpfi_strength = 0.0;
  result.bsf_strength = 0.0;
  result.bpfi_sideband = 0.0;
  result.bpfo_log10_p = 0.0;
  result.bpfi_log10_p = 0.0;
  result.bsf_log10_p = 0.0;
  result.band_low_hz = 0.0;
  result.band_high_hz = 0.0;
  result.stream_s = 0.0;
  if (machine.bpfo_order <= 0.0 || result.shaft_hz <= 0.0) {
    streamReset();
    return;
  }
  const bands = chooseBands(samples_ptr);
  const f = result.shaft_hz;
  // The stream goes on over consecutive windows (a shaft does not change its speed by more than
  // a window's estimate can tell within a second or two); its speed is their speeds' mean.
  // Windows before the speed was first measured published the middle of the range: the first
  // measured speed starts the stream's mean afresh (its band and rate, set for the whole range,
  // carry any speed in it).
  const continuing = previous_ptr != 0 && stream_segment > 0 && stream_speed_outliers <= stream_windows;
  if (continuing && !stream_speed_measured && result.speed_measured) {
    stream_speed_sum = result.shaft_hz;
    stream_windows = 1;
    stream_speed_measured = true;
  }
  if (!continuing) streamReset();
  const adding = continuing ? 2 * stream_segment : stream_segment;
  let captured = false;
  let bpfo_ln: f64 = 0.0;
  let bpfi_ln: f64 = 0.0;
  let bsf_ln: f64 = 0.0;
  let best: f64 = 1.0;
  let enveloped = 0;
  for (let b = 0; b < bands; b++) {
    const low = unchecked(band_low_hz[b]);
    const high = unchecked(band_high_hz[b]);
    if (!envelopeSpectrum(low, high)) continue;
    if (b == 0 && !continuing && streamStart(low, high, band_modulation_hz, envelope_points)) {
      streamMakeRoom(stream_segment);
      streamCapture(envelope_points, 0);
      stream_count += stream_segment;
      captured = true;
    } else if (continuing && !captured && low == stream_low_hz && high == stream_high_hz) {
      streamMakeRoom(adding);
      streamCapture(envelope_points, stream_segment);
      captured = true;
    }
    enveloped++;
    defectsIn(f);
    if (bpfo_ln_p < bpfo_ln || (bpfo_ln_p == bpfo_ln && bpfo_strength > result.bpfo_strength)) {
      bpfo_ln = bpfo_ln_p;
      result.bpfo_strength = bpfo_strength;
    }
    if (bsf_ln_p < bsf_ln || (bsf_ln_p == bsf_ln && bsf_strength > result.bsf_strength)) {
      bsf_ln = bsf_ln_p;
      result.bsf_strength = bsf_strength;
    }
    if (bpfi_ln_p < bpfi_ln || (bpfi_ln_p == bpfi_ln && bpfi_strength > result.bpfi_strength)) {
      bpfi_ln = bpfi_ln_p;
      result.bpfi_strength = bpfi_strength;
      result.bpfi_sideband = bpfi_sidebands;
    }
    const strongest = Math.min(bpfo_ln_p, Math.min(bpfi_ln_p, bsf_ln_p));
    if (strongest < best) {
      best = strongest;
      result.band_low_hz = low;
      result.band_high_hz = high;
    }
  }
  if (continuing) {
    streamContinue(previous_ptr, samples_ptr, scale, captured, adding);
    // A shaft does not move by more than its slip from one second to the next: a speed that far
    // from the stream's is the estimate's mistake, left out of the mean (and counted: when such
    // windows outnumber the others, the stream's own speed was the mistake and it starts again).
    const mean = stream_speed_sum / <f64>stream_windows;
    if (Math.abs(f - mean) <= SLIP_MAX * mean) {
      stream_speed_sum += f;
      stream_windows++;
    } else {
      stream_speed_outliers++;
    }
  }
  if (stream_segment > 0 && stream_count >= stream_points) {
    streamEvidence(stream_speed_sum / <f64>stream_windows);
    return;
  }
  if (enveloped == 0) return;
  const tests_ln = Math.log(<f64>(enveloped * DEFECTS));
  result.bpfo_log10_p = correctedLog10(bpfo_ln, tests_ln);
  result.bpfi_log10_p = correctedLog10(bpfi_ln, tests_ln);
  result.bsf_log10_p = correctedLog10(bsf_ln, tests_ln);
}

/** This window's part of a continuing stream: its own block (unless the band loop captured
 *  it) and the block straddling the two windows, which goes first. */
function streamContinue(previous_ptr: usize, samples_ptr: usize, scale: f64, captured: bool, adding: i32): void {
  if (!captured) {
    const points = bandEnvelope(stream_low_hz, stream_high_hz);
    if (points == 0) {
      streamReset();
      return;
    }
    streamMakeRoom(adding);
    streamCapture(points, stream_segment);
  }
  // `raw` is free now: the straddling block's spectrum goes there.
  const points = straddlingSpectrum(previous_ptr, samples_ptr, scale) < 0 ? 0 : bandEnvelope(stream_low_hz, stream_high_hz);
  if (points == 0) {
    streamReset();
    return;
  }
  streamCapture(points, 0);
  stream_count += adding;
}

/** The defects' evidence in the spectrum of the stream's last stream_points points: one band,
 *  three defects tested. */
function streamEvidence(f: f64): void {
  const from = changetype<usize>(stream) + (<usize>(stream_count - stream_points) << 2);
  if (windowedSpectrum(from, stream_points) < 0) return;
  env_bin_hz = stream_rate_hz / <f64>stream_points;
  env_last = stream_points / 2;
  defectsIn(f);
  const tests_ln = Math.log(<f64>DEFECTS);
  result.bpfo_log10_p = correctedLog10(bpfo_ln_p, tests_ln);
  result.bpfi_log10_p = correctedLog10(bpfi_ln_p, tests_ln);
  result.bsf_log10_p = correctedLog10(bsf_ln_p, tests_ln);
  result.bpfo_strength = bpfo_strength;
  result.bpfi_strength = bpfi_strength;
  result.bsf_strength = bsf_strength;
  result.bpfi_sideband = bpfi_sidebands;
  result.band_low_hz = stream_low_hz;
  result.band_high_hz = stream_high_hz;
  result.stream_s = <f64>stream_points / stream_rate_hz;
}

function correctedLog10(ln_p: f64, tests_ln: f64): f64 {
  return Math.max(LOG10_P_MIN, Math.min(0.0, (ln_p + tests_ln) / LN_10));
}

function clip01(x: f64): f64 {
  return Math.max(0.0, Math.min(1.0, x));
}

function addFinding(kind: i32, strength: f64, confidence: f64): void {
  const at = result.findings;
  if (at >= FINDINGS_MAX) return;
  unchecked(result.finding_kind[at] = kind);
  unchecked(result.finding_strength[at] = strength);
  unchecked(result.finding_confidence[at] = clip01(confidence));
  result.findings = at + 1;
}

function severityOf(kind: i32, strength: f64): i32 {
  if (kind >= FAULT_OUTER_RACE && kind <= FAULT_ROLLING_ELEMENT) {
    const bearing_severity = strength >= STRENGTH_FAILED ? 3 : strength >= STRENGTH_SEVERE ? 2 : 1;
    return max(result.iso_zone, bearing_severity);
  }
  return result.iso_zone;
}

/** Every finding of the window, each by its own rule (ANALYSIS.md §6), so a bearing defect and a
 *  process fault are both reported; the fault is the most severe of them. */
function diagnose(kurtosis: f64, crest: f64): void {
  result.findings = 0;
  // Bearing: the most significant defect, when its corrected probability is below FINDING_ALPHA.
  let bearing_log10_p = result.bpfo_log10_p;
  let bearing_kind = FAULT_OUTER_RACE;
  let bearing_strength = result.bpfo_strength;
  if (result.bpfi_log10_p < bearing_log10_p) {
    bearing_log10_p = result.bpfi_log10_p;
    bearing_kind = FAULT_INNER_RACE;
    bearing_strength = result.bpfi_strength;
  }
  if (result.bsf_log10_p < bearing_log10_p) {
    bearing_log10_p = result.bsf_log10_p;
    bearing_kind = FAULT_ROLLING_ELEMENT;
    bearing_strength = result.bsf_strength;
  }
  const bearing_p = Math.pow(10.0, bearing_log10_p);
  // A defect is sought where the speed puts it: without a configured speed, a measured speed
  // that may be wrong (its family not clear of the spectrum between its lines at the finding's
  // own level) makes the defect's lines no finding, only an abnormality.
  const speed_sure = machine.shaft_hz_nominal > 0.0 || 1.0 - result.speed_confidence < FINDING_ALPHA;
  if (bearing_p < FINDING_ALPHA && speed_sure) addFinding(bearing_kind, bearing_strength, 1.0 - bearing_p);
  // Process faults, each on its own.
  if (result.hf_floor_m_s2 >= machine.cavitation_m_s2 && result.hf_flatness >= FLATNESS_NOISE) {
    addFinding(FAULT_CAVITATION, result.hf_floor_m_s2 / machine.cavitation_m_s2, result.hf_flatness / FLATNESS_GAUSSIAN);
  }
  const line_energy = result.line_1x_mm_s * result.line_1x_mm_s + result.line_2x_mm_s * result.line_2x_mm_s
    + result.line_3x_mm_s * result.line_3x_mm_s;
  const velocity_energy = result.velocity_rms_mm_s * result.velocity_rms_mm_s;
  // The running-speed rules need 1x and 2x apart and clear of DC: the shaft's line at least
  // 2 × LINE_HALF_BINS + 1 of the window's own bins (fs / its samples, whatever the padding) up.
  const lines_resolved = result.shaft_hz >= <f64>(2 * LINE_HALF_BINS + 1) * machine.sample_rate_hz / <f64>window_samples;
  if (result.iso_zone >= 1 && velocity_energy > 0.0 && lines_resolved) {
    const share_1x = result.line_1x_mm_s * result.line_1x_mm_s / velocity_energy;
    if (result.line_2x_mm_s >= MISALIGNMENT_2X_OVER_1X * result.line_1x_mm_s && line_energy >= RUNNING_SPEED_SHARE * velocity_energy) {
      addFinding(FAULT_MISALIGNMENT, line_energy / velocity_energy, line_energy / velocity_energy);
    } else if (share_1x >= RUNNING_SPEED_SHARE) {
      addFinding(FAULT_IMBALANCE, share_1x, share_1x);
    }
  }
  // The fault: the most severe finding, the first listed (bearing) on a tie.
  let fault = FAULT_NONE;
  let strength: f64 = 0.0;
  let severity = result.iso_zone;
  let most = -1;
  for (let i = 0; i < result.findings; i++) {
    const kind = unchecked(result.finding_kind[i]);
    const s = severityOf(kind, unchecked(result.finding_strength[i]));
    if (s > most) {
      most = s;
      fault = kind;
      strength = unchecked(result.finding_strength[i]);
      severity = s;
    }
  }
  if (result.findings == 0 && (bearing_p < SUSPECT_ALPHA || kurtosis > KURTOSIS_ABNORMAL || crest > CREST_ABNORMAL || result.iso_zone >= 2)) {
    fault = FAULT_UNKNOWN;
    strength = bearing_strength;
  }
  result.fault = fault;
  result.strength = strength;
  result.severity = severity;
  const bearing = Math.max(result.bpfo_strength, Math.max(result.bpfi_strength, result.bsf_strength));
  let health = clip01(result.velocity_rms_mm_s / machine.zone_cd_mm_s);
  health = Math.max(health, clip01((bearing - 1.0) / (STRENGTH_FAILED - 1.0)));
  health = Math.max(health, clip01((kurtosis - 3.0) / (KURTOSIS_FAILED - 3.0)));
  if (fault == FAULT_CAVITATION) health = Math.max(health, clip01(result.hf_floor_m_s2 / (2.0 * machine.cavitation_m_s2)));
  result.health = health;
}

/** Analyses the window at `samples_ptr` (window_samples f32 in the configured units; `scale`
 *  turns them into m/s²). `kurtosis` and `crest` come from the time-domain features. */
export function analyse(samples_ptr: usize, scale: f64, kurtosis: f64, crest: f64, previous_ptr: usize): i32 {
  if (window_samples == 0) return STATUS_BAD_ARGUMENT;
  bin_hz = machine.sample_rate_hz / <f64>fft_size;
  measureSpeed(samples_ptr, previous_ptr);
  const status = spectra(samples_ptr, scale);
  if (status < 0) return status;
  velocityAndZone();
  estimateSpeed();
  runningSpeedLines();
  highFrequencyFloor();
  bearingEvidence(samples_ptr, previous_ptr, scale);
  diagnose(kurtosis, crest);
  return STATUS_OK;
}
