// The owner's data policy and the command counter, kept in persistent storage. The policy is
// set once, at provisioning (the first configuration that carries an "owner" map), and after
// that only by a "policy" command that presents the owner's token; it decides what may leave
// the device (raw waveforms at all; full or summary telemetry). A provisioned device refuses
// every command whose counter ("seq") is not above the last one it accepted, so a recorded
// command cannot be replayed, not even across a reboot.

import { host_storage_read, host_storage_write } from "./host";
import { readHead, readStringContent, readText, readChoice, textIs, head_major, head_value, text_ptr, text_len } from "./cbor";
import { STATUS_OK, STATUS_STORAGE, STATUS_REPLAYED } from "./status";
import { ASSERTS } from "./assert";
import { T } from "./names";

export const WAVEFORM_ON_REQUEST: u8 = 0;
export const WAVEFORM_NEVER: u8 = 1;
export const DETAIL_FULL: u8 = 0;
export const DETAIL_SUMMARY: u8 = 1;
export const TOKEN_BYTES_MIN: i32 = 16;
export const TOKEN_BYTES_MAX: i32 = 32;

const STORAGE_KEY_POLICY: i32 = 2;
const STORAGE_KEY_COMMAND_COUNTER: i32 = 3;
const POLICY_MAGIC: u8 = 0x50; // 'P'
const POLICY_VERSION: u8 = 1;
const POLICY_HEADER_BYTES: i32 = 5; // magic, version, waveform, detail, token length
const POLICY_BYTES_MAX: i32 = POLICY_HEADER_BYTES + TOKEN_BYTES_MAX;
const COUNTER_BYTES: i32 = 8;

const record: usize = memory.data(POLICY_BYTES_MAX);
const counter_record: usize = memory.data(COUNTER_BYTES);

// The policy record's header is its magic, version, waveform, detail and token length, a byte
// each, and its token length a byte; the counter record one u64.
if (POLICY_HEADER_BYTES != 5) ERROR("the policy record's header is five bytes");
if (TOKEN_BYTES_MAX > 255) ERROR("a token's length must fit its byte in the policy record");
if (TOKEN_BYTES_MIN < 1 || TOKEN_BYTES_MIN > TOKEN_BYTES_MAX) ERROR("token lengths out of order");
if (COUNTER_BYTES != <i32>sizeof<u64>()) ERROR("the command counter record is one u64");

export let provisioned: bool = false;
export let waveform: u8 = WAVEFORM_ON_REQUEST;
export let detail: u8 = DETAIL_FULL;
let token_len: i32 = 0;
let last_counter: u64 = 0;

/** Reads the policy and the counter from storage; a missing or damaged record: not provisioned. */
export function restore(): void {
  const read = host_storage_read(STORAGE_KEY_POLICY, record, POLICY_BYTES_MAX);
  provisioned = false;
  if (read >= POLICY_HEADER_BYTES && load<u8>(record) == POLICY_MAGIC && load<u8>(record, 1) == POLICY_VERSION) {
    const length = <i32>load<u8>(record, 4);
    const w = load<u8>(record, 2);
    const d = load<u8>(record, 3);
    if (length >= TOKEN_BYTES_MIN && length <= TOKEN_BYTES_MAX && read == POLICY_HEADER_BYTES + length && w <= WAVEFORM_NEVER && d <= DETAIL_SUMMARY) {
      provisioned = true;
      waveform = w;
      detail = d;
      token_len = length;
    }
    if (ASSERTS) assert(!provisioned || read <= POLICY_BYTES_MAX, "policy record longer than its buffer");
  }
  last_counter = host_storage_read(STORAGE_KEY_COMMAND_COUNTER, counter_record, COUNTER_BYTES) == COUNTER_BYTES
    ? load<u64>(counter_record) : 0;
}

function save(): i32 {
  // What is written must read back as a policy (restore()'s checks).
  if (ASSERTS) assert(token_len >= TOKEN_BYTES_MIN && token_len <= TOKEN_BYTES_MAX, "policy record with a bad token length");
  if (ASSERTS) assert(waveform <= WAVEFORM_NEVER && detail <= DETAIL_SUMMARY, "policy record with a bad policy");
  store<u8>(record, POLICY_MAGIC);
  store<u8>(record, POLICY_VERSION, 1);
  store<u8>(record, waveform, 2);
  store<u8>(record, detail, 3);
  store<u8>(record, <u8>token_len, 4);
  return host_storage_write(STORAGE_KEY_POLICY, record, POLICY_HEADER_BYTES + token_len) == 0 ? STATUS_OK : STATUS_STORAGE;
}

/** Provisioning: the first policy a device is given. False when it already has one. */
export function provision(token_ptr: usize, length: i32, new_waveform: u8, new_detail: u8): bool {
  if (provisioned) return false;
  if (ASSERTS) assert(length >= TOKEN_BYTES_MIN && length <= TOKEN_BYTES_MAX, "owner token past the policy record");
  memory.copy(record + <usize>POLICY_HEADER_BYTES, token_ptr, <usize>length);
  token_len = length;
  waveform = new_waveform;
  detail = new_detail;
  provisioned = save() == STATUS_OK;
  return provisioned;
}

// A policy map as a configuration's "owner" and a "policy" command's args carry it: {"token":
// bstr, ?"waveform": "on_request" | "never", ?"detail": "full" | "summary"}.
const MAP_KEYS_MAX: u64 = 3;
export const MAP_READ: i32 = 0;
export const MAP_UNREADABLE: i32 = 1; // no head where the map should start
export const MAP_WRONG: i32 = 2; // not such a map
/** The map last read: its token (length 0: none), and its waveform and detail (the defaults
 *  the reader was given where it has none). */
export let map_token_ptr: usize = 0;
export let map_token_len: i32 = 0;
export let map_waveform: u8 = 0;
export let map_detail: u8 = 0;

/** Reads a policy map into map_*: MAP_READ, or why not. `bounded`: a token of a length no
 *  token has (TOKEN_BYTES_MIN..MAX) is wrong at once (a configuration's), else it is taken and
 *  matches no owner's (a command's). */
export function readMap(bounded: bool, waveform_default: u8, detail_default: u8): i32 {
  if (!readHead()) return MAP_UNREADABLE;
  if (head_major != 5 || head_value > MAP_KEYS_MAX) return MAP_WRONG;
  const entries = <i32>head_value;
  map_token_len = 0;
  map_waveform = waveform_default;
  map_detail = detail_default;
  for (let i = 0; i < entries; i++) {
    if (!readText()) return MAP_WRONG;
    if (textIs(T.token)) {
      if (!readHead() || head_major != 2 || !readStringContent()) return MAP_WRONG;
      if (bounded && (text_len < TOKEN_BYTES_MIN || text_len > TOKEN_BYTES_MAX)) return MAP_WRONG;
      map_token_ptr = text_ptr;
      map_token_len = text_len;
    } else if (textIs(T.waveform)) {
      const choice = readChoice(T.on_request, T.never);
      if (choice < 0) return MAP_WRONG;
      map_waveform = <u8>choice;
    } else if (textIs(T.detail)) {
      const choice = readChoice(T.full, T.summary);
      if (choice < 0) return MAP_WRONG;
      map_detail = <u8>choice;
    } else {
      return MAP_WRONG;
    }
  }
  return MAP_READ;
}
if (WAVEFORM_ON_REQUEST != 0 || WAVEFORM_NEVER != 1 || DETAIL_FULL != 0 || DETAIL_SUMMARY != 1) ERROR("a policy's choice is 0 for its first text, 1 for its second");

/** Compares a presented token with the owner's, in time independent of where they differ. */
export function tokenMatches(ptr: usize, length: i32): bool {
  if (!provisioned || length != token_len) return false;
  let difference: u32 = 0;
  for (let i = 0; i < length; i++) {
    difference |= <u32>(load<u8>(ptr + <usize>i) ^ load<u8>(record + <usize>(POLICY_HEADER_BYTES + i)));
  }
  return difference == 0;
}

/** The owner changes the policy (the token was checked by the caller). */
export function change(new_waveform: u8, new_detail: u8): i32 {
  waveform = new_waveform;
  detail = new_detail;
  return save();
}

/** Accepts a command counter above the last one, storing it before the command runs:
 *  STATUS_OK, STATUS_REPLAYED when it is not above, STATUS_STORAGE when it could not be stored
 *  (the command does not run: unstored, the counter would not stop a replay after a reboot). */
export function acceptCounter(value: u64): i32 {
  if (value <= last_counter) return STATUS_REPLAYED;
  store<u64>(counter_record, value);
  if (host_storage_write(STORAGE_KEY_COMMAND_COUNTER, counter_record, COUNTER_BYTES) != 0) return STATUS_STORAGE;
  last_counter = value;
  return STATUS_OK;
}
