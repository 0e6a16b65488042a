// The shaft speed from the signal (ANALYSIS.md §4). One window is too short to place a shaft's
// harmonics (4096 samples at 48 kHz are 11.7 Hz per bin against a 25–30 Hz shaft; at 12 kHz a
// bearing's tones sit less than a bin from the half-orders of the shaft). So the speed is taken
// from a longer acquisition: every window is low-pass filtered and decimated to a rate that just
// carries the harmonics the estimate reads, and the decimated points are streamed across
// consecutive windows, up to SPEED_POINTS_MAX of them. The spectrum of the stream has bins as
// fine as its length allows; the speed is the candidate whose harmonic family stands out most,
// among the lines that can be its fundamental (every rotor carries a residual unbalance, so a
// shaft's first order is a line). No allocation after speedInit(); every loop has a fixed bound.

import { fftRealPlaced, fftSlot, fftSlotShift, cosTurns } from "./fft";
import { lnNormalTail } from "./stats";

/** Points of the decimated stream the speed is read from, kept as i16 (8 KiB). */
const SPEED_POINTS_MAX: i32 = 4096;
/** The stream's values are i16 of a common step: a window's points that need a coarser step
 *  re-step the stream; a step STEP_SLACK times finer than the stream's holds is taken back. */
const I16_MAX: f64 = 32767.0;
const STEP_SLACK: f64 = 4.0;
/** The shortest stream a spectrum is taken of. */
const SPEED_POINTS_MIN: i32 = 64;
/** The decimated rate keeps harmonics up to this share of it (the analysis's passband). */
const PASSBAND_SHARE: f64 = 0.4;
/** Anti-alias filtering by a cascade of half-band stages, each halving the rate: a Blackman-
 *  windowed sinc cut at a quarter of its input rate, whose every other tap is zero. A stage's
 *  transition band runs from the passband's top P (0.4 of the final rate) to the lowest
 *  frequency that folds onto the passband, half its input rate less P; the Blackman window's
 *  transition is 5.5 / order cycles per sample (Oppenheim & Schafer, Table 7.2) and its stop
 *  band 74 dB down, below any line the estimate reads. The first stages, far above the
 *  passband, need few taps; the last one 59. */
const BLACKMAN_TRANSITION: f64 = 5.5;
const STAGES_MAX: i32 = 10;
const STAGE_ORDER_MAX: i32 = 64;
const STAGE_TAPS_MAX: i32 = STAGE_ORDER_MAX / 4 + 1;
/** A harmonic family's lines must stand this many bins apart to be told from their neighbours:
 *  the main lobe of a Hann window is ±2 bins. */
const FAMILY_SPACING_BINS: f64 = 4.0;
/** Two lines closer than Hann's main-lobe half-width (2 bins) merge into one peak: a line that
 *  close to DC or to its neighbours cannot be seen. */
const LINE_SEEN_BINS: f64 = 2.0;
/** A line's frequency is good to about a tenth of a bin at 10 dB over its floor (Grandke's
 *  interpolation); a fundamental is sought within three of those of a line. */
const LINE_TOLERANCE_BINS: f64 = 0.3;
const STEPS_PER_BIN: i32 = 40;
const HARMONICS_MAX: i32 = 512;
const FLOOR_BLOCK: i32 = 16;
/** Mean and standard deviation of max(0, ln(P / median)) for a bin of noise (P exponential):
 *  E1(ln 2) and the square root of its second moment less its square (ANALYSIS.md §4). */
const PROMINENCE_NOISE_MEAN: f64 = 0.37867;
const PROMINENCE_NOISE_SD: f64 = 0.51820;
/** A harmonic family is there at z ≥ 3 (one-sided 1.3e-3 under noise). */
export const FAMILY_Z: f64 = 3.0;
/** A line whose power is 10 × its floor's median has a 1e-3 chance under noise
 *  (exp(−10 ln 2)): only such lines are fundamentals or refine the speed. */
const LINE_PROMINENCE_LN: f64 = 2.302585092994046;

// ---- The decimated stream -----------------------------------------------------------------

let stream: StaticArray<i16> = new StaticArray<i16>(0);
let stream_max: i32 = 0;
let stream_count: i32 = 0;
/** The value of one step of the stream's i16 (0: empty), and the points appended since it was set. */
let stream_step: f64 = 0.0;
let appended_since_step: i32 = 0;
/** The decimation (a power of two), its stages, and the rate and top they were made for. */
let step: i32 = 0;
let stages: i32 = 0;
let made_for_rate_hz: f64 = 0.0;
let made_for_top_hz: f64 = 0.0;
/** Per stage: its order (2 × an odd centre), the taps at odd offsets 1, 3, … from the centre and
 *  the centre's, the inputs before the next ones (order of them), and whether the next output's
 *  newest input is odd. */
const stage_order = new StaticArray<i32>(STAGES_MAX);
const stage_taps = new StaticArray<f32>(STAGES_MAX * STAGE_TAPS_MAX);
const stage_centre = new StaticArray<f32>(STAGES_MAX);
const stage_history = new StaticArray<f32>(STAGES_MAX * STAGE_ORDER_MAX);
const stage_phase = new StaticArray<i32>(STAGES_MAX);
/** Final points still to drop after a restart: those the stages' zero history reaches. */
let warm: i32 = 0;
let window_samples: i32 = 0;
/** Scratch for a floor block's median. */
const block = new StaticArray<f32>(FLOOR_BLOCK);

/** Sizes the stream for windows of `samples` whose transforms go up to `fft_size` points. */
export function speedInit(samples: i32, fft_size: i32): void {
  window_samples = samples;
  stream_max = min(SPEED_POINTS_MAX, fft_size);
  stream = new StaticArray<i16>(stream_max);
  stream_count = 0;
  step = 0;
}

/** Decimated rate of the stream (Hz). */
export let stream_rate_hz: f64 = 0.0;

/** Designs the decimation for harmonics up to `top_hz` at `rate_hz`, when either changed: the
 *  largest power of two that keeps top_hz within the passband. */
function design(rate_hz: f64, top_hz: f64): void {
  if (step > 0 && rate_hz == made_for_rate_hz && top_hz == made_for_top_hz) return;
  pending = true;
  made_for_rate_hz = rate_hz;
  made_for_top_hz = top_hz;
  const largest = PASSBAND_SHARE * rate_hz / top_hz;
  stages = 0;
  while (stages < STAGES_MAX && <f64>(2 << stages) <= largest) stages++;
  step = 1 << stages;
  stream_rate_hz = rate_hz / <f64>step;
  const passband_hz = PASSBAND_SHARE * stream_rate_hz;
  for (let j = 0; j < stages; j++) {
    const input_hz = rate_hz / <f64>(1 << j);
    const transition = 0.5 - 2.0 * passband_hz / input_hz; // cycles per sample, 0.1 at the last stage
    let centre = <i32>Math.ceil(0.5 * BLACKMAN_TRANSITION / transition);
    centre += 1 - (centre & 1); // odd: the outermost taps are not zeros
    const order = 2 * centre;
    unchecked(stage_order[j] = order);
    let sum: f64 = 0.5;
    for (let d = 1; d <= centre; d += 2) {
      const turns = <f64>(centre + d) / <f64>order;
      const blackman = 0.42 - 0.5 * cosTurns(turns) + 0.08 * cosTurns(2.0 * turns);
      const sinc = ((d & 3) == 1 ? 1.0 : -1.0) / (Math.PI * <f64>d); // sin(πd/2) / (πd)
      unchecked(stage_taps[j * STAGE_TAPS_MAX + (d >> 1)] = <f32>(sinc * blackman));
      sum += 2.0 * sinc * blackman;
    }
    for (let d = 1; d <= centre; d += 2) {
      const at = j * STAGE_TAPS_MAX + (d >> 1);
      unchecked(stage_taps[at] = <f32>(<f64>unchecked(stage_taps[at]) / sum));
    }
    unchecked(stage_centre[j] = <f32>(0.5 / sum));
  }
  restart();
}

/** Empties the stream and the stages' history. */
function restart(): void {
  stream_count = 0;
  measured_points = 0;
  memory.fill(changetype<usize>(stage_history), 0, <usize>(STAGES_MAX * STAGE_ORDER_MAX) << 2);
  memory.fill(changetype<usize>(stage_phase), 0, <usize>STAGES_MAX << 2);
  warm = 1;
  for (let j = 0; j < stages; j++) warm += unchecked(stage_order[j]) >> (stages - j);
}

/** One stage over `count` inputs at `from`: its outputs to `to`; returns how many. */
function runStage(j: i32, from: usize, count: i32, to: usize): i32 {
  const order = unchecked(stage_order[j]);
  const centre = order >> 1;
  const taps = changetype<usize>(stage_taps) + (<usize>(j * STAGE_TAPS_MAX) << 2);
  const middle_tap = unchecked(stage_centre[j]);
  const history = changetype<usize>(stage_history) + (<usize>(j * STAGE_ORDER_MAX) << 2);
  let i = unchecked(stage_phase[j]);
  let out = 0;
  for (; i < count; i += 2) {
    let sum: f32;
    if (i >= order) {
      const mid = from + (<usize>(i - centre) << 2);
      sum = middle_tap * load<f32>(mid);
      for (let d = 1; d <= centre; d += 2) {
        const offset = <usize>d << 2;
        sum += load<f32>(taps + (<usize>(d >> 1) << 2)) * (load<f32>(mid - offset) + load<f32>(mid + offset));
      }
    } else {
      sum = middle_tap * stageInput(history, order, from, i - centre);
      for (let d = 1; d <= centre; d += 2) {
        sum += load<f32>(taps + (<usize>(d >> 1) << 2)) * (stageInput(history, order, from, i - centre - d) + stageInput(history, order, from, i - centre + d));
      }
    }
    store<f32>(to + (<usize>out << 2), sum);
    out++;
  }
  unchecked(stage_phase[j] = i - count);
  // The last `order` inputs are the next call's history.
  if (count >= order) {
    memory.copy(history, from + (<usize>(count - order) << 2), <usize>order << 2);
  } else if (count > 0) {
    memory.copy(history, history + (<usize>count << 2), <usize>(order - count) << 2);
    memory.copy(history + (<usize>(order - count) << 2), from, <usize>count << 2);
  }
  return out;
}

// @ts-ignore: decorator
@inline function stageInput(history: usize, order: i32, from: usize, n: i32): f32 {
  return n >= 0 ? load<f32>(from + (<usize>n << 2)) : load<f32>(history + (<usize>(order + n) << 2));
}

/** Appends the window's decimated points to the stream (the oldest go when it is full), and
 *  says whether the stream spans more than this window. A window that does not follow the one
 *  before without a gap (`previous_ptr` 0) is not decimated: alone, its own spectrum is as fine
 *  (speedFromSpectrum). When the next one follows it, both are decimated then. Harmonics up to
 *  `top_hz` at `rate_hz`; `scratch_a` holds a window of f32, `scratch_b` half of one and one more. */
export function speedCapture(samples_ptr: usize, previous_ptr: usize, rate_hz: f64, top_hz: f64, scratch_a: usize, scratch_b: usize): bool {
  design(rate_hz, top_hz);
  if (previous_ptr == 0) {
    pending = true;
    return false;
  }
  if (pending) {
    restart();
    decimate(previous_ptr, scratch_a, scratch_b);
    pending = false;
  }
  decimate(samples_ptr, scratch_a, scratch_b);
  return true;
}

/** The window that came alone, not decimated yet. */
let pending: bool = true;

function decimate(samples_ptr: usize, scratch_a: usize, scratch_b: usize): void {
  let from = samples_ptr;
  let count = window_samples;
  for (let j = 0; j < stages; j++) {
    const to = (j & 1) == 0 ? scratch_b : scratch_a;
    count = runStage(j, from, count, to);
    from = to;
  }
  const dropped = min(warm, count);
  warm -= dropped;
  let largest: f32 = 0.0;
  for (let i = dropped; i < count; i++) largest = max(largest, abs<f32>(load<f32>(from + (<usize>i << 2))));
  // More points than the stream holds (a short stream, long windows): the first ones go.
  const skipped = max(dropped, count - stream_max);
  append(from + (<usize>skipped << 2), count - skipped, <f64>largest);
}

/** Appends `count` f32 at `from` (none larger than `largest` in size) as i16 of the stream's step. */
function append(from: usize, count: i32, largest: f64): void {
  if (count <= 0) return;
  const base = changetype<usize>(stream);
  const over = stream_count + count - stream_max;
  if (over > 0) {
    memory.copy(base, base + (<usize>over << 1), <usize>(stream_count - over) << 1);
    stream_count -= over;
  }
  // The stream is re-stepped when the new points need a coarser step; and, once every point has
  // come in since the last re-step, when all of them would fit a much finer one.
  let needed = largest / I16_MAX;
  appended_since_step += count;
  if (appended_since_step >= stream_max) {
    let kept_largest: i32 = 0;
    for (let i = 0; i < stream_count; i++) kept_largest = max(kept_largest, abs<i32>(<i32>load<i16>(base + (<usize>i << 1))));
    needed = Math.max(needed, <f64>kept_largest * stream_step / I16_MAX);
    if (needed * STEP_SLACK >= stream_step) appended_since_step = 0;
  }
  if (needed > 0.0 && (stream_step == 0.0 || needed > stream_step || needed * STEP_SLACK < stream_step)) {
    appended_since_step = 0;
    const ratio = stream_step / needed;
    for (let i = 0; i < stream_count; i++) {
      const at = base + (<usize>i << 1);
      store<i16>(at, <i16>Math.round(<f64>load<i16>(at) * ratio));
    }
    stream_step = needed;
  }
  const inverse = stream_step > 0.0 ? 1.0 / stream_step : 0.0;
  for (let i = 0; i < count; i++) {
    const value = Math.max(-I16_MAX, Math.min(I16_MAX, Math.round(<f64>load<f32>(from + (<usize>i << 2)) * inverse)));
    store<i16>(base + (<usize>(stream_count + i) << 1), <i16>value);
  }
  stream_count += count;
  new_points += count;
}

// ---- The estimate ------------------------------------------------------------------------

/** The measured speed (Hz), its harmonic family's z under noise, 1 − the chance that noise
 *  makes its family stand out from the spectrum between its lines, and the stream's bin. */
export let speed_hz: f64 = 0.0;
export let speed_z: f64 = 0.0;
export let speed_confidence: f64 = 0.0;
export let speed_bin_hz: f64 = 0.0;
/** Σh² over the lines that refined the speed (0: none), for its uncertainty. */
export let speed_sum_hh: f64 = 0.0;
/** Seconds of signal the estimate was read from. */
export let speed_span_s: f64 = 0.0;

/** The last estimate's spectrum length and range, whether it found a speed, and the points
 *  appended since. */
let measured_points: i32 = 0;
let measured_low_hz: f64 = 0.0;
let measured_high_hz: f64 = 0.0;
let measured_ok: bool = false;
let new_points: i32 = 0;
/** Whether the spectrum read was of a zero-padded window (its lines' interpolation differs). */
let zero_padded: bool = false;
let power_ptr: usize = 0;
let prominence_ptr: usize = 0;
let prominence_bins: i32 = 0;
let bin_hz: f64 = 1.0;

/** Measures the speed in [low_hz, high_hz] from harmonics up to `top_hz` in the stream's
 *  spectrum, with `work_ptr` (stream points + 2 f32), `power_at` and `prominence_at` (stream
 *  points / 2 + 1 f32 each) as scratch. False when the stream is too short to resolve a family
 *  in the range. */
export function speedFromStream(low_hz: f64, high_hz: f64, top_hz: f64, cage: f64, work_ptr: usize, power_at: usize, prominence_at: usize): bool {
  cage_order = cage;
  if (stream_count < SPEED_POINTS_MIN || step == 0) return clear();
  let points = SPEED_POINTS_MIN;
  while (points << 1 <= stream_count) points <<= 1;
  // The spectrum is taken again once a quarter of its points are new (or it grew): in between,
  // the estimate stands.
  if (points == measured_points && new_points < (points >> 2) && low_hz == measured_low_hz && high_hz == measured_high_hz) return measured_ok;
  measured_points = points;
  measured_low_hz = low_hz;
  measured_high_hz = high_hz;
  new_points = 0;
  power_ptr = power_at;
  prominence_ptr = prominence_at;
  streamPower(points, work_ptr);
  zero_padded = false;
  measured_ok = estimate(points >> 1, stream_rate_hz / <f64>points, low_hz, high_hz, Math.min(top_hz, PASSBAND_SHARE * stream_rate_hz));
  return measured_ok;
}

/** Measures the speed as speedFromStream does, in one window's power spectrum (`bins` bins of
 *  `spectrum_bin_hz` at `power_at`, Hann-windowed, `padded` when the window was zero-padded),
 *  with `prominence_at` (bins f32) as scratch. */
export function speedFromSpectrum(power_at: usize, bins: i32, spectrum_bin_hz: f64, padded: bool, low_hz: f64, high_hz: f64, top_hz: f64, cage: f64, prominence_at: usize): bool {
  cage_order = cage;
  measured_points = 0;
  power_ptr = power_at;
  prominence_ptr = prominence_at;
  zero_padded = padded;
  measured_ok = estimate(bins - 1, spectrum_bin_hz, low_hz, high_hz, top_hz);
  return measured_ok;
}

/** No estimate: the stream is too short. */
function clear(): bool {
  speed_hz = 0.0;
  speed_z = 0.0;
  speed_confidence = 0.0;
  speed_sum_hh = 0.0;
  speed_span_s = 0.0;
  measured_points = 0;
  measured_ok = false;
  return false;
}

/** The estimate over the spectrum at power_ptr (`last_bin` + 1 bins of `spectrum_bin_hz`). */
function estimate(last_bin: i32, spectrum_bin_hz: f64, low_hz: f64, high_hz: f64, top: f64): bool {
  speed_hz = 0.0;
  speed_z = 0.0;
  speed_confidence = 0.0;
  speed_sum_hh = 0.0;
  bin_hz = spectrum_bin_hz;
  speed_bin_hz = bin_hz;
  speed_span_s = 1.0 / bin_hz;
  const low = Math.max(low_hz, FAMILY_SPACING_BINS * bin_hz);
  if (low > high_hz) return false;
  prominence_bins = prominence(min(<i32>Math.ceil(top / bin_hz) + 2, last_bin - 1));

  // Every clear line in the range is a candidate fundamental; the family is weighed around it.
  const fine = bin_hz / <f64>STEPS_PER_BIN;
  let best_hz = bestFamily(low, high_hz, low, high_hz, top);
  let best_z = best_family_z;
  // A family at the cage's rate, or at a combination of the shaft and the cage, presupposes a
  // shaft turning faster (the cage turns because the shaft does): where that shaft's own family
  // is there, it is the explanation. Combinations up to the cage's second order and the shaft's
  // first that lie below the shaft: f_cage, 2 f_cage, f − f_cage, f − 2 f_cage.
  if (best_hz > 0.0 && cage_order > 0.0 && cage_order < 0.5) {
    let alternative_hz: f64 = 0.0;
    let alternative_z: f64 = FAMILY_Z;
    for (let i = 0; i < 4; i++) {
      const share = i == 0 ? cage_order : i == 1 ? 2.0 * cage_order : i == 2 ? 1.0 - cage_order : 1.0 - 2.0 * cage_order;
      const shaft_hz = best_hz / share;
      if (shaft_hz > high_hz) continue;
      // The candidate's place is good to the line tolerance, divided by the share; the line
      // sought there is good to the line tolerance itself.
      const tolerance = LINE_TOLERANCE_BINS * bin_hz * (1.0 + 1.0 / share);
      const found = bestFamily(shaft_hz - tolerance, shaft_hz + tolerance, low, high_hz, top);
      if (found > 0.0 && best_family_z >= alternative_z) {
        alternative_hz = found;
        alternative_z = best_family_z;
      }
    }
    if (alternative_hz > 0.0) {
      best_hz = alternative_hz;
      best_z = alternative_z;
    }
  }
  // A family at twice or three times the speed holds only part of the true one's lines: where a
  // sub-multiple's fundamental is a clear line (no harmonic of the candidate can make it) and
  // the harmonics only it has stand out as a family (z ≥ 3), the sub-multiple is the speed.
  for (let m = 3; m >= 2 && best_hz > 0.0; m--) {
    const sub_hz = best_hz / <f64>m;
    if (sub_hz < low) continue;
    const tolerance = LINE_TOLERANCE_BINS * bin_hz * (1.0 + 1.0 / <f64>m);
    const found = bestFamily(sub_hz - tolerance, sub_hz + tolerance, low, high_hz, top);
    if (found > 0.0 && familyZ(found, top, m) >= FAMILY_Z) {
      best_hz = found;
      best_z = familyZ(found, top, 0);
      break;
    }
  }
  if (best_hz <= 0.0 || hidden(best_hz, low_hz, low)) return false;
  speed_z = best_z;
  speed_confidence = 1.0 - normalTail(familyContrastT(best_hz, top));
  speed_hz = refine(best_hz, top, low, high_hz, fine);
  return true;
}

/** The cage's rate over the shaft's (0: no bearing geometry). */
let cage_order: f64 = 0.0;
let best_family_z: f64 = 0.0;

/** The candidate of the largest family z (in best_family_z) among those around the clear lines
 *  whose interpolated frequency lies in [from_hz, to_hz], each within ±LINE_TOLERANCE_BINS and
 *  kept in [low_hz, high_hz]; 0 when there is none. */
function bestFamily(from_hz: f64, to_hz: f64, low_hz: f64, high_hz: f64, top: f64): f64 {
  const fine = bin_hz / <f64>STEPS_PER_BIN;
  const k_first = max(2, <i32>Math.floor(from_hz / bin_hz) - 1);
  const k_last = min(prominence_bins - 2, <i32>Math.ceil(to_hz / bin_hz) + 1);
  let best_hz: f64 = 0.0;
  best_family_z = -Infinity;
  for (let k = k_first; k <= k_last; k++) {
    if (!isLine(k)) continue;
    const line_hz = (<f64>k + peakOffset(k)) * bin_hz;
    if (line_hz < from_hz || line_hz > to_hz || line_hz < low_hz || line_hz > high_hz) continue;
    const from = line_hz - LINE_TOLERANCE_BINS * bin_hz;
    for (let s = 0; s <= 2 * <i32>(LINE_TOLERANCE_BINS * <f64>STEPS_PER_BIN); s++) {
      const hz = from + <f64>s * fine;
      if (hz < low_hz || hz > high_hz) continue;
      const z = familyZ(hz, top);
      if (z > best_family_z) {
        best_family_z = z;
        best_hz = hz;
      }
    }
  }
  return best_hz;
}

/** Whether `hz` could be a harmonic of a speed in the range below the family search
 *  ([range_low_hz, resolved_low_hz)): a sub-multiple there whose own first order either cannot
 *  be seen (within LINE_SEEN_BINS of DC or of its neighbours) or is a clear line. A shaft's first
 *  order is a line, so a sub-multiple seen without one is not the speed. */
function hidden(hz: f64, range_low_hz: f64, resolved_low_hz: f64): bool {
  for (let m = 2; m <= HARMONICS_MAX; m++) {
    const sub = hz / <f64>m;
    if (sub < range_low_hz) return false;
    if (sub >= resolved_low_hz) continue;
    if (sub < LINE_SEEN_BINS * bin_hz) return true;
    const k = <i32>Math.round(sub / bin_hz);
    for (let j = max(2, k - 1); j <= min(k + 1, prominence_bins - 2); j++) {
      if (isLine(j) && Math.abs((<f64>j + peakOffset(j)) * bin_hz - sub) <= LINE_TOLERANCE_BINS * bin_hz) return true;
    }
  }
  return false;
}

/** Hann-windowed power spectrum of the stream's newest `points` points (mean removed). */
function streamPower(points: i32, work_ptr: usize): void {
  const first = changetype<usize>(stream) + (<usize>(stream_count - points) << 1);
  let sum: f64 = 0.0;
  for (let i = 0; i < points; i++) sum += <f64>load<i16>(first + (<usize>i << 1));
  const mean = sum / <f64>points;
  const shift = fftSlotShift(points >> 1);
  // Hann's cosine by rotation: (c, s) turns by 2π/points a point (f64: the error after 4096
  // turns is some 1e-13).
  const turn_c = cosTurns(1.0 / <f64>points);
  const turn_s = cosTurns(1.0 / <f64>points - 0.25);
  let c: f64 = 1.0;
  let s: f64 = 0.0;
  for (let i = 0; i < (points >> 1); i++) {
    const n = i << 1;
    const even = (<f64>load<i16>(first + (<usize>n << 1)) - mean) * (0.5 - 0.5 * c);
    let next_c = c * turn_c - s * turn_s;
    s = s * turn_c + c * turn_s;
    c = next_c;
    const odd = (<f64>load<i16>(first + (<usize>(n + 1) << 1)) - mean) * (0.5 - 0.5 * c);
    next_c = c * turn_c - s * turn_s;
    s = s * turn_c + c * turn_s;
    c = next_c;
    const slot = work_ptr + fftSlot(i, shift);
    store<f32>(slot, <f32>even);
    store<f32>(slot, <f32>odd, 4);
  }
  fftRealPlaced(work_ptr, points);
  for (let k = 0; k <= (points >> 1); k++) {
    const re = load<f32>(work_ptr + (<usize>k << 3));
    const im = load<f32>(work_ptr + (<usize>k << 3), 4);
    store<f32>(power_ptr + (<usize>k << 2), re * re + im * im);
  }
}

// @ts-ignore: decorator
@inline function powerAt(k: i32): f64 {
  return <f64>load<f32>(power_ptr + (<usize>k << 2));
}
// @ts-ignore: decorator
@inline function prominenceOf(k: i32): f64 {
  return <f64>load<f32>(prominence_ptr + (<usize>k << 2));
}

/** Prominence of every bin up to `k_top` over its block's floor, max(0, ln(P / median)): a line
 *  stands out, noise averages PROMINENCE_NOISE_MEAN. The floor is the median of the bin's block
 *  of FLOOR_BLOCK bins, which a line's three bins cannot move. Returns the bins filled. */
function prominence(k_top: i32): i32 {
  store<f32>(prominence_ptr, 0.0);
  for (let start = 1; start <= k_top; start += FLOOR_BLOCK) {
    const end = min(start + FLOOR_BLOCK, k_top + 1);
    const count = end - start;
    const floor = blockMedian(power_ptr + (<usize>start << 2), count);
    for (let k = start; k < end; k++) {
      const p = powerAt(k);
      store<f32>(prominence_ptr + (<usize>k << 2), floor > 0.0 && p > floor ? <f32>Math.log(p / floor) : <f32>0.0);
    }
  }
  return k_top + 1;
}

/** The value of rank count/2 among `count` (≤ FLOOR_BLOCK) f32 at `from`: an insertion sort
 *  of a copy, a few dozen comparisons for a block. */
function blockMedian(from: usize, count: i32): f64 {
  const sorted = changetype<usize>(block);
  for (let i = 0; i < count; i++) {
    const value = load<f32>(from + (<usize>i << 2));
    let j = i;
    while (j > 0 && load<f32>(sorted + (<usize>(j - 1) << 2)) > value) {
      store<f32>(sorted + (<usize>j << 2), load<f32>(sorted + (<usize>(j - 1) << 2)));
      j--;
    }
    store<f32>(sorted + (<usize>j << 2), value);
  }
  return <f64>load<f32>(sorted + (<usize>(count >> 1) << 2));
}

/** A clear line peaks at bin k: 10 × its floor and above its neighbours. */
function isLine(k: i32): bool {
  return prominenceOf(k) >= LINE_PROMINENCE_LN && powerAt(k) >= powerAt(k - 1) && powerAt(k) > powerAt(k + 1);
}

/** Offset (bins, within ±0.5) of a line's true frequency from its peak bin: Grandke's
 *  interpolation, exact for a sine through a Hann window: the larger neighbour's ratio α to the
 *  peak gives the offset (2α − 1)/(α + 1) bins towards it. */
function peakOffset(peak: i32): f64 {
  const a = Math.sqrt(powerAt(peak - 1));
  const b = Math.sqrt(powerAt(peak));
  const c = Math.sqrt(powerAt(peak + 1));
  if (b <= 0.0) return 0.0;
  let offset: f64;
  if (!zero_padded) {
    const alpha = Math.max(a, c) / b;
    offset = (c >= a ? 1.0 : -1.0) * (2.0 * alpha - 1.0) / (alpha + 1.0);
  } else {
    // Zero-padded: the bins are finer than the window's resolution; a parabola fits the lobe.
    const denominator = a - 2.0 * b + c;
    offset = denominator != 0.0 ? 0.5 * (a - c) / denominator : 0.0;
  }
  return Math.max(-0.5, Math.min(0.5, offset));
}

function prominenceAt(hz: f64): f64 {
  const position = hz / bin_hz;
  const k = <i32>position;
  if (k < 1 || k + 1 >= prominence_bins) return 0.0;
  const t = position - <f64>k;
  return (1.0 - t) * prominenceOf(k) + t * prominenceOf(k + 1);
}

/** The prominence of `hz`'s harmonics up to `top_hz` (leaving out every `skip`-th when skip > 0)
 *  above noise's mean, as a z-score under noise: N harmonics of noise sum to N·mean with
 *  variance N·sd². */
function familyZ(hz: f64, top_hz: f64, skip: i32 = 0): f64 {
  const harmonics = min(<i32>(top_hz / hz), HARMONICS_MAX);
  let sum: f64 = 0.0;
  let count = 0;
  for (let h = 1; h <= harmonics; h++) {
    if (skip > 0 && h % skip == 0) continue;
    sum += prominenceAt(hz * <f64>h) - PROMINENCE_NOISE_MEAN;
    count++;
  }
  return count > 0 ? sum / (PROMINENCE_NOISE_SD * Math.sqrt(<f64>count)) : 0.0;
}

/** How far the harmonics of `hz` stand out from the spectrum between them: each one's
 *  prominence less the mean of the prominences a quarter of `hz` to either side, as a one-sample
 *  t statistic over them. Measured against the spectrum's own density of lines, not a noise
 *  model: a machine's spectrum is full of lines, which lift every position alike. */
function familyContrastT(hz: f64, top_hz: f64): f64 {
  const harmonics = min(<i32>(top_hz / hz), HARMONICS_MAX);
  let sum: f64 = 0.0;
  let sum_squares: f64 = 0.0;
  for (let h = 1; h <= harmonics; h++) {
    const at = hz * <f64>h;
    const contrast = prominenceAt(at) - 0.5 * (prominenceAt(at - 0.25 * hz) + prominenceAt(at + 0.25 * hz));
    sum += contrast;
    sum_squares += contrast * contrast;
  }
  if (harmonics < 2) return 0.0;
  const mean = sum / <f64>harmonics;
  const variance = (sum_squares - sum * mean) / <f64>(harmonics - 1);
  if (variance <= 0.0) return mean > 0.0 ? FAMILY_Z * 10.0 : 0.0;
  return mean / Math.sqrt(variance / <f64>harmonics);
}

/** The upper tail of the standard normal distribution, Φ(−z) (stats.ts). */
function normalTail(z: f64): f64 {
  return z >= 0.0 ? Math.exp(lnNormalTail(z)) : 1.0 - Math.exp(lnNormalTail(-z));
}

/** Least squares of f·h against the family's clear lines (each one's interpolated frequency,
 *  weighted by its order); the candidate itself when none is clear. */
function refine(candidate_hz: f64, top_hz: f64, low_hz: f64, high_hz: f64, fine_hz: f64): f64 {
  const harmonics = min(<i32>(top_hz / candidate_hz), HARMONICS_MAX);
  let sum_hf: f64 = 0.0;
  let sum_hh: f64 = 0.0;
  for (let h = 1; h <= harmonics; h++) {
    const centre = <i32>Math.round(candidate_hz * <f64>h / bin_hz);
    if (centre < 2 || centre + 2 >= prominence_bins) break;
    let peak = centre;
    for (let k = centre - 1; k <= centre + 1; k++) if (powerAt(k) > powerAt(peak)) peak = k;
    if (!isLine(peak)) continue;
    const line_hz = (<f64>peak + peakOffset(peak)) * bin_hz;
    // A line of this family lies within its tolerance of its place, give or take the search's step.
    if (Math.abs(line_hz - candidate_hz * <f64>h) > LINE_TOLERANCE_BINS * bin_hz + fine_hz * <f64>h) continue;
    sum_hf += <f64>h * line_hz;
    sum_hh += <f64>(h * h);
  }
  speed_sum_hh = sum_hh;
  return sum_hh > 0.0 ? Math.max(low_hz, Math.min(high_hz, sum_hf / sum_hh)) : candidate_hz;
}
