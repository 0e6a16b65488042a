// The device configuration: decoded from a CBOR map with text keys, checked whole, and only
// then applied, so a bad configuration changes nothing.

import {
  readBegin, readHead, readText, readRemaining, headNumber, textIs, read_malformed, head_major, head_value, text_ptr, text_len,
} from "./cbor";
import { STATUS_OK, STATUS_BAD_CBOR, STATUS_BAD_CONFIG } from "./status";

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

/** The configuration in force. */
export class Config {
  device_id_len: i32 = 0;
  sample_rate_hz: f64 = 0.0;
  window_samples: i32 = 0;
  units: i32 = UNITS_G;
  message_bytes_max: i32 = MESSAGE_BYTES_DEFAULT;
  shaft_rpm: f64 = 0.0; // 0: unknown
}

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

function stageEntry(): i32 {
  if (!readText()) return STATUS_BAD_CONFIG;
  if (textIs("device")) return stageDeviceId();
  if (textIs("rate_hz")) {
    staged.sample_rate_hz = readFinite(RATE_HZ_MIN, RATE_HZ_MAX);
    return isNaN(staged.sample_rate_hz) ? STATUS_BAD_CONFIG : STATUS_OK;
  }
  if (textIs("window")) {
    staged.window_samples = readInteger(WINDOW_SAMPLES_MIN, WINDOW_SAMPLES_MAX);
    return staged.window_samples < 0 ? STATUS_BAD_CONFIG : STATUS_OK;
  }
  if (textIs("max_message")) {
    staged.message_bytes_max = readInteger(MESSAGE_BYTES_MIN, MESSAGE_BYTES_MAX);
    return staged.message_bytes_max < 0 ? STATUS_BAD_CONFIG : STATUS_OK;
  }
  if (textIs("rpm")) {
    staged.shaft_rpm = readFinite(0.0, SHAFT_RPM_MAX);
    return isNaN(staged.shaft_rpm) ? STATUS_BAD_CONFIG : STATUS_OK;
  }
  if (textIs("units")) {
    if (!readText()) return STATUS_BAD_CONFIG;
    if (textIs("g")) staged.units = UNITS_G;
    else if (textIs("m/s2")) staged.units = UNITS_M_S2;
    else return STATUS_BAD_CONFIG;
    return STATUS_OK;
  }
  return STATUS_BAD_CONFIG; // an unknown key is a mistake, not something to ignore
}

/** Decodes and checks a configuration into the staging area. The one in force is untouched. */
export function stage(ptr: usize, len: i32): i32 {
  staged.device_id_len = 0;
  staged.sample_rate_hz = 0.0;
  staged.window_samples = 0;
  staged.units = UNITS_G;
  staged.message_bytes_max = MESSAGE_BYTES_DEFAULT;
  staged.shaft_rpm = 0.0;

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
  return STATUS_OK;
}

export function stagedWindowSamples(): i32 { return staged.window_samples; }
export function stagedMessageBytes(): i32 { return staged.message_bytes_max; }

/** Makes the staged configuration the one in force. */
export function commit(): void {
  memory.copy(base_name, staged_id, <usize>staged.device_id_len);
  store<u8>(base_name + <usize>staged.device_id_len, 0x3a);
  current.device_id_len = staged.device_id_len;
  current.sample_rate_hz = staged.sample_rate_hz;
  current.window_samples = staged.window_samples;
  current.units = staged.units;
  current.message_bytes_max = staged.message_bytes_max;
  current.shaft_rpm = staged.shaft_rpm;
}
