// The device configuration: decoded from a CBOR map with text keys, checked whole, and only
// then applied, so a bad configuration changes nothing.

import {
  readBegin, readHead, readText, readRemaining, readStringContent, headNumber, textIs, read_malformed,
  head_major, head_value, text_ptr, text_len,
} from "./cbor";
import { STATUS_OK, STATUS_BAD_CBOR, STATUS_BAD_CONFIG } from "./status";
import { ASSERTS, holds } from "./assert";
import { TOKEN_BYTES_MIN, TOKEN_BYTES_MAX } from "./policy";
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
export const VANES_MAX: i32 = 16;
export const ROLLING_ELEMENTS_MIN: f64 = 3.0;
export const ROLLING_ELEMENTS_MAX: f64 = 64.0;
export const PITCH_DIAMETER_MM_MAX: f64 = 2000.0;
export const CONTACT_ANGLE_DEG_MAX: f64 = 60.0;
export const CAVITATION_M_S2_MAX: f64 = 1000.0;
export const BASELINE_WINDOWS_MIN: i32 = 4;
export const BASELINE_WINDOWS_MAX: i32 = 10000;

/** A configuration: the one in force, or one being checked. */
export class Config {
  device_id_len: i32 = 0;
  sample_rate_hz: f64 = 0.0;
  window_samples: i32 = 0;
  units: i32 = UNITS_G;
  message_bytes_max: i32 = MESSAGE_BYTES_DEFAULT;
  shaft_rpm: f64 = 0.0; // 0: unknown, measured within rpm_min..rpm_max
  rpm_min: f64 = 600.0;
  rpm_max: f64 = 3600.0;
  vanes: i32 = 0;
  rolling_elements: f64 = 0.0; // 0: no bearing geometry
  element_diameter_mm: f64 = 0.0;
  pitch_diameter_mm: f64 = 0.0;
  contact_angle_deg: f64 = 0.0;
  iso_group: i32 = ISO_GROUP_MEDIUM;
  flexible_foundation: bool = false;
  band_low_hz: f64 = 0.0; // 0, 0: chosen per window
  band_high_hz: f64 = 0.0;
  cavitation_m_s2: f64 = 2.0;
  baseline_windows: i32 = 36;

  reset(): void {
    this.copyFrom(defaults);
  }

  copyFrom(other: Config): void {
    this.device_id_len = other.device_id_len;
    this.sample_rate_hz = other.sample_rate_hz;
    this.window_samples = other.window_samples;
    this.units = other.units;
    this.message_bytes_max = other.message_bytes_max;
    this.shaft_rpm = other.shaft_rpm;
    this.rpm_min = other.rpm_min;
    this.rpm_max = other.rpm_max;
    this.vanes = other.vanes;
    this.rolling_elements = other.rolling_elements;
    this.element_diameter_mm = other.element_diameter_mm;
    this.pitch_diameter_mm = other.pitch_diameter_mm;
    this.contact_angle_deg = other.contact_angle_deg;
    this.iso_group = other.iso_group;
    this.flexible_foundation = other.flexible_foundation;
    this.band_low_hz = other.band_low_hz;
    this.band_high_hz = other.band_high_hz;
    this.cavitation_m_s2 = other.cavitation_m_s2;
    this.baseline_windows = other.baseline_windows;
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

function readInteger(min: i32, max: i32): i32 {
  if (!readHead() || head_major != 0) return -1;
  if (head_value < <u64>min || head_value > <u64>max) return -1;
  return <i32>head_value;
}

function readFinite(min: f64, max: f64): f64 {
  if (!readHead()) return NaN;
  const value = headNumber();
  if (!isFinite(value) || value < min || value > max) return NaN;
  return value;
}

/** Reads an array of exactly `count` finite numbers into `numbers`. */
const numbers = new StaticArray<f64>(4);
function readNumbers(count: i32): bool {
  if (!readHead() || head_major != 4 || head_value != <u64>count) return false;
  if (ASSERTS) assert(holds(numbers, 0, count), "configuration numbers past their buffer");
  for (let i = 0; i < count; i++) {
    if (!readHead()) return false;
    const value = headNumber();
    if (!isFinite(value)) return false;
    unchecked(numbers[i] = value);
  }
  return true;
}

/** [n, d_mm, D_mm, angle_deg]: a geometry a bearing can have (d < D, cos φ · d/D < 1). */
function stageBearing(): i32 {
  if (!readNumbers(4)) return STATUS_BAD_CONFIG;
  const n = unchecked(numbers[0]);
  const d = unchecked(numbers[1]);
  const pitch = unchecked(numbers[2]);
  const angle = unchecked(numbers[3]);
  if (n != Math.floor(n) || n < ROLLING_ELEMENTS_MIN || n > ROLLING_ELEMENTS_MAX) return STATUS_BAD_CONFIG;
  if (!(d > 0.0) || !(pitch > d) || pitch > PITCH_DIAMETER_MM_MAX) return STATUS_BAD_CONFIG;
  if (angle < 0.0 || angle > CONTACT_ANGLE_DEG_MAX) return STATUS_BAD_CONFIG;
  staged.rolling_elements = n;
  staged.element_diameter_mm = d;
  staged.pitch_diameter_mm = pitch;
  staged.contact_angle_deg = angle;
  return STATUS_OK;
}

function stageRange(low_min: f64, high_max: f64, is_band: bool): i32 {
  if (!readNumbers(2)) return STATUS_BAD_CONFIG;
  const low = unchecked(numbers[0]);
  const high = unchecked(numbers[1]);
  if (low < low_min || high > high_max || !(high > low)) return STATUS_BAD_CONFIG;
  if (is_band) {
    staged.band_low_hz = low;
    staged.band_high_hz = high;
  } else {
    staged.rpm_min = low;
    staged.rpm_max = high;
  }
  return STATUS_OK;
}

// The owner's policy, when this configuration carries one: applied at provisioning only.
export let owner_present: bool = false;
export let owner_token_ptr: usize = 0;
export let owner_token_len: i32 = 0;
export let owner_waveform: u8 = 0;
export let owner_detail: u8 = 0;
const OWNER_KEYS_MAX: u64 = 3;

/** {"token": bstr 16..32, ?"waveform": "on_request" | "never", ?"detail": "full" | "summary"} */
function stageOwner(): i32 {
  if (!readHead() || head_major != 5 || head_value > OWNER_KEYS_MAX) return STATUS_BAD_CONFIG;
  const entries = <i32>head_value;
  owner_waveform = 0;
  owner_detail = 0;
  owner_token_len = 0;
  for (let i = 0; i < entries; i++) {
    if (!readText()) return STATUS_BAD_CONFIG;
    if (textIs(T.token)) {
      if (!readHead() || head_major != 2 || !readStringContent()) return STATUS_BAD_CONFIG;
      if (text_len < TOKEN_BYTES_MIN || text_len > TOKEN_BYTES_MAX) return STATUS_BAD_CONFIG;
      owner_token_ptr = text_ptr;
      owner_token_len = text_len;
    } else if (textIs(T.waveform)) {
      if (!readText()) return STATUS_BAD_CONFIG;
      if (textIs(T.on_request)) owner_waveform = 0;
      else if (textIs(T.never)) owner_waveform = 1;
      else return STATUS_BAD_CONFIG;
    } else if (textIs(T.detail)) {
      if (!readText()) return STATUS_BAD_CONFIG;
      if (textIs(T.full)) owner_detail = 0;
      else if (textIs(T.summary)) owner_detail = 1;
      else return STATUS_BAD_CONFIG;
    } else {
      return STATUS_BAD_CONFIG;
    }
  }
  if (owner_token_len == 0) return STATUS_BAD_CONFIG;
  owner_present = true;
  return STATUS_OK;
}

function stageEntry(): i32 {
  if (!readText()) return STATUS_BAD_CONFIG;
  if (textIs(T.device)) return stageDeviceId();
  if (textIs(T.rate_hz)) {
    staged.sample_rate_hz = readFinite(RATE_HZ_MIN, RATE_HZ_MAX);
    return isNaN(staged.sample_rate_hz) ? STATUS_BAD_CONFIG : STATUS_OK;
  }
  if (textIs(T.window)) {
    staged.window_samples = readInteger(WINDOW_SAMPLES_MIN, WINDOW_SAMPLES_MAX);
    return staged.window_samples < 0 ? STATUS_BAD_CONFIG : STATUS_OK;
  }
  if (textIs(T.max_message)) {
    staged.message_bytes_max = readInteger(MESSAGE_BYTES_MIN, MESSAGE_BYTES_MAX);
    return staged.message_bytes_max < 0 ? STATUS_BAD_CONFIG : STATUS_OK;
  }
  if (textIs(T.rpm)) {
    staged.shaft_rpm = readFinite(0.0, SHAFT_RPM_MAX);
    return isNaN(staged.shaft_rpm) ? STATUS_BAD_CONFIG : STATUS_OK;
  }
  if (textIs(T.vanes)) {
    staged.vanes = readInteger(0, VANES_MAX);
    return staged.vanes < 0 ? STATUS_BAD_CONFIG : STATUS_OK;
  }
  if (textIs(T.bearing)) return stageBearing();
  if (textIs(T.owner)) return stageOwner();
  if (textIs(T.baseline_windows)) {
    staged.baseline_windows = readInteger(BASELINE_WINDOWS_MIN, BASELINE_WINDOWS_MAX);
    return staged.baseline_windows < 0 ? STATUS_BAD_CONFIG : STATUS_OK;
  }
  if (textIs(T.band_hz)) return stageRange(0.0, RATE_HZ_MAX / 2.0, true);
  if (textIs(T.rpm_range)) return stageRange(1.0, SHAFT_RPM_MAX, false);
  if (textIs(T.iso_group)) {
    staged.iso_group = readInteger(ISO_GROUP_LARGE, ISO_GROUP_MEDIUM);
    return staged.iso_group < 0 ? STATUS_BAD_CONFIG : STATUS_OK;
  }
  if (textIs(T.foundation)) {
    if (!readText()) return STATUS_BAD_CONFIG;
    if (textIs(T.rigid)) staged.flexible_foundation = false;
    else if (textIs(T.flexible)) staged.flexible_foundation = true;
    else return STATUS_BAD_CONFIG;
    return STATUS_OK;
  }
  if (textIs(T.cav_m_s2)) {
    staged.cavitation_m_s2 = readFinite(0.001, CAVITATION_M_S2_MAX);
    return isNaN(staged.cavitation_m_s2) ? STATUS_BAD_CONFIG : STATUS_OK;
  }
  if (textIs(T.units)) {
    if (!readText()) return STATUS_BAD_CONFIG;
    if (textIs(T.g)) staged.units = UNITS_G;
    else if (textIs(T.m_s2)) staged.units = UNITS_M_S2;
    else return STATUS_BAD_CONFIG;
    return STATUS_OK;
  }
  return STATUS_BAD_CONFIG; // an unknown key is a mistake, not something to ignore
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
  // Checks across fields: the band must lie below Nyquist, the rpm range must hold the speed.
  if (staged.band_high_hz > staged.sample_rate_hz / 2.0) return STATUS_BAD_CONFIG;
  if (staged.rpm_max / 60.0 >= staged.sample_rate_hz / 2.0) return STATUS_BAD_CONFIG;
  if (staged.shaft_rpm > 0.0 && staged.shaft_rpm / 60.0 >= staged.sample_rate_hz / 2.0) return STATUS_BAD_CONFIG;
  return STATUS_OK;
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

/** Stages the configuration in force with another sample rate, checked as a whole. */
export function stageSampleRate(rate_hz: f64): i32 {
  if (!isFinite(rate_hz) || rate_hz < RATE_HZ_MIN || rate_hz > RATE_HZ_MAX) return STATUS_BAD_CONFIG;
  staged.copyFrom(current);
  staged.sample_rate_hz = rate_hz;
  if (staged.band_high_hz > rate_hz / 2.0) return STATUS_BAD_CONFIG;
  if (staged.rpm_max / 60.0 >= rate_hz / 2.0) return STATUS_BAD_CONFIG;
  if (staged.shaft_rpm > 0.0 && staged.shaft_rpm / 60.0 >= rate_hz / 2.0) return STATUS_BAD_CONFIG;
  if (ASSERTS) assert(current.device_id_len <= DEVICE_ID_BYTES_MAX, "device id past its buffer");
  memory.copy(staged_id, base_name, <usize>current.device_id_len);
  return STATUS_OK;
}
