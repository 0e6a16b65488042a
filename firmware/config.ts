// The device configuration: decoded from a CBOR map with text keys, checked whole, and only
// then applied, so a bad configuration changes nothing.

import {
  readBegin, readHead, readText, readRemaining, readChoice, headNumber, textIs, read_malformed,
  head_major, head_value, text_ptr, text_len,
} from "./cbor";
import { STATUS_OK, STATUS_BAD_CBOR, STATUS_BAD_CONFIG } from "./status";
import { ASSERTS } from "./assert";
import { readMap, MAP_READ, map_token_len, WAVEFORM_ON_REQUEST, DETAIL_FULL } from "./policy";
import { Text, T } from "./names";

export const DEVICE_ID_BYTES_MAX: i32 = 64;
export const CONFIG_KEYS_MAX: u64 = 32;
export const WINDOW_SAMPLES_MIN: i32 = 16;
export const WINDOW_SAMPLES_MAX: i32 = 8192;
export const RATE_HZ_MIN: f64 = 100.0;
export const RATE_HZ_MAX: f64 = 200000.0;
export const MESSAGE_BYTES_MIN: i32 = 256;
export const MESSAGE_BYTES_MAX: i32 = 16384;
export const MESSAGE_BYTES_DEFAULT: i32 = 1024;
export const SHAFT_RPM_MAX: f64 = 60000.0;

export const UNITS_G: i32 = 0;
export const UNITS_M_S2: i32 = 1;

export const ISO_GROUP_LARGE: i32 = 1; // > 300 kW, or a pump with a separate driver
export const ISO_GROUP_MEDIUM: i32 = 2; // 15–300 kW, or a pump with an integrated driver
export const FOUNDATION_RIGID: i32 = 0;
export const FOUNDATION_FLEXIBLE: i32 = 1;
export const VANES_MAX: i32 = 16;
export const ROLLING_ELEMENTS_MIN: f64 = 3.0;
export const ROLLING_ELEMENTS_MAX: f64 = 64.0;
export const PITCH_DIAMETER_MM_MAX: f64 = 2000.0;
export const CONTACT_ANGLE_DEG_MAX: f64 = 60.0;
export const CAVITATION_M_S2_MAX: f64 = 1000.0;
export const BASELINE_WINDOWS_MIN: i32 = 4;
export const BASELINE_WINDOWS_MAX: i32 = 10000;
/** The most consecutive windows one measurement takes (64 windows of 4096 at 12.8 kHz: 20 s). */
export const ACQUISITION_WINDOWS_MAX: i32 = 64;

/** A configuration: the one in force, or one being checked. */
export class Config {
  device_id_len: i32 = 0;
  sample_rate_hz: f64 = 0.0;
  window_samples: i32 = 0;
  units: i32 = UNITS_G;
  message_bytes_max: i32 = MESSAGE_BYTES_DEFAULT;
  shaft_rpm: f64 = 0.0; // 0: unknown, measured within rpm_min..rpm_max
  rpm_min: f64 = 600.0; // rpm_min, rpm_max: one after the other (VALUE_RANGE)
  rpm_max: f64 = 3600.0;
  vanes: i32 = 0;
  rolling_elements: f64 = 0.0; // 0: no bearing geometry
  element_diameter_mm: f64 = 0.0;
  pitch_diameter_mm: f64 = 0.0;
  contact_angle_deg: f64 = 0.0;
  iso_group: i32 = ISO_GROUP_MEDIUM;
  foundation: i32 = FOUNDATION_RIGID;
  band_low_hz: f64 = 0.0; // 0, 0: chosen per window; one after the other (VALUE_RANGE)
  band_high_hz: f64 = 0.0;
  cavitation_m_s2: f64 = 2.0;
  baseline_windows: i32 = 36;
  /** Consecutive windows each measurement takes (1: a window alone); the trend takes one value
   *  per measurement (window.ts). */
  acquisition_windows: i32 = 1;

  reset(): void {
    this.copyFrom(defaults);
  }

  copyFrom(other: Config): void {
    memory.copy(changetype<usize>(this), changetype<usize>(other), offsetof<Config>());
  }
}

const defaults = new Config();

/** The device id followed by ':', the SenML base name of everything this device sends. */
export const base_name: usize = memory.data(DEVICE_ID_BYTES_MAX + 1);
const staged_id: usize = memory.data(DEVICE_ID_BYTES_MAX);

export const current = new Config();

const staged = new Config();

function isNameByte(b: u32, first: bool): bool {
  const alnum = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
  if (first) return alnum;
  return alnum || b == 0x2d || b == 0x2e || b == 0x5f || b == 0x3a; // - . _ :
}

function stageDeviceId(): i32 {
  if (!readText()) return STATUS_BAD_CONFIG;
  if (text_len < 1 || text_len > DEVICE_ID_BYTES_MAX) return STATUS_BAD_CONFIG;
  for (let i = 0; i < text_len; i++) {
    if (!isNameByte(<u32>load<u8>(text_ptr + <usize>i), i == 0)) return STATUS_BAD_CONFIG;
  }
  if (ASSERTS) assert(text_len <= DEVICE_ID_BYTES_MAX, "device id past its buffer");
  memory.copy(staged_id, text_ptr, <usize>text_len);
  staged.device_id_len = text_len;
  return STATUS_OK;
}

/** Reads an array of exactly `count` finite numbers into `numbers`. */
const NUMBERS_MAX: i32 = 4;
const numbers: usize = memory.data(NUMBERS_MAX << 3);
function readNumbers(count: i32): bool {
  if (!readHead() || head_major != 4 || head_value != <u64>count) return false;
  if (ASSERTS) assert(count <= NUMBERS_MAX, "configuration numbers past their buffer");
  for (let i = 0; i < count; i++) {
    if (!readHead()) return false;
    const value = headNumber();
    if (!isFinite(value)) return false;
    store<f64>(numbers + (<usize>i << 3), value);
  }
  return true;
}

/** [n, d_mm, D_mm, angle_deg]: a geometry a bearing can have (d < D, cos φ · d/D < 1). */
function stageBearing(): i32 {
  if (!readNumbers(4)) return STATUS_BAD_CONFIG;
  const n = load<f64>(numbers);
  const d = load<f64>(numbers, 8);
  const pitch = load<f64>(numbers, 16);
  const angle = load<f64>(numbers, 24);
  if (n != Math.floor(n) || n < ROLLING_ELEMENTS_MIN || n > ROLLING_ELEMENTS_MAX) return STATUS_BAD_CONFIG;
  if (!(d > 0.0) || !(pitch > d) || pitch > PITCH_DIAMETER_MM_MAX) return STATUS_BAD_CONFIG;
  if (angle < 0.0 || angle > CONTACT_ANGLE_DEG_MAX) return STATUS_BAD_CONFIG;
  staged.rolling_elements = n;
  staged.element_diameter_mm = d;
  staged.pitch_diameter_mm = pitch;
  staged.contact_angle_deg = angle;
  return STATUS_OK;
}

/** [low, high] into the two f64 at `field`: low ≥ `low_min`, high ≤ `high_max`, high > low. */
function stageRange(field: usize, low_min: f64, high_max: f64): i32 {
  if (!readNumbers(2)) return STATUS_BAD_CONFIG;
  const low = load<f64>(numbers);
  const high = load<f64>(numbers, 8);
  if (low < low_min || high > high_max || !(high > low)) return STATUS_BAD_CONFIG;
  store<f64>(field, low);
  store<f64>(field, high, 8);
  return STATUS_OK;
}

// The owner's policy, when this configuration carries one: applied at provisioning only.
export let owner_present: bool = false;
export {
  map_token_ptr as owner_token_ptr, map_token_len as owner_token_len, map_waveform as owner_waveform, map_detail as owner_detail,
} from "./policy";

/** {"token": bstr 16..32, ?"waveform", ?"detail"} (policy.ts readMap): policy.map_* hold it. */
function stageOwner(): i32 {
  if (readMap(true, WAVEFORM_ON_REQUEST, DETAIL_FULL) != MAP_READ || map_token_len == 0) return STATUS_BAD_CONFIG;
  owner_present = true;
  return STATUS_OK;
}

// How each key's value is read into the staged configuration (KEYS, below).
const VALUE_INTEGER: u32 = 0; // a whole number within [min, max], into an i32
const VALUE_NUMBER: u32 = 1; // a finite number within [min, max], into an f64
const VALUE_RANGE: u32 = 2; // [low, high], low ≥ min, high ≤ max and high > low, into two f64
const VALUE_CHOICE: u32 = 3; // the text min (0) or the text max (1), into an i32
const VALUE_DEVICE: u32 = 4; // these three by their own functions, without limits
const VALUE_BEARING: u32 = 5;
const VALUE_OWNER: u32 = 6;

/** The configuration's keys, a row each: the key, and its VALUE_* << 8 | its field's offset in
 *  a Config. The first LIMITED_KEYS have their limits in LIMITS, [min, max] a row. */
const KEYS_COUNT: i32 = 16;
const LIMITED_KEYS: i32 = 13;
const KEYS: usize = memory.data<u32>([
  T.rate_hz, VALUE_NUMBER << 8 | offsetof<Config>("sample_rate_hz"),
  T.window, VALUE_INTEGER << 8 | offsetof<Config>("window_samples"),
  T.max_message, VALUE_INTEGER << 8 | offsetof<Config>("message_bytes_max"),
  T.rpm, VALUE_NUMBER << 8 | offsetof<Config>("shaft_rpm"),
  T.vanes, VALUE_INTEGER << 8 | offsetof<Config>("vanes"),
  T.baseline_windows, VALUE_INTEGER << 8 | offsetof<Config>("baseline_windows"),
  T.windows, VALUE_INTEGER << 8 | offsetof<Config>("acquisition_windows"),
  T.band_hz, VALUE_RANGE << 8 | offsetof<Config>("band_low_hz"),
  T.rpm_range, VALUE_RANGE << 8 | offsetof<Config>("rpm_min"),
  T.iso_group, VALUE_INTEGER << 8 | offsetof<Config>("iso_group"),
  T.foundation, VALUE_CHOICE << 8 | offsetof<Config>("foundation"),
  T.cav_m_s2, VALUE_NUMBER << 8 | offsetof<Config>("cavitation_m_s2"),
  T.units, VALUE_CHOICE << 8 | offsetof<Config>("units"),
  T.device, VALUE_DEVICE << 8,
  T.bearing, VALUE_BEARING << 8,
  T.owner, VALUE_OWNER << 8,
]);
const LIMITS: usize = memory.data<f64>([
  RATE_HZ_MIN, RATE_HZ_MAX,
  <f64>WINDOW_SAMPLES_MIN, <f64>WINDOW_SAMPLES_MAX,
  <f64>MESSAGE_BYTES_MIN, <f64>MESSAGE_BYTES_MAX,
  0.0, SHAFT_RPM_MAX,
  0.0, <f64>VANES_MAX,
  <f64>BASELINE_WINDOWS_MIN, <f64>BASELINE_WINDOWS_MAX,
  1.0, <f64>ACQUISITION_WINDOWS_MAX,
  0.0, RATE_HZ_MAX / 2.0,
  1.0, SHAFT_RPM_MAX,
  <f64>ISO_GROUP_LARGE, <f64>ISO_GROUP_MEDIUM,
  <f64>T.rigid, <f64>T.flexible, // FOUNDATION_RIGID, FOUNDATION_FLEXIBLE
  0.001, CAVITATION_M_S2_MAX,
  <f64>T.g, <f64>T.m_s2, // UNITS_G, UNITS_M_S2
]);
if (FOUNDATION_RIGID != 0 || FOUNDATION_FLEXIBLE != 1 || UNITS_G != 0 || UNITS_M_S2 != 1) ERROR("a choice is 0 for its first text, 1 for its second");
if (offsetof<Config>("band_high_hz") != offsetof<Config>("band_low_hz") + 8 || offsetof<Config>("rpm_max") != offsetof<Config>("rpm_min") + 8) ERROR("a range's two f64 are not one after the other");
if (offsetof<Config>() > 0xff) ERROR("a field's offset does not fit its byte in KEYS");

function stageEntry(): i32 {
  if (!readText()) return STATUS_BAD_CONFIG;
  let key = 0;
  while (key < KEYS_COUNT && !textIs(load<u32>(KEYS + (<usize>key << 3)))) key++;
  if (key == KEYS_COUNT) return STATUS_BAD_CONFIG; // an unknown key is a mistake, not something to ignore
  const how = load<u32>(KEYS + (<usize>key << 3), 4);
  const kind = how >> 8;
  if (kind == VALUE_DEVICE) return stageDeviceId();
  if (kind == VALUE_BEARING) return stageBearing();
  if (kind == VALUE_OWNER) return stageOwner();
  if (ASSERTS) assert(key < LIMITED_KEYS, "a key without limits");
  const field = changetype<usize>(staged) + <usize>(how & 0xff);
  const min = load<f64>(LIMITS + (<usize>key << 4));
  const max = load<f64>(LIMITS + (<usize>key << 4), 8);
  if (kind == VALUE_RANGE) return stageRange(field, min, max);
  if (kind == VALUE_CHOICE) {
    const choice = readChoice(<Text>min, <Text>max);
    if (choice < 0) return STATUS_BAD_CONFIG;
    store<i32>(field, choice);
    return STATUS_OK;
  }
  if (!readHead()) return STATUS_BAD_CONFIG;
  const value = headNumber();
  if ((kind == VALUE_INTEGER && head_major != 0) || !isFinite(value) || value < min || value > max) return STATUS_BAD_CONFIG;
  if (kind == VALUE_INTEGER) store<i32>(field, <i32>value);
  else store<f64>(field, value);
  return STATUS_OK;
}

/** The checks across fields of the staged configuration: the band must lie below Nyquist, the
 *  rpm range must hold the speed. */
function stagedAcross(): i32 {
  const nyquist_hz = staged.sample_rate_hz / 2.0;
  if (staged.band_high_hz > nyquist_hz) return STATUS_BAD_CONFIG;
  if (staged.rpm_max / 60.0 >= nyquist_hz) return STATUS_BAD_CONFIG;
  if (staged.shaft_rpm > 0.0 && staged.shaft_rpm / 60.0 >= nyquist_hz) return STATUS_BAD_CONFIG;
  return STATUS_OK;
}

/** Decodes and checks a configuration into the staging area. The one in force is untouched. */
export function stage(ptr: usize, len: i32): i32 {
  staged.reset();
  owner_present = false;

  readBegin(ptr, len);
  if (!readHead()) return STATUS_BAD_CBOR;
  if (head_major != 5 || head_value > CONFIG_KEYS_MAX) return STATUS_BAD_CONFIG;
  const entries = <i32>head_value;
  for (let i = 0; i < entries; i++) {
    const status = stageEntry();
    if (status != STATUS_OK) return read_malformed ? STATUS_BAD_CBOR : status;
  }
  if (readRemaining() != 0) return STATUS_BAD_CBOR; // trailing bytes
  if (staged.device_id_len == 0 || staged.sample_rate_hz == 0.0 || staged.window_samples == 0) {
    return STATUS_BAD_CONFIG; // device, rate_hz and window are required
  }
  return stagedAcross();
}

export function stagedWindowSamples(): i32 { return staged.window_samples; }
export function stagedMessageBytes(): i32 { return staged.message_bytes_max; }

/** Makes the staged configuration the one in force. */
export function commit(): void {
  // base_name holds the id and its ':'.
  if (ASSERTS) assert(staged.device_id_len >= 1 && staged.device_id_len <= DEVICE_ID_BYTES_MAX, "device id past the base name");
  memory.copy(base_name, staged_id, <usize>staged.device_id_len);
  store<u8>(base_name + <usize>staged.device_id_len, 0x3a);
  current.copyFrom(staged);
}

/** Stages the configuration in force with another sample rate and/or windows a measurement
 *  (0: unchanged), checked as a whole. */
export function stageSampling(rate_hz: f64, acquisition_windows: i32): i32 {
  if (rate_hz != 0.0 && (!isFinite(rate_hz) || rate_hz < RATE_HZ_MIN || rate_hz > RATE_HZ_MAX)) return STATUS_BAD_CONFIG;
  if (acquisition_windows != 0 && (acquisition_windows < 1 || acquisition_windows > ACQUISITION_WINDOWS_MAX)) return STATUS_BAD_CONFIG;
  staged.copyFrom(current);
  if (rate_hz != 0.0) staged.sample_rate_hz = rate_hz;
  if (acquisition_windows != 0) staged.acquisition_windows = acquisition_windows;
  if (stagedAcross() != STATUS_OK) return STATUS_BAD_CONFIG;
  if (ASSERTS) assert(current.device_id_len <= DEVICE_ID_BYTES_MAX, "device id past its buffer");
  memory.copy(staged_id, base_name, <usize>current.device_id_len);
  return STATUS_OK;
}
