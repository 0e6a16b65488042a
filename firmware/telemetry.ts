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

const ZONE_NAMES: StaticArray<string> = ["A", "B", "C", "D"];
const FINDING_RECORDS: i32 = 2;
const TELEMETRY_RECORDS: i32 = 29;
/** sensor-health.ts SENSOR_*: what is wrong with the sensor ("ok" is never published). */
const SENSOR_NAMES: StaticArray<string> = ["ok", "dead", "clipped", "offset", "spiky"];
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
    "acc_rms", "m/s2", feature_rms);
  if (summary) {
    record("vel_rms", "m/s", r.velocity_rms_mm_s / 1000.0);
    recordText("iso_zone", ZONE_NAMES[r.iso_zone]);
    recordText("fault", FAULT_NAMES[r.fault]);
    record("strength", "/", r.strength);
    record("severity", "/", <f64>r.severity);
    record("health", "/", r.health);
    findingRecords();
    recordText("alarm", ALARM_NAMES[trend.level]);
    if (advised) adviceRecords();
    packEnd();
    return publish(KIND_TELEMETRY);
  }
  timeRecords();
  record("vel_rms", "m/s", r.velocity_rms_mm_s / 1000.0);
  recordText("iso_zone", ZONE_NAMES[r.iso_zone]);
  record("shaft_hz", "Hz", r.shaft_hz);
  record("v_1x", "m/s", r.line_1x_mm_s / 1000.0);
  record("v_2x", "m/s", r.line_2x_mm_s / 1000.0);
  record("v_3x", "m/s", r.line_3x_mm_s / 1000.0);
  record("v_vp", "m/s", r.line_vane_mm_s / 1000.0);
  record("bpfo", "/", r.bpfo_strength);
  record("bpfi", "/", r.bpfi_strength);
  record("bsf", "/", r.bsf_strength);
  record("bpfi_sb", "/", r.bpfi_sideband);
  record("bpfo_lp", "/", r.bpfo_log10_p);
  record("bpfi_lp", "/", r.bpfi_log10_p);
  record("bsf_lp", "/", r.bsf_log10_p);
  record("shaft_conf", "/", r.speed_confidence);
  record("env_s", "s", r.stream_s);
  record("band_lo", "Hz", r.band_low_hz);
  record("band_hi", "Hz", r.band_high_hz);
  record("hf_floor", "m/s2", r.hf_floor_m_s2);
  recordText("fault", FAULT_NAMES[r.fault]);
  record("strength", "/", r.strength);
  record("severity", "/", <f64>r.severity);
  record("health", "/", r.health);
  findingRecords();
  recordText("alarm", ALARM_NAMES[trend.level]);
  record("health_trend", "/", trend.health_trend);
  if (forecast) {
    record("rul_lo", "s", trend.rul_low_h * 3600.0);
    record("rul_hi", "s", trend.rul_high_h * 3600.0);
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
    "acc_rms", "m/s2", feature_rms);
  if (!summary) timeRecords();
  recordText("fault", FAULT_NAMES[analysis.FAULT_SENSOR]);
  record("strength", "/", 0.0);
  record("severity", "/", 0.0);
  recordText("sensor", SENSOR_NAMES[sensor]);
  recordText("alarm", ALARM_NAMES[trend.level]);
  if (advised) adviceRecords();
  if (sensed) temperatureRecords();
  packEnd();
  return publish(KIND_TELEMETRY);
}

/** The time features after the first record's acc_rms. */
function timeRecords(): void {
  record("acc_peak", "m/s2", feature_peak);
  record("acc_p2p", "m/s2", feature_peak_to_peak);
  record("crest", "/", feature_crest);
  record("kurtosis", "/", feature_kurtosis);
  record("skewness", "/", feature_skewness);
}

/** The temperature, and its rise over the baseline when there is one. */
function temperatureRecords(): void {
  record("temp", "Cel", sensors.temperature_c);
  if (sensors.has_rise) record("temp_rise", "K", sensors.rise_k);
}

/** Each finding of the window as two records, "find_<kind>" (its strength) and "conf_<kind>" (its
 *  confidence, 1 − its false-finding probability): several faults can stand at once. */
function findingRecords(): void {
  const r = analysis.result;
  for (let i = 0; i < r.findings; i++) {
    const kind = unchecked(r.finding_kind[i]);
    recordJoined("find_", FAULT_NAMES[kind], "/", unchecked(r.finding_strength[i]));
    recordJoined("conf_", FAULT_NAMES[kind], "/", unchecked(r.finding_confidence[i]));
  }
}

/** The advice's records: what to do, and within how long of the window. */
function adviceRecords(): void {
  recordText("action", advice.ACTION_NAMES[advice.action]);
  record("act_in", "s", advice.act_within_h * 3600.0);
}
