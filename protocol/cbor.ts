// The one place the TypeScript side turns bytes into CBOR data and back (cbor-x), with the
// options every codec here needs: integer-keyed maps stay Maps, no cbor-x record extensions,
// and every failure of a decoder surfaces as a ProtocolError.

import { Decoder, Encoder } from "cbor-x";
import { ProtocolError } from "./errors.js";

/** The largest message either side accepts unless a codec says otherwise. */
export const MESSAGE_BYTES_MAX = 65536;

const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });

export function encodeCbor(value: unknown): Uint8Array {
  const encoded = encoder.encode(value);
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

function checkSize(bytes: Uint8Array, maxBytes: number): void {
  if (bytes.length === 0) throw new ProtocolError("malformed_cbor", "empty message: a CBOR item was expected");
  if (bytes.length > maxBytes) {
    throw new ProtocolError("oversized", `message of ${bytes.length} bytes exceeds the limit of ${maxBytes} bytes`);
  }
}

function malformed(error: unknown): ProtocolError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ProtocolError("malformed_cbor", `not well-formed CBOR: ${reason}`, { cause: error });
}

/** cbor-x gives every 64-bit integer as a bigint; one that fits a double exactly becomes a
 *  number (Unix milliseconds are 64-bit on the wire), a larger one stays a bigint. */
function normalise(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = normalise(value[i]);
  } else if (value instanceof Map) {
    for (const [key, item] of value) value.set(key, normalise(item));
  }
  return value;
}

/** Decodes exactly one CBOR item; trailing bytes are an error. */
export function decodeCbor(bytes: Uint8Array, maxBytes = MESSAGE_BYTES_MAX): unknown {
  checkSize(bytes, maxBytes);
  try {
    return normalise(decoder.decode(bytes));
  } catch (error) {
    throw malformed(error);
  }
}

/** Decodes a CBOR sequence (RFC 8742): every item, in order. */
export function decodeCborSequence(bytes: Uint8Array, maxBytes = MESSAGE_BYTES_MAX): unknown[] {
  checkSize(bytes, maxBytes);
  try {
    return (decoder.decodeMultiple(bytes) as unknown[]).map(normalise);
  } catch (error) {
    throw malformed(error);
  }
}
