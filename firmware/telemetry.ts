// The telemetry of a window (ABI.md, "Telemetry"): one SenML pack of the window's features,
// analysis, trend, advice and temperature; the owner's "summary" detail keeps severity and
// diagnosis only; a window whose sensor failed carries its time features and what failed.

import * as config from "./config";
import * as policy from "./policy";
import * as trend from "./trend";
import * as advice from "./advice";
import * as sensors from "./sensors";
import * as analysis from "./analysis";
import { Result } from "./analysis/machine";
import { feature_rms, feature_peak, feature_peak_to_peak, feature_crest, feature_kurtosis, feature_skewness } from "./features";
import { packBegin, packEnd, recordFirst, record, recordJoined, recordText } from "./senml";
import { window_start_ms } from "./device";
import { messageBegin, publish, nameOf, FAULT_NAMES, ALARM_NAMES } from "./messages";
import { KIND_TELEMETRY } from "./status";
import { ASSERTS } from "./assert";
import { SENSOR_SPIKY } from "./sensor-health";
import { seen_hz, seen_confidence } from "./speed";
import { Text, T } from "./names";

const ZONE_NAMES: usize = memory.data<u32>([T.A, T.B, T.C, T.D]);
const FINDING_RECORDS: i32 = 2;
const TELEMETRY_RECORDS: i32 = 29;
/** sensor-health.ts SENSOR_*: what is wrong with the sensor ("ok" is never published). */
const SENSOR_NAMES: usize = memory.data<u32>([T.ok, T.dead, T.clipped, T.offset, T.spiky]);
/** The owner's "summary" detail: severity and diagnosis, no spectral detail. */
const SUMMARY_RECORDS: i32 = 8;
/** The trend's records: alarm and smoothed health, and the forecast when there is one. */
const TREND_RECORDS: i32 = 2;
const FORECAST_RECORDS: i32 = 2;
/** While the configured speed is in doubt: the speed the signal shows instead, and how sure. */
const SEEN_RECORDS: i32 = 2;
const ADVICE_RECORDS: i32 = 2;
/** A window whose sensor failed: acceleration RMS, fault, strength, severity, sensor, alarm. */
const SENSOR_FAULT_SUMMARY_RECORDS: i32 = 6;
/** ... and the rest of the time features. */
const SENSOR_FAULT_RECORDS: i32 = SENSOR_FAULT_SUMMARY_RECORDS + 5;

// Every number the pack names has its name: the last of each table names the last number.
if (ASSERTS) {
  assert(nameOf(ZONE_NAMES, 3) == T.D && nameOf(FAULT_NAMES, analysis.FAULT_SENSOR) == T.sensor_fault && nameOf(ALARM_NAMES, trend.ALARM_DANGER) == T.danger, "telemetry names do not match their numbers");
  assert(nameOf(SENSOR_NAMES, SENSOR_SPIKY) == T.spiky && nameOf(advice.ACTION_NAMES, advice.ACTIONS - 1) == T.check_sensor, "sensor or action names do not match their numbers");
}

/** The full pack's 17 records of the analysis from shaft_hz to hf_floor, a row each: its name, its
 *  unit, and the offset of its f64 in analysis.Result, + PER_1000 for a speed in mm/s (sent in
 *  m/s). Names and units are Texts below 64 KiB: 16 bits each. */
const PER_1000: u16 = 0x100;
const ANALYSIS_RECORDS: i32 = 17;
const ANALYSIS_ROWS: usize = memory.data<u16>([
  <u16>T.shaft_hz, <u16>T.Hz, <u16>offsetof<Result>("shaft_hz"),
  <u16>T.v_1x, <u16>T.m_s, PER_1000 | <u16>offsetof<Result>("line_1x_mm_s"),
  <u16>T.v_2x, <u16>T.m_s, PER_1000 | <u16>offsetof<Result>("line_2x_mm_s"),
  <u16>T.v_3x, <u16>T.m_s, PER_1000 | <u16>offsetof<Result>("line_3x_mm_s"),
  <u16>T.v_vp, <u16>T.m_s, PER_1000 | <u16>offsetof<Result>("line_vane_mm_s"),
  <u16>T.bpfo, <u16>T.ratio, <u16>offsetof<Result>("bpfo_strength"),
  <u16>T.bpfi, <u16>T.ratio, <u16>offsetof<Result>("bpfi_strength"),
  <u16>T.bsf, <u16>T.ratio, <u16>offsetof<Result>("bsf_strength"),
  <u16>T.bpfi_sb, <u16>T.ratio, <u16>offsetof<Result>("bpfi_sideband"),
  <u16>T.bpfo_lp, <u16>T.ratio, <u16>offsetof<Result>("bpfo_log10_p"),
  <u16>T.bpfi_lp, <u16>T.ratio, <u16>offsetof<Result>("bpfi_log10_p"),
  <u16>T.bsf_lp, <u16>T.ratio, <u16>offsetof<Result>("bsf_log10_p"),
  <u16>T.shaft_conf, <u16>T.ratio, <u16>offsetof<Result>("speed_confidence"),
  <u16>T.env_s, <u16>T.s, <u16>offsetof<Result>("stream_s"),
  <u16>T.band_lo, <u16>T.Hz, <u16>offsetof<Result>("band_low_hz"),
  <u16>T.band_hi, <u16>T.Hz, <u16>offsetof<Result>("band_high_hz"),
  <u16>T.hf_floor, <u16>T.m_s2, <u16>offsetof<Result>("hf_floor_m_s2"),
]);
if (offsetof<Result>() >= <usize>PER_1000) ERROR("a field's offset past its byte in ANALYSIS_ROWS");
if (ASSERTS) assert(load<u16>(ANALYSIS_ROWS + <usize>(ANALYSIS_RECORDS - 1) * 6) == <u16>T.hf_floor, "ANALYSIS_RECORDS is not the rows' count");
if ((T.shaft_hz | T.v_1x | T.v_2x | T.v_3x | T.v_vp | T.bpfo | T.bpfi | T.bsf | T.bpfi_sb | T.bpfo_lp | T.bpfi_lp | T.bsf_lp |
  T.shaft_conf | T.env_s | T.band_lo | T.band_hi | T.hf_floor | T.Hz | T.m_s | T.ratio | T.s | T.m_s2) > 0xffff) ERROR("a name or unit past its 16 bits in ANALYSIS_ROWS");

/** The window's pack: its features, its analysis (analysis.result), the trend and the
 *  forecast, the advice and the temperature, or their summary under the owner's policy. */
export function publishTelemetry(): i32 {
  const r = analysis.result;
  const summary = policy.detail == policy.DETAIL_SUMMARY;
  const forecast = trend.rul_low_h >= 0.0;
  const seen = !summary && seen_hz > 0.0;
  const advised = advice.action != advice.ACTION_NONE;
  const sensed = !summary && sensors.has_temperature;
  packStart((summary ? SUMMARY_RECORDS : TELEMETRY_RECORDS + TREND_RECORDS + (forecast ? FORECAST_RECORDS : 0)) + (advised ? ADVICE_RECORDS : 0) +
    (seen ? SEEN_RECORDS : 0) +
    FINDING_RECORDS * r.findings +
    (sensed ? (sensors.has_rise ? 2 : 1) : 0));
  if (!summary) timeRecords();
  record(T.vel_rms, T.m_s, r.velocity_rms_mm_s / 1000.0);
  recordText(T.iso_zone, nameOf(ZONE_NAMES, r.iso_zone));
  if (!summary) {
    for (let row = 0; row < ANALYSIS_RECORDS; row++) {
      const at = ANALYSIS_ROWS + <usize>row * 6;
      const field = <u32>load<u16>(at, 4);
      const value = load<f64>(changetype<usize>(r) + <usize>(field & 0xff));
      record(<Text>load<u16>(at), <Text>load<u16>(at, 2), (field & PER_1000) != 0 ? value / 1000.0 : value);
    }
    // A configured speed the signal doubts: the speed it shows instead (speed.ts), beside it.
    if (seen) {
      record(T.seen_hz, T.Hz, seen_hz);
      record(T.seen_conf, T.ratio, seen_confidence);
    }
  }
  recordText(T.fault, nameOf(FAULT_NAMES, r.fault));
  record(T.strength, T.ratio, r.strength);
  record(T.severity, T.ratio, <f64>r.severity);
  record(T.health, T.ratio, r.health);
  findingRecords();
  recordText(T.alarm, nameOf(ALARM_NAMES, trend.level));
  if (!summary) {
    record(T.health_trend, T.ratio, trend.health_trend);
    if (forecast) {
      record(T.rul_lo, T.s, trend.rul_low_h * 3600.0);
      record(T.rul_hi, T.s, trend.rul_high_h * 3600.0);
    }
  }
  return packFinish(advised, sensed);
}

/** The pack of a window from a failed sensor (sensor-health.ts SENSOR_*): its time features and
 *  what is wrong, no machine diagnosis. */
export function publishSensorFault(sensor: i32): i32 {
  const summary = policy.detail == policy.DETAIL_SUMMARY;
  const advised = advice.action != advice.ACTION_NONE;
  const sensed = !summary && sensors.has_temperature;
  packStart((summary ? SENSOR_FAULT_SUMMARY_RECORDS : SENSOR_FAULT_RECORDS) + (advised ? ADVICE_RECORDS : 0) +
    (sensed ? (sensors.has_rise ? 2 : 1) : 0));
  if (!summary) timeRecords();
  recordText(T.fault, nameOf(FAULT_NAMES, analysis.FAULT_SENSOR));
  record(T.strength, T.ratio, 0.0);
  record(T.severity, T.ratio, 0.0);
  recordText(T.sensor, nameOf(SENSOR_NAMES, sensor));
  recordText(T.alarm, nameOf(ALARM_NAMES, trend.level));
  return packFinish(advised, sensed);
}

/** Starts a pack of `records` records in the outbox with its first: the base name and time,
 *  and the acceleration RMS. */
function packStart(records: i32): void {
  messageBegin();
  packBegin(records);
  recordFirst(config.base_name, config.current.device_id_len + 1, <f64>window_start_ms / 1000.0,
    T.acc_rms, T.m_s2, feature_rms);
}

/** Ends a pack with the advice's records and the temperature's, when it has them, and
 *  publishes it. */
function packFinish(advised: bool, sensed: bool): i32 {
  if (advised) adviceRecords();
  if (sensed) temperatureRecords();
  packEnd();
  return publish(KIND_TELEMETRY);
}

/** The time features after the first record's acc_rms. */
function timeRecords(): void {
  record(T.acc_peak, T.m_s2, feature_peak);
  record(T.acc_p2p, T.m_s2, feature_peak_to_peak);
  record(T.crest, T.ratio, feature_crest);
  record(T.kurtosis, T.ratio, feature_kurtosis);
  record(T.skewness, T.ratio, feature_skewness);
}

/** The temperature, and its rise over the baseline when there is one. */
function temperatureRecords(): void {
  record(T.temp, T.Cel, sensors.temperature_c);
  if (sensors.has_rise) record(T.temp_rise, T.K, sensors.rise_k);
}

/** Each finding of the window as two records, "find_<kind>" (its strength) and "conf_<kind>" (its
 *  confidence, 1 − its false-finding probability): several faults can stand at once. */
function findingRecords(): void {
  const r = analysis.result;
  for (let i = 0; i < r.findings; i++) {
    const kind = unchecked(r.finding_kind[i]);
    recordJoined(T.find_, nameOf(FAULT_NAMES, kind), T.ratio, unchecked(r.finding_strength[i]));
    recordJoined(T.conf_, nameOf(FAULT_NAMES, kind), T.ratio, unchecked(r.finding_confidence[i]));
  }
}

/** The advice's records: what to do, and within how long of the window. */
function adviceRecords(): void {
  recordText(T.action, nameOf(advice.ACTION_NAMES, advice.action));
  record(T.act_in, T.s, advice.act_within_h * 3600.0);
}
