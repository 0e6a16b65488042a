// A one-pass reader of a telemetry payload (a SenML CBOR pack, its sequence number inside) for a
// collector that takes thousands of packs a second: it walks the bytes once, resolves each record
// as resolveSenml does and hands it to a sink, with no Map, no intermediate record and no string
// allocated for names it has seen. It reads the encodings devices use (definite lengths, ASCII
// text, v or vs values, the first record's "seq" as hosts write it); for anything else — and
// for any input that breaks a rule — it answers false without a word, and the caller decodes
// the payload with unframe/decodeSenml/resolveSenml, which give the same records or the precise
// ProtocolError. So this file decides nothing that those codecs do not.

import { MESSAGE_BYTES_MAX } from "./cbor.js";
import { SEQUENCE_LABEL_CBOR } from "./framing.js";
import { SENML_LABELS } from "./senml.js";

/** Receives one pack's records. `name` is the record's name without its base name. */
export interface SenmlSink {
  /** Called once per pack before any record: false refuses the pack (e.g. not this device). */
  begin(sequence: number, baseName: string): boolean;
  value(name: string, unit: string | undefined, value: number, time: number): void;
  text(name: string, unit: string | undefined, text: string, time: number): void;
}

/** Nesting and counts a device's pack never needs: past these the general decoder decides. */
const RECORDS_MAX = 4096;
const TEXT_BYTES_MAX = 256;
/** Interned strings (record names, units, base names, texts such as fault kinds). */
const INTERNED_MAX = 200_000;

const L = SENML_LABELS;
const NAME_FIRST = /^[A-Za-z0-9]/;
const NAME_CHARS = /^[A-Za-z0-9:./_-]*$/;

interface Interned { text: string; bytes: Uint8Array; first: boolean; chars: boolean }

/** ASCII strings by their bytes, so a name read a million times is one string. */
const interned = new Map<number, Interned[]>();
let internedCount = 0;

/** Reads a telemetry payload into `sink`. True: every record was given to the sink and the
 *  payload is exactly one well-formed pack whose first record carries one sequence number.
 *  False: the general decoder must take it (records may have been given before the refusal:
 *  the sink discards them when told so by the caller). */
export function readFramedSenml(payload: Uint8Array, sink: SenmlSink): boolean {
  if (payload.length === 0 || payload.length > MESSAGE_BYTES_MAX) return false;
  const reader = state;
  reader.bytes = payload;
  reader.at = 0;
  if (!readPack(reader, sink)) return false;
  return reader.at === payload.length;
}

interface ReaderState { bytes: Uint8Array; at: number; view: DataView | undefined; viewOf: Uint8Array | undefined }
const state: ReaderState = { bytes: new Uint8Array(0), at: 0, view: undefined, viewOf: undefined };

/** Whether the first record's "seq" is at r.at, as hosts write it. */
function isSequenceLabel(r: ReaderState): boolean {
  const bytes = r.bytes;
  if (r.at + SEQUENCE_LABEL_CBOR.length > bytes.length) return false;
  for (let i = 0; i < SEQUENCE_LABEL_CBOR.length; i++) if (bytes[r.at + i] !== SEQUENCE_LABEL_CBOR[i]) return false;
  return true;
}

/** A major type 0 item as a safe integer, or −1. */
function readUnsigned(r: ReaderState): number {
  if (r.at >= r.bytes.length || r.bytes[r.at] >> 5 !== 0) return -1;
  return readArgument(r);
}

/** The argument of the head at r.at (any major type), advancing past the head; −1 for an
 *  indefinite length, a reserved value or a number past 2^53. */
function readArgument(r: ReaderState): number {
  const bytes = r.bytes;
  const info = bytes[r.at] & 0x1f;
  if (info < 24) {
    r.at += 1;
    return info;
  }
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
  if (size === 0 || r.at + 1 + size > bytes.length) return -1;
  let value = 0;
  for (let i = 1; i <= size; i++) value = value * 256 + bytes[r.at + i];
  if (value > Number.MAX_SAFE_INTEGER) return -1;
  r.at += 1 + size;
  return value;
}

/** A number item (integer or float), or undefined when it is not one the reader takes. */
function readNumber(r: ReaderState): number | undefined {
  if (r.at >= r.bytes.length) return undefined;
  const initial = r.bytes[r.at];
  const major = initial >> 5;
  if (major === 0) {
    const value = readArgument(r);
    return value < 0 ? undefined : value;
  }
  if (major === 1) {
    const value = readArgument(r);
    return value < 0 ? undefined : -1 - value;
  }
  if (major !== 7) return undefined;
  const info = initial & 0x1f;
  const size = info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
  if (size === 0 || r.at + 1 + size > r.bytes.length) return undefined;
  const view = viewOf(r);
  const offset = r.at + 1;
  const value = size === 2 ? halfToNumber(view.getUint16(offset)) : size === 4 ? view.getFloat32(offset) : view.getFloat64(offset);
  r.at += 1 + size;
  return Number.isFinite(value) ? value : undefined;
}

function viewOf(r: ReaderState): DataView {
  if (r.viewOf !== r.bytes) {
    r.view = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
    r.viewOf = r.bytes;
  }
  return r.view!;
}

function halfToNumber(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  const magnitude = exponent === 0 ? mantissa * 2 ** -24 : exponent === 31 ? (mantissa === 0 ? Infinity : NaN) : (mantissa + 1024) * 2 ** (exponent - 25);
  return half & 0x8000 ? -magnitude : magnitude;
}

/** An ASCII text item, interned; undefined for anything else. */
function readText(r: ReaderState): Interned | undefined {
  if (r.at >= r.bytes.length || r.bytes[r.at] >> 5 !== 3) return undefined;
  const length = readArgument(r);
  if (length < 0 || length > TEXT_BYTES_MAX || r.at + length > r.bytes.length) return undefined;
  const bytes = r.bytes;
  const start = r.at;
  let hash = 0x811c9dc5;
  for (let i = start; i < start + length; i++) {
    const byte = bytes[i];
    if (byte >= 0x80) return undefined; // UTF-8 beyond ASCII: the general decoder's
    hash = Math.imul(hash ^ byte, 0x01000193);
  }
  hash = (hash ^ length) >>> 0;
  r.at = start + length;
  const bucket = interned.get(hash);
  if (bucket !== undefined) {
    for (const entry of bucket) if (sameBytes(entry.bytes, bytes, start, length)) return entry;
  }
  if (internedCount >= INTERNED_MAX) return undefined;
  const text = String.fromCharCode.apply(null, bytes.subarray(start, start + length) as unknown as number[]);
  const entry: Interned = { text, bytes: bytes.slice(start, start + length), first: NAME_FIRST.test(text), chars: NAME_CHARS.test(text) };
  if (bucket === undefined) interned.set(hash, [entry]);
  else bucket.push(entry);
  internedCount += 1;
  return entry;
}

function sameBytes(known: Uint8Array, bytes: Uint8Array, start: number, length: number): boolean {
  if (known.length !== length) return false;
  for (let i = 0; i < length; i++) if (known[i] !== bytes[start + i]) return false;
  return true;
}

/** The pack: an array of maps with the labels SenML defines, resolved as resolveSenml does. */
function readPack(r: ReaderState, sink: SenmlSink): boolean {
  if (r.at >= r.bytes.length || r.bytes[r.at] >> 5 !== 4) return false;
  const records = readArgument(r);
  if (records < 0 || records > RECORDS_MAX) return false;
  let baseName: Interned | undefined;
  let baseTime = 0;
  let baseUnit: string | undefined;
  let baseValue = 0;
  let sequence = -1;
  let begun = false;
  for (let index = 0; index < records; index++) {
    if (r.at >= r.bytes.length || r.bytes[r.at] >> 5 !== 5) return false;
    const entries = readArgument(r);
    if (entries < 0 || entries > 16) return false;
    let seen = 0;
    let name: Interned | undefined;
    let unit: Interned | undefined;
    let value: number | undefined;
    let text: Interned | undefined;
    let time = 0;
    for (let e = 0; e < entries; e++) {
      if (isSequenceLabel(r)) {
        // The first record's "seq", once (framing.ts): the general decoder's anywhere else.
        if (index > 0 || sequence >= 0) return false;
        r.at += SEQUENCE_LABEL_CBOR.length;
        if ((sequence = readUnsigned(r)) < 0) return false;
        continue;
      }
      const label = readNumber(r);
      if (label === undefined || !Number.isInteger(label) || label < -6 || label > 8) return false;
      const bit = 1 << (label + 6);
      if ((seen & bit) !== 0) return false; // a repeated label: the general decoder's rule applies
      seen |= bit;
      switch (label) {
        case L.bn: if (index > 0 || (baseName = readText(r)) === undefined) return false; break; // a base name that changes mid-pack: the general decoder's
        case L.bt: { const v = readNumber(r); if (v === undefined) return false; baseTime = v; break; }
        case L.bu: { const u = readText(r); if (u === undefined) return false; baseUnit = u.text; break; }
        case L.bv: { const v = readNumber(r); if (v === undefined) return false; baseValue = v; break; }
        case L.n: if ((name = readText(r)) === undefined) return false; break;
        case L.u: if ((unit = readText(r)) === undefined) return false; break;
        case L.v: if ((value = readNumber(r)) === undefined) return false; break;
        case L.vs: if ((text = readText(r)) === undefined) return false; break;
        case L.t: { const v = readNumber(r); if (v === undefined) return false; time = v; break; }
        default: return false; // bver, bs, vb, s, ut, vd: rare, the general decoder's
      }
    }
    if (sequence < 0) return false; // none in the first record
    if (value === undefined && text === undefined) {
      if (name === undefined) continue; // base fields only
      return false;
    }
    if (value !== undefined && text !== undefined) return false;
    // The full name (base name + name) must match SenML's name pattern.
    const valid = baseName !== undefined && baseName.text.length > 0
      ? baseName.first && baseName.chars && (name === undefined || name.chars)
      : name !== undefined && name.first && name.chars;
    if (!valid) return false;
    if (!begun) {
      if (!sink.begin(sequence, baseName?.text ?? "")) return false;
      begun = true;
    }
    const recordName = name?.text ?? "";
    const recordUnit = unit?.text ?? baseUnit;
    const recordTime = baseTime + time;
    if (value !== undefined) sink.value(recordName, recordUnit, baseValue + value, recordTime);
    else sink.text(recordName, recordUnit, text!.text, recordTime);
  }
  if (!begun) return sink.begin(sequence, baseName?.text ?? "");
  return true;
}
