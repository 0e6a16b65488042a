// CBOR diagnostic notation (RFC 8949 §8, with the EDN conventions of RFC 8610 Appendix G)
// for values decoded by protocol/cbor.ts: how people read a message, a golden vector's
// meaning, and what `impeller inspect` prints.

import { Tag } from "cbor-x";

/** Nesting beyond this prints as "…": diagnostic output is for people, not a second decoder. */
const DEPTH_MAX = 64;

function float(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  if (Object.is(value, -0)) return "-0.0";
  const text = String(value);
  if (/e/.test(text)) {
    // JS writes 1e+300; diagnostic notation keeps a fraction: 1.0e+300.
    const [mantissa, exponent] = text.split("e");
    return `${mantissa.includes(".") ? mantissa : `${mantissa}.0`}e${exponent}`;
  }
  return text.includes(".") ? text : `${text}.0`;
}

function bytes(value: Uint8Array): string {
  return `h'${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}'`;
}

/** Renders a decoded value. A float that is a whole number decodes as a JS number and
 *  prints as an integer: compare bytes, not notation, where that matters. */
export function diagnostic(value: unknown, depth = 0): string {
  if (depth > DEPTH_MAX) return "…";
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isInteger(value) && !Object.is(value, -0) ? String(value) : float(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Uint8Array) return bytes(value);
  if (Array.isArray(value)) return `[${value.map((item) => diagnostic(item, depth + 1)).join(", ")}]`;
  if (value instanceof Map) {
    return `{${[...value].map(([key, item]) => `${diagnostic(key, depth + 1)}: ${diagnostic(item, depth + 1)}`).join(", ")}}`;
  }
  if (value instanceof Tag) return `${value.tag}(${diagnostic(value.value, depth + 1)})`;
  if (ArrayBuffer.isView(value)) return bytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  return `<${typeof value}>`;
}
