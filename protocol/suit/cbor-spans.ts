// Raw CBOR spans of a SUIT envelope: digests cover members as they stand in the bytes, so maps
// are read by walking the encoding, which also refuses duplicate keys.

import { CBOR_DEPTH_MAX, copy, decode, DIGEST_HASHES, fail, isInt, type SuitDigest, type SuitDigestAlg } from "./model.js";

// the encoding, which also refuses duplicate keys (two sequence numbers must not both be "the" one).

/** The end of the CBOR item starting at `at`. */
export function itemEnd(bytes: Uint8Array, at: number, depth: number): number {
  if (depth > CBOR_DEPTH_MAX) fail("suit_malformed", `CBOR nested deeper than ${CBOR_DEPTH_MAX}`);
  const { major, info, value, next } = head(bytes, at);
  if (info === 31) {
    if (major === 2 || major === 3 || major === 4 || major === 5) {
      let p = next;
      for (;;) {
        if (p >= bytes.length) fail("suit_malformed", "truncated indefinite-length item");
        if (bytes[p] === 0xff) return p + 1;
        p = itemEnd(bytes, p, depth + 1);
      }
    }
    fail("suit_malformed", `indefinite length on major type ${major}`);
  }
  if (major === 2 || major === 3) {
    const end = next + value;
    if (end > bytes.length) fail("suit_malformed", "truncated string");
    return end;
  }
  if (major === 4 || major === 5) {
    let p = next;
    const items = major === 5 ? value * 2 : value;
    if (items > bytes.length) fail("suit_malformed", "truncated array or map");
    for (let i = 0; i < items; i++) p = itemEnd(bytes, p, depth + 1);
    return p;
  }
  if (major === 6) return itemEnd(bytes, next, depth + 1);
  return next;
}

export function head(bytes: Uint8Array, at: number): { major: number; info: number; value: number; next: number } {
  if (at >= bytes.length) fail("suit_malformed", "truncated CBOR");
  const major = bytes[at] >> 5;
  const info = bytes[at] & 0x1f;
  if (info < 24) return { major, info, value: info, next: at + 1 };
  if (info === 31) return { major, info, value: 0, next: at + 1 };
  if (info > 27) fail("suit_malformed", `reserved CBOR additional information ${info}`);
  const size = 1 << (info - 24);
  if (at + 1 + size > bytes.length) fail("suit_malformed", "truncated CBOR head");
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + bytes[at + 1 + i];
  return { major, info, value, next: at + 1 + size };
}

/** A map's members as raw item bytes, keyed by their decoded (integer or text) keys. */
export function readMap(bytes: Uint8Array, at: number, what: string): Map<number | string, Uint8Array> {
  const { major, info, value, next } = head(bytes, at);
  if (major !== 5) fail("suit_malformed", `${what} must be a map`);
  const members = new Map<number | string, Uint8Array>();
  let p = next;
  for (let i = 0; info === 31 ? true : i < value; i++) {
    if (info === 31) {
      if (p >= bytes.length) fail("suit_malformed", `${what}: truncated map`);
      if (bytes[p] === 0xff) break;
    }
    const keyEnd = itemEnd(bytes, p, 1);
    const key = decode(bytes.subarray(p, keyEnd), `${what} key`);
    if (!isInt(key) && typeof key !== "string") fail("suit_malformed", `${what} keys must be integers or text`);
    const valueEnd = itemEnd(bytes, keyEnd, 1);
    if (members.has(key as number | string)) fail("suit_malformed", `${what} has key ${JSON.stringify(key)} twice`);
    members.set(key as number | string, bytes.subarray(keyEnd, valueEnd));
    p = valueEnd;
  }
  return members;
}

/** The content of a bstr item (raw bytes). */
export function bstrContent(item: Uint8Array, what: string): Uint8Array {
  const value = decode(item, what);
  if (!(value instanceof Uint8Array)) fail("suit_malformed", `${what} must be a byte string`);
  return value as Uint8Array;
}

export function parseDigest(value: unknown, what: string): SuitDigest {
  if (!Array.isArray(value) || value.length !== 2) return fail("suit_malformed", `${what} must be [algorithm, bytes]`);
  const [alg, bytes] = value as unknown[];
  const hash = typeof alg === "number" ? DIGEST_HASHES.get(alg) : undefined;
  if (hash === undefined) return fail("suit_unsupported", `${what}: digest algorithm ${String(alg)} is not supported (SHA-256 -16, SHA-384 -43, SHA-512 -44)`);
  if (!(bytes instanceof Uint8Array) || bytes.length !== hash[1]) return fail("suit_malformed", `${what}: a ${hash[0]} digest is ${hash[1]} bytes`);
  return { alg: alg as SuitDigestAlg, bytes: copy(bytes) };
}
