// Sensor health: whether a window is a measurement of vibration at all, before any diagnosis is
// drawn from it. A dead sensor reads zero, a disconnected one a DC level with nothing on it, a
// saturated one sits on its rails, an intermittent one (a loose connector) throws isolated one-
// or two-sample spikes. Every threshold follows from a false-alarm probability per window
// (firmware/ANALYSIS.md, "Sensor health"); nothing is allocated, every loop is bounded by the
// window's length, and the check takes only logarithms (no Math.exp or general Math.pow of
// its own).

import { selectBegin, selectTally, selectEnd, selectOctaveFloor, lnNormalTail } from "./stats";
import { scratchBeforeAnalysis } from "./analysis";
import { window_samples } from "./analysis/buffers";
import { ASSERTS } from "./assert";

export const SENSOR_OK: i32 = 0;
export const SENSOR_DEAD: i32 = 1;
export const SENSOR_CLIPPED: i32 = 2;
export const SENSOR_OFFSET: i32 = 3;
export const SENSOR_SPIKY: i32 = 4;

/** Probability that a sound window fails each test (per window: one false sensor fault in
 *  about 19 years of windows every ten minutes). */
const FALSE_ALARM: f64 = 1e-6;
/** Offset: a 24-bit sigma-delta converter has about 20 effective bits, so its own noise is at
 *  least 2^-20 of its range, and any DC level it reads lies within that range. A standard
 *  deviation of at most 2^-20 of the mean is therefore no more than a converter's own noise
 *  on a DC level: no vibration reaches the output. (It covers a window that does not vary at
 *  all: float32 cannot vary by less than 2^-24 of a level without being constant.) */
const OFFSET_STD_SHARE: f64 = 1.0 / 1048576.0;
/** Spikes: a fault of the connection moves one or two samples; a mechanical impact rings a
 *  resonance, and the lowest the analysis envelopes starts at fs/24 (ANALYSIS.md §5), a period
 *  of 24 samples. The samples ISOLATION either side of a spike must be quiet once the spike is
 *  taken out: its own two samples and one period of the slowest ring. */
const SPIKE_SAMPLES_MAX: i32 = 2;
const RESONANCE_PERIOD_SAMPLES_MAX: i32 = 24;
const ISOLATION: i32 = SPIKE_SAMPLES_MAX + RESONANCE_PERIOD_SAMPLES_MAX;
/** Share of true spikes on a Gaussian background the isolation test may lose: a connection
 *  that spikes does so again and again, so one in a thousand missed costs nothing. */
const SPIKE_MISS: f64 = 1e-3;
/** Rounding to a converter step q alone gives second differences whose median magnitude is
 *  0.52 q (three independent errors, uniform over ±q/2); the median scale is never taken
 *  below half a step, so a staircase of a slow signal is not a row of spikes. */
const STEP_MEDIAN_SHARE: f64 = 0.5;
const LN_SQRT_2PI: f64 = 0.9189385332046727;
const TAIL_BISECTIONS: i32 = 64;
/** Terms of the series for 1 − e^y: enough for |y| ≤ 5 (a window of three samples) to 1e-14. */
const SERIES_TERMS: i32 = 32;
const TAIL_Z_MAX: f64 = 40.0;

/** Thresholds for windows of prepared_count samples (they depend on the length only). */
let prepared_count: i32 = 0;
/** Spike threshold over the median |second difference|. */
let spike_ratio: f64 = 0.0;
/** Quiet band of the second differences around a spike, over their median magnitude. */
let band_ratio: f64 = 0.0;
/** A Gaussian window of this length reaches beyond body_z standard deviations on each side
 *  with probability 1 − FALSE_ALARM/2. */
let body_z: f64 = 0.0;

/** The z ≥ 0 whose upper tail Q(z) is exp(ln_p), for ln_p ≤ ln ½, by bisection. */
function normalTailInverse(ln_p: f64): f64 {
  let low: f64 = 0.0;
  let high: f64 = TAIL_Z_MAX;
  for (let i = 0; i < TAIL_BISECTIONS; i++) {
    const middle = 0.5 * (low + high);
    if (lnNormalTail(middle) > ln_p) low = middle;
    else high = middle;
  }
  return 0.5 * (low + high);
}

/** 1 − e^y by its Taylor series, for y in [−5, 0]. */
function oneMinusExp(y: f64): f64 {
  let term: f64 = 1.0;
  let sum: f64 = 0.0;
  for (let k = 1; k <= SERIES_TERMS; k++) {
    term *= y / <f64>k;
    sum -= term;
  }
  return sum;
}

function prepare(count: i32): void {
  prepared_count = count;
  // Spikes, against impulsive vibration: second differences of a machine's vibration have
  // heavier tails than Gaussian noise (impacts), so the null is the Laplace distribution,
  // P(|d| > t) = exp(−t ln 2 / median|d|); Bonferroni over the window's samples puts the
  // threshold at median · log2(count / FALSE_ALARM).
  spike_ratio = Math.log(<f64>count / FALSE_ALARM) / Math.LN2;
  // The quiet band: what a Gaussian background of the same median keeps all of the
  // 2·ISOLATION + 1 second differences around a spike within, but with probability SPIKE_MISS
  // (two-sided, Bonferroni); the median of |N(0, σ)| is σ · Q⁻¹(¼).
  const checked = <f64>(2 * ISOLATION + 1);
  band_ratio = normalTailInverse(Math.log(SPIKE_MISS / (2.0 * checked))) / normalTailInverse(Math.log(0.25));
  // P(max of count Gaussians < z) = Φ(z)^count = FALSE_ALARM / 2, so Q(z) = 1 − (FALSE_ALARM/2)^(1/count).
  const tail = oneMinusExp(Math.log(FALSE_ALARM / 2.0) / <f64>count);
  body_z = tail <= 0.5 ? normalTailInverse(Math.log(tail)) : -normalTailInverse(Math.log(1.0 - tail));
}

@inline function sample(ptr: usize, i: i32): f64 {
  return <f64>load<f32>(ptr + (<usize>i << 2));
}

@inline function secondDifference(ptr: usize, i: i32): f64 {
  return sample(ptr, i - 1) - 2.0 * sample(ptr, i) + sample(ptr, i + 1);
}

/** Window statistics of the last measureWindow(). */
let mean: f64 = 0.0;
let deviation: f64 = 0.0;
let peak_abs: f64 = 0.0;
let high: f32 = 0.0;
let low: f32 = 0.0;
let at_high: i32 = 0;
let at_low: i32 = 0;
/** Whether measureWindow() wrote the |second differences|, and the largest of them. */
let differences_written: bool = false;
let largest_second_difference: f64 = 0.0;
/** The smallest non-zero change from one sample to the next: the converter's step, or more
 *  (Infinity for a constant window). Found by converterStep() when a test needs it, which few
 *  windows' do: a pass of its own, not a share of every window's measuring pass. */
let step: f32 = 0.0;
let step_known: bool = false;

/** The measured window's converter step (step), found on the first call after measureWindow():
 *  an f32 difference, within half an f32 rounding (2^-25 relative) of the exact one. */
function converterStep(): f32 {
  if (step_known) return step;
  let smallest: f32 = Infinity;
  let previous = load<f32>(measured_ptr);
  const end = measured_ptr + (<usize>measured_count << 2);
  for (let at = measured_ptr + 4; at < end; at += 4) {
    const x = load<f32>(at);
    const change = Mathf.abs(x - previous);
    if (change > 0.0 && change < smallest) smallest = change;
    previous = x;
  }
  step = smallest;
  step_known = true;
  return smallest;
}
/** The window measureWindow() measured. */
let measured_ptr: usize = 0;
let measured_count: i32 = 0;

/** The window's mean, largest and smallest sample (in its own units), as measureWindow() found them. */
export function windowMean(): f64 {
  return mean;
}
export function windowHigh(): f64 {
  return <f64>high;
}
export function windowLow(): f64 {
  return <f64>low;
}

/** One pass over the window, for the time features (features.ts) and the sensor's tests: the
 *  extremes and how many samples sit on each (a count restarts when a new extreme comes), and
 *  the mean and the second to fourth moments from sums about the first sample (shifted sums in
 *  f64, which keep their precision when a DC level dwarfs the vibration: f32 sums of 4,096
 *  samples would lose 12 bits of it). The comparisons are of f32 samples, in f32. The same pass
 *  writes the |second differences| the spike test takes the median of
 *  (medianAbsSecondDifference), so the window is read once for both. */
export function measureWindow(ptr: usize, count: i32): void {
  measured_ptr = ptr;
  measured_count = count;
  const origin = load<f32>(ptr);
  const origin_wide = <f64>origin;
  let sum: f64 = 0.0;
  let sum_squares: f64 = 0.0;
  let sum_cubes: f64 = 0.0;
  let sum_fourths: f64 = 0.0;
  let top = origin;
  let bottom = origin;
  let on_top = 0;
  let on_bottom = 0;
  // The second differences x[i−2] − 2x[i−1] + x[i], from i = 2 on, into the analysis's free
  // scratch at i − 2 and tallied for the selection's first pass. In f64, where the difference of
  // f32 samples is exact before its one rounding to f32: in f32 a smooth signal's difference
  // (far smaller than its samples) would carry an error of a whole sample's rounding.
  // Not before the analysis's buffers are sized: a self-test may run before init.
  const values = count - 2;
  differences_written = values > 0 && values <= window_samples;
  const scratch = differences_written ? scratchBeforeAnalysis(values) : 0;
  selectBegin();
  let largest: f32 = 0.0;
  let before: f64 = 0.0;
  let here: f64 = 0.0;
  const to_scratch = scratch - 8 - ptr; // from sample i to scratch value i − 2
  const end = ptr + (<usize>count << 2);
  const differences_from = differences_written ? ptr + 8 : end;
  for (let at = ptr; at < end; at += 4) {
    const x = load<f32>(at);
    const wide = <f64>x;
    const shifted = wide - origin_wide;
    const square = shifted * shifted;
    sum += shifted;
    sum_squares += square;
    sum_cubes += square * shifted;
    sum_fourths += square * square;
    // Most samples lie strictly between the extremes: one comparison each, the rest only when
    // it holds.
    if (x >= top) {
      if (x > top) {
        top = x;
        on_top = 0;
      }
      on_top++;
    }
    if (x <= bottom) {
      if (x < bottom) {
        bottom = x;
        on_bottom = 0;
      }
      on_bottom++;
    }
    if (at >= differences_from) {
      const d = <f32>Math.abs(before - 2.0 * here + wide);
      store<f32>(at + to_scratch, d);
      selectTally(d);
      largest = max(largest, d);
    }
    before = here;
    here = wide;
  }
  largest_second_difference = <f64>largest;
  high = top;
  low = bottom;
  at_high = on_top;
  at_low = on_bottom;
  step_known = false;
  peak_abs = <f64>max(Mathf.abs(top), Mathf.abs(bottom));
  const n = <f64>count;
  const c = sum / n; // the mean about the first sample
  const s2 = sum_squares / n, s3 = sum_cubes / n, s4 = sum_fourths / n;
  const c2 = c * c;
  mean = origin_wide + c;
  central2 = Math.max(0.0, s2 - c2);
  central3 = s3 - 3.0 * c * s2 + 2.0 * c2 * c;
  central4 = Math.max(0.0, s4 - 4.0 * c * s3 + 6.0 * c2 * s2 - 3.0 * c2 * c2);
  deviation = Math.sqrt(central2);
}

/** The window's second, third and fourth moments about its mean, as measureWindow() found them
 *  (from its sums about the first sample). */
let central2: f64 = 0.0;
let central3: f64 = 0.0;
let central4: f64 = 0.0;
export function windowMoment2(): f64 {
  return central2;
}
export function windowMoment3(): f64 {
  return central3;
}
export function windowMoment4(): f64 {
  return central4;
}

/** Samples piled up on an extreme that lies within the body of the signal: a rail. Under a
 *  Gaussian of the window's σ, the other samples that share the extreme's converter step number
 *  λ = count · φ(z) · step / σ on average (z the extreme's distance from the mean in σ), and
 *  P(k or more) ≤ (e λ / k)^k (Chernoff, for k > λ). An extreme beyond body_z is a peak that
 *  went over the range now and then (an impact's crest), not a sensor living on its rail. */
function railed(extreme: f64, at: i32, count: i32): bool {
  const z = Math.abs(extreme - mean) / deviation;
  if (!(z <= body_z)) return false;
  const others = <f64>(at - 1);
  if (others < 1.0) return false;
  const ln_lambda = Math.log(<f64>count * <f64>converterStep() / deviation) - 0.5 * z * z - LN_SQRT_2PI;
  const ln_others = Math.log(others);
  if (!(ln_others > ln_lambda)) return false;
  return others * (1.0 + ln_lambda - ln_others) <= Math.log(FALSE_ALARM / 2.0);
}

/** Clipped: a rail on either side, or a window that spends at least half its samples on its
 *  two extremes (a square wave between two rails; a continuous signal never does, and a
 *  quantised sine only when it spans fewer than about nine converter steps). */
function clipped(count: i32): bool {
  if ((at_high + at_low) * 2 >= count) return true;
  return railed(<f64>high, at_high, count) || railed(<f64>low, at_low, count);
}

/** The median of |second difference| over the window (the lower one for an even number): the
 *  values measureWindow() wrote to the analysis's free scratch, counted for the selection's first
 *  pass as they were written, selected by radix (stats.ts). */
function medianAbsSecondDifference(count: i32): f64 {
  const values = count - 2;
  return selectEnd(scratchBeforeAnalysis(values), values, (values - 1) >> 1);
}

/** Sample i with samples first..last replaced by the straight line between their neighbours. */
function repaired(ptr: usize, i: i32, first: i32, last: i32): f64 {
  if (i < first || i > last) return sample(ptr, i);
  const before = sample(ptr, first - 1);
  const after = sample(ptr, last + 1);
  return before + (after - before) * <f64>(i - first + 1) / <f64>(last - first + 2);
}

/** Whether, with samples first..last taken out, every second difference within ISOLATION of
 *  `centre` is inside the quiet band. */
function quietWithout(ptr: usize, centre: i32, first: i32, last: i32, band: f64): bool {
  for (let i = centre - ISOLATION; i <= centre + ISOLATION; i++) {
    const d = repaired(ptr, i - 1, first, last) - 2.0 * repaired(ptr, i, first, last) + repaired(ptr, i + 1, first, last);
    if (!(Math.abs(d) <= band)) return false;
  }
  return true;
}

/** A sample departing from its neighbours beyond the spike threshold, whose neighbourhood is
 *  quiet once it (alone, or with the sample before or after it) is taken out. Samples within
 *  ISOLATION + 1 of an end are not judged: a ring cut by the window's edge looks like a spike. */
function spiky(ptr: usize, count: i32): bool {
  if (count < 2 * ISOLATION + 3) return false;
  // The tallies' octave of the median bounds it below (it is less than twice that): where the
  // bound already puts the threshold at or above the largest second difference, no sample is a
  // spike, and the median itself need not be found. A sound window's largest is a few times
  // its median, well inside the factor of about 16 this leaves.
  const octave_floor = selectOctaveFloor((count - 3) >> 1);
  if (!(largest_second_difference > octave_floor * spike_ratio)) return false; // the step only raises it
  const step_floor = STEP_MEDIAN_SHARE * <f64>converterStep();
  const floor = Math.max(octave_floor, step_floor);
  if (!(largest_second_difference > floor * spike_ratio)) return false;
  const median = Math.max(medianAbsSecondDifference(count), step_floor);
  const threshold = median * spike_ratio;
  if (!(largest_second_difference > threshold)) return false; // no candidate: no scan
  const band = median * band_ratio;
  for (let c = ISOLATION + 1; c < count - ISOLATION - 1; c++) {
    if (!(Math.abs(secondDifference(ptr, c)) > threshold)) continue;
    if (quietWithout(ptr, c, c, c, band) || quietWithout(ptr, c, c - 1, c, band) || quietWithout(ptr, c, c, c + 1, band)) return true;
  }
  return false;
}

/** The health of the sensor behind `count` f32 samples at `ptr`, which measureWindow() measured
 *  last (computeTimeFeatures does): SENSOR_OK, or what is wrong with it. Every test is a ratio of
 *  the window's own numbers, so units and sample rate do not enter. A window of fewer than three
 *  samples is not judged. */
export function sensorHealth(ptr: usize, count: i32): i32 {
  if (count < 3) return SENSOR_OK;
  if (ASSERTS) assert(measured_ptr == ptr && measured_count == count && differences_written, "sensorHealth before measureWindow, or before init");
  if (count != prepared_count) prepare(count);
  if (!(peak_abs > 0.0)) return SENSOR_DEAD;
  if (deviation <= OFFSET_STD_SHARE * Math.abs(mean)) return SENSOR_OFFSET;
  if (clipped(count)) return SENSOR_CLIPPED;
  if (spiky(ptr, count)) return SENSOR_SPIKY;
  return SENSOR_OK;
}
