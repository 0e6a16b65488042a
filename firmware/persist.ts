// The running state in storage: one record (key 9) that holds, each in its own section, the
// baseline, the trend, the advice, the temperature baseline and the degradation's history.
// The state changes every window but lives in RAM (each section is its module's working copy,
// laid out at a fixed place in this record), and the record is written whole: at most once an
// hour by the firmware's clock (the Unix ms of the windows and ticks), at once when the alarm
// level changes or a command asks (maintenance, shutdown, reboot), and only when something
// changed. An unplanned power cut loses at most the last hour; the host's write is atomic, so
// the record is the old one or the new one, never a mixture. ABI.md, "Storage", has the flash
// budget this buys. Before this record, each section was a record of its own (keys 4 to 8):
// those are read once, when record 9 is absent, and never written again.

import { host_storage_read, host_storage_write } from "./host";
import { log, LOG_WARN } from "./text";
import { STATUS_OK, STATUS_STORAGE } from "./status";
import { ASSERTS } from "./assert";
import { Text, T } from "./names";

export const STORAGE_KEY_STATE: i32 = 9;

export const SECTION_BASELINE: i32 = 0;
export const SECTION_TREND: i32 = 1;
export const SECTION_ADVICE: i32 = 2;
export const SECTION_TEMPERATURE: i32 = 3;
/** Last: the only section whose length varies, so that the record ends where it ends. */
export const SECTION_HISTORY: i32 = 4;
const SECTIONS: i32 = 5;

/** Each section's largest length (its module checks its own layout against it). */
export const BASELINE_BYTES: i32 = 24;
export const TREND_BYTES: i32 = 1144;
export const ADVICE_BYTES: i32 = 44;
export const TEMPERATURE_BYTES: i32 = 16;
export const HISTORY_BYTES: i32 = 792;

/** Header: magic, each section's length (u16, 0: absent), a pad (u16), and when the record
 *  was written (i64 Unix ms, by the firmware's clock). */
const MAGIC: u32 = 0x31415453; // "STA1"
const LENGTHS_AT: i32 = 4;
const WRITTEN_AT: i32 = 16;
const HEADER_BYTES: i32 = 24;
const BASELINE_OFFSET: i32 = HEADER_BYTES;
const TREND_OFFSET: i32 = BASELINE_OFFSET + BASELINE_BYTES;
const ADVICE_OFFSET: i32 = TREND_OFFSET + TREND_BYTES;
const TEMPERATURE_OFFSET: i32 = ADVICE_OFFSET + ADVICE_BYTES;
const HISTORY_OFFSET: i32 = TEMPERATURE_OFFSET + TEMPERATURE_BYTES;
/** The record's largest length: 2,044 bytes; without a history, 1,252. */
export const STATE_BYTES_MAX: i32 = HISTORY_OFFSET + HISTORY_BYTES;

/** Where the record was kept before it was one (read once when record 9 is absent). */
const LEGACY_KEYS: usize = memory.data<u8>([4, 5, 7, 8, 6]);

/** Between two writes of the record in steady state; after a write that failed, the next try. */
const WRITE_INTERVAL_MS: i64 = 3_600_000;
const RETRY_MS: i64 = 60_000;

if (LENGTHS_AT + SECTIONS * 2 + 2 != WRITTEN_AT || WRITTEN_AT + 8 != HEADER_BYTES) ERROR("the state record's header");
if (STATE_BYTES_MAX != 2044) ERROR("the state record is not the 2,044 bytes ABI.md states");
if (STATE_BYTES_MAX > 0xffff) ERROR("a section's length must fit its u16");

const record: usize = memory.data(STATE_BYTES_MAX);

/** Where each section lives: its module's working copy. */
export const baseline_section: usize = record + <usize>BASELINE_OFFSET;
export const trend_section: usize = record + <usize>TREND_OFFSET;
export const advice_section: usize = record + <usize>ADVICE_OFFSET;
export const temperature_section: usize = record + <usize>TEMPERATURE_OFFSET;
export const history_section: usize = record + <usize>HISTORY_OFFSET;

/** Whether the sections came from record 9 (else from the keys before it). */
let from_record: bool = false;
/** Something changed since the record was last written. */
let dirty: bool = false;
/** When the next write is due, once there is one; before any, the first change writes. */
let due_known: bool = false;
let due_ms: i64 = 0;
/** The last write, and the latest time the firmware was told (a window's or a tick's). */
let written_ms: i64 = 0;
let now_ms: i64 = 0;
/** Writes that failed in a row; the first of a run is reported by the caller. */
export let failures: i32 = 0;

function lengthAt(section: i32): usize { return record + <usize>(LENGTHS_AT + (section << 1)); }

/** Each section's offset in the record, then each one's largest length. */
const PLACES: usize = memory.data<u16>([
  <u16>BASELINE_OFFSET, <u16>TREND_OFFSET, <u16>ADVICE_OFFSET, <u16>TEMPERATURE_OFFSET, <u16>HISTORY_OFFSET,
  <u16>BASELINE_BYTES, <u16>TREND_BYTES, <u16>ADVICE_BYTES, <u16>TEMPERATURE_BYTES, <u16>HISTORY_BYTES,
]);
if (SECTION_BASELINE != 0 || SECTION_TREND != 1 || SECTION_ADVICE != 2 || SECTION_TEMPERATURE != 3 || SECTION_HISTORY != 4) ERROR("PLACES is in the order of the sections");

function offsetOf(section: i32): i32 { return <i32>load<u16>(PLACES + (<usize>section << 1)); }
function capacityOf(section: i32): i32 { return <i32>load<u16>(PLACES + (<usize>section << 1), SECTIONS << 1); }

/** Whether `read` bytes of record 9 are a record this firmware wrote: its magic, each
 *  section's length within its place, and its length where the history ends. */
function recordValid(read: i32): bool {
  if (read < HISTORY_OFFSET || load<u32>(record) != MAGIC) return false;
  for (let section = 0; section < SECTIONS; section++) {
    if (<i32>load<u16>(lengthAt(section)) > capacityOf(section)) return false;
  }
  return read == HISTORY_OFFSET + <i32>load<u16>(lengthAt(SECTION_HISTORY));
}

/** Reads record 9 at boot, before the sections are restored. A record that is there but not
 *  readable (damaged, or a read error) is a fresh start; an absent one, the keys before it. */
export function restore(): void {
  dirty = false;
  failures = 0;
  due_known = false;
  const read = host_storage_read(STORAGE_KEY_STATE, record, STATE_BYTES_MAX);
  if (ASSERTS) assert(read <= STATE_BYTES_MAX, "host read the state record past its buffer");
  from_record = read != -1;
  if (!from_record) {
    for (let section = 0; section < SECTIONS; section++) store<u16>(lengthAt(section), 0);
    return;
  }
  if (!recordValid(read)) {
    log(LOG_WARN, T.log_state_unreadable);
    for (let section = 0; section < SECTIONS; section++) store<u16>(lengthAt(section), 0);
    return;
  }
  written_ms = load<i64>(record, WRITTEN_AT);
  now_ms = written_ms;
  due_ms = written_ms + WRITE_INTERVAL_MS;
  due_known = true;
}

/** A section as host.storage_read would give it: its length, or -1 when absent. From record 9,
 *  or read into its place from its key of before (and then kept in record 9 as it was read). */
export function readSection(section: i32): i32 {
  if (ASSERTS) assert(section >= 0 && section < SECTIONS, "no such section");
  const capacity = capacityOf(section);
  if (from_record) {
    const length = <i32>load<u16>(lengthAt(section));
    return length > 0 ? length : -1;
  }
  const read = host_storage_read(<i32>load<u8>(LEGACY_KEYS + <usize>section), record + <usize>offsetOf(section), capacity);
  if (ASSERTS) assert(read <= capacity, "host read a section past its place");
  store<u16>(lengthAt(section), <u16>(read > 0 ? read : 0));
  return read;
}

/** A section now holds `length` bytes of new state (its module wrote them in place). */
export function changed(section: i32, length: i32): void {
  if (ASSERTS) assert(section >= 0 && section < SECTIONS && length > 0 && length <= capacityOf(section), "section length out of its place");
  store<u16>(lengthAt(section), <u16>length);
  dirty = true;
}

/** Writes the record now if anything changed since it was last written; STATUS_OK, or
 *  STATUS_STORAGE when the host could not write it (it is tried again a minute later). */
export function saveNow(): i32 {
  if (!dirty) return STATUS_OK;
  store<u32>(record, MAGIC);
  store<u16>(record + <usize>(LENGTHS_AT + SECTIONS * 2), 0);
  store<i64>(record, now_ms, WRITTEN_AT);
  const length = HISTORY_OFFSET + <i32>load<u16>(lengthAt(SECTION_HISTORY));
  if (ASSERTS) assert(recordValid(length), "the state record written would not read back");
  due_known = true;
  if (host_storage_write(STORAGE_KEY_STATE, record, length) != 0) {
    failures = failures < 0x7fffffff ? failures + 1 : failures;
    due_ms = now_ms + RETRY_MS;
    log(LOG_WARN, T.log_state_unwritten);
    return STATUS_STORAGE;
  }
  failures = 0;
  dirty = false;
  written_ms = now_ms;
  due_ms = now_ms + WRITE_INTERVAL_MS;
  return STATUS_OK;
}

/** The firmware's clock says `time_ms` (a window's start, or a tick's now): writes the record
 *  when it is due, or at once when `at_once` (the alarm level changed). A clock set back by more
 *  than an hour before the last write makes it due too, so that a clock once wrong does not stop
 *  the writes; less (a tick's clock a little behind the samples' timestamps) changes nothing. */
export function saveIfDue(time_ms: i64, at_once: bool): i32 {
  now_ms = time_ms;
  if (!dirty) return STATUS_OK;
  if (!at_once && due_known && time_ms < due_ms && time_ms >= written_ms - WRITE_INTERVAL_MS) return STATUS_OK;
  return saveNow();
}
