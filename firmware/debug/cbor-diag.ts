// Diagnostic notation (RFC 8949 §8) of a decoded item, for the debug build only: the test
// harness compares it with the RFC's examples. Allocates strings freely; never in firmware.wasm.

import {
  cborNodeKind, cborNodeFlags, cborNodeValue, cborNodeSize, cborNodePtr, cborNodeF64,
  CBOR_KIND_UINT, CBOR_KIND_NINT, CBOR_KIND_BYTES, CBOR_KIND_TEXT, CBOR_KIND_ARRAY, CBOR_KIND_MAP,
  CBOR_KIND_TAG, CBOR_KIND_SIMPLE, CBOR_FLAG_INDEFINITE,
} from "./cbor-decoder";

const HEX = "0123456789abcdef";

function hexBytes(ptr: usize, len: i32): string {
  let out = "";
  for (let i = 0; i < len; i++) {
    const b = <i32>load<u8>(ptr + <usize>i);
    out += HEX.charAt(b >> 4) + HEX.charAt(b & 15);
  }
  return out;
}

/** JSON.stringify's escaping: quote, backslash and control characters; the rest as is. */
function quoted(ptr: usize, len: i32): string {
  const text = String.UTF8.decodeUnsafe(ptr, <usize>len);
  let out = "\"";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 0x22) out += "\\\"";
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x08) out += "\\b";
    else if (c == 0x0c) out += "\\f";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0d) out += "\\r";
    else if (c == 0x09) out += "\\t";
    else if (c < 0x20) out += "\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15);
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

/** A float as JavaScript's String() writes it, with ".0" on whole numbers below 1e21. */
export function floatText(value: f64): string {
  if (isNaN(value)) return "NaN";
  if (value == Infinity) return "Infinity";
  if (value == -Infinity) return "-Infinity";
  if (value == 0.0) return (reinterpret<u64>(value) >> 63) != 0 ? "-0.0" : "0.0";
  let text = value.toString();
  if (Math.abs(value) < 1e21 && value == Math.floor(value)) {
    if (text.endsWith(".0")) return text;
    return text + ".0";
  }
  // AssemblyScript writes "1e-7" as JavaScript does; strip a ".0" before an exponent.
  const e = text.indexOf("e");
  if (e > 2 && text.substring(e - 2, e) == ".0") text = text.substring(0, e - 2) + text.substring(e);
  return text;
}

function simpleText(value: u64): string {
  if (value == 20) return "false";
  if (value == 21) return "true";
  if (value == 22) return "null";
  if (value == 23) return "undefined";
  return "simple(" + value.toString() + ")";
}

/** Diagnostic notation of node `index` and its subtree; with `marks`, indefinite lengths
 *  show as `[_ `, `{_ ` and `(_ chunk, chunk)`, without it an indefinite string shows joined. */
export function diagnostic(index: i32, marks: bool): string {
  const kind = cborNodeKind(index);
  const value = cborNodeValue(index);
  const indefinite = (cborNodeFlags(index) & CBOR_FLAG_INDEFINITE) != 0;
  if (kind == CBOR_KIND_UINT) return value.toString();
  if (kind == CBOR_KIND_NINT) return value == u64.MAX_VALUE ? "-18446744073709551616" : "-" + (value + 1).toString();
  if (kind == CBOR_KIND_BYTES || kind == CBOR_KIND_TEXT) {
    const size = cborNodeSize(index);
    if (!indefinite) return renderString(kind, cborNodePtr(index), <i32>value);
    if (marks) {
      if (size == 1) return kind == CBOR_KIND_TEXT ? "\"\"_" : "''_";
      let out = "(_ ";
      for (let i = index + 1; i < index + size; i++) {
        if (i > index + 1) out += ", ";
        out += renderString(kind, cborNodePtr(i), <i32>cborNodeValue(i));
      }
      return out + ")";
    }
    const joined = new StaticArray<u8>(<i32>value);
    let at: usize = 0;
    for (let i = index + 1; i < index + size; i++) {
      memory.copy(changetype<usize>(joined) + at, cborNodePtr(i), <usize>cborNodeValue(i));
      at += <usize>cborNodeValue(i);
    }
    return renderString(kind, changetype<usize>(joined), <i32>value);
  }
  if (kind == CBOR_KIND_ARRAY || kind == CBOR_KIND_MAP) {
    let out = kind == CBOR_KIND_ARRAY ? "[" : "{";
    if (marks && indefinite) out += "_ ";
    const items = kind == CBOR_KIND_MAP ? <i32>value * 2 : <i32>value;
    let child = index + 1;
    for (let i = 0; i < items; i++) {
      if (i > 0) out += kind == CBOR_KIND_MAP && (i & 1) == 1 ? ": " : ", ";
      out += diagnostic(child, marks);
      child += cborNodeSize(child);
    }
    return out + (kind == CBOR_KIND_ARRAY ? "]" : "}");
  }
  if (kind == CBOR_KIND_TAG) return value.toString() + "(" + diagnostic(index + 1, marks) + ")";
  if (kind == CBOR_KIND_SIMPLE) return simpleText(value);
  return floatText(cborNodeF64(index));
}

function renderString(kind: u8, ptr: usize, len: i32): string {
  return kind == CBOR_KIND_TEXT ? quoted(ptr, len) : "h'" + hexBytes(ptr, len) + "'";
}
