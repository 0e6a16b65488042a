// Health across windows and reboots: a baseline that learns the pump's quiet state (so the
// louder, impulsive windows of a new or repaired bearing's run-in are never taken for it); a
// smoothed health index, fed through a median so that isolated impulsive windows move it
// nowhere, that also counts how far the pump has moved from its baseline; an alarm raised only
// by evidence that has stayed above the threshold and grown (a rank test, at four time scales,
// whose false-alarm rate is fixed by a budget per pump-year), lowered with hysteresis; and the
// smoothed departure that feeds the remaining-life forecast (forecast.ts). ANALYSIS.md §8
// derives each constant. The baseline and the trend are sections of the running state's record
// (persist.ts), which is written hourly and when the alarm changes.

import * as persist from "./persist";
import { restoreHistory, saveHistory, forgetHistory, remember, forecast } from "./forecast";
import { ASSERTS } from "./assert";

/** The forecast's remaining life, lowest and highest, in hours (-1: no forecast). */
export { rul_low_h, rul_high_h } from "./forecast";

export const ALARM_NONE: i32 = 0;
export const ALARM_ALERT: i32 = 1;
export const ALARM_DANGER: i32 = 2;

export const BASELINE_WINDOWS_DEFAULT: i32 = 36; // six hours at one window every ten minutes
/** Evidence (0 healthy … 1 failed) the smoothed health must reach to raise each level, and how
 *  far below it must fall to lower it again (hysteresis). On the departure's scale, 0.5 and
 *  0.8 are 2.2 and 3.6 times the baseline vibration (+7 and +11 dB). */
const ALERT_AT: f64 = 0.5;
const DANGER_AT: f64 = 0.8;
const HYSTERESIS: f64 = 0.1;
/** Consecutive windows the smoothed health must stay below a level's band to lower it: about
 *  one smoothing time (1 / SMOOTHING = 6.7 windows). */
const LOWER_WINDOWS: i32 = 6;
/** Smoothing of the health index and the departure: an exponentially weighted mean over
 *  about 1/α windows. */
const SMOOTHING: f64 = 0.15;
/** The smoothing is fed the median of the last 2k + 1 windows' evidence, which ignores any k
 *  of them: k = 2, so that an impact and its echo in the next window, or two isolated impacts
 *  close together, move nothing. */
const FILTER_WINDOWS: i32 = 5;
/** Growth: the newest GROWTH_HALF entries of a scale against the GROWTH_HALF before them, by
 *  the Mann–Whitney U statistic (pairs newer > older, ties a half). Under a sound, stationary
 *  pump every order of the 2 × GROWTH_HALF entries is equally likely, whatever the noise's
 *  distribution: P(U ≥ GROWTH_U_MIN) = 1.45e-7 exactly for 23 against 23, within the budget of
 *  1 false alarm per 100 pump-years at one window every 10 minutes (1.90e-7 a window) shared by
 *  the tests of all scales (1 + 1/5 + 1/25 + 1/125 tests a window: 1.52e-7 each).
 *  GROWTH_HALF = 23 is the smallest half for which the test can still pass with one outlying
 *  entry in each half (U = 23² − 2·23 + 1 = 484). test/trend.test.ts recomputes both. */
const GROWTH_HALF: i32 = 23;
const GROWTH_U_MIN: i32 = 479;
const RING: i32 = 2 * GROWTH_HALF;
/** Time scales of the growth test: scale 0 keeps the last RING windows; each entry of scale
 *  k + 1 is the median (of each input) of BLOCK entries of scale k, so the scales span 46, 230,
 *  1,150 and 5,750 windows (8 hours to 40 days at one window every 10 minutes). */
const SCALES: i32 = 4;
const BLOCK: i32 = FILTER_WINDOWS;
/** A pump this many times its baseline vibration (acceleration or velocity) has reached
 *  functional failure: the level the forecast extrapolates to (+14 dB). */
const BASELINE_FAILED_RATIO: f64 = 5.0;

const BASELINE_MAGIC: u32 = 0x32534142; // "BAS2"
const TREND_MAGIC: u32 = 0x33524e54; // "TNR3"
/** The trend record before the growth test ("TNR2"): its header is read, level and smoothing,
 *  so that an alarm raised before an update stands after it; its scales start empty. */
const TREND_MAGIC_V2: u32 = 0x32524e54;
const TREND_V2_BYTES: i32 = 32;
const BASELINE_BYTES: i32 = 24; // magic, count, ln of the quiet acceleration (m/s²) and velocity (mm/s) (f64, -Infinity: none)
/** Trend record: magic, level (u8), lower run (u8), pad (u16), smoothed health (f64), smoothed
 *  departure (f64); per scale its entry count, next slot and phase in its block (u8 each, a
 *  pad); then each scale's RING entries. It is also where the scales live in memory: saving it
 *  is one write, and there is no second copy. */
const SCALE_STATE_AT: i32 = 24;
const RINGS_AT: i32 = SCALE_STATE_AT + SCALES * 4;
const ENTRY_BYTES: i32 = 6;
const TREND_BYTES: i32 = RINGS_AT + SCALES * RING * ENTRY_BYTES;
/** An entry is three u16 codes: the health index in steps of 1/65535, and the natural
 *  logarithm of the acceleration (m/s²) and of the velocity (mm/s) in steps of 1/2048 (0.05 %)
 *  from LOG_FLOOR (1e-6) up, 0 for none. Every code is a valid value (nothing to check after a
 *  reboot), the median of codes is the code of the median, and a departure is a difference of
 *  logarithms. */
const HEALTH_STEPS: f64 = 65535.0;
const LOG_STEPS: f64 = 2048.0;
const LOG_FLOOR: f64 = -13.815510557964274;
const VALUE_HEALTH: i32 = 0; // codes
const VALUE_ACC: i32 = 1;
const VALUE_VEL: i32 = 2;
const VALUE_EVIDENCE: i32 = 3; // the larger of health and departure (clipped to 0…1)
const VALUE_GROWTH: i32 = 4; // health + departure (not clipped)

// The records' layouts (ABI.md: baseline 24 bytes, trend 1,144), and the bytes that count, place
// and phase a scale's entries.
if (BASELINE_BYTES != 4 + 4 + 8 + 8) ERROR("the baseline record is magic, count and two f64");
if (SCALE_STATE_AT != 4 + 1 + 1 + 2 + 8 + 8) ERROR("the trend record's header is not where the scales start");
if (ENTRY_BYTES != 3 * 2) ERROR("an entry is three u16 codes");
if (TREND_BYTES != 1144 || TREND_BYTES != persist.TREND_BYTES) ERROR("the trend record is not the 1,144 bytes ABI.md states");
if (BASELINE_BYTES != persist.BASELINE_BYTES) ERROR("the baseline record is not its section's size");
if (TREND_V2_BYTES > TREND_BYTES) ERROR("the older trend record is not the shorter");
if (RING > 255 || BLOCK > 255) ERROR("a scale's count, slot or phase does not fit its byte");
// The filter's median is one window's own value, and the growth test's threshold a count it can reach.
if ((FILTER_WINDOWS & 1) == 0 || FILTER_WINDOWS > RING) ERROR("the filter's span must be odd and within a scale");
if (GROWTH_U_MIN > GROWTH_HALF * GROWTH_HALF) ERROR("the growth test's threshold is past its largest count");

const baseline_record: usize = persist.baseline_section;
const trend_record: usize = persist.trend_section;
/** Codes over a span, sorted for its median. */
const sorted_codes: usize = memory.data(RING << 1);

let baseline_windows: i32 = BASELINE_WINDOWS_DEFAULT;
let baseline_count: i32 = 0;
/** The quiet state, as logarithms: the lowest median of the baseline span seen while not in
 *  alarm (-Infinity: none yet). */
let quiet_log_acc: f64 = -Infinity;
let quiet_log_vel: f64 = -Infinity;
let smoothed: f64 = -1.0; // no window yet
let smoothed_departure: f64 = 0.0;
let lower_run: i32 = 0;

export let level: i32 = ALARM_NONE;
export let level_changed: bool = false;
export let health_trend: f64 = 0.0;
export let baseline_ready: bool = false;

function clip01(x: f64): f64 {
  return x > 0.0 ? Math.min(x, 1.0) : 0.0; // NaN: 0
}

// ---------------------------------------------------------------------------------------
// The scales: rings of (health, acceleration, velocity) codes inside trend_record

function healthCode(health: f64): i32 {
  return <i32>Math.round(clip01(health) * HEALTH_STEPS);
}

function levelCode(x: f64): i32 {
  if (!(x > 0.0) || !isFinite(x)) return 0;
  return <i32>Math.max(1.0, Math.min(65535.0, Math.round((Math.log(x) - LOG_FLOOR) * LOG_STEPS) + 1.0));
}

/** The logarithm a level code (1 or more, or a mean of two such) stands for. */
function logOf(code: f64): f64 {
  return LOG_FLOOR + (code - 1.0) / LOG_STEPS;
}

function scaleState(scale: i32): usize { return trend_record + <usize>(SCALE_STATE_AT + (scale << 2)); }
function scaleCount(scale: i32): i32 { return <i32>load<u8>(scaleState(scale)); }

/** Entry `i` of `scale`, 0 the oldest of those it holds. */
function slot(scale: i32, i: i32): usize {
  const state = scaleState(scale);
  let at = <i32>load<u8>(state, 1) - <i32>load<u8>(state) + i;
  if (at < 0) at += RING;
  return trend_record + <usize>(RINGS_AT + (scale * RING + at) * ENTRY_BYTES);
}

/** What entry `i` of `scale` says, as VALUE_*. */
function valueOf(scale: i32, i: i32, kind: i32): f64 {
  const at = slot(scale, i);
  if (kind < VALUE_EVIDENCE) return <f64>load<u16>(at + (<usize>kind << 1));
  const health = <f64>load<u16>(at) / HEALTH_STEPS;
  const moved = departure(<i32>load<u16>(at, 2), <i32>load<u16>(at, 4));
  return kind == VALUE_EVIDENCE ? Math.max(health, clip01(moved)) : health + moved;
}

function push(scale: i32, health: i32, acc: i32, vel: i32): void {
  const state = scaleState(scale);
  const head = <i32>load<u8>(state, 1);
  if (ASSERTS) assert(scale >= 0 && scale < SCALES && head < RING, "trend entry past its scale");
  const at = trend_record + <usize>(RINGS_AT + (scale * RING + head) * ENTRY_BYTES);
  store<u16>(at, <u16>health);
  store<u16>(at, <u16>acc, 2);
  store<u16>(at, <u16>vel, 4);
  store<u8>(state, <u8>min(<i32>load<u8>(state) + 1, RING));
  store<u8>(state, <u8>(head + 1 == RING ? 0 : head + 1), 1);
}

/** Takes the window into scale 0 and, each time a scale completes a block, the block's median
 *  (of each code) into the scale above. */
function takeWindow(health: i32, acc: i32, vel: i32): void {
  let h = health;
  let a = acc;
  let v = vel;
  for (let scale = 0; scale < SCALES; scale++) {
    push(scale, h, a, v);
    if (scale == SCALES - 1) break;
    const state = scaleState(scale);
    const phase = <i32>load<u8>(state, 2) + 1;
    if (phase < BLOCK) {
      store<u8>(state, <u8>phase, 2);
      break;
    }
    store<u8>(state, 0, 2);
    h = <i32>median(scale, BLOCK, VALUE_HEALTH); // BLOCK is odd: a code
    a = <i32>median(scale, BLOCK, VALUE_ACC);
    v = <i32>median(scale, BLOCK, VALUE_VEL);
  }
}

/** The median of `kind` over the newest `n` entries of `scale` (at least 1, at most RING, and
 *  it holds them), as a code: an input's own, or the evidence in steps of 1/65535. It sorts a
 *  copy of the codes. A level's median is 0 (none) when the lower middle code is. */
function median(scale: i32, n: i32, kind: i32): f64 {
  if (ASSERTS) assert(n >= 1 && n <= RING && n <= scaleCount(scale), "median of entries a scale does not hold");
  const from = scaleCount(scale) - n;
  for (let i = 0; i < n; i++) {
    const value = valueOf(scale, from + i, kind);
    const code = <u16>(kind < VALUE_EVIDENCE ? <i32>value : healthCode(value));
    let j = i;
    while (j > 0 && load<u16>(sorted_codes + (<usize>(j - 1) << 1)) > code) {
      store<u16>(sorted_codes + (<usize>j << 1), load<u16>(sorted_codes + (<usize>(j - 1) << 1)));
      j--;
    }
    store<u16>(sorted_codes + (<usize>j << 1), code);
  }
  const half = n >> 1;
  const upper = <f64>load<u16>(sorted_codes + (<usize>half << 1));
  if ((n & 1) != 0) return upper;
  const lower_middle = <f64>load<u16>(sorted_codes + (<usize>(half - 1) << 1));
  return lower_middle == 0.0 && (kind == VALUE_ACC || kind == VALUE_VEL) ? 0.0 : 0.5 * (lower_middle + upper);
}

/** Whether every scale's count, slot and phase are what restoreTrend() accepts (for assertions). */
function scalesValid(): bool {
  for (let scale = 0; scale < SCALES; scale++) {
    const state = scaleState(scale);
    if (<i32>load<u8>(state) > RING || <i32>load<u8>(state, 1) >= RING || <i32>load<u8>(state, 2) >= BLOCK) return false;
  }
  return true;
}

/** The median evidence over the newest `n` entries of `scale`. */
function evidenceMedian(scale: i32, n: i32): f64 {
  return median(scale, n, VALUE_EVIDENCE) / HEALTH_STEPS;
}

// ---------------------------------------------------------------------------------------
// Storage

/** Restores the baseline, the trend and the degradation's history from storage (after a
 *  reboot they carry on). */
export function restore(windows: i32): void {
  baseline_windows = windows;
  baseline_count = 0;
  quiet_log_acc = -Infinity;
  quiet_log_vel = -Infinity;
  const read = persist.readSection(persist.SECTION_BASELINE);
  if (ASSERTS) assert(read <= BASELINE_BYTES, "host read the baseline record past its buffer");
  if (read == BASELINE_BYTES && load<u32>(baseline_record) == BASELINE_MAGIC) {
    baseline_count = min(<i32>load<u32>(baseline_record, 4), baseline_windows);
    const acc = load<f64>(baseline_record, 8);
    const vel = load<f64>(baseline_record, 16);
    if (isFinite(acc)) quiet_log_acc = acc;
    if (isFinite(vel)) quiet_log_vel = vel;
  }
  baseline_ready = isBaselineReady();
  restoreTrend();
  restoreHistory();
}

function isBaselineReady(): bool {
  return baseline_count >= baseline_windows && (quiet_log_acc > -Infinity || quiet_log_vel > -Infinity);
}

/** The trend record, or a fresh trend when it is absent or not understood. */
function restoreTrend(): void {
  const read = persist.readSection(persist.SECTION_TREND);
  if (ASSERTS) assert(read <= TREND_BYTES, "host read the trend record past its buffer");
  const magic = read >= 4 ? load<u32>(trend_record) : 0;
  const current = read == TREND_BYTES && magic == TREND_MAGIC;
  if (current || (read == TREND_V2_BYTES && magic == TREND_MAGIC_V2)) {
    level = min(<i32>load<u8>(trend_record, 4), ALARM_DANGER);
    lower_run = <i32>load<u8>(trend_record, 6);
    smoothed = load<f64>(trend_record, 8);
    smoothed_departure = load<f64>(trend_record, 16);
    if (!(smoothed >= 0.0 && smoothed <= 1.0)) smoothed = -1.0;
    smoothed_departure = clip01(smoothed_departure);
  } else {
    level = ALARM_NONE;
    lower_run = 0;
    smoothed = -1.0;
    smoothed_departure = 0.0;
  }
  for (let scale = 0; scale < SCALES; scale++) {
    const state = scaleState(scale);
    const valid = current && <i32>load<u8>(state) <= RING && <i32>load<u8>(state, 1) < RING && <i32>load<u8>(state, 2) < BLOCK;
    if (!valid) store<u32>(state, 0);
  }
  if (ASSERTS) assert(level >= ALARM_NONE && level <= ALARM_DANGER && scalesValid(), "trend restored out of range");
  health_trend = Math.max(smoothed, 0.0);
}

/** Forgets the baseline, the trend and the history: after maintenance the pump is another
 *  machine, whose baseline is learned again from its next windows. */
export function reset(): void {
  baseline_count = 0;
  baseline_ready = false;
  quiet_log_acc = -Infinity;
  quiet_log_vel = -Infinity;
  smoothed = -1.0;
  smoothed_departure = 0.0;
  lower_run = 0;
  level_changed = level != ALARM_NONE;
  level = ALARM_NONE;
  health_trend = 0.0;
  for (let scale = 0; scale < SCALES; scale++) store<u32>(scaleState(scale), 0);
  saveBaseline();
  saveTrend();
  forgetHistory();
}

function saveBaseline(): void {
  if (ASSERTS) assert(baseline_count >= 0 && baseline_count <= baseline_windows, "baseline record with a bad count");
  store<u32>(baseline_record, BASELINE_MAGIC);
  store<u32>(baseline_record, <u32>baseline_count, 4);
  store<f64>(baseline_record, quiet_log_acc, 8);
  store<f64>(baseline_record, quiet_log_vel, 16);
  persist.changed(persist.SECTION_BASELINE, BASELINE_BYTES);
}

function saveTrend(): void {
  // What is written must read back as it is (restoreTrend()'s checks).
  if (ASSERTS) assert(level >= ALARM_NONE && level <= ALARM_DANGER && scalesValid(), "trend record out of range");
  if (ASSERTS) assert(smoothed == -1.0 || (smoothed >= 0.0 && smoothed <= 1.0), "trend record with a bad smoothed health");
  store<u32>(trend_record, TREND_MAGIC);
  store<u8>(trend_record, <u8>level, 4);
  store<u8>(trend_record, 0, 5);
  store<u8>(trend_record, <u8>min(lower_run, 255), 6);
  store<u8>(trend_record, 0, 7);
  store<f64>(trend_record, smoothed, 8);
  store<f64>(trend_record, smoothed_departure, 16);
  persist.changed(persist.SECTION_TREND, TREND_BYTES);
}

// ---------------------------------------------------------------------------------------
// Baseline, departure, growth, alarm level

/** How far a window (its acceleration and velocity codes) has moved from the pump's quiet
 *  state: log(ratio) / log(5) of the larger of its acceleration and velocity ratios to the
 *  baseline, 0 at the baseline and 1 at BASELINE_FAILED_RATIO times it; negative below it,
 *  above 1 past it (clipped where it is a level, not where it is a trend). 0 while there is no
 *  baseline. */
function departure(acc: i32, vel: i32): f64 {
  if (!baseline_ready) return 0.0;
  let moved: f64 = -Infinity;
  if (quiet_log_acc > -Infinity && acc > 0) moved = logOf(<f64>acc) - quiet_log_acc;
  if (quiet_log_vel > -Infinity && vel > 0) moved = Math.max(moved, logOf(<f64>vel) - quiet_log_vel);
  return moved > -Infinity ? moved / Math.log(BASELINE_FAILED_RATIO) : 0.0;
}

/** The lower of a quiet level and a candidate; the candidate while there is none. */
function lower(quiet: f64, candidate: f64): f64 {
  return quiet > -Infinity ? Math.min(quiet, candidate) : candidate;
}

/** The baseline learns only the quiet state: while the pump is not in alarm, the median of the
 *  newest min(baseline_windows, RING) windows, each input on its own, lowers it whenever it is
 *  below. Run-in and impacts only ever add vibration, so whatever they do to the first windows
 *  the baseline comes down to the quiet level once it is there, however long the run-in; a
 *  degradation only ever raises the median, so it is never learned as normal. */
function learnBaseline(): void {
  const span = min(baseline_windows, RING);
  if (level == ALARM_NONE && scaleCount(0) >= span) {
    const acc = median(0, span, VALUE_ACC); // a code; 0 when half the windows had none
    const vel = median(0, span, VALUE_VEL);
    if (acc >= 1.0) quiet_log_acc = lower(quiet_log_acc, logOf(acc));
    if (vel >= 1.0) quiet_log_vel = lower(quiet_log_vel, logOf(vel));
  }
  baseline_count = min(baseline_count + 1, baseline_windows);
  baseline_ready = isBaselineReady();
}

/** Whether `scale` shows growth into the alarm: full, its newest GROWTH_HALF entries above
 *  ALERT_AT by their median evidence (they have stayed above it), and above the GROWTH_HALF
 *  before them by the rank test. The test ranks health + departure, unclipped, so that a
 *  health index pinned at 1 does not hide a vibration that keeps rising. */
function grew(scale: i32): bool {
  if (scaleCount(scale) < RING) return false;
  let twice_u: i32 = 0;
  for (let i = 0; i < GROWTH_HALF; i++) {
    const older = valueOf(scale, i, VALUE_GROWTH);
    for (let j = GROWTH_HALF; j < RING; j++) {
      const newer = valueOf(scale, j, VALUE_GROWTH);
      twice_u += newer > older ? 2 : newer == older ? 1 : 0;
    }
  }
  return twice_u >= 2 * GROWTH_U_MIN && evidenceMedian(scale, GROWTH_HALF) >= ALERT_AT;
}

/** None → alert: the smoothed health at ALERT_AT or above, and growth at some scale. Alert →
 *  danger: the smoothed health at DANGER_AT or above, and the median evidence of the newest
 *  GROWTH_HALF windows too (the growth was shown when the alert was raised). A level falls one
 *  step after LOWER_WINDOWS windows in a row below its band. One step a window. */
function nextLevel(): void {
  const previous = level;
  if (level == ALARM_NONE && smoothed >= ALERT_AT) {
    for (let scale = 0; scale < SCALES; scale++) {
      if (grew(scale)) {
        level = ALARM_ALERT;
        break;
      }
    }
  } else if (level == ALARM_ALERT && smoothed >= DANGER_AT && scaleCount(0) >= GROWTH_HALF && evidenceMedian(0, GROWTH_HALF) >= DANGER_AT) {
    level = ALARM_DANGER;
  }
  if (level == previous && level != ALARM_NONE) {
    const below = smoothed < (level == ALARM_DANGER ? DANGER_AT : ALERT_AT) - HYSTERESIS;
    lower_run = below ? lower_run + 1 : 0;
    if (lower_run >= LOWER_WINDOWS) {
      level -= 1;
      lower_run = 0;
    }
  } else {
    lower_run = 0;
  }
  level_changed = level != previous;
}

/** Takes one window's results: `health` is the window's own (absolute) health index, which
 *  already carries its kurtosis; `kurtosis` itself is not needed here (impulsive windows are
 *  met by the median and the rank test, whatever made them impulsive). */
export function update(time_s: f64, health: f64, acc_rms: f64, vel_rms: f64, kurtosis: f64): void {
  const acc = levelCode(acc_rms);
  const vel = levelCode(vel_rms);
  const was_ready = baseline_ready;
  const quiet_was_acc = quiet_log_acc;
  const quiet_was_vel = quiet_log_vel;
  const count_was = baseline_count;
  takeWindow(healthCode(health), acc, vel);
  learnBaseline();
  const filtered = evidenceMedian(0, min(FILTER_WINDOWS, scaleCount(0)));
  // From 0 at first boot and after maintenance: a pump is presumed sound until its windows say
  // otherwise.
  if (smoothed < 0.0) smoothed = 0.0;
  smoothed += SMOOTHING * (filtered - smoothed);
  smoothed_departure += SMOOTHING * (clip01(departure(acc, vel)) - smoothed_departure);
  health_trend = smoothed;
  nextLevel();
  const time_h = time_s / 3600.0;
  if (remember(time_h, smoothed_departure)) saveHistory();
  forecast(time_h, smoothed_departure);
  if (baseline_ready != was_ready || quiet_log_acc != quiet_was_acc || quiet_log_vel != quiet_was_vel || baseline_count != count_was) saveBaseline();
  saveTrend();
}
