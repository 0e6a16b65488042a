// impeller firmware, ABI v1: the exports a host calls. Every buffer is sized by the first
// init() from the configuration and never reallocated; every input is checked before use.
// firmware/ABI.md describes the contract; firmware/impeller_abi.h is its C form.

import "./panic"; // the abort handler (asconfig: --use abort=firmware/panic/panic)
import * as faults from "./faults";
import * as policy from "./policy";
import * as trend from "./trend";
import * as advice from "./advice";
import * as sensors from "./sensors";
import * as config from "./config";
import { computeTimeFeatures, feature_rms, feature_peak, feature_peak_to_peak, feature_crest,
  feature_kurtosis, feature_skewness } from "./features";
import {
  writeBegin, writeEnd, writeMap, writeTextAscii, writeInt, writeBool, writeNumber, writeByteString, writeF32, headNumber,
  readBegin, readHead, readText, readStringContent, skipContent, readPosition, textIs, read_malformed,
  head_major, head_value, text_ptr, text_len,
} from "./cbor";
import { packBegin, recordFirst, record, recordText } from "./senml";
import * as analysis from "./analysis";
import { sensorHealth, SENSOR_OK } from "./sensor-health";
import { cosTurns } from "./fft";
import { host_publish, host_storage_read, host_storage_write } from "./host";
import {
  log, logNumber, warnThrottled, LOG_INFO, LOG_WARN,
  WARN_BAD_SAMPLES, WARN_DISCONTINUITY, WARN_STALE_WINDOW, WARN_BAD_COMMAND,
} from "./text";
import {
  STATUS_OK, STATUS_NOT_INITIALISED, STATUS_BAD_ARGUMENT, STATUS_BAD_CBOR, STATUS_BAD_SAMPLES,
  STATUS_PUBLISH_FAILED, STATUS_STORAGE, STATUS_UNKNOWN_COMMAND, STATUS_SELF_TEST_FAILED,
  STATUS_NEEDS_REBOOT, STATUS_NO_ROOM, STATUS_NO_DATA, STATUS_REBOOT_REQUESTED, STATUS_BAD_CONFIG,
  STATUS_FORBIDDEN, STATUS_REPLAYED,
  KIND_TELEMETRY, KIND_EVENT, KIND_REPLY, KIND_WAVEFORM,
} from "./status";

const ABI_VERSION: i32 = 1;
/** Firmware version, major << 16 | minor << 8 | patch. Test images for update rehearsals
 *  are built with another (--use IMPELLER_FW_VERSION=N); the flashable build never is. */
const FIRMWARE_VERSION: i32 = isDefined(IMPELLER_FW_VERSION) ? IMPELLER_FW_VERSION : (0 << 16) | (1 << 8) | 0;

const STANDARD_GRAVITY_M_S2: f64 = 9.80665;
const INBOX_BYTES: i32 = 2048;
const COMMAND_KEYS_MAX: u64 = 8;
const STORAGE_KEY_COUNTERS: i32 = 1;
const COUNTERS_BYTES: i32 = 4;
/** A batch whose timestamp is further than this from where the window expects it starts a new window. */
const CONTINUITY_SLACK_MS: f64 = 2.0;
/** A partial window older than this many window lengths is dropped by tick(). */
const STALE_WINDOWS: f64 = 2.0;

const inbox: usize = memory.data(INBOX_BYTES);
const counters: usize = memory.data(COUNTERS_BYTES);

let initialised: bool = false;
let window: StaticArray<f32> = new StaticArray<f32>(0);
let window_capacity: i32 = 0;
let window_fill: i32 = 0;
let window_start_ms: i64 = 0;
let outbox: StaticArray<u8> = new StaticArray<u8>(0);
/** The last complete window, kept for a raw waveform request. */
let last_window: StaticArray<f32> = new StaticArray<f32>(0);
let last_window_start_ms: i64 = 0;
let last_window_valid: bool = false;
/** Whether the last window's sensor was sound (a failed one breaks the envelope's stream). */
let last_window_sound: bool = false;
/** Seconds between measurements, as last set by a sampling command (0: the host's choice). */
let interval_s: f64 = 0.0;
let boot_count: u32 = 0;

function windowPtr(): usize { return changetype<usize>(window); }
function outPtr(): usize { return changetype<usize>(outbox); }

// ---------------------------------------------------------------------------------------
// Identity

export function abi_version(): i32 { return ABI_VERSION; }
export function fw_version(): i32 { return FIRMWARE_VERSION; }

// ---------------------------------------------------------------------------------------
// Configuration

export function inbox_buffer(): usize { return inbox; }
export function inbox_capacity(): i32 { return INBOX_BYTES; }

/** Applies a staged configuration, allocating the buffers on the first call only. */
function applyStaged(): i32 {
  const window_samples = config.stagedWindowSamples();
  const message_bytes = config.stagedMessageBytes();
  if (!initialised) {
    const status = analysis.analysisInit(window_samples);
    if (status < 0) return status;
    window = new StaticArray<f32>(window_samples);
    last_window = new StaticArray<f32>(window_samples);
    window_capacity = window_samples;
    outbox = new StaticArray<u8>(message_bytes);
  } else if (window_samples != window_capacity || message_bytes > outbox.length) {
    return STATUS_NEEDS_REBOOT; // buffers and tables are sized once per boot
  }
  config.commit();
  configureMachine();
  window_fill = 0;
  last_window_valid = false; // it was taken under the old configuration
  return STATUS_OK;
}

// ISO 10816-3 zone boundaries A/B, B/C, C/D in mm/s: [group 1 rigid, flexible, group 2 rigid, flexible].
const ZONE_LIMITS_MM_S: StaticArray<f64> = [2.3, 4.5, 7.1, 3.5, 7.1, 11.0, 1.4, 2.8, 4.5, 2.3, 4.5, 7.1];

/** Derives what the analysis needs from the configuration in force. */
function configureMachine(): void {
  const c = config.current;
  const m = analysis.machine;
  m.sample_rate_hz = c.sample_rate_hz;
  m.shaft_hz_nominal = c.shaft_rpm / 60.0;
  m.shaft_hz_min = c.rpm_min / 60.0;
  m.shaft_hz_max = c.rpm_max / 60.0;
  m.vanes = c.vanes;
  if (c.rolling_elements > 0.0) {
    // cosTurns, not Math.cos: the same value to an ulp for an angle below a quarter turn, and
    // without Math.cos's argument reduction for huge angles (~1.3 KB of the flashable image).
    const ratio = c.element_diameter_mm / c.pitch_diameter_mm * cosTurns(c.contact_angle_deg / 360.0);
    m.bpfo_order = c.rolling_elements / 2.0 * (1.0 - ratio);
    m.bpfi_order = c.rolling_elements / 2.0 * (1.0 + ratio);
    m.ftf_order = 0.5 * (1.0 - ratio);
    m.bsf_order = c.pitch_diameter_mm / (2.0 * c.element_diameter_mm) * (1.0 - ratio * ratio);
  } else {
    m.bpfo_order = 0.0;
    m.bpfi_order = 0.0;
    m.ftf_order = 0.0;
    m.bsf_order = 0.0;
  }
  m.band_low_hz = c.band_low_hz;
  m.band_high_hz = c.band_high_hz;
  const row = ((c.iso_group == config.ISO_GROUP_LARGE ? 0 : 2) + (c.flexible_foundation ? 1 : 0)) * 3;
  m.zone_ab_mm_s = ZONE_LIMITS_MM_S[row];
  m.zone_bc_mm_s = ZONE_LIMITS_MM_S[row + 1];
  m.zone_cd_mm_s = ZONE_LIMITS_MM_S[row + 2];
  m.cavitation_m_s2 = c.cavitation_m_s2;
}

/** Counts this boot in persistent storage. A missing record is a first boot. */
function countBoot(): i32 {
  const read = host_storage_read(STORAGE_KEY_COUNTERS, counters, COUNTERS_BYTES);
  boot_count = read == COUNTERS_BYTES ? load<u32>(counters) + 1 : 1;
  store<u32>(counters, boot_count);
  return host_storage_write(STORAGE_KEY_COUNTERS, counters, COUNTERS_BYTES) == 0 ? STATUS_OK : STATUS_STORAGE;
}

/** Starts the firmware with the CBOR configuration the host wrote at inbox_buffer(). */
export function init(len: i32): i32 {
  if (isDefined(IMPELLER_FAULT)) faults.atInit();
  if (initialised) return STATUS_NEEDS_REBOOT;
  if (len <= 0 || len > INBOX_BYTES) return STATUS_BAD_ARGUMENT;
  const staged = config.stage(inbox, len);
  if (staged != STATUS_OK) return staged;
  applyStaged();
  initialised = true;
  const counted = countBoot();
  if (counted != STATUS_OK) log(LOG_WARN, "boot counter could not be stored");
  policy.restore();
  trend.restore(config.current.baseline_windows);
  advice.restore();
  sensors.restore(config.current.baseline_windows);
  // Provisioning happens once; the owner map in later boots' configurations changes nothing.
  if (config.owner_present && !policy.provisioned) {
    if (!policy.provision(config.owner_token_ptr, config.owner_token_len, config.owner_waveform, config.owner_detail)) {
      log(LOG_WARN, "owner policy could not be stored");
    }
  }
  logNumber(LOG_INFO, "firmware started, boot ", <i64>boot_count);
  const booted = publishBoot();
  // A device without an owner policy has nothing to report: everything may leave it.
  if (booted != STATUS_OK || !policy.provisioned) return booted;
  return publishPolicy();
}

/** {"event": "policy", "provisioned": bool, "waveform": text, "detail": text}: what may leave
 *  the device, for the host to report in its birth. */
function publishPolicy(): i32 {
  writeBegin(outPtr(), outbox.length);
  writeMap(4);
  writeTextAscii("event");
  writeTextAscii("policy");
  writeTextAscii("provisioned");
  writeBool(policy.provisioned);
  writeTextAscii("waveform");
  writeTextAscii(policy.waveform == policy.WAVEFORM_NEVER ? "never" : "on_request");
  writeTextAscii("detail");
  writeTextAscii(policy.detail == policy.DETAIL_SUMMARY ? "summary" : "full");
  return publish(KIND_EVENT);
}

function publishBoot(): i32 {
  writeBegin(outPtr(), outbox.length);
  writeMap(3);
  writeTextAscii("event");
  writeTextAscii("boot");
  writeTextAscii("boot");
  writeInt(<i64>boot_count);
  writeTextAscii("fw");
  writeInt(<i64>FIRMWARE_VERSION);
  return publish(KIND_EVENT);
}

function publish(kind: i32): i32 {
  const len = writeEnd();
  if (len < 0) return STATUS_NO_ROOM;
  return host_publish(kind, outPtr(), len) == 0 ? STATUS_OK : STATUS_PUBLISH_FAILED;
}

// ---------------------------------------------------------------------------------------
// Samples

/** Where the host writes the next samples (f32, in the configured units). */
export function sample_buffer(): usize {
  return initialised ? windowPtr() + (<usize>window_fill << 2) : 0;
}

/** How many samples fit at sample_buffer() before the window is complete. */
export function sample_capacity(): i32 {
  return initialised ? config.current.window_samples - window_fill : 0;
}

function allFinite(ptr: usize, count: i32): bool {
  for (let i = 0; i < count; i++) {
    if (!isFinite(load<f32>(ptr + (<usize>i << 2)))) return false;
  }
  return true;
}

/** Takes `count` samples the host wrote at sample_buffer(), the first taken at
 *  `timestamp_ms` (Unix milliseconds). Returns the number of messages published (0 or 1). */
export function process(count: i32, timestamp_ms: i64): i32 {
  if (!initialised) return STATUS_NOT_INITIALISED;
  if (count <= 0 || count > sample_capacity()) {
    if (warnThrottled(WARN_BAD_SAMPLES, "batch of an impossible size refused")) publishError(STATUS_BAD_ARGUMENT, "samples");
    return STATUS_BAD_ARGUMENT;
  }
  const batch = sample_buffer();
  if (!allFinite(batch, count)) {
    if (warnThrottled(WARN_BAD_SAMPLES, "batch with a non-finite sample dropped")) publishError(STATUS_BAD_SAMPLES, "samples");
    return STATUS_BAD_SAMPLES;
  }
  if (window_fill == 0) {
    window_start_ms = timestamp_ms;
  } else {
    const expected_ms = <f64>window_start_ms + <f64>window_fill * 1000.0 / config.current.sample_rate_hz;
    if (Math.abs(<f64>timestamp_ms - expected_ms) > CONTINUITY_SLACK_MS) {
      warnThrottled(WARN_DISCONTINUITY, "samples not continuous: window restarted");
      memory.copy(windowPtr(), batch, <usize>count << 2);
      window_fill = 0;
      window_start_ms = timestamp_ms;
    }
  }
  window_fill += count;
  if (window_fill < config.current.window_samples) return 0;
  window_fill = 0;
  if (isDefined(IMPELLER_FAULT)) faults.onWindow();
  const status = analyseAndPublish();
  return status == STATUS_OK ? 1 : status;
}

/** {"event": "alarm", "level": "none" | "alert" | "danger", "health": smoothed}: the alarm
 *  level changed (after its persistence, with hysteresis). */
function publishAlarm(): void {
  writeBegin(outPtr(), outbox.length);
  writeMap(3);
  writeTextAscii("event");
  writeTextAscii("alarm");
  writeTextAscii("level");
  writeTextAscii(ALARM_NAMES[trend.level]);
  writeTextAscii("health");
  writeF32(<f32>trend.health_trend);
  publish(KIND_EVENT);
}

/** {"event": "error", "code": status, "what": what}: a bad input the firmware refused. */
function publishError(status: i32, what: string): void {
  writeBegin(outPtr(), outbox.length);
  writeMap(3);
  writeTextAscii("event");
  writeTextAscii("error");
  writeTextAscii("code");
  writeInt(<i64>status);
  writeTextAscii("what");
  writeTextAscii(what);
  publish(KIND_EVENT);
}

const ZONE_NAMES: StaticArray<string> = ["A", "B", "C", "D"];
const FAULT_NAMES: StaticArray<string> = [
  "none", "imbalance", "misalignment", "outer_race", "inner_race", "rolling_element", "cavitation", "unknown",
  "sensor_fault",
];
const FINDING_NAMES: StaticArray<string> = [
  "find_none", "find_imbalance", "find_misalignment", "find_outer_race", "find_inner_race", "find_rolling_element",
  "find_cavitation", "find_unknown",
];
const CONFIDENCE_NAMES: StaticArray<string> = [
  "conf_none", "conf_imbalance", "conf_misalignment", "conf_outer_race", "conf_inner_race", "conf_rolling_element",
  "conf_cavitation", "conf_unknown",
];
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
const ALARM_NAMES: StaticArray<string> = ["none", "alert", "danger"];
/** A window whose sensor failed: acceleration RMS, fault, strength, severity, sensor, alarm. */
const SENSOR_FAULT_SUMMARY_RECORDS: i32 = 6;
/** ... and the rest of the time features. */
const SENSOR_FAULT_RECORDS: i32 = SENSOR_FAULT_SUMMARY_RECORDS + 5;

function analyseAndPublish(): i32 {
  const scale = config.current.units == config.UNITS_G ? STANDARD_GRAVITY_M_S2 : 1.0;
  computeTimeFeatures(windowPtr(), config.current.window_samples, scale);
  const sensor = sensorHealth(windowPtr(), config.current.window_samples);
  // The window before, when this one follows it without a gap and was a measurement: the
  // analysis streams the bearing's envelope across consecutive windows (ANALYSIS.md §5).
  const window_ms = <f64>config.current.window_samples * 1000.0 / config.current.sample_rate_hz;
  const follows = last_window_valid && last_window_sound && Math.abs(<f64>(window_start_ms - last_window_start_ms) - window_ms) <= CONTINUITY_SLACK_MS;
  const analysed = sensor == SENSOR_OK
    ? analysis.analyse(windowPtr(), scale, feature_kurtosis, feature_crest, follows ? changetype<usize>(last_window) : 0) : STATUS_OK;
  memory.copy(changetype<usize>(last_window), windowPtr(), <usize>config.current.window_samples << 2);
  last_window_start_ms = window_start_ms;
  last_window_valid = true;
  last_window_sound = sensor == SENSOR_OK;
  if (sensor != SENSOR_OK) return publishSensorFault(sensor);
  if (analysed < 0) return analysed;
  const r = analysis.result;
  trend.update(<f64>window_start_ms / 1000.0, r.health, feature_rms, r.velocity_rms_mm_s, feature_kurtosis);
  advice.update(r.fault);
  sensors.update(window_start_ms);
  if (trend.level_changed) publishAlarm();
  if (advice.action_changed) publishAdvice(window_start_ms);
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
    return publish(KIND_TELEMETRY);
  }
  record("acc_peak", "m/s2", feature_peak);
  record("acc_p2p", "m/s2", feature_peak_to_peak);
  record("crest", "/", feature_crest);
  record("kurtosis", "/", feature_kurtosis);
  record("skewness", "/", feature_skewness);
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
  if (sensed) {
    record("temp", "Cel", sensors.temperature_c);
    if (sensors.has_rise) record("temp_rise", "K", sensors.rise_k);
  }
  return publish(KIND_TELEMETRY);
}

/** Each finding of the window as two records, "find_<kind>" (its strength) and "conf_<kind>" (its
 *  confidence, 1 − its false-finding probability): several faults can stand at once. */
function findingRecords(): void {
  const r = analysis.result;
  for (let i = 0; i < r.findings; i++) {
    const kind = unchecked(r.finding_kind[i]);
    record(FINDING_NAMES[kind], "/", unchecked(r.finding_strength[i]));
    record(CONFIDENCE_NAMES[kind], "/", unchecked(r.finding_confidence[i]));
  }
}

/** A window from a failed sensor: its time features and what is wrong, no machine diagnosis.
 *  It is no evidence of the machine's health: the trend, the alarm and the baseline do not
 *  take it; the advice counts it, so a pump in alarm whose sensor keeps failing is told to
 *  check the sensor. */
function publishSensorFault(sensor: i32): i32 {
  advice.update(analysis.FAULT_SENSOR);
  sensors.update(window_start_ms);
  if (advice.action_changed) publishAdvice(window_start_ms);
  writeBegin(outPtr(), outbox.length);
  const summary = policy.detail == policy.DETAIL_SUMMARY;
  const advised = advice.action != advice.ACTION_NONE;
  const sensed = !summary && sensors.has_temperature;
  packBegin((summary ? SENSOR_FAULT_SUMMARY_RECORDS : SENSOR_FAULT_RECORDS) + (advised ? ADVICE_RECORDS : 0) +
    (sensed ? (sensors.has_rise ? 2 : 1) : 0));
  recordFirst(config.base_name, config.current.device_id_len + 1, <f64>window_start_ms / 1000.0,
    "acc_rms", "m/s2", feature_rms);
  if (!summary) {
    record("acc_peak", "m/s2", feature_peak);
    record("acc_p2p", "m/s2", feature_peak_to_peak);
    record("crest", "/", feature_crest);
    record("kurtosis", "/", feature_kurtosis);
    record("skewness", "/", feature_skewness);
  }
  recordText("fault", FAULT_NAMES[analysis.FAULT_SENSOR]);
  record("strength", "/", 0.0);
  record("severity", "/", 0.0);
  recordText("sensor", SENSOR_NAMES[sensor]);
  recordText("alarm", ALARM_NAMES[trend.level]);
  if (advised) adviceRecords();
  if (sensed) {
    record("temp", "Cel", sensors.temperature_c);
    if (sensors.has_rise) record("temp_rise", "K", sensors.rise_k);
  }
  return publish(KIND_TELEMETRY);
}

/** The advice's records: what to do, and within how long of the window. */
function adviceRecords(): void {
  recordText("action", advice.ACTION_NAMES[advice.action]);
  record("act_in", "s", advice.act_within_h * 3600.0);
}

/** {"event": "advice", "action": text, ?"fault": text, ?"by": Unix seconds}: the advice
 *  changed; "none" (without fault and by) once the pump is out of alarm. */
function publishAdvice(time_ms: i64): void {
  const advised = advice.action != advice.ACTION_NONE;
  writeBegin(outPtr(), outbox.length);
  writeMap(advised ? 4 : 2);
  writeTextAscii("event");
  writeTextAscii("advice");
  writeTextAscii("action");
  writeTextAscii(advice.ACTION_NAMES[advice.action]);
  if (advised) {
    writeTextAscii("fault");
    writeTextAscii(FAULT_NAMES[advice.cause]);
    writeTextAscii("by");
    writeInt(time_ms / 1000 + <i64>Math.ceil(advice.act_within_h * 3600.0));
  }
  publish(KIND_EVENT);
}

// ---------------------------------------------------------------------------------------
// Commands

let command_id: i64 = -1;
let command_seq: u64 = 0;
let command_has_seq: bool = false;
let command_name_ptr: usize = 0;
let command_name_len: i32 = 0;
let command_args_ptr: usize = 0;
let command_args_len: i32 = 0;

/** Finds id, cmd and args in a command map {"id": uint, "cmd": text, ?"args": any}. */
function parseCommand(len: i32): i32 {
  command_id = -1;
  command_has_seq = false;
  command_name_len = 0;
  command_args_len = 0;
  readBegin(inbox, len);
  if (!readHead()) return STATUS_BAD_CBOR;
  if (head_major != 5 || head_value > COMMAND_KEYS_MAX) return STATUS_BAD_ARGUMENT;
  const entries = <i32>head_value;
  for (let i = 0; i < entries; i++) {
    if (!readText()) return STATUS_BAD_ARGUMENT;
    if (textIs("id")) {
      if (!readHead()) return STATUS_BAD_CBOR;
      if (head_major != 0 || head_value > 0xffffffff) return STATUS_BAD_ARGUMENT;
      command_id = <i64>head_value;
    } else if (textIs("seq")) {
      if (!readHead()) return STATUS_BAD_CBOR;
      if (head_major != 0) return STATUS_BAD_ARGUMENT;
      command_seq = head_value;
      command_has_seq = true;
    } else if (textIs("cmd")) {
      if (!readText()) return STATUS_BAD_ARGUMENT;
      command_name_ptr = text_ptr;
      command_name_len = text_len;
    } else if (textIs("args")) {
      const start = readPosition();
      if (!readHead() || !skipContent(0)) return STATUS_BAD_CBOR;
      command_args_ptr = start;
      command_args_len = <i32>(readPosition() - start);
    } else {
      if (!readHead() || !skipContent(0)) return STATUS_BAD_CBOR;
    }
  }
  if (readPosition() != inbox + <usize>len) return STATUS_BAD_CBOR; // trailing bytes
  if (command_id < 0 || command_name_len == 0) return STATUS_BAD_ARGUMENT;
  return STATUS_OK;
}

function nameEquals(name: string): bool {
  const n = name.length;
  if (n != command_name_len) return false;
  for (let i = 0; i < n; i++) {
    if (<u32>load<u8>(command_name_ptr + <usize>i) != <u32>name.charCodeAt(i)) return false;
  }
  return true;
}

// What a successful command adds to its reply.
const REPLY_PLAIN: i32 = 0;
const REPLY_SAMPLING: i32 = 1;
const REPLY_WAVEFORM: i32 = 2;
let reply_kind: i32 = REPLY_PLAIN;
let reply_parts: i32 = 0;

const ARGS_KEYS_MAX: u64 = 8;
const WAVEFORM_HEADER_BYTES: i32 = 128; // the part's map without its samples, with room to spare
const WAVEFORM_BYTES_MIN: i32 = 256;
const INTERVAL_S_MAX: f64 = 86400.0;

let arg_max_bytes: i32 = 0;
let arg_rate_hz: f64 = 0.0;
let arg_interval_s: f64 = 0.0;

/** Reads the args map of "waveform" and "sampling": {?"max_bytes", ?"rate_hz", ?"interval_s"}. */
function parseArgs(): i32 {
  arg_max_bytes = 0;
  arg_rate_hz = 0.0;
  arg_interval_s = 0.0;
  if (command_args_len == 0) return STATUS_OK;
  readBegin(command_args_ptr, command_args_len);
  if (!readHead()) return STATUS_BAD_CBOR;
  if (head_major != 5 || head_value > ARGS_KEYS_MAX) return STATUS_BAD_ARGUMENT;
  const entries = <i32>head_value;
  for (let i = 0; i < entries; i++) {
    if (!readText()) return STATUS_BAD_ARGUMENT;
    if (textIs("max_bytes")) {
      if (!readHead() || head_major != 0 || head_value < <u64>WAVEFORM_BYTES_MIN || head_value > 0xffff) return STATUS_BAD_ARGUMENT;
      arg_max_bytes = <i32>head_value;
    } else if (textIs("rate_hz")) {
      if (!readHead()) return STATUS_BAD_CBOR;
      arg_rate_hz = headNumber();
      if (!isFinite(arg_rate_hz) || arg_rate_hz <= 0.0) return STATUS_BAD_ARGUMENT;
    } else if (textIs("interval_s")) {
      if (!readHead()) return STATUS_BAD_CBOR;
      arg_interval_s = headNumber();
      if (!isFinite(arg_interval_s) || arg_interval_s < 1.0 || arg_interval_s > INTERVAL_S_MAX) return STATUS_BAD_ARGUMENT;
    } else {
      return STATUS_BAD_ARGUMENT;
    }
  }
  return STATUS_OK;
}

/** "sampling": a new sample rate and/or measurement interval; the reply tells the host both. */
function runSampling(): i32 {
  const parsed = parseArgs();
  if (parsed != STATUS_OK) return parsed;
  if (arg_rate_hz == 0.0 && arg_interval_s == 0.0) return STATUS_BAD_ARGUMENT;
  if (arg_rate_hz != 0.0) {
    let status = config.stageSampleRate(arg_rate_hz);
    if (status == STATUS_OK) status = applyStaged();
    if (status != STATUS_OK) {
      publishError(status, "config");
      return status;
    }
  }
  if (arg_interval_s != 0.0) interval_s = arg_interval_s;
  reply_kind = REPLY_SAMPLING;
  return STATUS_OK;
}

/** "waveform": the last complete window as raw float32 samples, in parts that each fit
 *  min(max_bytes, max_message) bytes, on the waveform topic. */
function runWaveform(): i32 {
  const parsed = parseArgs();
  if (parsed != STATUS_OK) return parsed;
  if (policy.waveform == policy.WAVEFORM_NEVER) return STATUS_FORBIDDEN; // the owner said no
  if (!last_window_valid) return STATUS_NO_DATA;
  const limit = arg_max_bytes > 0 ? min(arg_max_bytes, outbox.length) : outbox.length;
  const per_part = (limit - WAVEFORM_HEADER_BYTES) >> 2;
  if (per_part <= 0) return STATUS_BAD_ARGUMENT;
  const samples = config.current.window_samples;
  const parts = (samples + per_part - 1) / per_part; // at most 8192 / 32
  for (let part = 0; part < parts; part++) {
    const first = part * per_part;
    const count = min(per_part, samples - first);
    writeBegin(outPtr(), limit);
    writeMap(8);
    writeTextAscii("id");
    writeInt(command_id);
    writeTextAscii("part");
    writeInt(<i64>part);
    writeTextAscii("parts");
    writeInt(<i64>parts);
    writeTextAscii("t");
    writeInt(last_window_start_ms);
    writeTextAscii("rate_hz");
    writeNumber(config.current.sample_rate_hz);
    writeTextAscii("units");
    writeTextAscii(config.current.units == config.UNITS_G ? "g" : "m/s2");
    writeTextAscii("first");
    writeInt(<i64>first);
    writeTextAscii("samples");
    writeByteString(changetype<usize>(last_window) + (<usize>first << 2), count << 2);
    const status = publish(KIND_WAVEFORM);
    if (status != STATUS_OK) return status;
  }
  reply_kind = REPLY_WAVEFORM;
  reply_parts = parts;
  return STATUS_OK;
}

const POLICY_KEYS_MAX: u64 = 3;

/** "policy": {"token": bstr, ?"waveform", ?"detail"}: the owner changes what may leave. */
function runPolicy(): i32 {
  if (!policy.provisioned) return STATUS_FORBIDDEN;
  if (command_args_len == 0) return STATUS_BAD_ARGUMENT;
  readBegin(command_args_ptr, command_args_len);
  if (!readHead()) return STATUS_BAD_CBOR;
  if (head_major != 5 || head_value > POLICY_KEYS_MAX) return STATUS_BAD_ARGUMENT;
  let token_ok = false;
  let new_waveform = policy.waveform;
  let new_detail = policy.detail;
  const entries = <i32>head_value;
  for (let i = 0; i < entries; i++) {
    if (!readText()) return STATUS_BAD_ARGUMENT;
    if (textIs("token")) {
      if (!readHead() || head_major != 2 || !readStringContent()) return STATUS_BAD_ARGUMENT;
      token_ok = policy.tokenMatches(text_ptr, text_len);
    } else if (textIs("waveform")) {
      if (!readText()) return STATUS_BAD_ARGUMENT;
      if (textIs("never")) new_waveform = policy.WAVEFORM_NEVER;
      else if (textIs("on_request")) new_waveform = policy.WAVEFORM_ON_REQUEST;
      else return STATUS_BAD_ARGUMENT;
    } else if (textIs("detail")) {
      if (!readText()) return STATUS_BAD_ARGUMENT;
      if (textIs("summary")) new_detail = policy.DETAIL_SUMMARY;
      else if (textIs("full")) new_detail = policy.DETAIL_FULL;
      else return STATUS_BAD_ARGUMENT;
    } else {
      return STATUS_BAD_ARGUMENT;
    }
  }
  if (!token_ok) {
    publishError(STATUS_FORBIDDEN, "policy");
    return STATUS_FORBIDDEN;
  }
  const stored = policy.change(new_waveform, new_detail);
  if (stored != STATUS_OK) return stored;
  return publishPolicy();
}

/** "maintenance": {"action": text}: the pump was maintained (the advice's action, or another);
 *  the baseline is learned again, the trend, its history and the advice start afresh. */
function runMaintenance(): i32 {
  if (command_args_len == 0) return STATUS_BAD_ARGUMENT;
  readBegin(command_args_ptr, command_args_len);
  if (!readHead()) return STATUS_BAD_CBOR;
  if (head_major != 5 || head_value != 1) return STATUS_BAD_ARGUMENT;
  if (!readText() || !textIs("action")) return STATUS_BAD_ARGUMENT;
  if (!readText()) return STATUS_BAD_ARGUMENT;
  let done = -1;
  for (let a = 1; a < advice.ACTIONS && done < 0; a++) if (textIs(advice.ACTION_NAMES[a])) done = a;
  if (done < 0) return STATUS_BAD_ARGUMENT;
  trend.reset();
  advice.reset();
  sensors.reset();
  if (trend.level_changed) publishAlarm();
  writeBegin(outPtr(), outbox.length);
  writeMap(2);
  writeTextAscii("event");
  writeTextAscii("maintenance");
  writeTextAscii("action");
  writeTextAscii(advice.ACTION_NAMES[done]);
  return publish(KIND_EVENT);
}

function runCommand(): i32 {
  reply_kind = REPLY_PLAIN;
  if (nameEquals("maintenance")) return runMaintenance();
  if (nameEquals("policy")) return runPolicy();
  if (nameEquals("config")) {
    if (command_args_len == 0) return STATUS_BAD_ARGUMENT;
    let status = config.stage(command_args_ptr, command_args_len);
    // Only the owner's token changes a provisioned policy, never a configuration.
    if (status == STATUS_OK && config.owner_present && policy.provisioned) status = STATUS_FORBIDDEN;
    if (status == STATUS_OK) status = applyStaged();
    if (status != STATUS_OK) publishError(status, "config");
    return status;
  }
  if (nameEquals("self_test")) return self_test();
  if (nameEquals("sampling")) return runSampling();
  if (nameEquals("waveform")) return runWaveform();
  if (nameEquals("reboot")) return command_args_len == 0 ? STATUS_REBOOT_REQUESTED : STATUS_BAD_ARGUMENT;
  return STATUS_UNKNOWN_COMMAND;
}

function reply(id: i64, status: i32): i32 {
  const ok = status >= STATUS_OK;
  const kind = ok ? reply_kind : REPLY_PLAIN;
  writeBegin(outPtr(), outbox.length);
  writeMap(!ok ? 3 : kind == REPLY_SAMPLING ? 5 : kind == REPLY_WAVEFORM ? 3 : 2);
  writeTextAscii("id");
  writeInt(id);
  writeTextAscii("ok");
  writeBool(ok);
  if (!ok) {
    writeTextAscii("error");
    writeInt(<i64>status);
  } else if (kind == REPLY_SAMPLING) {
    writeTextAscii("rate_hz");
    writeNumber(config.current.sample_rate_hz);
    writeTextAscii("window");
    writeInt(<i64>config.current.window_samples);
    writeTextAscii("interval_s");
    writeNumber(interval_s);
  } else if (kind == REPLY_WAVEFORM) {
    writeTextAscii("parts");
    writeInt(<i64>reply_parts);
  }
  return publish(KIND_REPLY);
}

/** Handles the command the host wrote at inbox_buffer(). Every command with a readable id
 *  gets a reply; the return value is the command's own status. */
export function handle_message(len: i32): i32 {
  if (!initialised) return STATUS_NOT_INITIALISED;
  if (len <= 0 || len > INBOX_BYTES) return STATUS_BAD_ARGUMENT;
  let status = parseCommand(len);
  if (status != STATUS_OK && read_malformed) status = STATUS_BAD_CBOR;
  // A command that cannot be read is refused with an error event too (at most one a second).
  if (status != STATUS_OK && warnThrottled(WARN_BAD_COMMAND, "malformed command refused")) publishError(status, "command");
  // A provisioned device runs a command only with a counter above the last one it accepted.
  if (status == STATUS_OK && policy.provisioned && (!command_has_seq || !policy.acceptCounter(command_seq))) {
    status = STATUS_REPLAYED;
    publishError(STATUS_REPLAYED, "command");
  }
  if (status == STATUS_OK) status = runCommand();
  if (command_id >= 0) reply(command_id, status);
  else warnThrottled(WARN_BAD_COMMAND, "command without an id dropped");
  return status;
}

// ---------------------------------------------------------------------------------------
// Housekeeping

/** Periodic call from the host with the current Unix time: drops a partial window whose
 *  samples stopped arriving, so the next batch starts a clean one. */
export function tick(now_ms: i64): i32 {
  if (!initialised) return STATUS_NOT_INITIALISED;
  if (window_fill == 0) return STATUS_OK;
  const window_ms = <f64>config.current.window_samples * 1000.0 / config.current.sample_rate_hz;
  if (<f64>(now_ms - window_start_ms) > STALE_WINDOWS * window_ms + CONTINUITY_SLACK_MS) {
    warnThrottled(WARN_STALE_WINDOW, "partial window went stale and was dropped");
    window_fill = 0;
  }
  return STATUS_OK;
}

const SELF_TEST_SAMPLES: i32 = 64;
const self_test_signal: usize = memory.data(SELF_TEST_SAMPLES << 2);

/** Checks the feature path on a signal with known features: a square wave of amplitude 2
 *  around 1 has RMS 2, peak 2, crest factor 1, kurtosis 1, skewness 0. */
export function self_test(): i32 {
  if (isDefined(IMPELLER_FAULT)) {
    if (faults.selfTestFails()) return STATUS_SELF_TEST_FAILED;
  }
  for (let i = 0; i < SELF_TEST_SAMPLES; i++) {
    store<f32>(self_test_signal + (<usize>i << 2), (i & 1) == 0 ? 3.0 : -1.0);
  }
  computeTimeFeatures(self_test_signal, SELF_TEST_SAMPLES, 1.0);
  const good = Math.abs(feature_rms - 2.0) < 1e-12 && Math.abs(feature_peak - 2.0) < 1e-12 &&
    Math.abs(feature_crest - 1.0) < 1e-12 && Math.abs(feature_kurtosis - 1.0) < 1e-12 &&
    Math.abs(feature_skewness) < 1e-12;
  return good ? STATUS_OK : STATUS_SELF_TEST_FAILED;
}
