// The telemetry of a window (ABI.md, "Telemetry"): one SenML pack of the window's features,
// analysis, trend, advice and temperature; the owner's "summary" detail keeps severity and
// diagnosis only; a window whose sensor failed carries its time features and what failed.

import * as config from "./config";
import * as policy from "./policy";
import * as trend from "./trend";
import * as advice from "./advice";
import * as sensors from "./sensors";
import * as analysis from "./analysis";
import { feature_rms, feature_peak, feature_peak_to_peak, feature_crest, feature_kurtosis, feature_skewness } from "./features";
import { writeBegin } from "./cbor";
import { packBegin, packEnd, recordFirst, record, recordJoined, recordText } from "./senml";
import { outbox, outPtr, window_start_ms } from "./device";
import { publish, FAULT_NAMES, ALARM_NAMES } from "./messages";
import { KIND_TELEMETRY } from "./status";
import { ASSERTS } from "./assert";
import { SENSOR_SPIKY } from "./sensor-health";
import { Text, T } from "./names";

const ZONE_NAMES: StaticArray<Text> = [T.A, T.B, T.C, T.D];
const FINDING_RECORDS: i32 = 2;
const TELEMETRY_RECORDS: i32 = 29;
/** sensor-health.ts SENSOR_*: what is wrong with the sensor ("ok" is never published). */
const SENSOR_NAMES: StaticArray<Text> = [T.ok, T.dead, T.clipped, T.offset, T.spiky];
/** The owner's "summary" detail: severity and diagnosis, no spectral detail. */
const SUMMARY_RECORDS: i32 = 8;
/** The trend's records: alarm and smoothed health, and the forecast when there is one. */
const TREND_RECORDS: i32 = 2;
const FORECAST_RECORDS: i32 = 2;
const ADVICE_RECORDS: i32 = 2;
/** A window whose sensor failed: acceleration RMS, fault, strength, severity, sensor, alarm. */
const SENSOR_FAULT_SUMMARY_RECORDS: i32 = 6;
/** ... and the rest of the time features. */
const SENSOR_FAULT_RECORDS: i32 = SENSOR_FAULT_SUMMARY_RECORDS + 5;

// Every number the pack names has its name.
if (ASSERTS) {
  assert(ZONE_NAMES.length == 4 && FAULT_NAMES.length == analysis.FAULT_SENSOR + 1 && ALARM_NAMES.length == trend.ALARM_DANGER + 1, "telemetry names do not match their numbers");
  assert(SENSOR_NAMES.length == SENSOR_SPIKY + 1 && advice.ACTION_NAMES.length == advice.ACTIONS, "sensor or action names do not match their numbers");
}

/** The window's pack: its features, its analysis (analysis.result), the trend and the
 *  forecast, the advice and the temperature, or their summary under the owner's policy. */
export function publishTelemetry(): i32 {
  const r = analysis.result;
  writeBegin(outPtr(), outbox.length);
  const summary = policy.detail == policy.DETAIL_SUMMARY;
  const forecast = trend.rul_low_h >= 0.0;
  const advised = advice.action != advice.ACTION_NONE;
  const sensed = !summary && sensors.has_temperature;
  packBegin((summary ? SUMMARY_RECORDS : TELEMETRY_RECORDS + TREND_RECORDS + (forecast ? FORECAST_RECORDS : 0)) + (advised ? ADVICE_RECORDS : 0) +
    FINDING_RECORDS * r.findings +
    (sensed ? (sensors.has_rise ? 2 : 1) : 0));
  recordFirst(config.base_name, config.current.device_id_len + 1, <f64>window_start_ms / 1000.0,
    T.acc_rms, T.m_s2, feature_rms);
  if (summary) {
    record(T.vel_rms, T.m_s, r.velocity_rms_mm_s / 1000.0);
    recordText(T.iso_zone, ZONE_NAMES[r.iso_zone]);
    recordText(T.fault, FAULT_NAMES[r.fault]);
    record(T.strength, T.ratio, r.strength);
    record(T.severity, T.ratio, <f64>r.severity);
    record(T.health, T.ratio, r.health);
    findingRecords();
    recordText(T.alarm, ALARM_NAMES[trend.level]);
    if (advised) adviceRecords();
    packEnd();
    return publish(KIND_TELEMETRY);
  }
  timeRecords();
  record(T.vel_rms, T.m_s, r.velocity_rms_mm_s / 1000.0);
  recordText(T.iso_zone, ZONE_NAMES[r.iso_zone]);
  record(T.shaft_hz, T.Hz, r.shaft_hz);
  record(T.v_1x, T.m_s, r.line_1x_mm_s / 1000.0);
  record(T.v_2x, T.m_s, r.line_2x_mm_s / 1000.0);
  record(T.v_3x, T.m_s, r.line_3x_mm_s / 1000.0);
  record(T.v_vp, T.m_s, r.line_vane_mm_s / 1000.0);
  record(T.bpfo, T.ratio, r.bpfo_strength);
  record(T.bpfi, T.ratio, r.bpfi_strength);
  record(T.bsf, T.ratio, r.bsf_strength);
  record(T.bpfi_sb, T.ratio, r.bpfi_sideband);
  record(T.bpfo_lp, T.ratio, r.bpfo_log10_p);
  record(T.bpfi_lp, T.ratio, r.bpfi_log10_p);
  record(T.bsf_lp, T.ratio, r.bsf_log10_p);
  record(T.shaft_conf, T.ratio, r.speed_confidence);
  record(T.env_s, T.s, r.stream_s);
  record(T.band_lo, T.Hz, r.band_low_hz);
  record(T.band_hi, T.Hz, r.band_high_hz);
  record(T.hf_floor, T.m_s2, r.hf_floor_m_s2);
  recordText(T.fault, FAULT_NAMES[r.fault]);
  record(T.strength, T.ratio, r.strength);
  record(T.severity, T.ratio, <f64>r.severity);
  record(T.health, T.ratio, r.health);
  findingRecords();
  recordText(T.alarm, ALARM_NAMES[trend.level]);
  record(T.health_trend, T.ratio, trend.health_trend);
  if (forecast) {
    record(T.rul_lo, T.s, trend.rul_low_h * 3600.0);
    record(T.rul_hi, T.s, trend.rul_high_h * 3600.0);
  }
  if (advised) adviceRecords();
  if (sensed) temperatureRecords();
  packEnd();
  return publish(KIND_TELEMETRY);
}

/** The pack of a window from a failed sensor (sensor-health.ts SENSOR_*): its time features and
 *  what is wrong, no machine diagnosis. */
export function publishSensorFault(sensor: i32): i32 {
  writeBegin(outPtr(), outbox.length);
  const summary = policy.detail == policy.DETAIL_SUMMARY;
  const advised = advice.action != advice.ACTION_NONE;
  const sensed = !summary && sensors.has_temperature;
  packBegin((summary ? SENSOR_FAULT_SUMMARY_RECORDS : SENSOR_FAULT_RECORDS) + (advised ? ADVICE_RECORDS : 0) +
    (sensed ? (sensors.has_rise ? 2 : 1) : 0));
  recordFirst(config.base_name, config.current.device_id_len + 1, <f64>window_start_ms / 1000.0,
    T.acc_rms, T.m_s2, feature_rms);
  if (!summary) timeRecords();
  recordText(T.fault, FAULT_NAMES[analysis.FAULT_SENSOR]);
  record(T.strength, T.ratio, 0.0);
  record(T.severity, T.ratio, 0.0);
  recordText(T.sensor, SENSOR_NAMES[sensor]);
  recordText(T.alarm, ALARM_NAMES[trend.level]);
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
    recordJoined(T.find_, FAULT_NAMES[kind], T.ratio, unchecked(r.finding_strength[i]));
    recordJoined(T.conf_, FAULT_NAMES[kind], T.ratio, unchecked(r.finding_confidence[i]));
  }
}

/** The advice's records: what to do, and within how long of the window. */
function adviceRecords(): void {
  recordText(T.action, advice.ACTION_NAMES[advice.action]);
  record(T.act_in, T.s, advice.act_within_h * 3600.0);
}
