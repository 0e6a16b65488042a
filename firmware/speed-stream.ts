// The decimated stream the shaft speed is read from (ANALYSIS.md §4, "An acquisition long
// enough to part the family" and "Decimation"): every window that follows the one before is
// low-pass filtered by a cascade of half-band stages and decimated to a rate that just carries
// the harmonics the estimate reads (speed.ts), and the decimated points are streamed across
// consecutive windows, up to SPEED_POINTS_MAX of them, as i16 of a common step. No allocation
// after speedInit(); every loop has a fixed bound.

import { fftRealPlaced, fftSlot, fftSlotShift, cosTurns } from "./fft";
import { ASSERTS, holds } from "./assert";

/** Points of the decimated stream the speed is read from, kept as i16 (8 KiB). */
export const SPEED_POINTS_MAX: i32 = 4096;
/** The stream's values are i16 of a common step: a window's points that need a coarser step
 *  re-step the stream; a step STEP_SLACK times finer than the stream's holds is taken back. */
const I16_MAX: f64 = 32767.0;
const STEP_SLACK: f64 = 4.0;
/** The decimated rate keeps harmonics up to this share of it (the analysis's passband). */
export const PASSBAND_SHARE: f64 = 0.4;
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
// A stage's taps at odd offsets d ≤ centre = order / 2 sit at d >> 1 < STAGE_TAPS_MAX.
if ((STAGE_ORDER_MAX & 3) != 0) ERROR("a stage's longest order must be a multiple of four");

let stream: StaticArray<i16> = new StaticArray<i16>(0);
let stream_max: i32 = 0;
export let stream_count: i32 = 0;
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
/** Final points the cascade's response to one input reaches either side of its peak. */
let reach: i32 = 0;
let window_samples: i32 = 0;
/** Points appended since the estimate last read the stream, and whether the stream restarted
 *  since (streamRead). */
export let stream_new_points: i32 = 0;
export let stream_restarted: bool = false;

/** Sizes the stream for windows of `samples`: SPEED_POINTS_MAX points whatever the window's
 *  length (the analysis's buffers hold their spectrum, analysis/buffers.ts), so that the speed is
 *  read over the same time, and as finely, from windows of 1,024 samples as of 4,096. */
export function speedInit(samples: i32): void {
  window_samples = samples;
  stream_max = SPEED_POINTS_MAX;
  stream = new StaticArray<i16>(stream_max);
  stream_count = 0;
  step = 0;
  stream_knocks = 0;
}

/** Decimated rate of the stream (Hz). */
export let stream_rate_hz: f64 = 0.0;

/** Whether the decimation is designed (the first window came). */
export function streamDesigned(): bool {
  return step != 0;
}

/** The estimate read the stream: points from now on are new. */
export function streamRead(): void {
  stream_new_points = 0;
  stream_restarted = false;
}

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
    // Its taps and history fit their slots (the last stage's order is 58, the longest).
    if (ASSERTS) assert(j < STAGES_MAX && order <= STAGE_ORDER_MAX, "a decimation stage longer than its slots");
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
  stream_restarted = true;
  memory.fill(changetype<usize>(stage_history), 0, <usize>(STAGES_MAX * STAGE_ORDER_MAX) << 2);
  memory.fill(changetype<usize>(stage_phase), 0, <usize>STAGES_MAX << 2);
  warm = 1;
  for (let j = 0; j < stages; j++) warm += unchecked(stage_order[j]) >> (stages - j);
  reach = warm >> 1;
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
  // Its writes: one output for every other input, to a scratch of at least half the inputs and
  // one more (speedCapture's contract); its history's, order ≤ STAGE_ORDER_MAX f32.
  if (ASSERTS) assert(j < stages && order <= STAGE_ORDER_MAX && (i == 0 || i == 1), "decimation stage out of its slots");
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
 *  `top_hz` at `rate_hz`, for a speed range whose top is `high_hz` (the knocks excised are
 *  shorter than a revolution there); `scratch_a` holds a window of f32, `scratch_b` half of one
 *  and one more, and each at least KNOCK_SCRATCH_BYTES. */
export function speedCapture(samples_ptr: usize, previous_ptr: usize, rate_hz: f64, top_hz: f64, high_hz: f64, scratch_a: usize, scratch_b: usize): bool {
  design(rate_hz, top_hz);
  if (previous_ptr == 0) {
    pending = true;
    return false;
  }
  if (pending) {
    restart();
    decimate(previous_ptr, high_hz, scratch_a, scratch_b);
    pending = false;
  }
  decimate(samples_ptr, high_hz, scratch_a, scratch_b);
  return true;
}

/** The window that came alone, not decimated yet. */
let pending: bool = true;
/** A constant the stream's points are held from: the mean of the first points after a restart
 *  (a sensor's DC, gravity on a MEMS axis, would otherwise set the i16 step). */
let stream_origin: f64 = 0.0;

function decimate(samples_ptr: usize, high_hz: f64, scratch_a: usize, scratch_b: usize): void {
  let from = samples_ptr;
  let count = window_samples;
  for (let j = 0; j < stages; j++) {
    const to = (j & 1) == 0 ? scratch_b : scratch_a;
    count = runStage(j, from, count, to);
    from = to;
  }
  const dropped = min(warm, count);
  warm -= dropped;
  if (stream_count == 0 && count > dropped) {
    let sum: f64 = 0.0;
    for (let i = dropped; i < count; i++) sum += <f64>load<f32>(from + (<usize>i << 2));
    stream_origin = sum / <f64>(count - dropped);
  }
  exciseKnocks(from, dropped, count, high_hz, from == scratch_b ? scratch_a : scratch_b);
  let largest: f64 = 0.0;
  for (let i = dropped; i < count; i++) largest = Math.max(largest, Math.abs(<f64>load<f32>(from + (<usize>i << 2)) - stream_origin));
  // More points than the stream holds (a short stream, long windows): the first ones go.
  const skipped = max(dropped, count - stream_max);
  append(from + (<usize>skipped << 2), count - skipped, largest);
}

/** A knock on the machine (a valve, water hammer, a tool) starts abruptly: the skirt of its
 *  ring's spectrum reaches down into the stream's band, and it leaves the stream the cascade's
 *  response to one input, a point or two far from their neighbours. Spread flat over every bin
 *  of the stream's spectrum, it raised the floor under the shaft's lines many times over, and
 *  the speed was lost for as long as the stream held it (2.7 s).
 *
 *  Found where it stands out most: below the top of the speed range, where the stream holds
 *  only the shaft's fundamental and its floor, and a knock's flat spectrum still lands. The
 *  stream is read there through three running means of one revolution at the top of the range
 *  (L points; nulls at every multiple of that speed, side lobes falling as the cube of the
 *  distance), which turn an input at point v into a peak at v + D, D = 3 (L − 1) / 2, and spread
 *  it over 3 (L − 1) points. The low band is cut into blocks of a revolution and that spread (a
 *  knock shorter than a revolution lies within a block and its neighbours), and each block keeps
 *  its largest value. The largest block is a knock when it stands t times above every block but
 *  it and its neighbours (and those of knocks already found), the reference; then the next
 *  largest is tried against the rest, up to KNOCKS_MAX. The low band holds about one independent
 *  value per L points. Of M such in the reference, under a tail no heavier than exponential, the
 *  largest lies near the tail's scale times ln M, and the largest of the stream's n passes t
 *  times that with chance n M^(−t): t = ln(n / EXCISE_FALSE) / ln M keeps it to EXCISE_FALSE.
 *  Not a Gaussian tail: under one (t = √(ln(n / EXCISE_FALSE) / ln M)) CWRU's records as
 *  recorded passed the limit in 6 of their 2,277 windows, 1e-6 a window having been meant. The
 *  limit is against the largest of the reference rather than a scale, so that a low band with
 *  heavier tails raises its own. A louder stretch longer than a block and its neighbours is the
 *  machine's own: it lifts the reference with it, and stays. No test before the reference holds
 *  e² independent values; a peak within the newest revolution, which may still be rising, waits
 *  for the next window. The knock's point is the largest of the stream within half a revolution
 *  of the peak less D, and it is excised only if it explains the excess: gated, the low band at
 *  the peak falls within the limit (lowAt); a swell of many points does not. There the stream is
 *  brought to its origin, and back over the cascade's reach either side along half a Hann window
 *  (gate()): a line bridged across the point missed its own vibration by about its size, a flat
 *  error again. The whole stream is read each window, so a knock that came before the stream held
 *  a reference goes once it does. */
const EXCISE_FALSE: f64 = 1e-6;
/** Knocks excised since speedInit (for the debug build's tests). */
export let stream_knocks: i32 = 0;
const KNOCKS_MAX: i32 = 4;
/** The longest running mean: a revolution at the top of the speed range is under 2 / 0.4 ×
 *  SPEED_HARMONICS_SPAN (10) = 50 points of the stream (its rate is below twice what keeps the
 *  range's tenth harmonic in the passband). */
const BOXCAR_MAX: i32 = 64;
/** Blocks of at least L + 3 (L − 1) ≥ 97 points (L ≥ 25) over at most 2 × SPEED_POINTS_MAX. */
const BLOCKS_MAX: i32 = 96;
/** The scratch exciseKnocks() takes from the decimation's free buffer: three delay lines and
 *  each block's largest (f64) and where it lies (i32). */
export const KNOCK_SCRATCH_BYTES: i32 = (3 * BOXCAR_MAX + BLOCKS_MAX) * 8 + BLOCKS_MAX * 4;

/** Point `v` of the stream held and then the new points `first` … at `from`, from the origin. */
// @ts-ignore: decorator
@inline function streamPoint(from: usize, first: i32, v: i32): f64 {
  return v < stream_count ? <f64>load<i16>(changetype<usize>(stream) + (<usize>v << 1)) * stream_step : <f64>load<f32>(from + (<usize>(first + v - stream_count) << 2)) - stream_origin;
}

/** Excises knocks from the stream held and its new decimated points `first` … `count` − 1 at
 *  `from` (f32); `high_hz` is the top of the speed range sought; `work` is free scratch of at
 *  least 3 × BOXCAR_MAX + BLOCKS_MAX f64 and BLOCKS_MAX i32. */
function exciseKnocks(from: usize, first: i32, count: i32, high_hz: f64, work: usize): void {
  const total = stream_count + count - first;
  if (count <= first || !(high_hz > 0.0)) return;
  const revolution = max(1, <i32>Math.floor(stream_rate_hz / high_hz));
  const length = min(revolution, BOXCAR_MAX);
  const settled = 3 * (length - 1);
  const delay = settled >> 1;
  const width = revolution + settled;
  const blocks = (total - settled + width - 1) / width;
  if (blocks < 4 || blocks > BLOCKS_MAX) return;
  // The running means' delay lines (f64, their sums exact to the step's rounding) and each
  // block's largest value (in the stream's units times L³: only ratios are read) and its point.
  const line_a = work;
  const line_b = line_a + (<usize>BOXCAR_MAX << 3);
  const line_c = line_b + (<usize>BOXCAR_MAX << 3);
  const block_top = line_c + (<usize>BOXCAR_MAX << 3);
  const block_at = block_top + (<usize>BLOCKS_MAX << 3);
  memory.fill(work, 0, <usize>KNOCK_SCRATCH_BYTES);
  let sum_a: f64 = 0.0, sum_b: f64 = 0.0, sum_c: f64 = 0.0;
  let slot = 0;
  let block = 0;
  let in_block = 0;
  let top: f64 = 0.0;
  let top_at = 0;
  for (let v = 0; v < total; v++) {
    const x = streamPoint(from, first, v);
    const at = <usize>slot << 3;
    sum_a += x - load<f64>(line_a + at);
    store<f64>(line_a + at, x);
    sum_b += sum_a - load<f64>(line_b + at);
    store<f64>(line_b + at, sum_a);
    sum_c += sum_b - load<f64>(line_c + at);
    store<f64>(line_c + at, sum_b);
    if (++slot == length) slot = 0;
    if (v < settled) continue;
    const low = Math.abs(sum_c);
    if (low > top) {
      top = low;
      top_at = v;
    }
    if (++in_block == width || v == total - 1) {
      store<f64>(block_top + (<usize>block << 3), top);
      store<i32>(block_at + (<usize>block << 2), top_at);
      in_block = 0;
      top = 0.0;
      block++;
    }
  }
  // The largest blocks, one at a time; a block found (or waiting) is marked −1, its neighbours
  // −2, and neither is in the reference.
  const n = <f64>total / <f64>length;
  const half = length >> 1;
  for (let found = 0; found < KNOCKS_MAX; found++) {
    let largest = -1;
    for (let j = 0; j < blocks; j++) {
      if (load<f64>(block_top + (<usize>j << 3)) >= 0.0 && (largest < 0 || load<f64>(block_top + (<usize>j << 3)) > load<f64>(block_top + (<usize>largest << 3)))) largest = j;
    }
    if (largest < 0) return;
    let reference: f64 = 0.0;
    let in_reference = 0;
    for (let j = 0; j < blocks; j++) {
      if (abs<i32>(j - largest) <= 1) continue;
      const value = load<f64>(block_top + (<usize>j << 3));
      if (value < 0.0) continue;
      reference = Math.max(reference, value);
      in_reference++;
    }
    const m = <f64>(in_reference * width) / <f64>length;
    if (!(Math.log(m) >= 2.0)) return;
    const peak = load<f64>(block_top + (<usize>largest << 3));
    const limit = Math.log(n / EXCISE_FALSE) / Math.log(m) * reference;
    if (!(peak > limit)) return;
    for (let j = max(0, largest - 1); j <= min(blocks - 1, largest + 1); j++) store<f64>(block_top + (<usize>j << 3), j == largest ? -1.0 : -2.0);
    const peak_at = load<i32>(block_at + (<usize>largest << 2));
    if (peak_at >= total - revolution) continue;
    const centre = peak_at - delay;
    let knock = -1;
    let size: f64 = -1.0;
    for (let v = max(0, centre - half); v <= min(total - 1, centre + half); v++) {
      const x = Math.abs(streamPoint(from, first, v));
      if (x > size) {
        size = x;
        knock = v;
      }
    }
    // A knock is the one point's: gated, the low band at the peak falls within the limit. An
    // excursion of many points (a louder stretch, a low-frequency swell) does not, and stays.
    if (!(lowAt(from, first, total, peak_at, length, knock, reach) <= limit)) continue;
    gate(from, first, count, knock, reach);
    stream_knocks++;
  }
}

/** The low band (the three running means of `length` points, times length³) at point
 *  `v`, with the stream gated at `knock` over `rise` points either side as gate() would. Three
 *  running means of L points weigh point v − u by the number of ways u is a sum of three whole
 *  numbers below L: (u + 1)(u + 2)/2 up to L − 1, less 3 (u − L + 1)(u − L + 2)/2 from L to
 *  2L − 2, and symmetrically (3L − 2 − u)(3L − 1 − u)/2 up to 3L − 3. */
function lowAt(from: usize, first: i32, total: i32, v: i32, length: i32, knock: i32, rise: i32): f64 {
  let sum: f64 = 0.0;
  const last = 3 * (length - 1);
  for (let u = 0; u <= min(last, v); u++) {
    const at = v - u;
    if (at >= total) continue;
    let weight: f64;
    if (u < length) weight = <f64>((u + 1) * (u + 2)) * 0.5;
    else if (u <= 2 * length - 2) weight = <f64>((u + 1) * (u + 2)) * 0.5 - 1.5 * <f64>((u - length + 1) * (u - length + 2));
    else weight = <f64>((3 * length - 2 - u) * (3 * length - 1 - u)) * 0.5;
    sum += weight * gateKeep(abs<i32>(at - knock), rise) * streamPoint(from, first, at);
  }
  return Math.abs(sum);
}

/** What gate() keeps of a point `away` points from the one it brings to the origin, `rise`
 *  points along half a Hann window (1 beyond them). */
// @ts-ignore: decorator
@inline function gateKeep(away: i32, rise: i32): f64 {
  return away > rise ? 1.0 : away == 0 ? 0.0 : 0.5 - 0.5 * cosTurns(0.5 * <f64>away / <f64>(rise + 1));
}

/** Brings the stream's point `at` (held, then the new points `first` … `count` − 1 at `from`)
 *  to the origin, and the `rise` points either side of it back to their own values (gateKeep). */
function gate(from: usize, first: i32, count: i32, at: i32, rise: i32): void {
  const base = changetype<usize>(stream);
  for (let v = max(0, at - rise); v <= at + rise; v++) {
    const keep = gateKeep(abs<i32>(v - at), rise);
    if (v < stream_count) {
      const point = base + (<usize>v << 1);
      store<i16>(point, <i16>Math.round(<f64>load<i16>(point) * keep));
    } else {
      if (first + v - stream_count >= count) break;
      const point = from + (<usize>(first + v - stream_count) << 2);
      store<f32>(point, <f32>(stream_origin + (<f64>load<f32>(point) - stream_origin) * keep));
    }
  }
}

/** The smallest power of two at least `x` (x ≥ 0 finite; 0 stays 0), from its bits. The stream's
 *  step is one: re-stepped by a power of two, the points already held are rounded once for each
 *  halving of their resolution, at most a step in all, and never by a finer one. A step set to
 *  just what each window needs moved by a little at every window whose largest point grew, and
 *  each move rounded every point held once more: at 64 points a window (4096 samples at 96
 *  kHz) the rounding piled up until the shaft's line no longer stood out of the stream. */
function powerOfTwoAtLeast(x: f64): f64 {
  if (!(x > 0.0)) return 0.0;
  const bits = reinterpret<u64>(x);
  const exponent = bits & 0x7ff0000000000000;
  return (bits & 0x000fffffffffffff) == 0 ? x : reinterpret<f64>(exponent + 0x0010000000000000);
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
  // A finer step only from all the points held: the new ones alone would leave larger points
  // held from before (a knock's) to wrap round their i16 when multiplied up. An empty stream
  // (just restarted) holds none.
  let all_seen = stream_count == 0;
  if (appended_since_step >= stream_max) {
    let kept_largest: i32 = 0;
    for (let i = 0; i < stream_count; i++) kept_largest = max(kept_largest, abs<i32>(<i32>load<i16>(base + (<usize>i << 1))));
    needed = Math.max(needed, <f64>kept_largest * stream_step / I16_MAX);
    all_seen = true;
    if (needed * STEP_SLACK >= stream_step) appended_since_step = 0;
  }
  needed = powerOfTwoAtLeast(needed);
  if (needed > 0.0 && (stream_step == 0.0 || needed > stream_step || (all_seen && needed * STEP_SLACK < stream_step))) {
    appended_since_step = 0;
    const ratio = stream_step / needed;
    for (let i = 0; i < stream_count; i++) {
      const at = base + (<usize>i << 1);
      store<i16>(at, <i16>Math.round(<f64>load<i16>(at) * ratio));
    }
    stream_step = needed;
  }
  const inverse = stream_step > 0.0 ? 1.0 / stream_step : 0.0;
  if (ASSERTS) assert(holds(stream, stream_count, count), "speed stream past its buffer");
  for (let i = 0; i < count; i++) {
    const value = Math.max(-I16_MAX, Math.min(I16_MAX, Math.round((<f64>load<f32>(from + (<usize>i << 2)) - stream_origin) * inverse)));
    store<i16>(base + (<usize>(stream_count + i) << 1), <i16>value);
  }
  stream_count += count;
  stream_new_points += count;
}

/** The value of one step of the stream's i16, in the samples' units. */
export function streamStep(): f64 {
  return stream_step;
}

/** The stream's point `i` (0 ≤ i < stream_count) in the decimated signal's units (for the debug
 *  build's tests). */
export function streamValue(i: i32): f64 {
  return <f64>load<i16>(changetype<usize>(stream) + (<usize>i << 1)) * stream_step + stream_origin;
}

/** Hann-windowed power spectrum of the stream's newest `points` points (mean removed) into
 *  `power_ptr` (points / 2 + 1 f32), with `work_ptr` (points + 2 f32) as the FFT's buffer. */
export function streamPower(points: i32, work_ptr: usize, power_ptr: usize): void {
  // Its reads are the stream's newest points; its writes `work_ptr`'s and `power_ptr`'s (the
  // caller's buffers, of at least points + 2 and points / 2 + 1 f32).
  if (ASSERTS) assert(points >= 2 && (points & (points - 1)) == 0 && points <= stream_count, "speed spectrum of points the stream does not hold");
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
