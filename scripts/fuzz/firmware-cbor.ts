// The firmware's CBOR decoder and encoder (firmware/cbor.ts, firmware/debug/cbor-decoder.ts) through the debug build's
// exports, for the conformance tests and the fuzzer. Also the Appendix A vectors, read with
// number literals kept exact (big integers as bigint, floats marked as floats).

import fs from "node:fs";
import * as loader from "@assemblyscript/loader";
import { DEBUG_IMAGE } from "../../host/runtime/images.js";
import { silentHostImports } from "../../host/runtime/harness-hosts.js";

/** CBOR_ERR_* in firmware/debug/cbor-decoder.ts. */
export const CBOR_ERR = {
  truncated: -1,
  malformed: -2,
  tooDeep: -3,
  tooMany: -4,
  unsupported: -5,
  trailing: -6,
  badUtf8: -7,
  noRoom: -8,
} as const;

/** CBOR_DEPTH_MAX in firmware/cbor.ts and CBOR_NODES_DEFAULT in firmware/debug/cbor-decoder.ts. */
export const CBOR_DEPTH_MAX = 16;
export const CBOR_NODES_DEFAULT = 512;

interface CborExports extends Record<string, unknown> {
  memory: WebAssembly.Memory;
  debug_cbor_decode(input: number): number;
  debug_cbor_decode_raw(ptr: number, len: number): number;
  debug_cbor_last_page(): number;
  debug_cbor_status(): number;
  debug_cbor_consumed(): number;
  debug_cbor_roundtrip(input: number): number;
  debug_cbor_diagnostic(input: number, marks: number): number;
  Uint8Array_ID: WebAssembly.Global;
}

export interface FirmwareCbor {
  /** Nodes decoded (≥ 1) or a CBOR_ERR_* status. */
  decode(bytes: Uint8Array): number;
  /** The same, with the input placed at the very end of linear memory: a read past it traps. */
  decodeAtEnd(bytes: Uint8Array): number;
  /** Bytes the last decode consumed. */
  consumed(): number;
  /** Re-encoded bytes, or the status when it does not decode. */
  roundtrip(bytes: Uint8Array): Uint8Array | number;
  /** Diagnostic notation, or the status when it does not decode. */
  diagnostic(bytes: Uint8Array, marks?: boolean): string | number;
}

export async function loadFirmwareCbor(): Promise<FirmwareCbor> {
  const host = silentHostImports();
  const instance = await loader.instantiate<CborExports>(fs.readFileSync(DEBUG_IMAGE), { host });
  const e = instance.exports as loader.ASUtil & CborExports;
  const withInput = <T>(bytes: Uint8Array, run: (ptr: number) => T): T => {
    const ptr = e.__pin(e.__newArray(e.Uint8Array_ID.value as number, bytes));
    try {
      return run(ptr);
    } finally {
      e.__unpin(ptr);
    }
  };
  return {
    decode: (bytes) => withInput(bytes, (ptr) => e.debug_cbor_decode(ptr)),
    decodeAtEnd(bytes) {
      const page = e.debug_cbor_last_page();
      const memory = new Uint8Array(e.memory.buffer);
      if (page === 0 || page + 65536 !== memory.length || bytes.length > 65536) throw new Error("no last page for the input");
      const ptr = memory.length - bytes.length;
      memory.set(bytes, ptr);
      return e.debug_cbor_decode_raw(ptr, bytes.length);
    },
    consumed: () => e.debug_cbor_consumed(),
    roundtrip: (bytes) => withInput(bytes, (ptr) => {
      const out = e.__getUint8Array(e.debug_cbor_roundtrip(ptr));
      const status = e.debug_cbor_status();
      return status < 0 ? status : out;
    }),
    diagnostic: (bytes, marks = false) => withInput(bytes, (ptr) => {
      const text = e.__getString(e.debug_cbor_diagnostic(ptr, marks ? 1 : 0));
      const status = e.debug_cbor_status();
      return status < 0 ? status : text;
    }),
  };
}

// ---------------------------------------------------------------------------------------
// Appendix A vectors (the cbor/test-vectors set)

export const VECTORS_PATH = new URL("../../../shared/vectors/cbor-rfc8949-appendix-a.json", import.meta.url);

/** A number literal from the file, kept as written. */
export interface ExactNumber {
  $number: string;
}

export interface Vector {
  hex: string;
  roundtrip: boolean;
  decoded?: unknown;
  diagnostic?: string;
}

export function hasVectors(): boolean {
  return fs.existsSync(VECTORS_PATH);
}

/** The vectors, every number literal replaced by {$number: literal}: JSON.parse would round
 *  18446744073709551615 and turn 1.0 into the integer 1. */
export function readVectors(): Vector[] {
  const text = fs.readFileSync(VECTORS_PATH, "utf8");
  const exact = text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g,
    (token) => (token.startsWith("\"") ? token : `{"$number": "${token}"}`));
  return JSON.parse(exact) as Vector[];
}

function isExactNumber(value: unknown): value is ExactNumber {
  return typeof value === "object" && value !== null && "$number" in value;
}

/** A float as the firmware's diagnostic notation writes it (firmware/debug/cbor-diag.ts floatText). */
export function floatText(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const text = String(value);
  return Number.isInteger(value) && Math.abs(value) < 1e21 ? `${text}.0` : text;
}

/** Diagnostic notation (RFC 8949 §8) of a vector's `decoded` value: a literal with a point or
 *  an exponent is a float, any other an integer, exactly as written. */
export function expectedDiagnostic(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (isExactNumber(value)) {
    const literal = value.$number;
    return /[.eE]/.test(literal) ? floatText(Number(literal)) : BigInt(literal).toString();
  }
  if (Array.isArray(value)) return `[${value.map(expectedDiagnostic).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${expectedDiagnostic(v)}`).join(", ")}}`;
  }
  throw new Error(`a vector holds ${String(value)}, which JSON cannot`);
}

/** The firmware writes floats with AssemblyScript's dtoa, whose last digit may differ from
 *  JavaScript's shortest form (3.4028234663852887e+38 for 3.4028234663852886e+38) while
 *  naming the same double: rewrite every float token in JavaScript's form. Floats are the
 *  only tokens with a point or a signed exponent (hex and the vectors' texts have neither). */
export function normaliseFloats(diagnostic: string): string {
  return diagnostic.replace(/-?\d+\.\d+(?:e[+-]\d+)?|-?\d+e[+-]\d+/g, (token) => floatText(Number(token)));
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"));
}
