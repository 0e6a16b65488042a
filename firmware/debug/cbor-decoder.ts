// The general CBOR decoder and the encoder of what it decoded, for the debug build only: the
// test harness holds them to RFC 8949's examples (Appendix A) and to random inputs. The flashable
// firmware reads only the shapes it expects, with cbor.ts's streaming reader, and never links
// this file. Neither reads outside its input nor allocates after the node table exists.

import { writeHead, writeF16, writeF32, writeF64, writeRaw, writeEnd, halfToF64, CBOR_DEPTH_MAX } from "../cbor";
import { ASSERTS } from "../assert";

// Decoder. cborDecode() walks one whole item, checks it is well-formed (RFC 8949 §3 and
// Appendix C) and records it as a table of nodes in preorder, without recursion and without
// allocating: the table and the walk's stack are allocated once, on first use or by
// cborDecoderInit(). A container's children follow it; node_size says how many nodes its
// subtree holds, so a caller skips a subtree by adding it. Strings are not copied: a
// definite string's node points at its bytes in the input, and an indefinite string's node
// (total length in its value) is followed by one node per chunk.
//
// Decided, not decodable: bignums and the other numeric tags (2 positive bignum, 3 negative
// bignum, 4 decimal fraction, 5 bigfloat) are well-formed but answer CBOR_ERR_UNSUPPORTED,
// so no caller ever mistakes one for the number it wraps. Every other tag passes through
// (tag numbers up to 2^64-1). Text strings must be valid UTF-8 (chunk by chunk); duplicate
// map keys are not looked for. Two-byte simple values below 32 are not well-formed (RFC 8949
// §3.3), so 0xf818, an RFC 7049 example still in the cbor/test-vectors set, is refused.
//
// Which error: the walk stops at the first truncation, malformation, excess depth or count,
// or trailing byte; an unsupported tag or bad UTF-8 is remembered and reported only once the
// whole item has proved well-formed, so a cut-short bignum is "truncated", not "unsupported".
// Memory: 18 bytes a node and 12 a nesting level, about 9.4 KiB for CBOR_NODES_DEFAULT.

/** The nodes a table holds unless cborDecoderInit() asked for another size first. */
export const CBOR_NODES_DEFAULT: i32 = 512;
export const CBOR_NODES_LIMIT: i32 = 8192;

export const CBOR_OK: i32 = 0;
/** The input ends inside an item, or declares a length beyond its end. */
export const CBOR_ERR_TRUNCATED: i32 = -1;
/** Not well-formed: reserved additional information 28–30, an indefinite length on a
 *  major type without one, a misplaced break, a chunk of another type, simple(<32) in two bytes. */
export const CBOR_ERR_MALFORMED: i32 = -2;
/** An item nested more than CBOR_DEPTH_MAX containers (arrays, maps, tags) deep. */
export const CBOR_ERR_TOO_DEEP: i32 = -3;
/** More items than the node table holds. */
export const CBOR_ERR_TOO_MANY: i32 = -4;
/** Well-formed, but a tag this decoder does not decode: bignums, decimal fractions, bigfloats. */
export const CBOR_ERR_UNSUPPORTED: i32 = -5;
/** A whole item followed by more bytes. */
export const CBOR_ERR_TRAILING: i32 = -6;
/** Well-formed, but a text string that is not valid UTF-8. */
export const CBOR_ERR_BAD_UTF8: i32 = -7;
/** The encoder's buffer is too small. */
export const CBOR_ERR_NO_ROOM: i32 = -8;
/** cborDecoderInit() with a size out of range or after the table was allocated. */
export const CBOR_ERR_BAD_INIT: i32 = -9;

export const CBOR_KIND_UINT: u8 = 0;
export const CBOR_KIND_NINT: u8 = 1; // the value is n for the integer -1 - n, so -2^64 is exact
export const CBOR_KIND_BYTES: u8 = 2;
export const CBOR_KIND_TEXT: u8 = 3;
export const CBOR_KIND_ARRAY: u8 = 4; // value: number of items
export const CBOR_KIND_MAP: u8 = 5; // value: number of pairs
export const CBOR_KIND_TAG: u8 = 6; // value: the tag number; one child
export const CBOR_KIND_SIMPLE: u8 = 7; // value: 20 false, 21 true, 22 null, 23 undefined, or any simple(n)
export const CBOR_KIND_FLOAT: u8 = 8; // value: the bits of the f64 it is exactly

export const CBOR_FLAG_INDEFINITE: u8 = 1;
/** A chunk of the indefinite string before it. */
export const CBOR_FLAG_CHUNK: u8 = 2;
/** The width a float had on the wire. */
export const CBOR_FLAG_FLOAT16: u8 = 4;
export const CBOR_FLAG_FLOAT32: u8 = 8;
export const CBOR_FLAG_FLOAT64: u8 = 16;

const TAG_BIGNUM_POSITIVE: u64 = 2;
const TAG_BIGFLOAT: u64 = 5;
const BREAK: u32 = 0xff;
const STACK_SLOTS: i32 = CBOR_DEPTH_MAX + 1;
const REMAINING_INDEFINITE: u64 = u64.MAX_VALUE;

let nodes_capacity: i32 = 0;
let node_values: usize = 0; // u64 each
let node_offsets: usize = 0; // u32 each: a definite string's content, from the input's start
let node_sizes: usize = 0; // u32 each: nodes in the subtree, itself included
let node_kinds: usize = 0; // u8 each
let node_flags: usize = 0; // u8 each
let stack_nodes: usize = 0; // i32 each: the open container at each level
let stack_left: usize = 0; // u64 each: items it still expects, or REMAINING_INDEFINITE

let d_ptr: usize = 0;
let d_count: i32 = 0;
/** Bytes the last cborDecode() consumed (up to the error, when it failed). */
export let cbor_consumed: i32 = 0;
/** The status of the last cborDecode(). */
export let cbor_status: i32 = CBOR_OK;

/** Allocates the node table for `nodes_max` nodes (once; later calls with the same size
 *  are harmless). Without it the first cborDecode() allocates CBOR_NODES_DEFAULT. */
export function cborDecoderInit(nodes_max: i32): i32 {
  if (nodes_max < 1 || nodes_max > CBOR_NODES_LIMIT) return CBOR_ERR_BAD_INIT;
  if (nodes_capacity != 0) return nodes_max == nodes_capacity ? CBOR_OK : CBOR_ERR_BAD_INIT;
  const n = <usize>nodes_max;
  const stack = <usize>STACK_SLOTS;
  const base = heap.alloc(n * 18 + stack * 12 + 8);
  node_values = (base + 7) & ~<usize>7;
  stack_left = node_values + (n << 3);
  node_offsets = stack_left + (stack << 3);
  node_sizes = node_offsets + (n << 2);
  stack_nodes = node_sizes + (n << 2);
  node_kinds = stack_nodes + (stack << 2);
  node_flags = node_kinds + n;
  nodes_capacity = nodes_max;
  return CBOR_OK;
}

export function cborNodesCapacity(): i32 {
  return nodes_capacity;
}

/** Nodes of the last successful decode. */
export function cborNodeCount(): i32 { return d_count; }
export function cborNodeKind(i: i32): u8 { return load<u8>(node_kinds + <usize>i); }
export function cborNodeFlags(i: i32): u8 { return load<u8>(node_flags + <usize>i); }
export function cborNodeValue(i: i32): u64 { return load<u64>(node_values + (<usize>i << 3)); }
export function cborNodeSize(i: i32): i32 { return <i32>load<u32>(node_sizes + (<usize>i << 2)); }
/** Where a definite string's (or a chunk's) bytes are; its length is its value. */
export function cborNodePtr(i: i32): usize { return d_ptr + <usize>load<u32>(node_offsets + (<usize>i << 2)); }
export function cborNodeF64(i: i32): f64 { return reinterpret<f64>(cborNodeValue(i)); }

function setNode(i: i32, kind: u8, flags: u8, value: u64, offset: u32): void {
  if (ASSERTS) assert(i >= 0 && i < nodes_capacity, "CBOR node past its table");
  store<u8>(node_kinds + <usize>i, kind);
  store<u8>(node_flags + <usize>i, flags);
  store<u64>(node_values + (<usize>i << 3), value);
  store<u32>(node_offsets + (<usize>i << 2), offset);
  store<u32>(node_sizes + (<usize>i << 2), 1);
}

/** The f64 with exactly the value (NaN payload included) of a half float's bits. */
function halfBitsToF64Bits(half: u32): u64 {
  const sign = <u64>(half & 0x8000) << 48;
  const exponent = (half >> 10) & 0x1f;
  const mantissa = <u64>(half & 0x3ff);
  if (exponent == 0x1f) return sign | (<u64>0x7ff << 52) | (mantissa << 42);
  return reinterpret<u64>(halfToF64(half));
}

function f32BitsToF64Bits(bits: u32): u64 {
  if ((bits & 0x7f800000) == 0x7f800000) {
    return (<u64>(bits & 0x80000000) << 32) | (<u64>0x7ff << 52) | (<u64>(bits & 0x7fffff) << 29);
  }
  return reinterpret<u64>(<f64>reinterpret<f32>(bits));
}

/** Length of the valid UTF-8 sequence at `p` (before `end`), or 0 when it is not valid. */
function utf8Sequence(p: usize, end: usize): i32 {
  const b0 = <u32>load<u8>(p);
  if (b0 < 0x80) return 1;
  let n: i32;
  let low: u32 = 0x80;
  let high: u32 = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) n = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 == 0xe0) low = 0xa0; // overlong
    if (b0 == 0xed) high = 0x9f; // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 == 0xf0) low = 0x90; // overlong
    if (b0 == 0xf4) high = 0x8f; // above U+10FFFF
  } else return 0;
  if (end - p < <usize>n) return 0;
  const b1 = <u32>load<u8>(p + 1);
  if (b1 < low || b1 > high) return 0;
  for (let k = 2; k < n; k++) {
    const b = <u32>load<u8>(p + <usize>k);
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return n;
}

/** Whether the `len` bytes at `p` are valid UTF-8. Every turn consumes a sequence of at least
 *  one byte, so at most `len` turns. */
function validUtf8(p: usize, len: usize): bool {
  const end = p + len;
  for (let turn: usize = 0; turn < len && p < end; turn++) {
    const n = utf8Sequence(p, end);
    if (n == 0) return false;
    p += <usize>n;
  }
  if (ASSERTS) assert(p == end, "UTF-8 check stopped short of the string's end");
  return true;
}

/** Decodes the one CBOR item that is all of [ptr, ptr + len) into the node table. Returns
 *  the number of nodes (≥ 1; node 0 is the item) or a CBOR_ERR_* status. Never reads
 *  outside the input; does not allocate after the table exists. */
export function cborDecode(ptr: usize, len: i32): i32 {
  if (nodes_capacity == 0) cborDecoderInit(CBOR_NODES_DEFAULT);
  d_ptr = ptr;
  d_count = 0;
  const status = walk(ptr, len < 0 ? 0 : <usize>len);
  cbor_status = status;
  if (status < 0) return status;
  d_count = status;
  return status;
}

// The walk's state: the input, where it reads, the nodes so far, the containers open around the
// next item, and the first well-formed but refused item (reported only once the whole item has
// proved well-formed).
let walk_start: usize = 0;
let walk_end: usize = 0;
let walk_at: usize = 0;
let walk_count: i32 = 0;
let walk_depth: i32 = 0;
let walk_deferred: i32 = CBOR_OK;

/** What a turn of the walk did with an item: left it complete, or opened it (its content is
 *  still to come); and whether the whole item is done. */
const WALK_COMPLETE: i32 = 0;
const WALK_OPENED: i32 = 1;
const WALK_DONE: i32 = 2;

/** The walk behind cborDecode(): one pass, bounded by the input's length. Every turn consumes at
 *  least one byte (a head or a break), so it takes at most len + 1 turns, the last of them to
 *  find the input ended. */
function walk(ptr: usize, len: usize): i32 {
  walk_start = ptr;
  walk_end = ptr + len;
  walk_at = ptr;
  walk_count = 0;
  walk_depth = 0;
  walk_deferred = CBOR_OK;
  for (let turn: usize = 0; turn <= len; turn++) {
    cbor_consumed = <i32>(walk_at - ptr);
    if (walk_at >= walk_end) return CBOR_ERR_TRUNCATED;
    if (ASSERTS) assert(walk_at - ptr >= turn, "a turn of the CBOR walk consumed nothing");
    const status = walkTurn();
    if (status < 0) return status;
    if (status == WALK_DONE) return walkFinish();
  }
  if (ASSERTS) assert(false, "the CBOR walk outlasted its input");
  return CBOR_ERR_TRUNCATED;
}

/** One turn: a break or an item head, then the containers the item completes. */
function walkTurn(): i32 {
  const top_node = walk_depth > 0 ? load<i32>(stack_nodes + (<usize>(walk_depth - 1) << 2)) : -1;
  const initial = <u32>load<u8>(walk_at);
  const status = initial == BREAK ? walkBreak(top_node) : walkItem(initial, top_node);
  if (status < 0) return status;
  const completed = status == WALK_COMPLETE && closeCompleted();
  return walk_depth == 0 && completed ? WALK_DONE : status;
}

/** The end of the item: nothing may follow it, and a refusal deferred till now is reported. */
function walkFinish(): i32 {
  cbor_consumed = <i32>(walk_at - walk_start);
  if (walk_at != walk_end) return CBOR_ERR_TRAILING;
  if (walk_deferred != CBOR_OK) return walk_deferred;
  return walk_count;
}

/** A break closes the indefinite container or string open at `top_node`. */
function walkBreak(top_node: i32): i32 {
  if (top_node < 0 || load<u64>(stack_left + (<usize>(walk_depth - 1) << 3)) != REMAINING_INDEFINITE) return CBOR_ERR_MALFORMED;
  walk_at += 1;
  if (cborNodeKind(top_node) == CBOR_KIND_MAP) {
    const items = cborNodeValue(top_node);
    if ((items & 1) != 0) return CBOR_ERR_MALFORMED; // a key without a value
    store<u64>(node_values + (<usize>top_node << 3), items >> 1);
  }
  store<u32>(node_sizes + (<usize>top_node << 2), <u32>(walk_count - top_node));
  walk_depth -= 1;
  return WALK_COMPLETE;
}

/** An item's head, checked, and its node: the item complete, or opened for its content. */
function walkItem(initial: u32, top_node: i32): i32 {
  const major = <u8>(initial >> 5);
  const info = initial & 0x1f;
  const top_kind = top_node >= 0 ? cborNodeKind(top_node) : <u8>0xff;
  const in_string = top_kind == CBOR_KIND_BYTES || top_kind == CBOR_KIND_TEXT;
  if (info >= 28 && info <= 30) return CBOR_ERR_MALFORMED;
  const indefinite = info == 31;
  if (indefinite && (major == 0 || major == 1 || major == 6 || major == 7)) return CBOR_ERR_MALFORMED;
  let value: u64 = <u64>info;
  walk_at += 1;
  if (info >= 24 && info <= 27) {
    const size = <usize>1 << <usize>(info - 24);
    if (walk_end - walk_at < size) return CBOR_ERR_TRUNCATED;
    value = 0;
    for (let i: usize = 0; i < size; i++) value = (value << 8) | <u64>load<u8>(walk_at + i);
    walk_at += size;
  }
  if (in_string && (major != top_kind || indefinite)) return CBOR_ERR_MALFORMED;
  if (!in_string && walk_depth > CBOR_DEPTH_MAX) return CBOR_ERR_TOO_DEEP;
  if (walk_count >= nodes_capacity) return CBOR_ERR_TOO_MANY;
  const node = walk_count;
  walk_count += 1;
  if (major == CBOR_KIND_BYTES || major == CBOR_KIND_TEXT) return walkString(node, major, value, indefinite, in_string ? top_node : -1);
  if (major == CBOR_KIND_ARRAY || major == CBOR_KIND_MAP) return walkContainer(node, major, value, indefinite);
  if (major == CBOR_KIND_TAG) {
    setNode(node, CBOR_KIND_TAG, 0, value, 0);
    if (value >= TAG_BIGNUM_POSITIVE && value <= TAG_BIGFLOAT && walk_deferred == CBOR_OK) walk_deferred = CBOR_ERR_UNSUPPORTED;
    return walkOpen(node, 1);
  }
  if (major == 7) return walkSimple(node, info, value);
  setNode(node, major, 0, value, 0); // an integer
  return WALK_COMPLETE;
}

/** A string, or a chunk of the indefinite string `string_node` (-1: none). */
function walkString(node: i32, major: u8, length: u64, indefinite: bool, string_node: i32): i32 {
  if (indefinite) {
    setNode(node, major, CBOR_FLAG_INDEFINITE, 0, 0);
    return walkOpen(node, REMAINING_INDEFINITE);
  }
  if (length > <u64>(walk_end - walk_at)) return CBOR_ERR_TRUNCATED;
  setNode(node, major, string_node >= 0 ? CBOR_FLAG_CHUNK : 0, length, <u32>(walk_at - walk_start));
  if (major == CBOR_KIND_TEXT && walk_deferred == CBOR_OK && !validUtf8(walk_at, <usize>length)) walk_deferred = CBOR_ERR_BAD_UTF8;
  walk_at += <usize>length;
  if (string_node >= 0) {
    const total = node_values + (<usize>string_node << 3);
    store<u64>(total, load<u64>(total) + length); // bounded by len: no overflow
  }
  return WALK_COMPLETE;
}

/** An array or a map of `count` items or pairs (any number up to a break when indefinite). */
function walkContainer(node: i32, major: u8, count: u64, indefinite: bool): i32 {
  if (indefinite) {
    setNode(node, major, CBOR_FLAG_INDEFINITE, 0, 0);
    return walkOpen(node, REMAINING_INDEFINITE);
  }
  // Every item takes at least a byte: a count the rest of the input cannot hold is a lie.
  const remaining = <u64>(walk_end - walk_at);
  if (count > remaining || (major == CBOR_KIND_MAP && count * 2 > remaining)) return CBOR_ERR_TRUNCATED;
  setNode(node, major, 0, count, 0);
  const items = major == CBOR_KIND_MAP ? count * 2 : count;
  if (items > <u64>(nodes_capacity - walk_count)) return CBOR_ERR_TOO_MANY;
  return items == 0 ? WALK_COMPLETE : walkOpen(node, items);
}

/** Major type 7: a float (kept as the f64 bits of its exact value) or a simple value. */
function walkSimple(node: i32, info: u32, value: u64): i32 {
  if (info >= 25) {
    const bits = info == 25 ? halfBitsToF64Bits(<u32>value)
      : info == 26 ? f32BitsToF64Bits(<u32>value) : value;
    const width = info == 25 ? CBOR_FLAG_FLOAT16 : info == 26 ? CBOR_FLAG_FLOAT32 : CBOR_FLAG_FLOAT64;
    setNode(node, CBOR_KIND_FLOAT, width, bits, 0);
    return WALK_COMPLETE;
  }
  if (info == 24 && value < 32) return CBOR_ERR_MALFORMED; // RFC 8949 §3.3
  setNode(node, CBOR_KIND_SIMPLE, 0, value, 0);
  return WALK_COMPLETE;
}

/** Opens `node` on the stack, expecting `left` more items (REMAINING_INDEFINITE: up to a break). */
function walkOpen(node: i32, left: u64): i32 {
  // walkItem refused depths past CBOR_DEPTH_MAX outside a string, and nothing opens inside one.
  if (ASSERTS) assert(walk_depth < STACK_SLOTS, "CBOR walk stack overrun");
  store<i32>(stack_nodes + (<usize>walk_depth << 2), node);
  store<u64>(stack_left + (<usize>walk_depth << 3), left);
  walk_depth += 1;
  return WALK_OPENED;
}

/** An item is complete: counts it in its container and closes every container it completes.
 *  Whether the outermost one it reached is complete too. Every turn but the last closes a
 *  container, so at most STACK_SLOTS turns. */
function closeCompleted(): bool {
  let completed = true;
  for (let turn = 0; turn < STACK_SLOTS && completed && walk_depth > 0; turn++) {
    const level = walk_depth - 1;
    const open = load<i32>(stack_nodes + (<usize>level << 2));
    const left = stack_left + (<usize>level << 3);
    if (load<u64>(left) == REMAINING_INDEFINITE) {
      if (cborNodeKind(open) == CBOR_KIND_ARRAY || cborNodeKind(open) == CBOR_KIND_MAP) {
        const items = node_values + (<usize>open << 3);
        store<u64>(items, load<u64>(items) + 1);
      }
      completed = false;
    } else {
      store<u64>(left, load<u64>(left) - 1);
      if (load<u64>(left) != 0) {
        completed = false;
      } else {
        store<u32>(node_sizes + (<usize>open << 2), <u32>(walk_count - open));
        walk_depth -= 1;
      }
    }
  }
  if (ASSERTS) assert(!completed || walk_depth == 0, "CBOR walk closed more containers than it opened");
  return completed;
}

// ---------------------------------------------------------------------------------------
// Encoder for decoded items: preferred serialization (RFC 8949 §4.1): shortest heads,
// definite lengths, and each float in the shortest width that keeps its value exactly.

/** The half float with exactly the value of the f64 `bits`, or -1 when there is none. */
function f64BitsToHalf(bits: u64): i32 {
  const sign = <i32>(bits >> 48) & 0x8000;
  const biased = <i32>(bits >> 52) & 0x7ff;
  const mantissa = bits & 0xfffffffffffff;
  if (biased == 0x7ff) { // infinities and NaNs, payload kept when it fits
    return (mantissa & 0x3ffffffffff) == 0 ? sign | 0x7c00 | <i32>(mantissa >> 42) : -1;
  }
  if (biased == 0) return mantissa == 0 ? sign : -1; // ±0; f64 subnormals are far below half's
  const exponent = biased - 1023;
  if (exponent > 15 || exponent < -24) return -1;
  if (exponent >= -14) {
    return (mantissa & 0x3ffffffffff) == 0 ? sign | ((exponent + 15) << 10) | <i32>(mantissa >> 42) : -1;
  }
  const full = mantissa | (<u64>1 << 52); // a half subnormal: k · 2^-24
  const shift = <u64>(28 - exponent);
  return (full & ((<u64>1 << shift) - 1)) == 0 ? sign | <i32>(full >> shift) : -1;
}

/** The f32 bits with exactly the value of the f64 `bits`, or -1 when there are none. */
function f64BitsToF32(bits: u64): i64 {
  if ((bits & 0x7ff0000000000000) == 0x7ff0000000000000) {
    const mantissa = bits & 0xfffffffffffff;
    if ((mantissa & 0x1fffffff) != 0) return -1;
    return <i64>(((bits >> 32) & 0x80000000) | 0x7f800000 | (mantissa >> 29));
  }
  const value = reinterpret<f64>(bits);
  const narrow = <f32>value;
  if (<f64>narrow != value) return -1;
  return <i64>reinterpret<u32>(narrow);
}

/** The float whose f64 bits are `bits`, in the shortest width that holds it exactly. */
export function writeFloatBits(bits: u64): void {
  const half = f64BitsToHalf(bits);
  if (half >= 0) {
    writeF16(<u32>half);
    return;
  }
  const single = f64BitsToF32(bits);
  if (single >= 0) writeF32(reinterpret<f32>(<u32>single));
  else writeF64(reinterpret<f64>(bits));
}

export function writeFloatShortest(value: f64): void {
  writeFloatBits(reinterpret<u64>(value));
}

/** Writes node `index` of the last decode, with its subtree, in preferred serialization
 *  through the writer (writeBegin first). False when the buffer was too small. */
export function cborEncodeNode(index: i32): bool {
  if (index < 0 || index >= d_count) return false;
  const size = cborNodeSize(index);
  const end = index + size;
  let i = index;
  for (let turn = 0; turn < size && i < end; turn++) { // every turn moves i forward
    const kind = cborNodeKind(i);
    const value = cborNodeValue(i);
    if (kind == CBOR_KIND_BYTES || kind == CBOR_KIND_TEXT) {
      writeHead(kind, value);
      const size = cborNodeSize(i);
      if ((cborNodeFlags(i) & CBOR_FLAG_INDEFINITE) == 0) {
        writeRaw(cborNodePtr(i), <i32>value);
      } else {
        for (let chunk = i + 1; chunk < i + size; chunk++) writeRaw(cborNodePtr(chunk), <i32>cborNodeValue(chunk));
      }
      i += size;
      continue;
    }
    if (kind == CBOR_KIND_FLOAT) writeFloatBits(value);
    else if (kind == CBOR_KIND_SIMPLE) writeHead(CBOR_KIND_SIMPLE, value); // simple(n), n < 256: the head is the item
    else writeHead(kind, value); // integers, array and map counts, tag numbers
    i += 1;
  }
  return writeEnd() >= 0;
}
