// CBOR (RFC 8949) over fixed regions of linear memory: a writer that never writes past its
// buffer, and a streaming reader for the shapes the firmware expects (definite lengths only).
// Neither reads outside its input nor allocates. The general decoder the test harness holds to
// the RFC lives with the debug build (debug/cbor-decoder.ts).

import { ASSERTS } from "./assert";
import { Text, textPtr, textLen } from "./names";

export const CBOR_DEPTH_MAX: i32 = 16;

const MAJOR_UINT: u8 = 0;
const MAJOR_NINT: u8 = 1;
const MAJOR_BYTES: u8 = 2;
const MAJOR_TEXT: u8 = 3;
const MAJOR_ARRAY: u8 = 4;
const MAJOR_MAP: u8 = 5;
const MAJOR_TAG: u8 = 6;
const MAJOR_SIMPLE: u8 = 7;

// ---------------------------------------------------------------------------------------
// Writer

let w_ptr: usize = 0;
let w_capacity: i32 = 0;
let w_length: i32 = 0;
let w_overflow: bool = false;

export function writeBegin(ptr: usize, capacity: i32): void {
  w_ptr = ptr;
  w_capacity = capacity;
  w_length = 0;
  w_overflow = false;
}

/** Bytes written, or -1 when the buffer was too small for the message. */
export function writeEnd(): i32 {
  return w_overflow ? -1 : w_length;
}

function room(n: i32): bool {
  if (w_overflow || w_length + n > w_capacity) {
    w_overflow = true;
    return false;
  }
  return true;
}

function putByte(b: u32): void {
  if (ASSERTS) assert(w_length < w_capacity, "CBOR writer past its buffer");
  store<u8>(w_ptr + <usize>w_length, <u8>b);
  w_length += 1;
}

export function writeHead(major: u8, value: u64): void {
  // The value in the initial byte below 24, else in the fewest of 1, 2, 4 or 8 bytes after it
  // (additional information 24 to 27).
  let info = <u32>value;
  let size: i32 = 0;
  if (value >= 24) {
    size = value <= 0xff ? 1 : value <= 0xffff ? 2 : value <= 0xffffffff ? 4 : 8;
    info = 24 + <u32>ctz(size);
  }
  writeSized(<u32>major << 5 | info, value, size);
}

/** The initial byte `initial`, then the low `size` bytes of `value`, most significant first. */
function writeSized(initial: u32, value: u64, size: i32): void {
  if (!room(1 + size)) return;
  putByte(initial);
  for (let shift = (size - 1) << 3; shift >= 0; shift -= 8) putByte(<u32>(value >> <u64>shift) & 0xff);
}

export function writeInt(value: i64): void {
  if (value >= 0) writeHead(MAJOR_UINT, <u64>value);
  else writeHead(MAJOR_NINT, <u64>(-1 - value));
}

export function writeArray(count: i32): void { writeHead(MAJOR_ARRAY, <u64>count); }
export function writeMap(count: i32): void { writeHead(MAJOR_MAP, <u64>count); }
export function writeTag(tag: u64): void { writeHead(MAJOR_TAG, tag); }

export function writeBool(value: bool): void {
  if (room(1)) putByte(value ? 0xf5 : 0xf4);
}

export function writeNull(): void {
  if (room(1)) putByte(0xf6);
}

export function writeF32(value: f32): void {
  writeSized(0xfa, <u64>reinterpret<u32>(value), 4);
}

/** A half-precision float from its 16 bits. */
export function writeF16(bits: u32): void {
  writeSized(0xf9, <u64>bits, 2);
}

export function writeF64(value: f64): void {
  writeSized(0xfb, reinterpret<u64>(value), 8);
}

/** A whole number as an integer, anything else as the shortest exact float (f32 or f64). */
export function writeNumber(value: f64): void {
  if (value == Math.floor(value) && Math.abs(value) < 9007199254740992.0) {
    writeInt(<i64>value);
  } else if (<f64><f32>value == value) {
    writeF32(<f32>value);
  } else {
    writeF64(value);
  }
}

/** A text string of the firmware's own (names.ts). */
export function writeTextAscii(text: Text): void {
  writeTextBytes(textPtr(text), textLen(text));
}

/** A map entry of the firmware's own key (names.ts) and an integer value. */
export function writeKeyInt(key: Text, value: i64): void {
  writeTextAscii(key);
  writeInt(value);
}

/** One text string of two texts, `prefix` then `text`: a name made of parts costs no text of
 *  its own. */
export function writeTextJoined(prefix: Text, text: Text): void {
  const n = textLen(prefix) + textLen(text);
  writeHead(MAJOR_TEXT, <u64>n);
  if (!room(n)) return;
  writeRaw(textPtr(prefix), textLen(prefix));
  writeRaw(textPtr(text), textLen(text));
}

export function writeTextBytes(ptr: usize, len: i32): void {
  writeHead(MAJOR_TEXT, <u64>len);
  if (!room(len)) return;
  if (ASSERTS) assert(len >= 0 && w_length + len <= w_capacity, "CBOR writer past its buffer");
  memory.copy(w_ptr + <usize>w_length, ptr, <usize>len);
  w_length += len;
}

export function writeByteString(ptr: usize, len: i32): void {
  writeHead(MAJOR_BYTES, <u64>len);
  if (!room(len)) return;
  if (ASSERTS) assert(len >= 0 && w_length + len <= w_capacity, "CBOR writer past its buffer");
  memory.copy(w_ptr + <usize>w_length, ptr, <usize>len);
  w_length += len;
}

/** `len` bytes as they are: the content of an item whose head was written already. */
export function writeRaw(ptr: usize, len: i32): void {
  if (!room(len)) return;
  if (ASSERTS) assert(len >= 0 && w_length + len <= w_capacity, "CBOR writer past its buffer");
  memory.copy(w_ptr + <usize>w_length, ptr, <usize>len);
  w_length += len;
}

// ---------------------------------------------------------------------------------------
// Reader. readHead() decodes one initial byte and its argument into head_*; the caller then
// consumes the content (readTextContent, or nested items) or skips it with skipContent().

let r_ptr: usize = 0;
let r_end: usize = 0;

export let head_major: u8 = 0;
export let head_info: u8 = 0;
export let head_value: u64 = 0;
/** The payload of the last text or byte string read. */
export let text_ptr: usize = 0;
export let text_len: i32 = 0;

/** Set when the input was truncated or not well-formed, as opposed to well-formed but of
 *  the wrong shape; callers use it to choose between BAD_CBOR and a more specific status. */
export let read_malformed: bool = false;

export function readBegin(ptr: usize, len: i32): void {
  r_ptr = ptr;
  r_end = ptr + <usize>len;
  read_malformed = false;
}

/** Where the next item starts. */
export function readPosition(): usize {
  return r_ptr;
}

export function readRemaining(): i32 {
  return <i32>(r_end - r_ptr);
}

function malformed(): bool {
  read_malformed = true;
  return false;
}

/** Reads one head. False on truncated input, a reserved additional-information value
 *  (28–30), or an indefinite length, which this reader does not accept. */
export function readHead(): bool {
  if (r_ptr >= r_end) return malformed();
  const initial = load<u8>(r_ptr);
  r_ptr += 1;
  head_major = initial >> 5;
  head_info = initial & 0x1f;
  if (head_info < 24) {
    head_value = <u64>head_info;
    return true;
  }
  if (head_info > 27) return malformed();
  const size: usize = <usize>1 << <usize>(head_info - 24);
  if (r_end - r_ptr < size) return malformed();
  let value: u64 = 0;
  for (let i: usize = 0; i < size; i++) value = (value << 8) | <u64>load<u8>(r_ptr + i);
  r_ptr += size;
  head_value = value;
  return true;
}

/** After a text or byte string head: points text_ptr/text_len at its content. */
export function readStringContent(): bool {
  if (head_major != MAJOR_TEXT && head_major != MAJOR_BYTES) return false;
  if (head_value > <u64>(r_end - r_ptr)) return malformed();
  text_ptr = r_ptr;
  text_len = <i32>head_value;
  r_ptr += <usize>head_value;
  return true;
}

export function readText(): bool {
  return readHead() && head_major == MAJOR_TEXT && readStringContent();
}

/** The number after a head of major 0, 1 or a float; NaN when the item is not a number. */
export function headNumber(): f64 {
  if (head_major == MAJOR_UINT) return <f64>head_value;
  if (head_major == MAJOR_NINT) return -1.0 - <f64>head_value;
  if (head_major != MAJOR_SIMPLE) return NaN;
  if (head_info == 25) return halfToF64(<u32>head_value);
  if (head_info == 26) return <f64>reinterpret<f32>(<u32>head_value);
  if (head_info == 27) return reinterpret<f64>(head_value);
  return NaN;
}

export function readNumber(): f64 {
  if (!readHead()) return NaN;
  return headNumber();
}

export function halfToF64(half: u32): f64 {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = <f64>(half & 0x3ff);
  let value: f64;
  // 2^(exponent − 25) built from its bits (exact; the general Math.pow is 2 KB of code).
  if (exponent == 0) value = mantissa * 5.9604644775390625e-8; // 2^-24
  else if (exponent != 31) value = (mantissa + 1024.0) * reinterpret<f64>(<u64>(exponent - 25 + 1023) << 52);
  else value = mantissa == 0.0 ? Infinity : NaN;
  return (half & 0x8000) != 0 ? -value : value;
}

/** Skips the content of the item whose head was just read; nesting is bounded. */
export function skipContent(depth: i32): bool {
  if (depth > CBOR_DEPTH_MAX) return malformed();
  const major = head_major;
  if (major == MAJOR_BYTES || major == MAJOR_TEXT) return readStringContent();
  if (major == MAJOR_ARRAY || major == MAJOR_MAP) {
    const remaining = <u64>(r_end - r_ptr);
    // Every item takes at least one byte: a count larger than the input is a lie.
    const items = major == MAJOR_MAP ? head_value * 2 : head_value;
    if (head_value > remaining || items > remaining) return malformed();
    for (let i: u64 = 0; i < items; i++) {
      if (!readHead() || !skipContent(depth + 1)) return false;
    }
    return true;
  }
  if (major == MAJOR_TAG) return readHead() && skipContent(depth + 1);
  return true;
}

/** Reads a text that must be `first` (0) or `second` (1); -1 for anything else. */
export function readChoice(first: Text, second: Text): i32 {
  if (!readText()) return -1;
  if (textIs(first)) return 0;
  return textIs(second) ? 1 : -1;
}

/** True when the last string read equals `text` (names.ts). */
export function textIs(text: Text): bool {
  return bytesEqual(text_ptr, text_len, text);
}

/** True when the `len` bytes at `ptr` are `text` (names.ts). */
export function bytesEqual(ptr: usize, len: i32, text: Text): bool {
  const n = textLen(text);
  if (n != len) return false;
  const at = textPtr(text);
  for (let i = 0; i < n; i++) {
    if (load<u8>(ptr + <usize>i) != load<u8>(at + <usize>i)) return false;
  }
  return true;
}
