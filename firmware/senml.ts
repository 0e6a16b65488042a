// SenML (RFC 8428) packs in their CBOR form: integer labels, base name and base time on the
// first record, SenML's registered units.

import {
  writeArray, writeMap, writeInt, writeTextAscii, writeTextJoined, writeTextBytes, writeF32, writeNumber,
} from "./cbor";
import { ASSERTS } from "./assert";
import { Text, T } from "./names";

const LABEL_BASE_NAME: i64 = -2;
const LABEL_BASE_TIME: i64 = -3;
const LABEL_NAME: i64 = 0;
const LABEL_UNIT: i64 = 1;
const LABEL_VALUE: i64 = 2;
const LABEL_STRING_VALUE: i64 = 3;

/** The records a pack's header promised and those written since (for the assertion at its end). */
let pack_promised: i32 = 0;
let pack_written: i32 = 0;

/** Starts a pack of `records` records. */
export function packBegin(records: i32): void {
  if (ASSERTS) {
    pack_promised = records;
    pack_written = 0;
  }
  writeArray(records);
}

/** Ends the pack: it must hold the records its header promised, or no SenML reader reads it. */
export function packEnd(): void {
  if (ASSERTS) assert(pack_written == pack_promised, "a SenML pack holds another number of records than its header says");
}

/** The first record: base name (`<device>:`), base time in seconds, then a value. */
export function recordFirst(
  base_name_ptr: usize, base_name_len: i32, base_time_s: f64,
  name: Text, unit: Text, value: f64,
): void {
  if (ASSERTS) pack_written++;
  writeMap(5);
  writeInt(LABEL_BASE_NAME);
  writeTextBytes(base_name_ptr, base_name_len);
  writeInt(LABEL_BASE_TIME);
  writeNumber(base_time_s);
  writeName(T.EMPTY, name, unit, value);
}

export function record(name: Text, unit: Text, value: f64): void {
  recordJoined(T.EMPTY, name, unit, value);
}

/** A record whose name is `prefix` then `name` ("find_" and a fault's name). */
export function recordJoined(prefix: Text, name: Text, unit: Text, value: f64): void {
  if (ASSERTS) pack_written++;
  writeMap(3);
  writeName(prefix, name, unit, value);
}

function writeName(prefix: Text, name: Text, unit: Text, value: f64): void {
  writeInt(LABEL_NAME);
  writeTextJoined(prefix, name);
  writeInt(LABEL_UNIT);
  writeTextAscii(unit);
  writeInt(LABEL_VALUE);
  writeF32(<f32>value);
}

/** A record with a text value (vs) and no unit. */
export function recordText(name: Text, text: Text): void {
  if (ASSERTS) pack_written++;
  writeMap(2);
  writeInt(LABEL_NAME);
  writeTextAscii(name);
  writeInt(LABEL_STRING_VALUE);
  writeTextAscii(text);
}
