// COSE_Sign1 (RFC 9052) with a detached payload, as a SUIT authentication wrapper carries it:
// tag 18, protected header {1: alg}, nil payload, signature over
// Sig_structure ["Signature1", protected, h'', payload]. ES256 (P-256, r‖s) and EdDSA
// (Ed25519) through node:crypto; ESP256 (−9, the fully specified ES256) is verified too.

import crypto, { type KeyObject } from "node:crypto";
import { Tag } from "cbor-x";
import { decodeCbor, encodeCbor } from "./cbor.js";

export const COSE_SIGN1_TAG = 18;
export const COSE_ALG_ES256 = -7;
export const COSE_ALG_EDDSA = -8;
/** ESP256 (RFC 9864): ECDSA with P-256 and SHA-256 by another name; newer SUIT examples use it. */
export const COSE_ALG_ESP256 = -9;
const HEADER_ALG = 1;
const HEADER_CRIT = 2;
const HEADER_KID = 4;
/** r‖s for P-256, and an Ed25519 signature: both 64 bytes. */
const SIGNATURE_BYTES = 64;

export type SignAlg = typeof COSE_ALG_ES256 | typeof COSE_ALG_EDDSA;
export type VerifyResult = { ok: true; alg: number; keyIndex: number } | { ok: false; reason: string };

export const ALG_NAMES: ReadonlyMap<number, string> = new Map([[-7, "ES256"], [-8, "EdDSA"], [-9, "ESP256"]]);

/** The key type an algorithm needs, or why the key does not fit it. */
function keyMismatch(key: KeyObject, alg: number): string | undefined {
  if (alg === COSE_ALG_EDDSA) return key.asymmetricKeyType === "ed25519" ? undefined : `EdDSA needs an Ed25519 key, not ${key.asymmetricKeyType}`;
  if (alg === COSE_ALG_ES256 || alg === COSE_ALG_ESP256) {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return key.asymmetricKeyType === "ec" && curve === "prime256v1" ? undefined : `ES256 needs a P-256 key, not ${key.asymmetricKeyType}${curve ? ` ${curve}` : ""}`;
  }
  return `algorithm ${alg} is not supported (ES256 -7, EdDSA -8, ESP256 -9)`;
}

/** The COSE algorithm a key signs with: ES256 for a P-256 key, EdDSA for an Ed25519 key. */
export function algForKey(key: KeyObject): SignAlg {
  if (keyMismatch(key, COSE_ALG_EDDSA) === undefined) return COSE_ALG_EDDSA;
  if (keyMismatch(key, COSE_ALG_ES256) === undefined) return COSE_ALG_ES256;
  throw new TypeError(`no COSE signing algorithm for a ${key.asymmetricKeyType} key: use P-256 (ES256) or Ed25519 (EdDSA)`);
}

/** Sig_structure for COSE_Sign1 with empty external AAD (RFC 9052 §4.4). */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeCbor(["Signature1", protectedBytes, new Uint8Array(0), payload]);
}

function rawSign(alg: SignAlg, key: KeyObject, data: Uint8Array): Uint8Array {
  const signature = alg === COSE_ALG_EDDSA
    ? crypto.sign(null, data, key)
    : crypto.sign("sha256", data, { key, dsaEncoding: "ieee-p1363" });
  return new Uint8Array(signature);
}

function rawVerify(alg: number, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return alg === COSE_ALG_EDDSA
      ? crypto.verify(null, data, key, signature)
      : crypto.verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature);
  } catch {
    return false;
  }
}

/** Signs `payload` detached: the COSE_Sign1 carries nil where the payload would be. The key
 *  must fit `alg` (a programming error otherwise). Ed25519 signatures are deterministic. */
export function signSign1Detached(payload: Uint8Array, key: KeyObject, alg: SignAlg, kid?: Uint8Array): Uint8Array {
  if (key.type !== "private") throw new TypeError("signing needs a private key");
  const mismatch = keyMismatch(key, alg);
  if (mismatch !== undefined) throw new TypeError(mismatch);
  const protectedBytes = encodeCbor(new Map([[HEADER_ALG, alg]]));
  const unprotected = kid === undefined ? new Map() : new Map([[HEADER_KID, kid]]);
  const signature = rawSign(alg, key, sigStructure(protectedBytes, payload));
  return encodeCbor(new Tag([protectedBytes, unprotected, null, signature], COSE_SIGN1_TAG));
}

/** Checks a detached COSE_Sign1 over `payload` against each key in turn. Never throws for bad
 *  input: anything wrong with the structure or the signature is a reason. */
export function verifySign1Detached(sign1: Uint8Array, payload: Uint8Array, keys: readonly KeyObject[]): VerifyResult {
  let decoded: unknown;
  try {
    decoded = decodeCbor(sign1, sign1.length + 1);
  } catch (error) {
    return { ok: false, reason: `COSE_Sign1 is not well-formed CBOR: ${(error as Error).message}` };
  }
  if (!(decoded instanceof Tag) || decoded.tag !== COSE_SIGN1_TAG) return { ok: false, reason: "not a COSE_Sign1 (tag 18)" };
  const body = decoded.value as unknown;
  if (!Array.isArray(body) || body.length !== 4) return { ok: false, reason: "COSE_Sign1 must be an array of 4" };
  const [protectedBytes, unprotected, detached, signature] = body as unknown[];
  if (!(protectedBytes instanceof Uint8Array)) return { ok: false, reason: "COSE_Sign1 protected header must be a bstr" };
  if (!(unprotected instanceof Map)) return { ok: false, reason: "COSE_Sign1 unprotected header must be a map" };
  if (detached !== null) return { ok: false, reason: "COSE_Sign1 payload must be nil (detached)" };
  if (!(signature instanceof Uint8Array)) return { ok: false, reason: "COSE_Sign1 signature must be a bstr" };
  let headers: unknown;
  try {
    headers = protectedBytes.length === 0 ? new Map() : decodeCbor(protectedBytes, protectedBytes.length + 1);
  } catch {
    return { ok: false, reason: "COSE_Sign1 protected header is not well-formed CBOR" };
  }
  if (!(headers instanceof Map)) return { ok: false, reason: "COSE_Sign1 protected header must encode a map" };
  if (headers.has(HEADER_CRIT)) return { ok: false, reason: "COSE_Sign1 marks headers critical (crit): none is understood here" };
  if (unprotected.has(HEADER_ALG)) return { ok: false, reason: "COSE_Sign1 alg must be protected" };
  const alg = headers.get(HEADER_ALG);
  if (typeof alg !== "number" || !ALG_NAMES.has(alg)) return { ok: false, reason: `COSE_Sign1 algorithm ${String(alg)} is not supported (ES256 -7, EdDSA -8, ESP256 -9)` };
  if (signature.length !== SIGNATURE_BYTES) return { ok: false, reason: `${ALG_NAMES.get(alg)} signature must be ${SIGNATURE_BYTES} bytes, not ${signature.length}` };
  const data = sigStructure(protectedBytes, payload);
  let fitting = 0;
  for (let i = 0; i < keys.length; i++) {
    if (keyMismatch(keys[i], alg) !== undefined) continue;
    fitting++;
    if (rawVerify(alg, keys[i], data, signature)) return { ok: true, alg, keyIndex: i };
  }
  const name = ALG_NAMES.get(alg);
  return {
    ok: false,
    reason: fitting === 0 ? `no trusted key fits ${name} (${keys.length} key${keys.length === 1 ? "" : "s"} given)` : `${name} signature does not verify with any of ${fitting} trusted key${fitting === 1 ? "" : "s"}`,
  };
}
