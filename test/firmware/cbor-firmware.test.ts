// The firmware's CBOR decoder and encoder (firmware/cbor.ts, firmware/debug/cbor-decoder.ts) against RFC 8949: the Appendix A
// examples (decoded value, re-encoding in preferred serialization), every truncation, and
// each kind of malformed or unsupported input with its own error code.

import { beforeAll, describe, expect, it } from "vitest";
import {
  CBOR_DEPTH_MAX, CBOR_ERR, CBOR_NODES_DEFAULT, expectedDiagnostic, fromHex, hasVectors, hex,
  loadFirmwareCbor, normaliseFloats, readVectors, type FirmwareCbor, type Vector,
} from "../../scripts/fuzz/firmware-cbor.js";

let cbor: FirmwareCbor;

beforeAll(async () => {
  cbor = await loadFirmwareCbor();
});

const vectors: Vector[] = hasVectors() ? readVectors() : [];

/** Vectors the decoder refuses on purpose, with the status it gives. */
const REFUSED = new Map<string, number>([
  ["c249010000000000000000", CBOR_ERR.unsupported], // bignum 2^64 (tag 2)
  ["c349010000000000000000", CBOR_ERR.unsupported], // bignum -2^64-1 (tag 3)
  // simple(24) in two bytes: RFC 7049 allowed it, RFC 8949 §3.3 makes 0xf8 followed by a
  // byte below 0x20 not well-formed. The vector set still carries the RFC 7049 example.
  ["f818", CBOR_ERR.malformed],
]);

describe.skipIf(!hasVectors())("RFC 8949 Appendix A", () => {
  it("has the 82 vectors of the cbor/test-vectors set", () => {
    expect(vectors).toHaveLength(82);
  });

  for (const vector of vectors.filter((v) => !REFUSED.has(v.hex))) {
    const want = vector.decoded !== undefined ? expectedDiagnostic(vector.decoded) : vector.diagnostic!;
    it(`${vector.hex} decodes to ${want}`, () => {
      const bytes = fromHex(vector.hex);
      // The RFC's diagnostic strings show indefinite lengths; a decoded value does not.
      const got = cbor.diagnostic(bytes, vector.decoded === undefined);
      expect(typeof got === "string" ? normaliseFloats(got) : got).toBe(want);
      expect(cbor.consumed()).toBe(bytes.length);
    });
  }

  for (const vector of vectors.filter((v) => v.roundtrip && !REFUSED.has(v.hex))) {
    it(`${vector.hex} re-encodes to the same bytes`, () => {
      const out = cbor.roundtrip(fromHex(vector.hex));
      expect(out instanceof Uint8Array ? hex(out) : out).toBe(vector.hex);
    });
  }

  const normalised: [string, string][] = [
    ["fa7f800000", "f97c00"], ["fa7fc00000", "f97e00"], ["faff800000", "f9fc00"],
    ["fb7ff0000000000000", "f97c00"], ["fb7ff8000000000000", "f97e00"], ["fbfff0000000000000", "f9fc00"],
    ["5f42010243030405ff", "450102030405"], ["7f657374726561646d696e67ff", "6973747265616d696e67"],
    ["9fff", "80"], ["9f018202039f0405ffff", "8301820203820405"], ["9f01820203820405ff", "8301820203820405"],
    ["83018202039f0405ff", "8301820203820405"], ["83019f0203ff820405", "8301820203820405"],
    ["9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", "98190102030405060708090a0b0c0d0e0f101112131415161718181819"],
    ["bf61610161629f0203ffff", "a26161016162820203"], ["826161bf61626163ff", "826161a161626163"],
    ["bf6346756ef563416d7421ff", "a26346756ef563416d7421"],
  ];
  it("the 17 vectors that do not round-trip re-encode in preferred serialization", () => {
    const notRoundtrip = vectors.filter((v) => !v.roundtrip).map((v) => v.hex);
    expect(notRoundtrip).toEqual(normalised.map(([input]) => input));
    for (const [input, output] of normalised) {
      const out = cbor.roundtrip(fromHex(input));
      expect(out instanceof Uint8Array ? hex(out) : out, input).toBe(output);
    }
  });

  for (const [input, status] of REFUSED) {
    it(`${input} is refused with status ${status}, never misread`, () => {
      expect(cbor.decode(fromHex(input))).toBe(status);
      expect(cbor.roundtrip(fromHex(input))).toBe(status);
      expect(cbor.diagnostic(fromHex(input))).toBe(status);
    });
  }

  it("every proper prefix of every vector is truncated, also at the very end of memory", () => {
    let prefixes = 0;
    for (const vector of vectors) {
      const bytes = fromHex(vector.hex);
      for (let length = 0; length < bytes.length; length++) {
        const prefix = bytes.subarray(0, length);
        expect(cbor.decode(prefix), `${vector.hex} cut to ${length}`).toBe(CBOR_ERR.truncated);
        expect(cbor.consumed()).toBeLessThanOrEqual(length);
        expect(cbor.decodeAtEnd(prefix), `${vector.hex} cut to ${length} at the end`).toBe(CBOR_ERR.truncated);
        prefixes += 1;
      }
    }
    expect(prefixes).toBe(vectors.reduce((sum, v) => sum + v.hex.length / 2, 0));
  });

  it("every vector decodes the same at the very end of memory", () => {
    for (const vector of vectors) {
      expect(cbor.decodeAtEnd(fromHex(vector.hex))).toBe(cbor.decode(fromHex(vector.hex)));
    }
  });
});

describe("integers and floats", () => {
  const cases: [string, string][] = [
    ["1bffffffffffffffff", "18446744073709551615"],
    ["3bffffffffffffffff", "-18446744073709551616"],
    ["3b7fffffffffffffff", "-9223372036854775808"],
    ["c1fb41d452d9ec200000", "1(1363896240.5)"],
    ["dbffffffffffffffff00", "18446744073709551615(0)"],
  ];
  for (const [input, want] of cases) {
    it(`${input} decodes exactly to ${want}`, () => {
      expect(cbor.diagnostic(fromHex(input))).toBe(want);
    });
  }

  const shortest: [string, string, string][] = [
    ["a head longer than needed", "1b0000000000000000", "00"],
    ["a 24 written in two bytes", "1818", "1818"],
    ["a map count written in nine bytes", "bb000000000000000100f6", "a100f6"],
    ["a double that is a half", "fb3ff8000000000000", "f93e00"],
    ["a double that is a single", "fb40f86a0000000000", "fa47c35000"],
    ["a double that is the smallest half subnormal", "fb3e70000000000000", "f90001"],
    ["a double that is the largest half subnormal", "fb3f0ff80000000000", "f903ff"],
    ["a single that is the smallest single subnormal", "fa00000001", "fa00000001"],
    ["a double that is a single subnormal", "fb36a0000000000000", "fa00000001"],
    ["a negative zero double", "fb8000000000000000", "f98000"],
    ["a single just above 65504, the largest half", "fa477fe100", "fa477fe100"],
    ["a NaN with a payload that fits a half", "fb7ff8040000000000", "f97e01"],
    ["a NaN with a payload that needs a single", "fa7fc00001", "fa7fc00001"],
    ["a NaN with a payload that needs a double", "fb7ff8000000000001", "fb7ff8000000000001"],
    ["an indefinite byte string without chunks", "5fff", "40"],
    ["an indefinite text string of empty chunks", "7f6060ff", "60"],
    ["simple(32), the first two-byte simple value", "f820", "f820"],
    ["a tag on an indefinite map", "d9d9f7bf6161f5ff", "d9d9f7a16161f5"],
  ];
  for (const [what, input, output] of shortest) {
    it(`re-encodes ${what} (${input}) as ${output}`, () => {
      const out = cbor.roundtrip(fromHex(input));
      expect(out instanceof Uint8Array ? hex(out) : out).toBe(output);
    });
  }
});

describe("malformed, refused and oversized input", () => {
  const deep = (byte: number, levels: number, inner: number[]) => new Uint8Array([...new Array<number>(levels).fill(byte), ...inner]);
  const items = (head: number[], count: number, tail: number[] = []) => new Uint8Array([...head, ...new Array<number>(count).fill(0), ...tail]);
  const cases: [string, Uint8Array, number][] = [
    ["reserved additional information 28 on an integer", fromHex("1c"), CBOR_ERR.malformed],
    ["reserved additional information 29 on a byte string", fromHex("5d"), CBOR_ERR.malformed],
    ["reserved additional information 30 on a simple value", fromHex("fe"), CBOR_ERR.malformed],
    ["reserved additional information inside an array", fromHex("82011e"), CBOR_ERR.malformed],
    ["an indefinite length on an unsigned integer", fromHex("1f"), CBOR_ERR.malformed],
    ["an indefinite length on a negative integer", fromHex("3f"), CBOR_ERR.malformed],
    ["an indefinite length on a tag", fromHex("df00"), CBOR_ERR.malformed],
    ["a break on its own", fromHex("ff"), CBOR_ERR.malformed],
    ["a break inside a definite array", fromHex("8201ff"), CBOR_ERR.malformed],
    ["a break as a tag's content", fromHex("9fc0ffff"), CBOR_ERR.malformed],
    ["a break after a map key without its value", fromHex("bf01ff"), CBOR_ERR.malformed],
    ["a text chunk in an indefinite byte string", fromHex("5f4101616100ff"), CBOR_ERR.malformed],
    ["a byte chunk in an indefinite text string", fromHex("7f4100ff"), CBOR_ERR.malformed],
    ["an integer in an indefinite byte string", fromHex("5f01ff"), CBOR_ERR.malformed],
    ["an indefinite chunk in an indefinite string", fromHex("5f5f4100ffff"), CBOR_ERR.malformed],
    ["simple(0) in two bytes", fromHex("f800"), CBOR_ERR.malformed],
    ["simple(31) in two bytes", fromHex("f81f"), CBOR_ERR.malformed],
    ["a byte string declaring 2^64-1 bytes", fromHex("5bffffffffffffffff01"), CBOR_ERR.truncated],
    ["a text string declaring 2^64-1 bytes", fromHex("7bffffffffffffffff"), CBOR_ERR.truncated],
    ["an array declaring 2^64-1 items", fromHex("9bffffffffffffffff00"), CBOR_ERR.truncated],
    ["a map declaring 2^64-1 pairs", fromHex("bbffffffffffffffff0000"), CBOR_ERR.truncated],
    ["a map declaring more pairs than half the bytes left", fromHex("a30102030405"), CBOR_ERR.truncated],
    ["an unclosed indefinite array", fromHex("9f0102"), CBOR_ERR.truncated],
    ["a head cut inside its argument", fromHex("1a0001"), CBOR_ERR.truncated],
    [`${CBOR_DEPTH_MAX} nested arrays around an integer`, deep(0x81, CBOR_DEPTH_MAX, [0]), 17],
    [`${CBOR_DEPTH_MAX + 1} nested arrays around an integer`, deep(0x81, CBOR_DEPTH_MAX + 1, [0]), CBOR_ERR.tooDeep],
    [`${CBOR_DEPTH_MAX + 2} nested indefinite maps (as keys)`, deep(0xbf, CBOR_DEPTH_MAX + 2, [0xff]), CBOR_ERR.tooDeep],
    [`${CBOR_DEPTH_MAX + 1} nested tags`, deep(0xc6, CBOR_DEPTH_MAX + 1, [0]), CBOR_ERR.tooDeep],
    ["1000 nested arrays", deep(0x81, 1000, [0]), CBOR_ERR.tooDeep],
    ["a string's chunks at the deepest level", deep(0x81, CBOR_DEPTH_MAX, [0x5f, 0x41, 0x00, 0xff]), 18],
    [`an array of ${CBOR_NODES_DEFAULT - 1} items`, items([0x99, 0x01, 0xff], CBOR_NODES_DEFAULT - 1), CBOR_NODES_DEFAULT],
    [`an array of ${CBOR_NODES_DEFAULT} items`, items([0x99, 0x02, 0x00], CBOR_NODES_DEFAULT), CBOR_ERR.tooMany],
    [`an indefinite array of ${CBOR_NODES_DEFAULT} items`, items([0x9f], CBOR_NODES_DEFAULT, [0xff]), CBOR_ERR.tooMany],
    ["a positive bignum", fromHex("c240"), CBOR_ERR.unsupported],
    ["a negative bignum inside an array", fromHex("8201c34101"), CBOR_ERR.unsupported],
    ["a decimal fraction (RFC 8949 §3.4.4: 273.15)", fromHex("c48221196ab3"), CBOR_ERR.unsupported],
    ["a bigfloat (RFC 8949 §3.4.4: 1.5)", fromHex("c5822003"), CBOR_ERR.unsupported],
    ["a bignum that is cut short", fromHex("c24901"), CBOR_ERR.truncated],
    ["a bignum followed by a malformed item", fromHex("82c2401c"), CBOR_ERR.malformed],
    ["a second item after the first", fromHex("0000"), CBOR_ERR.trailing],
    ["a break after a whole item", fromHex("9fffff"), CBOR_ERR.trailing],
    ["a text string with a lone continuation byte", fromHex("6180"), CBOR_ERR.badUtf8],
    ["a text string with an overlong encoding", fromHex("62c0af"), CBOR_ERR.badUtf8],
    ["a text string with a surrogate", fromHex("63eda080"), CBOR_ERR.badUtf8],
    ["a text string above U+10FFFF", fromHex("64f4908080"), CBOR_ERR.badUtf8],
    ["a text string with a character split across chunks", fromHex("7f61c361bcff"), CBOR_ERR.badUtf8],
    ["a text string cut inside a character", fromHex("62c3"), CBOR_ERR.truncated],
  ];
  for (const [what, input, status] of cases) {
    it(`${what} gives ${status}`, () => {
      expect(cbor.decode(input)).toBe(status);
      expect(cbor.consumed()).toBeLessThanOrEqual(input.length);
      expect(cbor.decodeAtEnd(input)).toBe(status);
    });
  }

  it("an empty input is truncated", () => {
    expect(cbor.decode(new Uint8Array(0))).toBe(CBOR_ERR.truncated);
    expect(cbor.decodeAtEnd(new Uint8Array(0))).toBe(CBOR_ERR.truncated);
  });

  it("shows indefinite lengths only when asked", () => {
    expect(cbor.diagnostic(fromHex("5fff"), true)).toBe("''_");
    expect(cbor.diagnostic(fromHex("5fff"), false)).toBe("h''");
    expect(cbor.diagnostic(fromHex("bf6161f5ff"), true)).toBe("{_ \"a\": true}");
    expect(cbor.diagnostic(fromHex("bf6161f5ff"), false)).toBe("{\"a\": true}");
  });
});
