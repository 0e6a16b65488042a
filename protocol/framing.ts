// What goes on an MQTT payload from a device: a CBOR sequence (RFC 8742) of the outbox's
// sequence number followed by the firmware's message, byte for byte. The number lets a
// collector drop duplicates and see gaps; MQTT 3.1.1 has no header to carry it.

import { decodeCborSequence, encodeCbor, MESSAGE_BYTES_MAX } from "./cbor.js";
import { ProtocolError } from "./errors.js";

export interface Framed {
  sequence: number;
  /** The message's own CBOR bytes. */
  body: Uint8Array;
}

export function frame(sequence: number, body: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`sequence ${sequence} is not a non-negative integer`);
  const head = encodeCbor(sequence);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** Splits a framed payload. The body is checked to be exactly one well-formed CBOR item. */
export function unframe(payload: Uint8Array, maxBytes = MESSAGE_BYTES_MAX): Framed {
  const items = decodeCborSequence(payload, maxBytes);
  const [sequence] = items;
  if (items.length !== 2 || typeof sequence !== "number" || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw new ProtocolError("bad_message", "a device payload is a CBOR sequence of a sequence number and one message");
  }
  return { sequence, body: payload.subarray(headLength(payload[0])) };
}

/** Bytes taken by an unsigned integer's head, from its initial byte (RFC 8949 §3). */
function headLength(initial: number): number {
  const info = initial & 0x1f;
  return info < 24 ? 1 : 1 + (1 << (info - 24));
}
