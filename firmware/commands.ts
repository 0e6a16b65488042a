// Commands from the host (ABI.md, "Commands"): a CBOR map {"id", "cmd", ?"args", ?"seq"} read
// from the inbox, checked (a provisioned device takes only a counter above the last one), run,
// and answered with a reply {"id", "ok", ...}.

import * as config from "./config";
import * as policy from "./policy";
import * as trend from "./trend";
import * as advice from "./advice";
import * as sensors from "./sensors";
import * as persist from "./persist";
import {
  writeBegin, writeMap, writeTextAscii, writeKeyInt, writeBool, writeNumber, writeByteString, headNumber,
  readBegin, readHead, readText, readStringContent, skipContent, readPosition, textIs, read_malformed,
  head_major, head_value, text_ptr, text_len, bytesEqual,
} from "./cbor";
import { inbox, outbox, outPtr, applyStaged, last_window, last_window_start_ms, last_window_valid } from "./device";
import { nameOf, messageBegin, publish, publishError, publishPolicy, publishAlarm, publishMaintenance, reportStorage } from "./messages";
import { selfTest } from "./self-test";
import { warnThrottled, WARN_BAD_COMMAND } from "./text";
import {
  STATUS_OK, STATUS_BAD_ARGUMENT, STATUS_BAD_CBOR, STATUS_UNKNOWN_COMMAND, STATUS_NO_DATA,
  STATUS_REBOOT_REQUESTED, STATUS_FORBIDDEN, STATUS_REPLAYED, KIND_REPLY, KIND_WAVEFORM,
} from "./status";
import { ASSERTS, holds } from "./assert";
import { Text, T } from "./names";

const COMMAND_KEYS_MAX: u64 = 8;
/** Seconds between measurements, as last set by a sampling command (0: the host's choice). */
let interval_s: f64 = 0.0;

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
    if (textIs(T.id)) {
      if (!readHead()) return STATUS_BAD_CBOR;
      if (head_major != 0 || head_value > 0xffffffff) return STATUS_BAD_ARGUMENT;
      command_id = <i64>head_value;
    } else if (textIs(T.seq)) {
      if (!readHead()) return STATUS_BAD_CBOR;
      if (head_major != 0) return STATUS_BAD_ARGUMENT;
      command_seq = head_value;
      command_has_seq = true;
    } else if (textIs(T.cmd)) {
      if (!readText()) return STATUS_BAD_ARGUMENT;
      command_name_ptr = text_ptr;
      command_name_len = text_len;
    } else if (textIs(T.args)) {
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

function nameEquals(name: Text): bool {
  return bytesEqual(command_name_ptr, command_name_len, name);
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
// A part must hold samples beside its header, in the smallest message and the smallest part asked for.
if (WAVEFORM_BYTES_MIN <= WAVEFORM_HEADER_BYTES || config.MESSAGE_BYTES_MIN <= WAVEFORM_HEADER_BYTES) ERROR("a waveform part holds no samples");

let arg_max_bytes: i32 = 0;
let arg_rate_hz: f64 = 0.0;
let arg_interval_s: f64 = 0.0;
let arg_windows: i32 = 0;

/** Reads the args map of "waveform" and "sampling": {?"max_bytes", ?"rate_hz", ?"interval_s",
 *  ?"windows"}. */
function parseArgs(): i32 {
  arg_max_bytes = 0;
  arg_rate_hz = 0.0;
  arg_interval_s = 0.0;
  arg_windows = 0;
  if (command_args_len == 0) return STATUS_OK;
  readBegin(command_args_ptr, command_args_len);
  if (!readHead()) return STATUS_BAD_CBOR;
  if (head_major != 5 || head_value > ARGS_KEYS_MAX) return STATUS_BAD_ARGUMENT;
  const entries = <i32>head_value;
  for (let i = 0; i < entries; i++) {
    if (!readText()) return STATUS_BAD_ARGUMENT;
    if (textIs(T.max_bytes)) {
      if (!readHead() || head_major != 0 || head_value < <u64>WAVEFORM_BYTES_MIN || head_value > 0xffff) return STATUS_BAD_ARGUMENT;
      arg_max_bytes = <i32>head_value;
    } else if (textIs(T.rate_hz)) {
      if (!readHead()) return STATUS_BAD_CBOR;
      arg_rate_hz = headNumber();
      if (!isFinite(arg_rate_hz) || arg_rate_hz <= 0.0) return STATUS_BAD_ARGUMENT;
    } else if (textIs(T.interval_s)) {
      if (!readHead()) return STATUS_BAD_CBOR;
      arg_interval_s = headNumber();
      if (!isFinite(arg_interval_s) || arg_interval_s < 1.0 || arg_interval_s > INTERVAL_S_MAX) return STATUS_BAD_ARGUMENT;
    } else if (textIs(T.windows)) {
      if (!readHead() || head_major != 0 || head_value < 1 || head_value > <u64>config.ACQUISITION_WINDOWS_MAX) return STATUS_BAD_ARGUMENT;
      arg_windows = <i32>head_value;
    } else {
      return STATUS_BAD_ARGUMENT;
    }
  }
  return STATUS_OK;
}

/** "sampling": a new sample rate, measurement interval and/or windows a measurement; the reply
 *  tells the host what it must now sample. */
function runSampling(): i32 {
  const parsed = parseArgs();
  if (parsed != STATUS_OK) return parsed;
  if (arg_rate_hz == 0.0 && arg_interval_s == 0.0 && arg_windows == 0) return STATUS_BAD_ARGUMENT;
  if (arg_rate_hz != 0.0 || arg_windows != 0) {
    let status = config.stageSampling(arg_rate_hz, arg_windows);
    if (status == STATUS_OK) status = applyStaged();
    if (status != STATUS_OK) {
      publishError(status, T.config);
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
    if (ASSERTS) assert(limit <= outbox.length && holds(last_window, first, count), "waveform part past its buffers");
    writeBegin(outPtr(), limit);
    writeMap(8);
    writeKeyInt(T.id, command_id);
    writeKeyInt(T.part, <i64>part);
    writeKeyInt(T.parts, <i64>parts);
    writeKeyInt(T.t, last_window_start_ms);
    writeTextAscii(T.rate_hz);
    writeNumber(config.current.sample_rate_hz);
    writeTextAscii(T.units);
    writeTextAscii(config.current.units == config.UNITS_G ? T.g : T.m_s2);
    writeKeyInt(T.first, <i64>first);
    writeTextAscii(T.samples);
    writeByteString(changetype<usize>(last_window) + (<usize>first << 2), count << 2);
    const status = publish(KIND_WAVEFORM);
    if (status != STATUS_OK) return status;
  }
  reply_kind = REPLY_WAVEFORM;
  reply_parts = parts;
  return STATUS_OK;
}

/** "policy": {"token": bstr, ?"waveform", ?"detail"} (policy.ts readMap): the owner changes
 *  what may leave. */
function runPolicy(): i32 {
  if (!policy.provisioned) return STATUS_FORBIDDEN;
  if (command_args_len == 0) return STATUS_BAD_ARGUMENT;
  readBegin(command_args_ptr, command_args_len);
  const read = policy.readMap(false, policy.waveform, policy.detail);
  if (read != policy.MAP_READ) return read == policy.MAP_UNREADABLE ? STATUS_BAD_CBOR : STATUS_BAD_ARGUMENT;
  if (!policy.tokenMatches(policy.map_token_ptr, policy.map_token_len)) {
    publishError(STATUS_FORBIDDEN, T.policy);
    return STATUS_FORBIDDEN;
  }
  const stored = policy.change(policy.map_waveform, policy.map_detail);
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
  if (!readText() || !textIs(T.action)) return STATUS_BAD_ARGUMENT;
  if (!readText()) return STATUS_BAD_ARGUMENT;
  let done = -1;
  for (let a = 1; a < advice.ACTIONS && done < 0; a++) if (textIs(nameOf(advice.ACTION_NAMES, a))) done = a;
  if (done < 0) return STATUS_BAD_ARGUMENT;
  trend.reset();
  advice.reset();
  sensors.reset();
  // Written at once: a reboot must not bring back the baseline of the pump before maintenance.
  reportStorage(persist.saveNow());
  if (trend.level_changed) publishAlarm();
  return publishMaintenance(done);
}

/** "shutdown": the host is about to cut the power on purpose; the running state is written now
 *  (if anything changed since it last was), so the next boot loses nothing. The firmware runs
 *  on as before: a shutdown that does not come costs nothing. */
function runShutdown(): i32 {
  if (command_args_len != 0) return STATUS_BAD_ARGUMENT;
  const status = persist.saveNow();
  reportStorage(status);
  return status;
}

function runCommand(): i32 {
  reply_kind = REPLY_PLAIN;
  if (nameEquals(T.maintenance)) return runMaintenance();
  if (nameEquals(T.policy)) return runPolicy();
  if (nameEquals(T.config)) {
    if (command_args_len == 0) return STATUS_BAD_ARGUMENT;
    let status = config.stage(command_args_ptr, command_args_len);
    // Only the owner's token changes a provisioned policy, never a configuration.
    if (status == STATUS_OK && config.owner_present && policy.provisioned) status = STATUS_FORBIDDEN;
    if (status == STATUS_OK) status = applyStaged();
    if (status != STATUS_OK) publishError(status, T.config);
    return status;
  }
  if (nameEquals(T.self_test)) return selfTest();
  if (nameEquals(T.sampling)) return runSampling();
  if (nameEquals(T.waveform)) return runWaveform();
  if (nameEquals(T.shutdown)) return runShutdown();
  if (nameEquals(T.reboot)) {
    if (command_args_len != 0) return STATUS_BAD_ARGUMENT;
    reportStorage(persist.saveNow()); // an orderly restart loses nothing either
    return STATUS_REBOOT_REQUESTED;
  }
  return STATUS_UNKNOWN_COMMAND;
}

function reply(id: i64, status: i32): i32 {
  const ok = status >= STATUS_OK;
  const kind = ok ? reply_kind : REPLY_PLAIN;
  messageBegin();
  writeMap(!ok ? 3 : kind == REPLY_SAMPLING ? 6 : kind == REPLY_WAVEFORM ? 3 : 2);
  writeKeyInt(T.id, id);
  writeTextAscii(T.ok);
  writeBool(ok);
  if (!ok) {
    writeKeyInt(T.error, <i64>status);
  } else if (kind == REPLY_SAMPLING) {
    writeTextAscii(T.rate_hz);
    writeNumber(config.current.sample_rate_hz);
    writeKeyInt(T.window, <i64>config.current.window_samples);
    writeTextAscii(T.interval_s);
    writeNumber(interval_s);
    writeKeyInt(T.windows, <i64>config.current.acquisition_windows);
  } else if (kind == REPLY_WAVEFORM) {
    writeKeyInt(T.parts, <i64>reply_parts);
  }
  return publish(KIND_REPLY);
}

/** Handles the command of `len` bytes (checked by the caller) in the inbox. Every command with a
 *  readable id gets a reply; the return value is the command's own status. */
export function handleCommand(len: i32): i32 {
  let status = parseCommand(len);
  if (status != STATUS_OK && read_malformed) status = STATUS_BAD_CBOR;
  // A command that cannot be read is refused with an error event too (at most one a second).
  if (status != STATUS_OK && warnThrottled(WARN_BAD_COMMAND, T.log_bad_command)) publishError(status, T.command);
  // A provisioned device runs a command only with a counter above the last one it accepted;
  // but "shutdown", which the host may send itself before it cuts the power, and which changes
  // nothing but when the state is written (at most once a window: only what changed is written).
  if (status == STATUS_OK && policy.provisioned && !nameEquals(T.shutdown)) {
    status = command_has_seq ? policy.acceptCounter(command_seq) : STATUS_REPLAYED;
    if (status == STATUS_REPLAYED) publishError(STATUS_REPLAYED, T.command);
  }
  if (status == STATUS_OK) status = runCommand();
  if (command_id >= 0) reply(command_id, status);
  else warnThrottled(WARN_BAD_COMMAND, T.log_command_without_id);
  return status;
}
