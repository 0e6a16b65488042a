// What goes on an MQTT payload from a device, and the outbox's sequence number in it (the
// number lets a collector drop duplicates and see gaps; MQTT 3.1.1 has no header to carry it).
// Telemetry: one SenML pack that any SenML CBOR reader takes as it is, the number inside it as
// the extension label "seq" of its first record (protocol/impeller.cddl says why there). Every
// other kind: a CBOR sequence (RFC 8742) of the number and the message, one CBOR item each.
// The outbox keeps the firmware's message as it came; the number goes in when it is sent, by
// splicing bytes, never by decoding the pack.

import { decodeCbor, decodeCborSequence, MESSAGE_BYTES_MAX } from "./cbor.js";
import { ProtocolError } from "./errors.js";
import type { TopicKind } from "./topics.js";

/** The extension label that carries a telemetry pack's sequence number, on its first record. */
export const SEQUENCE_LABEL = "seq";
/** SEQUENCE_LABEL as hosts write it in CBOR: text (major type 3), its head in the shortest form. */
export const SEQUENCE_LABEL_CBOR: readonly number[] = [0x60 | SEQUENCE_LABEL.length, ...Array.from(SEQUENCE_LABEL, (c) => c.charCodeAt(0))];

/** The most bytes framing adds to a message: on a pack, the label (4), the number (at most 9)
 *  and the first record's map head grown by one entry (at most 2: a count past 65535 takes a
 *  5-byte head; one past 2^32 − 1 cannot fit in a message); before any other message, the
 *  number alone. */
export const FRAMING_BYTES_MAX = 4 + 9 + 2;
/** The largest message a device queues: framed, it still fits MESSAGE_BYTES_MAX. */
export const MESSAGE_BODY_BYTES_MAX = MESSAGE_BYTES_MAX - FRAMING_BYTES_MAX;

export interface Framed {
  sequence: number;
  /** The message's own CBOR bytes: for telemetry, the pack without the sequence number. */
  body: Uint8Array;
}

/** The payload that carries `body` of `kind` under `sequence`. Throws a RangeError for what
 *  the host must never queue (Device refuses it first): a body over MESSAGE_BODY_BYTES_MAX, a
 *  telemetry body that is not a pack whose first record is a map, a kind that is not framed. */
export function frame(kind: TopicKind, sequence: number, body: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`sequence ${sequence} is not a non-negative integer`);
  if (body.length > MESSAGE_BODY_BYTES_MAX) throw new RangeError(`a message of ${body.length} bytes does not fit a payload of ${MESSAGE_BYTES_MAX} once framed`);
  if (kind === "telemetry") return insertSequence(sequence, body);
  if (!framedKind(kind)) throw new RangeError(`a ${kind} message carries no sequence number`);
  const head = encodeHead(0, sequence);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** Whether frame() takes `body` as a message of `kind` (its size aside: the outbox judges that). */
export function framable(kind: TopicKind, body: Uint8Array): boolean {
  return kind === "telemetry" ? packHead(body) !== undefined : framedKind(kind);
}

/** Splits a payload of `kind` into its sequence number and message. The payload is checked to
 *  be well-formed CBOR: one pack whose first record has exactly one "seq", a non-negative
 *  integer (telemetry), or a sequence number and exactly one item (the other kinds). */
export function unframe(kind: TopicKind, payload: Uint8Array, maxBytes = MESSAGE_BYTES_MAX): Framed {
  if (kind === "telemetry") return unframeTelemetry(payload, maxBytes);
  if (!framedKind(kind)) throw new RangeError(`a ${kind} message carries no sequence number`);
  const items = decodeCborSequence(payload, maxBytes);
  const [sequence] = items;
  // A uint: a float that happens to be whole is no sequence number.
  if (items.length !== 2 || payload[0] >> 5 !== 0 || typeof sequence !== "number" || !Number.isSafeInteger(sequence)) {
    throw new ProtocolError("bad_message", `a device's ${kind} payload is a CBOR sequence of a sequence number and one message`);
  }
  return { sequence, body: payload.subarray(readHead(payload, 0)!.end) };
}

/** Kinds a device publishes with a sequence number (state is retained and numbered by session). */
function framedKind(kind: TopicKind): boolean {
  return kind === "telemetry" || kind === "event" || kind === "reply" || kind === "waveform" || kind === "update";
}

function insertSequence(sequence: number, body: Uint8Array): Uint8Array {
  const pack = packHead(body);
  if (pack === undefined) throw new RangeError("a telemetry message must be a SenML pack whose first record is a CBOR map to carry a sequence number");
  const mapHead = pack.entries < 0 ? Uint8Array.of(0xbf) : encodeHead(5, pack.entries + 1);
  const number = encodeHead(0, sequence);
  const out = new Uint8Array(body.length - (pack.entriesAt - pack.recordAt) + mapHead.length + SEQUENCE_LABEL_CBOR.length + number.length);
  out.set(body.subarray(0, pack.recordAt), 0);
  let at = pack.recordAt;
  out.set(mapHead, at);
  at += mapHead.length;
  out.set(SEQUENCE_LABEL_CBOR, at);
  at += SEQUENCE_LABEL_CBOR.length;
  out.set(number, at);
  at += number.length;
  out.set(body.subarray(pack.entriesAt), at);
  return out;
}

function unframeTelemetry(payload: Uint8Array, maxBytes: number): Framed {
  decodeCbor(payload, maxBytes); // one well-formed item within the limit, or the ProtocolError that says why
  const pack = packHead(payload);
  if (pack === undefined) {
    throw new ProtocolError("bad_message", 'a telemetry payload is a SenML pack (a CBOR array of maps) whose first record carries the sequence number as "seq"');
  }
  let found: { start: number; end: number; sequence: number } | undefined;
  let at = pack.entriesAt;
  for (let entry = 0; pack.entries < 0 ? payload[at] !== 0xff : entry < pack.entries; entry++) {
    const start = at;
    const labelEnd = itemEnd(payload, start);
    const end = labelEnd < 0 ? -1 : itemEnd(payload, labelEnd);
    if (end < 0) throw new ProtocolError("malformed_cbor", "not well-formed CBOR in the first record");
    if (isSequenceLabel(payload, start)) {
      if (found !== undefined) throw new ProtocolError("bad_message", 'a telemetry pack carries two sequence numbers ("seq") in its first record');
      const number = readHead(payload, labelEnd)!;
      if (number.major !== 0 || number.value > Number.MAX_SAFE_INTEGER) {
        throw new ProtocolError("bad_message", 'a telemetry pack\'s sequence number ("seq") is not a non-negative integer');
      }
      found = { start, end, sequence: number.value };
    }
    at = end;
  }
  if (found === undefined) throw new ProtocolError("bad_message", 'a telemetry pack carries its sequence number as "seq" in its first record; this one has none');
  const mapHead = pack.entries < 0 ? Uint8Array.of(0xbf) : encodeHead(5, pack.entries - 1);
  const body = new Uint8Array(payload.length - (found.end - found.start) - (pack.entriesAt - pack.recordAt) + mapHead.length);
  body.set(payload.subarray(0, pack.recordAt), 0);
  body.set(mapHead, pack.recordAt);
  let to = pack.recordAt + mapHead.length;
  body.set(payload.subarray(pack.entriesAt, found.start), to);
  to += found.start - pack.entriesAt;
  body.set(payload.subarray(found.end), to);
  return { sequence: found.sequence, body };
}

function isSequenceLabel(bytes: Uint8Array, at: number): boolean {
  const head = readHead(bytes, at);
  if (head === undefined || head.major !== 3 || head.indefinite || head.value !== SEQUENCE_LABEL.length) return false;
  for (let i = 0; i < SEQUENCE_LABEL.length; i++) if (bytes[head.end + i] !== SEQUENCE_LABEL_CBOR[1 + i]) return false;
  return true;
}

interface PackHead {
  /** Where the first record's map head starts, and where its entries start. */
  recordAt: number;
  entriesAt: number;
  /** The first record's entries; −1 for an indefinite-length map. */
  entries: number;
}

/** The heads of a pack (an array with at least one record) and of its first record (a map). */
function packHead(bytes: Uint8Array): PackHead | undefined {
  const array = readHead(bytes, 0);
  if (array === undefined || array.major !== 4 || (!array.indefinite && array.value === 0)) return undefined;
  const map = readHead(bytes, array.end);
  if (map === undefined || map.major !== 5) return undefined;
  return { recordAt: array.end, entriesAt: map.end, entries: map.indefinite ? -1 : map.value };
}

interface Head {
  major: number;
  /** The argument (a count, a length, an integer); 0 when indefinite. Past 2^53 it is rounded. */
  value: number;
  indefinite: boolean;
  /** Where the head ends. */
  end: number;
}

/** The head at `at` (RFC 8949 §3), or undefined when it is cut short or reserved. */
function readHead(bytes: Uint8Array, at: number): Head | undefined {
  if (at >= bytes.length) return undefined;
  const major = bytes[at] >> 5;
  const info = bytes[at] & 0x1f;
  if (info < 24) return { major, value: info, indefinite: false, end: at + 1 };
  if (info === 31) return major >= 2 && major <= 5 ? { major, value: 0, indefinite: true, end: at + 1 } : undefined;
  if (info > 27) return undefined;
  const size = 1 << (info - 24);
  if (at + 1 + size > bytes.length) return undefined;
  let value = 0;
  for (let i = 1; i <= size; i++) value = value * 256 + bytes[at + i];
  return { major, value, indefinite: false, end: at + 1 + size };
}

/** Where the item at `at` ends, or −1 when it is not well-formed. Iterative: nesting costs no stack. */
function itemEnd(bytes: Uint8Array, at: number): number {
  const enclosing: number[] = [];
  let left = 1; // items still to pass at this level; Infinity in an indefinite-length one
  for (;;) {
    if (left === 0) {
      if (enclosing.length === 0) return at;
      left = enclosing.pop()!;
      continue;
    }
    if (at >= bytes.length) return -1;
    if (bytes[at] === 0xff) {
      if (left !== Infinity) return -1;
      at += 1;
      left = 0;
      continue;
    }
    const head = readHead(bytes, at);
    if (head === undefined) return -1;
    at = head.end;
    left -= 1;
    if (head.major === 2 || head.major === 3) {
      if (head.indefinite) {
        enclosing.push(left);
        left = Infinity;
      } else {
        at += head.value;
        if (at > bytes.length) return -1;
      }
    } else if (head.major === 4 || head.major === 5) {
      const items = head.indefinite ? Infinity : head.major === 5 ? 2 * head.value : head.value;
      if (items > 0) {
        enclosing.push(left);
        left = items;
      }
    } else if (head.major === 6) {
      enclosing.push(left);
      left = 1;
    }
  }
}

/** A head of `major` with `value`, in its shortest form. */
function encodeHead(major: number, value: number): Uint8Array {
  const initial = major << 5;
  if (value < 24) return Uint8Array.of(initial | value);
  if (value < 0x100) return Uint8Array.of(initial | 24, value);
  if (value < 0x10000) return Uint8Array.of(initial | 25, value >> 8, value & 0xff);
  if (value < 0x1_0000_0000) return Uint8Array.of(initial | 26, value >>> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
  const out = new Uint8Array(9);
  out[0] = initial | 27;
  const view = new DataView(out.buffer);
  view.setUint32(1, Math.floor(value / 0x1_0000_0000));
  view.setUint32(5, value >>> 0);
  return out;
}
