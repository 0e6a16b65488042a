// ASCII text out of the firmware without allocating: the firmware's own text (names.ts) is
// UTF-8 already and goes to the host by pointer and length; a line with a number, and the
// runtime's string literals (panic.ts), are copied into a fixed scratch buffer first.

import { host_log, host_clock_ms } from "./host";
import { ASSERTS } from "./assert";
import { Text, textPtr, textLen } from "./names";

export const LOG_DEBUG: i32 = 0;
export const LOG_INFO: i32 = 1;
export const LOG_WARN: i32 = 2;
export const LOG_ERROR: i32 = 3;

const TEXT_BYTES_MAX: i32 = 256;
const scratch: usize = memory.data(TEXT_BYTES_MAX);

/** Appends `text` at byte `at` of `buffer` (non-ASCII becomes '?'); returns the new length. */
export function appendAscii(buffer: usize, capacity: i32, at: i32, text: string): i32 {
  const n = text.length;
  for (let i = 0; i < n && at < capacity; i++) {
    const unit = <u32>text.charCodeAt(i);
    store<u8>(buffer + <usize>at, unit < 0x80 ? <u8>unit : 0x3f);
    at += 1;
  }
  return at;
}

/** Appends the decimal digits of `value`; returns the new length. */
export function appendDecimal(buffer: usize, capacity: i32, at: i32, value: i64): i32 {
  if (value < 0) {
    if (at < capacity) store<u8>(buffer + <usize>at, 0x2d);
    at += 1;
    value = -value;
  }
  let digits: i32 = 1;
  for (let probe = value / 10; probe > 0 && digits < 19; probe /= 10) digits += 1;
  for (let i = digits - 1; i >= 0; i--) {
    if (at + i < capacity) store<u8>(buffer + <usize>(at + i), <u8>(0x30 + <i32>(value % 10)));
    value /= 10;
  }
  return min(at + digits, capacity);
}

export function log(level: i32, text: Text): void {
  host_log(level, textPtr(text), textLen(text));
}

export function logNumber(level: i32, text: Text, value: i64): void {
  const at = min(textLen(text), TEXT_BYTES_MAX);
  memory.copy(scratch, textPtr(text), <usize>at);
  host_log(level, scratch, appendDecimal(scratch, TEXT_BYTES_MAX, at, value));
}

/** Warnings that hostile or broken input can trigger, each at most once per interval, so a
 *  flood of bad input cannot become a flood of log lines. */
export const WARN_BAD_SAMPLES: i32 = 0;
export const WARN_DISCONTINUITY: i32 = 1;
export const WARN_STALE_WINDOW: i32 = 2;
export const WARN_BAD_COMMAND: i32 = 3;
const WARN_SLOTS: i32 = 4;
if (WARN_BAD_COMMAND >= WARN_SLOTS) ERROR("a warning past the slots");
const WARN_INTERVAL_MS: i64 = 1000;
const warned_at_ms: usize = memory.data(WARN_SLOTS << 3);
const warned_once: usize = memory.data(WARN_SLOTS);

/** Logs `text` unless the same warning was logged less than WARN_INTERVAL_MS ago; true when logged. */
export function warnThrottled(slot: i32, text: Text): bool {
  if (ASSERTS) assert(slot >= 0 && slot < WARN_SLOTS, "warning slot out of range");
  const now_ms = host_clock_ms();
  const at = warned_at_ms + (<usize>slot << 3);
  const once = warned_once + <usize>slot;
  if (load<u8>(once) != 0 && now_ms - load<i64>(at) < WARN_INTERVAL_MS) return false;
  store<u8>(once, 1);
  store<i64>(at, now_ms);
  log(LOG_WARN, text);
  return true;
}
