// The remaining-life forecast (ANALYSIS.md §8, "History" and "Forecast"): the degradation's
// history, up to HISTORY points of the smoothed departure evenly spaced over the whole
// degradation and kept in storage (a section of the running state's record, persist.ts), and
// the hours until the departure reaches 1 by three trends through it. trend.ts feeds it the smoothed departure once a window.

import * as persist from "./persist";
import { ASSERTS } from "./assert";

/** The degradation's history: up to HISTORY points of the smoothed departure, kept from when
 *  it first reaches HISTORY_FROM, evenly spaced in time over the whole degradation (when the
 *  buffer fills, every other point goes and the spacing doubles). Only maintenance clears it:
 *  a departure that comes and goes leaves flat points, which the fits below take in their stride. */
const HISTORY: i32 = 48;
const HISTORY_FROM: f64 = 0.05;
/** The forecast starts once the departure is this far along and the history this long. */
const FORECAST_FROM: f64 = 0.1;
const FORECAST_POINTS_MIN: i32 = 12;
/** The steady trend is a line through the newest half of the history, at least this many points. */
const LINE_POINTS_MIN: i32 = 6;
/** The exponential trend takes the logarithm of the departure, from this up. */
const EXPONENTIAL_FLOOR: f64 = 0.01;
const RUL_HOURS_MAX: f64 = 24.0 * 365.0;
/** A smoothed departure this close to 1 is there: the pump has failed. */
const FAILED_WITHIN: f64 = 0.01;

const HISTORY_MAGIC: u32 = 0x32534948; // "HIS2"
/** The history record before it held f64 points ("HIST", f32 points): widened when read. */
const HISTORY_MAGIC_V1: u32 = 0x54534948;
const HISTORY_HEADER_BYTES: i32 = 24; // magic, count, spacing (f64 hours), first time (f64 hours)
const HISTORY_POINT_BYTES: i32 = 16; // f64 hours, f64 departure
const HISTORY_BYTES: i32 = HISTORY_HEADER_BYTES + HISTORY * HISTORY_POINT_BYTES;

/** The history lives in its record, in f64 as it is computed with: saving it is one write,
 *  there is no second copy, and a reboot gives the forecast the very same points. */
const history_record: usize = persist.history_section;

// The history section (persist.ts): a header of magic, count, spacing and first time, then the
// points; at most 792 bytes (ABI.md). The older record's f32 points widen in place, within it.
if (HISTORY_HEADER_BYTES != 4 + 4 + 8 + 8 || HISTORY_POINT_BYTES != 8 + 8) ERROR("the history record's layout");
if (HISTORY_BYTES != 792 || HISTORY_BYTES != persist.HISTORY_BYTES) ERROR("the history record is not the 792 bytes ABI.md states");
if ((HISTORY & 1) != 0) ERROR("thinning keeps every other point of a full history: HISTORY must be even");

let history_count: i32 = 0;
let history_spacing_h: f64 = 0.0;

/** Hours of remaining life, lowest and highest (-1: no forecast). */
export let rul_low_h: f64 = -1.0;
export let rul_high_h: f64 = -1.0;

function historyAt(i: i32): usize { return history_record + <usize>(HISTORY_HEADER_BYTES + i * HISTORY_POINT_BYTES); }
function historyT(i: i32): f64 { return load<f64>(historyAt(i)); }
function historyD(i: i32): f64 { return load<f64>(historyAt(i), 8); }

/** The history record; one from before f64 points is widened in place. */
export function restoreHistory(): void {
  history_count = 0;
  const read = persist.readSection(persist.SECTION_HISTORY);
  if (ASSERTS) assert(read <= HISTORY_BYTES, "host read the history record past its buffer");
  if (read < HISTORY_HEADER_BYTES) return;
  const magic = load<u32>(history_record);
  const count = <i32>load<u32>(history_record, 4);
  if (count < 0 || count > HISTORY) return;
  if (magic == HISTORY_MAGIC_V1 && read == HISTORY_HEADER_BYTES + count * 8) {
    // From the last point down: each is read before a wider one is written over it.
    const first = load<f64>(history_record, 16);
    for (let i = count - 1; i >= 0; i--) {
      const at = history_record + <usize>(HISTORY_HEADER_BYTES + i * 8);
      const t = first + <f64>load<f32>(at);
      const d = <f64>load<f32>(at, 4);
      store<f64>(historyAt(i), t);
      store<f64>(historyAt(i), d, 8);
    }
  } else if (magic != HISTORY_MAGIC || read != HISTORY_HEADER_BYTES + count * HISTORY_POINT_BYTES) {
    return;
  }
  history_spacing_h = load<f64>(history_record, 8);
  history_count = count;
  if (ASSERTS) assert(history_count >= 0 && history_count <= HISTORY, "history restored past its points");
  // Widened in place, the section no longer holds what its old header says: it is the new one.
  if (magic == HISTORY_MAGIC_V1) saveHistory();
}

/** Forgets the history and the forecast (after maintenance) and writes the empty record. */
export function forgetHistory(): void {
  history_count = 0;
  history_spacing_h = 0.0;
  rul_low_h = -1.0;
  rul_high_h = -1.0;
  saveHistory();
}

/** Writes the history record: its header and its points. */
export function saveHistory(): void {
  // What is written must read back as it is (restoreHistory()'s checks).
  if (ASSERTS) assert(history_count >= 0 && history_count <= HISTORY, "history record past its points");
  store<u32>(history_record, HISTORY_MAGIC);
  store<u32>(history_record, <u32>history_count, 4);
  store<f64>(history_record, history_spacing_h, 8);
  store<f64>(history_record, history_count > 0 ? historyT(0) : 0.0, 16);
  persist.changed(persist.SECTION_HISTORY, HISTORY_HEADER_BYTES + history_count * HISTORY_POINT_BYTES);
}

/** Keeps the smoothed departure `smoothed_departure` at `time_h` in the history when it is due; returns whether
 *  the history changed. */
export function remember(time_h: f64, smoothed_departure: f64): bool {
  if (history_count == 0 && smoothed_departure < HISTORY_FROM) return false;
  if (history_count > 0 && time_h - historyT(history_count - 1) < history_spacing_h) return false;
  if (history_count > 0 && time_h <= historyT(history_count - 1)) return false; // time went back: keep the history as it is
  if (history_count == HISTORY) {
    // Every other point goes, from the oldest, and the spacing doubles.
    const kept = HISTORY >> 1;
    for (let i = 0; i < kept; i++) {
      store<f64>(historyAt(i), historyT(i * 2 + 1));
      store<f64>(historyAt(i), historyD(i * 2 + 1), 8);
    }
    history_count = kept;
    history_spacing_h = (historyT(kept - 1) - historyT(0)) / <f64>(kept - 1);
  }
  if (ASSERTS) assert(history_count < HISTORY, "history point past its record");
  store<f64>(historyAt(history_count), time_h);
  store<f64>(historyAt(history_count), smoothed_departure, 8);
  history_count += 1;
  return true;
}

/** The departure of history point `i`, or its logarithm (for the exponential trend). */
function historyY(i: i32, logarithm: bool): f64 {
  return logarithm ? Math.log(Math.max(historyD(i), EXPONENTIAL_FLOOR)) : historyD(i);
}

/** A least-squares line through history points [from, count), in x = t − now (hours) against
 *  the departure or its logarithm: fit_mean_x, fit_mean_y, fit_stt and fit_slope. False when
 *  the points have no spread in time. */
let fit_mean_x: f64 = 0.0;
let fit_mean_y: f64 = 0.0;
let fit_stt: f64 = 0.0;
let fit_slope: f64 = 0.0;
function regress(from: i32, now_h: f64, logarithm: bool): bool {
  const n = <f64>(history_count - from);
  fit_mean_x = 0.0;
  fit_mean_y = 0.0;
  for (let i = from; i < history_count; i++) {
    fit_mean_x += historyT(i) - now_h;
    fit_mean_y += historyY(i, logarithm);
  }
  fit_mean_x /= n;
  fit_mean_y /= n;
  fit_stt = 0.0;
  let sxy: f64 = 0.0;
  for (let i = from; i < history_count; i++) {
    const dx = historyT(i) - now_h - fit_mean_x;
    fit_stt += dx * dx;
    sxy += dx * (historyY(i, logarithm) - fit_mean_y);
  }
  if (!(fit_stt > 0.0)) return false;
  fit_slope = sxy / fit_stt;
  return true;
}

/** Hours from `now_h` until a least-squares line through history points [from, count)
 *  reaches 1, with the slope's ±2 standard errors; sets line_* (negative: no rising line). */
let line_h: f64 = -1.0;
let line_fast_h: f64 = -1.0;
let line_slow_h: f64 = -1.0;
function fitLine(from: i32, now_h: f64, remaining: f64): void {
  line_h = -1.0;
  line_fast_h = -1.0;
  line_slow_h = -1.0;
  if (!regress(from, now_h, false)) return;
  const slope = fit_slope; // departure per hour
  if (!(slope > 0.0)) return;
  let residual: f64 = 0.0;
  for (let i = from; i < history_count; i++) {
    const e = historyD(i) - (fit_mean_y + slope * (historyT(i) - now_h - fit_mean_x));
    residual += e * e;
  }
  const se = Math.sqrt(residual / <f64>(history_count - from - 2) / fit_stt);
  line_h = remaining / slope;
  line_fast_h = remaining / (slope + 2.0 * se);
  line_slow_h = slope > 2.0 * se ? remaining / (slope - 2.0 * se) : RUL_HOURS_MAX;
}

/** Hours from now until an exponential through history points [from, count) reaches 1: a
 *  least-squares line through the logarithm of the departure, when it rises. The growth of a
 *  spreading defect; negative when it does not rise. */
function fitExponential(from: i32, now_h: f64): f64 {
  if (!regress(from, now_h, true) || !(fit_slope > 0.0)) return -1.0;
  // ln d = mean_y + rate (x − mean_x) reaches 0 at x = mean_x − mean_y / rate.
  const x = fit_mean_x - fit_mean_y / fit_slope;
  return x > 0.0 ? x : -1.0;
}

/** Hours from now until a least-squares parabola through the whole history reaches 1, when
 *  it curves upwards (the degradation accelerates); negative otherwise. */
function fitParabola(now_h: f64): f64 {
  // Normal equations in x = t − now: [s0 s1 s2; s1 s2 s3; s2 s3 s4] [c0 c1 c2] = [y0 y1 y2].
  let s0: f64 = 0.0, s1: f64 = 0.0, s2: f64 = 0.0, s3: f64 = 0.0, s4: f64 = 0.0;
  let y0: f64 = 0.0, y1: f64 = 0.0, y2: f64 = 0.0;
  for (let i = 0; i < history_count; i++) {
    const x = historyT(i) - now_h;
    const y = historyD(i);
    const x2 = x * x;
    s0 += 1.0; s1 += x; s2 += x2; s3 += x2 * x; s4 += x2 * x2;
    y0 += y; y1 += x * y; y2 += x2 * y;
  }
  const det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2);
  if (!(Math.abs(det) > 1e-300)) return -1.0;
  const c0 = (y0 * (s2 * s4 - s3 * s3) - s1 * (y1 * s4 - s3 * y2) + s2 * (y1 * s3 - s2 * y2)) / det;
  const c1 = (s0 * (y1 * s4 - y2 * s3) - y0 * (s1 * s4 - s3 * s2) + s2 * (s1 * y2 - y1 * s2)) / det;
  const c2 = (s0 * (s2 * y2 - s3 * y1) - s1 * (s1 * y2 - s2 * y1) + y0 * (s1 * s3 - s2 * s2)) / det;
  if (!(c2 > 0.0) || !isFinite(c0) || !isFinite(c1)) return -1.0;
  // c2 x² + c1 x + (c0 − 1) = 0: with c2 > 0 and the curve below 1 now, one root is ahead.
  const disc = c1 * c1 - 4.0 * c2 * (c0 - 1.0);
  if (!(disc >= 0.0)) return -1.0;
  const root = (-c1 + Math.sqrt(disc)) / (2.0 * c2);
  return root > 0.0 ? root : -1.0;
}

/** Remaining life until the departure reaches 1 (BASELINE_FAILED_RATIO times the baseline
 *  vibration), as a range over three trends: an exponential through the newest half of the
 *  history (a spreading defect), a parabola through the whole of it (an accelerating one) and
 *  a line through its newest half (a steady one, ± 2 standard errors of its slope). Low is the
 *  soonest of them, high the latest of the parabola and the line. No forecast before the departure is FORECAST_FROM along with
 *  FORECAST_POINTS_MIN points of history, nor while neither trend rises; zero once it is there. */
export function forecast(now_h: f64, smoothed_departure: f64): void {
  rul_low_h = -1.0;
  rul_high_h = -1.0;
  if (history_count < FORECAST_POINTS_MIN || smoothed_departure < FORECAST_FROM) return;
  const remaining = 1.0 - smoothed_departure;
  if (remaining <= FAILED_WITHIN) {
    rul_low_h = 0.0;
    rul_high_h = 0.0;
    return;
  }
  const half = historyT(0) + (now_h - historyT(0)) * 0.5;
  let from = 0;
  while (from < history_count - LINE_POINTS_MIN && historyT(from) < half) from++;
  fitLine(from, now_h, remaining);
  const curve = fitParabola(now_h);
  const spread = fitExponential(from, now_h);
  if (line_h < 0.0 && curve < 0.0) return;
  if (line_h < 0.0) {
    rul_low_h = curve;
    rul_high_h = curve;
  } else if (curve < 0.0) {
    rul_low_h = line_fast_h;
    rul_high_h = line_slow_h;
  } else {
    rul_low_h = Math.min(curve, line_fast_h);
    rul_high_h = Math.max(curve, line_h);
  }
  if (spread >= 0.0) rul_low_h = Math.min(rul_low_h, spread);
  rul_low_h = Math.min(RUL_HOURS_MAX, rul_low_h);
  rul_high_h = Math.min(RUL_HOURS_MAX, rul_high_h);
}
