// Which bands to envelope (ANALYSIS.md §5): the configured band, or those of banks of
// half-overlapping bands, the narrowest wide enough to carry the defects' modulation and the
// widest the buffers hold, whose spectral kurtosis (over frames short enough to hold one impact
// each) is largest: over the whole window, and for the third band over each of its halves (an
// impulsiveness that recurs, as a defect's does and a lone transient's does not).

import { fftRealPlaced, fftSlotEntry, fftSlotAt, fftSlotShift, cosTurns, nextPowerOfTwo } from "../fft";
import { PASSBAND_SHARE, BAND_WIDTH_MAX_SHARE, HARMONICS, SLIP_MAX } from "./constants";
import { machine, result } from "./machine";
import { speed_tolerance } from "./running-speed";
import { window_samples, bin_hz, getF64, setF64, getF32, setF32 } from "./buffers";
import { ASSERTS, holds } from "../assert";

/** Envelope bands enveloped per window: those of the largest spectral kurtosis. */
export const ENVELOPE_BANDS: i32 = 3;
/** A bound on the bank: 0.4 fs in half band widths (the narrowest band is 8 bins; 4096-sample
 *  windows give at most 410 of them). */
const BANK_BANDS_MAX: i32 = 512;
const SK_FRAME_MIN: i32 = 16;
const SK_FRAME_MAX: i32 = 256;

/** Spectral kurtosis: one frame, its Hann window, and per-bin sums of |X|² and |X|⁴. */
let sk_frame: StaticArray<f32> = new StaticArray<f32>(0);
let sk_hann: StaticArray<f32> = new StaticArray<f32>(0);
let sk_sum2: StaticArray<f64> = new StaticArray<f64>(0);
let sk_sum4: StaticArray<f64> = new StaticArray<f64>(0);
/** The same sums over the window's first half of frames. */
let sk_half2: StaticArray<f64> = new StaticArray<f64>(0);
let sk_half4: StaticArray<f64> = new StaticArray<f64>(0);

/** Sizes the spectral kurtosis's buffers (once per boot). */
export function bandsInit(): void {
  sk_frame = new StaticArray<f32>(SK_FRAME_MAX + 2);
  sk_hann = new StaticArray<f32>(SK_FRAME_MAX);
  sk_sum2 = new StaticArray<f64>(SK_FRAME_MAX / 2 + 1);
  sk_sum4 = new StaticArray<f64>(SK_FRAME_MAX / 2 + 1);
  sk_half2 = new StaticArray<f64>(SK_FRAME_MAX / 2 + 1);
  sk_half4 = new StaticArray<f64>(SK_FRAME_MAX / 2 + 1);
}

let sk_hann_size: i32 = 0;

/** Spectral kurtosis per bin of Hann frames of `frame` samples, one after another, into sk_sum2
 *  (frame/2 + 1 bins at fs/frame): 0 for Gaussian noise, large where impacts ring; into sk_sum4
 *  the smaller of the window's two halves' (ANALYSIS.md §5, "Band 2 by impulsiveness that
 *  recurs"). */
function spectralKurtosis(samples_ptr: usize, frame: i32): bool {
  const half = frame / 2;
  if (ASSERTS) assert(holds(sk_hann, 0, frame) && holds(sk_frame, 0, frame + 2) && holds(sk_sum2, 0, half + 1) && holds(sk_sum4, 0, half + 1) && holds(sk_half2, 0, half + 1) && holds(sk_half4, 0, half + 1), "spectral kurtosis frame past its buffers");
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
  const hann = changetype<usize>(sk_hann);
  const hann_end = hann + (<usize>frame << 2);
  const sum2 = changetype<usize>(sk_sum2);
  const sum4 = changetype<usize>(sk_sum4);
  const bins_end = buffer + (<usize>(half + 1) << 3);
  first_frames = 0;
  for (let start = 0; start + frame <= window_samples; start += frame) {
    const from = samples_ptr + (<usize>start << 2);
    let entry = fftSlotEntry(0);
    for (let weight = hann; weight < hann_end; weight += 8) {
      const slot = buffer + fftSlotAt(entry, shift);
      store<f32>(slot, load<f32>(weight - hann + from) * load<f32>(weight));
      store<f32>(slot, load<f32>(weight - hann + from, 4) * load<f32>(weight, 4), 4);
      entry += 2;
    }
    if (fftRealPlaced(buffer, frame) < 0) return false;
    // |X|² in f32 (the bins are f32: a relative error of 1e-7), summed over the frames in f64.
    // A bin (re, im f32) and its sums (f64) are 8 bytes each: one pointer walks all three.
    for (let bin = buffer; bin < bins_end; bin += 8) {
      const re = load<f32>(bin);
      const im = load<f32>(bin, 4);
      const p = <f64>(re * re + im * im);
      const at2 = bin - buffer + sum2;
      const at4 = bin - buffer + sum4;
      store<f64>(at2, load<f64>(at2) + p);
      store<f64>(at4, load<f64>(at4) + p * p);
    }
    frames++;
    // The first half's sums, once its frames are in.
    if (start + 2 * frame > (window_samples >> 1) && start + frame <= (window_samples >> 1)) {
      for (let k = 0; k <= half; k++) {
        setF64(sk_half2, k, getF64(sk_sum2, k));
        setF64(sk_half4, k, getF64(sk_sum4, k));
      }
      first_frames = frames;
    }
  }
  if (frames == 0) return false;
  // Into sk_sum2 the spectral kurtosis over all frames; into sk_sum4 the smaller of the two
  // halves' (recurring: ANALYSIS.md §5), or, with fewer than two frames a half, the whole's.
  const first = first_frames;
  const second = frames - first;
  const halves = first >= 2 && second >= 2;
  for (let k = 0; k <= half; k++) {
    const s2 = getF64(sk_sum2, k);
    const s4 = getF64(sk_sum4, k);
    const whole = kurtosisOf(s2, s4, frames);
    setF64(sk_sum2, k, whole);
    if (halves) {
      const a2 = getF64(sk_half2, k);
      const a4 = getF64(sk_half4, k);
      setF64(sk_sum4, k, Math.min(kurtosisOf(a2, a4, first), kurtosisOf(s2 - a2, s4 - a4, second)));
    } else {
      setF64(sk_sum4, k, whole);
    }
  }
  return true;
}

/** Frames in the window's first half, as spectralKurtosis last counted them. */
let first_frames: i32 = 0;

/** The spectral kurtosis of a bin from its sums of |X|² and |X|⁴ over `frames` frames. */
function kurtosisOf(sum2: f64, sum4: f64, frames: i32): f64 {
  const mean2 = sum2 / <f64>frames;
  return mean2 > 0.0 ? sum4 / <f64>frames / (mean2 * mean2) - 2.0 : 0.0;
}

/** The highest modulation the chosen bands must carry (set by chooseBands). */
export let band_modulation_hz: f64 = 0.0;
export let band_low_hz: StaticArray<f64> = new StaticArray<f64>(ENVELOPE_BANDS);
export let band_high_hz: StaticArray<f64> = new StaticArray<f64>(ENVELOPE_BANDS);

/** Whether [low_hz, high_hz] is one of the first `count` bands kept. */
function bandKept(count: i32, low_hz: f64, high_hz: f64): bool {
  for (let i = 0; i < count; i++) {
    if (unchecked(band_low_hz[i]) == low_hz && unchecked(band_high_hz[i]) == high_hz) return true;
  }
  return false;
}

/** The mean spectral kurtosis (sk_sum2, or with `recurring` the halves' smaller, sk_sum4; bins
 *  of sk_bin_hz) over [low_hz, min(high_hz, top_hz)]; a band narrower than a bin takes its
 *  middle's. 0 without spectral kurtosis. */
function bandKurtosis(low_hz: f64, high_hz: f64, top_hz: f64, sk_bin_hz: f64, frame: i32, have_sk: bool, recurring: bool): f64 {
  if (!have_sk) return 0.0;
  const values = recurring ? sk_sum4 : sk_sum2;
  let sum: f64 = 0.0;
  let n = 0;
  const k_low = <i32>Math.ceil(low_hz / sk_bin_hz);
  const k_high = min(<i32>Math.floor(Math.min(high_hz, top_hz) / sk_bin_hz), frame / 2);
  for (let k = k_low; k <= k_high; k++) {
    sum += getF64(values, k);
    n++;
  }
  if (n == 0) return getF64(values, min(<i32>Math.round((low_hz + high_hz) * 0.5 / sk_bin_hz), frame / 2));
  return sum / <f64>n;
}

/** The fastest defect's rate in shaft orders: the envelope carries its harmonics, and its impacts
 *  come closest together (the element's family is at twice BSF). */
export function fastestDefectOrder(): f64 {
  return Math.max(machine.bpfi_order, Math.max(machine.bpfo_order, 2.0 * machine.bsf_order));
}

/** The bands to envelope (ANALYSIS.md §5): the configured one, or ENVELOPE_BANDS of banks of
 *  half-overlapping bands, one of the narrowest width that carries the defects' modulation and
 *  two of the widest the buffers hold, those of largest spectral kurtosis (the last by the
 *  kurtosis that recurs in both halves of the window). Band 0 is the
 *  narrowest's: the others' envelopes have at least its points. Returns how many. */
export function chooseBands(samples_ptr: usize): i32 {
  const fs = machine.sample_rate_hz;
  const top_hz = Math.min(fs * PASSBAND_SHARE, fs * 0.5 - bin_hz);
  const f = result.shaft_hz;
  const order_max = fastestDefectOrder();
  // The envelope must carry the highest harmonic tested and its shaft sideband, with slip: a
  // band passes modulation up to half its width.
  const modulation_hz = (<f64>HARMONICS * order_max + 1.0) * f * (1.0 + SLIP_MAX + speed_tolerance);
  band_modulation_hz = modulation_hz;
  if (machine.band_high_hz > 0.0) {
    unchecked(band_low_hz[0] = machine.band_low_hz);
    unchecked(band_high_hz[0] = Math.min(machine.band_high_hz, fs * 0.5 - bin_hz));
    return 1;
  }
  // Both ends of what a band may be (ANALYSIS.md §5, "Band widths"): the narrowest that carries
  // the modulation, and the widest the envelope buffers hold. How wide the machine's resonance
  // rings, which decides the better, is nothing the firmware is told.
  const cap_hz = fs * BAND_WIDTH_MAX_SHARE;
  const narrowest = Math.max(8.0 * bin_hz, Math.min(2.0 * modulation_hz, cap_hz));
  // Frames shorter than the fastest defect's impact spacing, so a frame holds one impact: at
  // most log2(SK_FRAME_MAX / SK_FRAME_MIN) = 4 halvings.
  let frame = SK_FRAME_MAX;
  while (frame > SK_FRAME_MIN && <f64>frame > fs / (order_max * f)) frame >>= 1;
  frame = min(frame, nextPowerOfTwo(window_samples, 16) >> 1);
  const have_sk = spectralKurtosis(samples_ptr, frame);
  const sk_bin_hz = fs / <f64>frame;
  let count = 0;
  for (let b = 0; b < ENVELOPE_BANDS; b++) {
    // Band 0 is the bank's of largest spectral kurtosis at the narrowest width, bands 1 and 2
    // the two of largest at the widest, band 2's the kurtosis that recurs in both halves of the
    // window; widths within half an octave of each other are one, and all three bands are the
    // narrowest's.
    const width = b == 0 || cap_hz < Math.SQRT2 * narrowest ? narrowest : cap_hz;
    let best_kurtosis = -Infinity;
    let best_low: f64 = 0.0;
    let best_high: f64 = 0.0;
    for (let j = 0; j < BANK_BANDS_MAX; j++) {
      // Bands start half their width up: below, the running-speed lines' beats.
      const low = width * 0.5 * <f64>(j + 1);
      const high = low + width;
      if (high > top_hz && j > 0) break;
      const kept_high = Math.min(high, fs * 0.5 - bin_hz);
      if (bandKept(count, low, kept_high)) continue;
      const kurtosis = bandKurtosis(low, high, top_hz, sk_bin_hz, frame, have_sk, b == ENVELOPE_BANDS - 1);
      if (kurtosis > best_kurtosis) {
        best_kurtosis = kurtosis;
        best_low = low;
        best_high = kept_high;
      }
    }
    if (best_kurtosis == -Infinity) break;
    if (ASSERTS) assert(count < ENVELOPE_BANDS, "band kept past the kept bands");
    unchecked(band_low_hz[count] = best_low);
    unchecked(band_high_hz[count] = best_high);
    count++;
  }
  return count;
}
