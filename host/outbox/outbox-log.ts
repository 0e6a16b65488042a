// The durable outbox's log on disk: its files, the header and record formats, and recovery.
// Mechanism only: what to keep and when to write is FileOutbox's (file-outbox.ts), what to
// thin when it is full is thinning.ts's.
//
// Files in the outbox's directory (one process per directory; nothing here locks it):
//   outbox.log      header, then records, appended in place
//   outbox.log.tmp  a compaction in progress; found on open it is a crash's leftover: removed
//   outbox.corrupt  the bytes cut off the log the last time recovery met a corrupt record
//
// Header (20 bytes, little endian): "IMPB", format u16 = 1, 0 u16, sequence floor u64 (the
// next sequence is never below it: the high-water mark survives compacting everything away),
// CRC-32C of the 16 bytes before it. The header is only ever written whole, into a new file
// that is fsynced and renamed over the old one, so a torn header cannot happen.
// Record: type u8, kind u8 (index in TOPIC_KINDS), sequence u64, length u32, payload, CRC-32C
// of everything before it. Types: APPEND (a message), ACK (the broker acknowledged it), DROP
// (thinned to make room), RESERVE (sequences below its number may have been handed out).
//
// Recovery on open reads the log up to the first record that is incomplete or fails its CRC
// and truncates the file there. A bad record at the very end (or followed only by zeros) is a
// torn write: expected after a kill or power cut, and the message in it was never reported
// accepted. A bad record followed by more data is corruption: everything from it on is lost.
// By default the outbox still opens (a device with a dead outbox helps no one), keeps the cut
// bytes in outbox.corrupt, says so in `recovery.damage` and reports it through `onDrop`
// (reason "corrupt_log"); with `onCorrupt: "throw"` it refuses to open instead (OutboxError
// "corrupt_log").

import { MESSAGE_BYTES_MAX } from "../../protocol/cbor.js";
import { MESSAGE_BODY_BYTES_MAX } from "../../protocol/framing.js";
import { TOPIC_KINDS } from "../../protocol/topics.js";
import { crc32c } from "../storage/crc32c.js";
import type { OutboxEntry } from "./outbox.js";

export const LOG_FILE = "outbox.log";
export const TEMPORARY_FILE = "outbox.log.tmp";
export const CORRUPT_FILE = "outbox.corrupt";

const MAGIC = [0x49, 0x4d, 0x50, 0x42]; // "IMPB"
const FORMAT_VERSION = 1;
export const HEADER_BYTES = 20;
const RECORD_HEAD_BYTES = 14;
const RECORD_CRC_BYTES = 4;
/** Bytes a record adds to its payload. */
export const RECORD_OVERHEAD_BYTES = RECORD_HEAD_BYTES + RECORD_CRC_BYTES;
/** Largest payload a record may carry, as recovery reads a log: a message's limit. */
export const RECORD_PAYLOAD_BYTES_MAX = MESSAGE_BYTES_MAX;
/** Largest message append() takes: one that still fits a payload once its sequence number is
 *  framed in (smaller than RECORD_PAYLOAD_BYTES_MAX, which stays as it was so that recovery
 *  still reads every record a log already holds). */
export const APPEND_BYTES_MAX = MESSAGE_BODY_BYTES_MAX;

export const RECORD_APPEND = 0x41;
export const RECORD_ACK = 0x4b;
export const RECORD_DROP = 0x44;
export const RECORD_RESERVE = 0x52;

const TWO_POW_32 = 0x1_0000_0000;

/** What recovery found after the last valid record: nothing, a torn write, or corruption. */
export type LogDamage = "none" | "torn_tail" | "corrupt";

export function encodeHeader(sequenceFloor: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint16(4, FORMAT_VERSION, true);
  view.setUint16(6, 0, true);
  view.setUint32(8, sequenceFloor % TWO_POW_32, true);
  view.setUint32(12, Math.floor(sequenceFloor / TWO_POW_32), true);
  view.setUint32(16, crc32c(bytes, 0, 16), true);
  return bytes;
}

/** The sequence floor of a header, or undefined when it is not a valid header. */
export function decodeHeader(bytes: Uint8Array): number | undefined {
  if (bytes.length < HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return undefined;
  if (view.getUint16(4, true) !== FORMAT_VERSION) return undefined;
  if (view.getUint32(16, true) !== crc32c(bytes, 0, 16)) return undefined;
  const floor = view.getUint32(12, true) * TWO_POW_32 + view.getUint32(8, true);
  return Number.isSafeInteger(floor) ? floor : undefined;
}

/** Writes one record at `offset` of `target`; returns the offset after it. */
export function encodeRecord(target: Uint8Array, offset: number, type: number, kind: number, sequence: number, body?: Uint8Array): number {
  const length = body?.length ?? 0;
  const view = new DataView(target.buffer, target.byteOffset + offset, RECORD_OVERHEAD_BYTES + length);
  view.setUint8(0, type);
  view.setUint8(1, kind);
  view.setUint32(2, sequence % TWO_POW_32, true);
  view.setUint32(6, Math.floor(sequence / TWO_POW_32), true);
  view.setUint32(10, length, true);
  if (body !== undefined) target.set(body, offset + RECORD_HEAD_BYTES);
  const end = offset + RECORD_HEAD_BYTES + length;
  view.setUint32(RECORD_HEAD_BYTES + length, crc32c(target, offset, end), true);
  return end + RECORD_CRC_BYTES;
}

function allZero(bytes: Uint8Array, start: number): boolean {
  for (let i = start; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

export interface Scan {
  entries: OutboxEntry[];
  /** Where the valid records end. */
  end: number;
  records: number;
  nextSequence: number;
  damage: LogDamage;
}

/** Reads the records after the header; stops at the first one that is torn or corrupt. */
export function scanLog(bytes: Uint8Array, sequenceFloor: number): Scan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pending = new Map<number, OutboxEntry>();
  let lastAppend = 0;
  let reserved = 0;
  let offset = HEADER_BYTES;
  let records = 0;
  let damage: Scan["damage"] = "none";
  while (offset < bytes.length) {
    // A bad record that ends the file (or is followed only by zeros, as a file system may
    // leave after a power cut) is a torn write; one followed by data is corruption.
    const tornOrCorrupt = (recordEnd: number): Scan["damage"] =>
      recordEnd >= bytes.length || allZero(bytes, recordEnd) ? "torn_tail" : "corrupt";
    if (bytes.length - offset < RECORD_OVERHEAD_BYTES) {
      damage = "torn_tail";
      break;
    }
    const type = view.getUint8(offset);
    const kind = view.getUint8(offset + 1);
    const sequence = view.getUint32(offset + 6, true) * TWO_POW_32 + view.getUint32(offset + 2, true);
    const length = view.getUint32(offset + 10, true);
    const knownType = type === RECORD_APPEND || type === RECORD_ACK || type === RECORD_DROP || type === RECORD_RESERVE;
    const plausible = knownType && Number.isSafeInteger(sequence) && (type === RECORD_APPEND ? kind < TOPIC_KINDS.length && length <= RECORD_PAYLOAD_BYTES_MAX : kind === 0 && length === 0);
    if (!plausible) {
      damage = tornOrCorrupt(offset + RECORD_OVERHEAD_BYTES);
      break;
    }
    const end = offset + RECORD_OVERHEAD_BYTES + length;
    if (end > bytes.length) {
      damage = "torn_tail";
      break;
    }
    if (view.getUint32(end - RECORD_CRC_BYTES, true) !== crc32c(bytes, offset, end - RECORD_CRC_BYTES)) {
      damage = tornOrCorrupt(end);
      break;
    }
    if (type === RECORD_APPEND) {
      // Sequences only rise; a checksummed record that breaks this was not written by us.
      if (sequence <= lastAppend) {
        damage = "corrupt";
        break;
      }
      const body = bytes.slice(offset + RECORD_HEAD_BYTES, end - RECORD_CRC_BYTES);
      pending.set(sequence, { sequence, kind: TOPIC_KINDS[kind], body });
      lastAppend = sequence;
    } else if (type === RECORD_RESERVE) {
      reserved = Math.max(reserved, sequence);
    } else {
      pending.delete(sequence);
    }
    records += 1;
    offset = end;
  }
  // The header's floor and RESERVE records may lie above the last append (group commit
  // reserves ahead): the next sequence is above all three, so none is ever handed out twice.
  const nextSequence = Math.max(sequenceFloor, lastAppend + 1, reserved);
  return { entries: [...pending.values()], end: offset, records, nextSequence, damage };
}

export function recordBytes(entry: OutboxEntry): number {
  return RECORD_OVERHEAD_BYTES + entry.body.length;
}
