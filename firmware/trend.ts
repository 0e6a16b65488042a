// Health across windows and reboots: a baseline learned in the pump's first windows of service
// and kept in storage; a smoothed health index that also counts how far the pump has moved
// from its own baseline; alarm levels with persistence and hysteresis, so one noisy window
// never raises or clears an alarm; and a remaining-life forecast from the recent trend.

import { host_storage_read, host_storage_write } from "./host";

export const ALARM_NONE: i32 = 0;
export const ALARM_ALERT: i32 = 1;
export const ALARM_DANGER: i32 = 2;

export const BASELINE_WINDOWS_DEFAULT: i32 = 36; // six hours at one window every ten minutes
/** Health the smoothed index must reach to raise each level, and how far below it must fall
 *  to lower it again (hysteresis). */
const ALERT_AT: f64 = 0.5;
const DANGER_AT: f64 = 0.8;
const HYSTERESIS: f64 = 0.1;
/** Consecutive windows a condition must hold to raise, and to lower, a level. */
const RAISE_WINDOWS: i32 = 3;
const LOWER_WINDOWS: i32 = 6;
/** Smoothing of the health index: an exponentially weighted mean over about 1/α windows. */
const SMOOTHING: f64 = 0.15;
/** A pump this many times its baseline vibration (acceleration or velocity) counts as failed. */
const BASELINE_FAILED_RATIO: f64 = 8.0;
/** Points of the smoothed index the forecast fits a line to, and when it starts forecasting. */
const HISTORY: i32 = 48;
const FORECAST_FROM: f64 = 0.3;
const FORECAST_POINTS_MIN: i32 = 12;
const RUL_HOURS_MAX: f64 = 24.0 * 365.0;

const STORAGE_KEY_BASELINE: i32 = 4;
const STORAGE_KEY_TREND: i32 = 5;
const BASELINE_MAGIC: u32 = 0x4c534142; // "BASL"
const TREND_MAGIC: u32 = 0x444e5254; // "TRND"
const BASELINE_BYTES: i32 = 32; // magic, count, sums of acceleration, velocity, kurtosis
const TREND_BYTES: i32 = 24; // magic, level, raise run, lower run, smoothed (f64)

const baseline_record: usize = memory.data(BASELINE_BYTES);
const trend_record: usize = memory.data(TREND_BYTES);
const history_t: usize = memory.data(HISTORY << 3);
const history_h: usize = memory.data(HISTORY << 3);

let baseline_windows: i32 = BASELINE_WINDOWS_DEFAULT;
let baseline_count: i32 = 0;
let sum_acc: f64 = 0.0;
let sum_vel: f64 = 0.0;
let sum_kurtosis: f64 = 0.0;
let smoothed: f64 = -1.0; // no window yet
let raise_run: i32 = 0;
let lower_run: i32 = 0;
let history_count: i32 = 0;
let history_next: i32 = 0;

export let level: i32 = ALARM_NONE;
export let level_changed: bool = false;
export let health_trend: f64 = 0.0;
export let baseline_ready: bool = false;
export let rul_low_h: f64 = -1.0; // -1: no forecast
export let rul_high_h: f64 = -1.0;

/** Restores the baseline and the trend from storage (after a reboot they carry on). */
export function restore(windows: i32): void {
  baseline_windows = windows;
  baseline_count = 0;
  if (host_storage_read(STORAGE_KEY_BASELINE, baseline_record, BASELINE_BYTES) == BASELINE_BYTES && load<u32>(baseline_record) == BASELINE_MAGIC) {
    baseline_count = min(<i32>load<u32>(baseline_record, 4), baseline_windows);
    sum_acc = load<f64>(baseline_record, 8);
    sum_vel = load<f64>(baseline_record, 16);
    sum_kurtosis = load<f64>(baseline_record, 24);
  }
  baseline_ready = baseline_count >= baseline_windows;
  if (host_storage_read(STORAGE_KEY_TREND, trend_record, TREND_BYTES) == TREND_BYTES && load<u32>(trend_record) == TREND_MAGIC) {
    level = min(<i32>load<u8>(trend_record, 4), ALARM_DANGER);
    raise_run = <i32>load<u8>(trend_record, 5);
    lower_run = <i32>load<u8>(trend_record, 6);
    smoothed = load<f64>(trend_record, 8);
  }
}

function saveBaseline(): void {
  store<u32>(baseline_record, BASELINE_MAGIC);
  store<u32>(baseline_record, <u32>baseline_count, 4);
  store<f64>(baseline_record, sum_acc, 8);
  store<f64>(baseline_record, sum_vel, 16);
  store<f64>(baseline_record, sum_kurtosis, 24);
  host_storage_write(STORAGE_KEY_BASELINE, baseline_record, BASELINE_BYTES);
}

function saveTrend(): void {
  store<u32>(trend_record, TREND_MAGIC);
  store<u8>(trend_record, <u8>level, 4);
  store<u8>(trend_record, <u8>min(raise_run, 255), 5);
  store<u8>(trend_record, <u8>min(lower_run, 255), 6);
  store<u8>(trend_record, 0, 7);
  store<f64>(trend_record, smoothed, 8);
  host_storage_write(STORAGE_KEY_TREND, trend_record, TREND_BYTES);
}

/** How far the pump has moved from its own baseline: 0 at the baseline, 1 at
 *  BASELINE_FAILED_RATIO times its vibration, on a logarithmic scale. */
function departure(acc: f64, vel: f64): f64 {
  if (!baseline_ready || baseline_count == 0) return 0.0;
  const base_acc = sum_acc / <f64>baseline_count;
  const base_vel = sum_vel / <f64>baseline_count;
  const ratio = Math.max(base_acc > 0.0 ? acc / base_acc : 1.0, base_vel > 0.0 ? vel / base_vel : 1.0);
  if (!(ratio > 1.0)) return 0.0;
  return Math.min(1.0, Math.log(ratio) / Math.log(BASELINE_FAILED_RATIO));
}

function nextLevel(value: f64): void {
  const previous = level;
  const up = level < ALARM_DANGER && value >= (level == ALARM_NONE ? ALERT_AT : DANGER_AT);
  const down = level > ALARM_NONE && value < (level == ALARM_DANGER ? DANGER_AT : ALERT_AT) - HYSTERESIS;
  raise_run = up ? raise_run + 1 : 0;
  lower_run = down ? lower_run + 1 : 0;
  if (raise_run >= RAISE_WINDOWS) {
    level += 1;
    raise_run = 0;
  } else if (lower_run >= LOWER_WINDOWS) {
    level -= 1;
    lower_run = 0;
  }
  level_changed = level != previous;
}

/** A least-squares line through the recent smoothed index: hours until it reaches 1, with
 *  the slope's ±2 standard errors as the range. No forecast while the index is low, the
 *  history short, or the trend not rising. */
function forecast(): void {
  rul_low_h = -1.0;
  rul_high_h = -1.0;
  if (history_count < FORECAST_POINTS_MIN || health_trend < FORECAST_FROM) return;
  let mean_t: f64 = 0.0;
  let mean_h: f64 = 0.0;
  for (let i = 0; i < history_count; i++) {
    mean_t += load<f64>(history_t + (<usize>i << 3));
    mean_h += load<f64>(history_h + (<usize>i << 3));
  }
  mean_t /= <f64>history_count;
  mean_h /= <f64>history_count;
  let stt: f64 = 0.0;
  let sth: f64 = 0.0;
  for (let i = 0; i < history_count; i++) {
    const dt = load<f64>(history_t + (<usize>i << 3)) - mean_t;
    stt += dt * dt;
    sth += dt * (load<f64>(history_h + (<usize>i << 3)) - mean_h);
  }
  if (stt <= 0.0) return;
  const slope = sth / stt; // health per hour
  let residual: f64 = 0.0;
  for (let i = 0; i < history_count; i++) {
    const predicted = mean_h + slope * (load<f64>(history_t + (<usize>i << 3)) - mean_t);
    const e = load<f64>(history_h + (<usize>i << 3)) - predicted;
    residual += e * e;
  }
  const se = Math.sqrt(residual / <f64>(history_count - 2) / stt);
  if (!(slope > 0.0)) return;
  const remaining = Math.max(0.0, 1.0 - health_trend);
  const fast = slope + 2.0 * se;
  const slow = slope - 2.0 * se;
  rul_low_h = Math.min(RUL_HOURS_MAX, remaining / fast);
  rul_high_h = slow > 0.0 ? Math.min(RUL_HOURS_MAX, remaining / slow) : RUL_HOURS_MAX;
}

/** Takes one window's results; `health` is the window's own (absolute) health index. */
export function update(time_s: f64, health: f64, acc_rms: f64, vel_rms: f64, kurtosis: f64): void {
  if (!baseline_ready) {
    sum_acc += acc_rms;
    sum_vel += vel_rms;
    sum_kurtosis += kurtosis;
    baseline_count += 1;
    baseline_ready = baseline_count >= baseline_windows;
    saveBaseline();
  }
  const value = Math.max(health, departure(acc_rms, vel_rms));
  smoothed = smoothed < 0.0 ? value : smoothed + SMOOTHING * (value - smoothed);
  health_trend = smoothed;
  nextLevel(smoothed);
  store<f64>(history_t + (<usize>history_next << 3), time_s / 3600.0);
  store<f64>(history_h + (<usize>history_next << 3), smoothed);
  history_next = (history_next + 1) % HISTORY;
  if (history_count < HISTORY) history_count += 1;
  forecast();
  saveTrend();
}
