// The wire contract's TypeScript side: topics, SenML CBOR, framing, state, and the typed
// errors every malformed input must produce.

import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeCbor, encodeCbor, MESSAGE_BYTES_MAX } from "../../protocol/cbor.js";
import { ProtocolError } from "../../protocol/errors.js";
import { framable, frame, MESSAGE_BODY_BYTES_MAX, unframe } from "../../protocol/framing.js";
import { decodeSenml, encodeSenml, resolveSenml } from "../../protocol/senml.js";
import { decodeState, encodeState, supersedes } from "../../protocol/state.js";
import { decodeCommand, decodeEvent, decodeReply } from "../../protocol/messages.js";
import { buildTopic, parseTopic, topicFilter } from "../../protocol/topics.js";

function protocolError(run: () => unknown): ProtocolError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error("expected a ProtocolError, nothing was thrown");
}

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "hex"));

describe("topics", () => {
  it("builds and parses impeller/v1/{tenant}/{device}/{kind}", () => {
    expect(buildTopic("acme", "pump-0001", "telemetry")).toBe("impeller/v1/acme/pump-0001/telemetry");
    expect(parseTopic("impeller/v1/acme/pump-0001/state")).toEqual({ tenant: "acme", device: "pump-0001", kind: "state" });
    expect(topicFilter("acme", "#")).toBe("impeller/v1/acme/+/#");
    expect(topicFilter("+", "telemetry")).toBe("impeller/v1/+/+/telemetry");
  });

  it("refuses ids that could smuggle wildcards or levels, and unknown kinds", () => {
    expect(protocolError(() => buildTopic("acme", "a/b", "telemetry")).code).toBe("bad_topic");
    expect(protocolError(() => buildTopic("ac+me", "p", "telemetry")).code).toBe("bad_topic");
    expect(protocolError(() => buildTopic("acme", "#", "telemetry")).code).toBe("bad_topic");
    expect(protocolError(() => buildTopic("", "p", "telemetry")).code).toBe("bad_topic");
    expect(protocolError(() => parseTopic("impeller/v1/acme/p/firmware")).message).toContain('unknown kind "firmware"');
    expect(protocolError(() => parseTopic("impeller/v2/acme/p/state")).code).toBe("bad_topic");
    expect(protocolError(() => parseTopic("impeller/v1/acme/p/state/extra")).code).toBe("bad_topic");
  });
});

describe("SenML CBOR", () => {
  it("encodes integer labels (RFC 8428 §6) and resolves base name, time, unit and value", () => {
    const bytes = encodeSenml([
      { bn: "pump-1:", bt: 1767225600, bu: "m/s2", n: "acc_rms", v: 1.5 },
      { n: "crest", u: "/", v: 3, t: 0.5 },
      { n: "label", vs: "ok" },
    ]);
    // [{-2: "pump-1:", -3: 1767225600, -4: "m/s2", 0: "acc_rms", 2: 1.5}, ...]
    expect(Buffer.from(bytes).toString("hex").startsWith("83a5216770756d702d313a221a6955b900236")).toBe(true);
    expect(resolveSenml(decodeSenml(bytes))).toEqual([
      { name: "pump-1:acc_rms", unit: "m/s2", value: 1.5, time: 1767225600 },
      { name: "pump-1:crest", unit: "/", value: 3, time: 1767225600.5 },
      { name: "pump-1:label", unit: "m/s2", stringValue: "ok", time: 1767225600 },
    ]);
  });

  it("applies base value and base sum", () => {
    expect(resolveSenml([{ bn: "d:", bv: 10, bs: 100, n: "x", v: 1, s: 2 }])).toEqual([
      { name: "d:x", value: 11, sum: 102, time: 0 },
    ]);
  });

  const malformed: [string, Uint8Array, string][] = [
    ["empty input", new Uint8Array(0), "malformed_cbor"],
    ["truncated array", hex("82a10061"), "malformed_cbor"],
    ["truncated float", hex("81a102fb3ff8"), "malformed_cbor"],
    ["stray break", hex("ff"), "malformed_cbor"],
    ["trailing bytes", hex("80 00".replace(" ", "")), "malformed_cbor"],
    ["a map instead of an array", encodeCbor(new Map([[0, "x"]])), "bad_senml"],
    ["a record that is not a map", encodeCbor([1]), "bad_senml"],
    ["an unknown label", encodeCbor([new Map([[99, 1]])]), "bad_senml"],
    ["a text key", encodeCbor([new Map([["n", "x"]])]), "bad_senml"],
    ["a name that is a number", encodeCbor([new Map([[0, 5], [2, 1]])]), "bad_senml"],
    ["a value that is text", encodeCbor([new Map([[0, "x"], [2, "1"]])]), "bad_senml"],
  ];
  for (const [what, bytes, code] of malformed) {
    it(`decoding ${what} throws ProtocolError ${code}`, () => {
      expect(protocolError(() => decodeSenml(bytes)).code).toBe(code);
    });
  }

  it("refuses an oversized pack before decoding it", () => {
    const error = protocolError(() => decodeSenml(new Uint8Array(70_000)));
    expect(error.code).toBe("oversized");
    expect(error.message).toBe("message of 70000 bytes exceeds the limit of 65536 bytes");
  });

  it("resolution refuses records with two values, a name without a value, or an invalid name", () => {
    expect(protocolError(() => resolveSenml([{ n: "x", v: 1, vs: "a" }])).message).toContain("more than one value");
    expect(protocolError(() => resolveSenml([{ n: "x" }])).message).toContain("no value or sum");
    expect(protocolError(() => resolveSenml([{ n: "bad name", v: 1 }])).message).toContain("not a valid SenML name");
    expect(resolveSenml([{ bn: "d:", bt: 5 }])).toEqual([]); // a record of base fields only
  });

  it("a deeply nested input is a typed error, not a stack overflow", () => {
    const deep = new Uint8Array(100_000).fill(0x81);
    expect(protocolError(() => decodeSenml(deep, 200_000)).code).toMatch(/malformed_cbor|bad_senml/);
  });
});

describe("framing: telemetry", () => {
  // [{-2: "p:", 0: "a", 2: 1}]: one record, base name "p:", name "a", value 1.
  const body = hex("81a3216270" + "3a" + "0061610201");

  it("puts the sequence number in the pack's first record as \"seq\", the map counting one entry more", () => {
    // [{"seq": 5, -2: "p:", 0: "a", 2: 1}]
    expect(Buffer.from(frame("telemetry", 5, body)).toString("hex")).toBe("81a4" + "63736571" + "05" + "2162703a0061610201");
    expect(Buffer.from(frame("telemetry", 500, body)).toString("hex")).toBe("81a4" + "63736571" + "1901f4" + "2162703a0061610201");
    expect(Buffer.from(frame("telemetry", 2 ** 40, body)).toString("hex")).toBe("81a4" + "63736571" + "1b0000010000000000" + "2162703a0061610201");
    expect(decodeCbor(frame("telemetry", 5, body))).toEqual([new Map<unknown, unknown>([["seq", 5], [-2, "p:"], [0, "a"], [2, 1]])]);
    expect(unframe("telemetry", frame("telemetry", 500, body))).toEqual({ sequence: 500, body });
  });

  it("grows the first record's map head when its count needs another byte, and leaves the other records alone", () => {
    const entries = Array.from({ length: 23 }, (_, i) => i.toString(16).padStart(2, "0") + "f6").join(""); // 23 entries: i => null
    const wide = hex("82" + "b7" + entries + "a0");
    const framed = frame("telemetry", 7, wide);
    expect(Buffer.from(framed).toString("hex")).toBe("82" + "b818" + "63736571" + "07" + entries + "a0");
    expect(unframe("telemetry", framed)).toEqual({ sequence: 7, body: wide });
    // An indefinite-length record keeps its head; the entry goes right after it.
    const open = hex("81bf0061610201ff");
    expect(Buffer.from(frame("telemetry", 1, open)).toString("hex")).toBe("81bf" + "63736571" + "01" + "0061610201ff");
    expect(unframe("telemetry", frame("telemetry", 1, open))).toEqual({ sequence: 1, body: open });
  });

  it("takes the number wherever it stands in the first record, in any head another encoder writes", () => {
    // [{-2: "p:", 0: "a", 2: 1, "seq": 500}], the text's and the number's heads not the shortest.
    expect(unframe("telemetry", hex("81a4" + "2162703a0061610201" + "7803736571" + "1a000001f4"))).toEqual({ sequence: 500, body });
  });

  it("refuses a pack without a sequence number, with two, with a negative or a fractional one", () => {
    const record = "2162703a0061610201"; // -2: "p:", 0: "a", 2: 1
    const refused = (payload: string): ProtocolError => protocolError(() => unframe("telemetry", hex(payload)));
    expect(refused("81a3" + record).message).toContain("this one has none");
    expect(refused("81a5" + "6373657105" + record + "6373657106").message).toContain("two sequence numbers");
    expect(refused("81a4" + "6373657124" + record).message).toContain("not a non-negative integer"); // -5
    expect(refused("81a4" + "63736571f94500" + record).message).toContain("not a non-negative integer"); // 5.0
    expect(refused("81a4" + "637365711b0020000000000000" + record).message).toContain("not a non-negative integer"); // 2^53
    expect(refused("05" + "81a3" + record).code).toBe("malformed_cbor"); // a number in front: two items
    expect(refused("a1" + "6373657105").code).toBe("bad_message"); // not a pack
    expect(refused("80").code).toBe("bad_message"); // no record
    expect(refused("8105").code).toBe("bad_message"); // a record that is no map
    expect(refused("81a4" + "6373657105" + record.slice(0, -2)).code).toBe("malformed_cbor"); // cut short
  });

  it("leaves \"seq\" on any record but the first to the SenML decoder, which refuses it", () => {
    const payload = hex("82" + "a4" + "6373657105" + "2162703a0061610201" + "a3" + "6373657106" + "006162" + "0202");
    const { sequence, body: inner } = unframe("telemetry", payload);
    expect(sequence).toBe(5);
    expect(protocolError(() => decodeSenml(inner)).message).toContain("unknown label seq");
  });

  it("keeps the message limit: a body frames only if the payload still fits MESSAGE_BYTES_MAX", () => {
    const packOf = (bytes: number): Uint8Array => {
      const data = encodeSenml([{ bn: "p:", n: "a", vd: new Uint8Array(0) }]);
      const pack = encodeSenml([{ bn: "p:", n: "a", vd: new Uint8Array(bytes - data.length - 2) }]); // a bstr head of 3 bytes, not 1
      expect(pack.length).toBe(bytes);
      return pack;
    };
    const largest = packOf(MESSAGE_BODY_BYTES_MAX);
    const framed = frame("telemetry", Number.MAX_SAFE_INTEGER, largest);
    expect(framed.length).toBeLessThanOrEqual(MESSAGE_BYTES_MAX);
    expect(unframe("telemetry", framed).sequence).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => frame("telemetry", 1, packOf(MESSAGE_BODY_BYTES_MAX + 1))).toThrow(RangeError);
    const oversized = new Uint8Array(MESSAGE_BYTES_MAX + 1);
    oversized.set(frame("telemetry", 1, largest));
    expect(protocolError(() => unframe("telemetry", oversized)).code).toBe("oversized");
  });

  it("refuses to frame telemetry that is not a pack whose first record is a map", () => {
    for (const text of ["a0", "80", "8105", "05", ""]) {
      expect(framable("telemetry", hex(text)), text).toBe(false);
      expect(() => frame("telemetry", 1, hex(text)), text).toThrow(RangeError);
    }
    expect(framable("telemetry", body)).toBe(true);
    expect(framable("event", hex("05"))).toBe(true);
    expect(framable("state", hex("a0"))).toBe(false);
  });
});

describe("framing: events, replies, waveforms, updates", () => {
  it("prefixes the message with its sequence number as a CBOR sequence", () => {
    const body = encodeCbor([1, 2]);
    expect(Buffer.from(frame("reply", 0, body)).toString("hex")).toBe("00820102");
    expect(Buffer.from(frame("event", 500, body)).toString("hex")).toBe("1901f4820102");
    expect(unframe("event", frame("event", 500, body))).toEqual({ sequence: 500, body });
    // A non-shortest head from another encoder is still split at the right byte.
    expect(unframe("reply", hex("1a000001f4820102"))).toEqual({ sequence: 500, body });
    expect(() => frame("state", 1, body)).toThrow(RangeError);
  });

  it("refuses payloads that are not a sequence number and one message", () => {
    expect(protocolError(() => unframe("event", hex("820102"))).code).toBe("bad_message");
    expect(protocolError(() => unframe("event", hex("01"))).code).toBe("bad_message");
    expect(protocolError(() => unframe("event", hex("010203"))).code).toBe("bad_message");
    expect(protocolError(() => unframe("event", hex("20820102"))).code).toBe("bad_message"); // -1
    expect(protocolError(() => unframe("event", hex("f94500820102"))).code).toBe("bad_message"); // 5.0
    expect(protocolError(() => unframe("event", hex("018201"))).code).toBe("malformed_cbor");
  });
});

describe("state: birth and death", () => {
  it("round-trips and a stale death never supersedes a newer birth", () => {
    const birth = { online: true, session: 5, fw: 256, abi: 1 };
    expect(decodeState(encodeState(birth))).toEqual(birth);
    const staleDeath = { online: false, session: 4 };
    expect(supersedes(staleDeath, birth)).toBe(false);
    expect(supersedes({ online: false, session: 5 }, birth)).toBe(true);
    expect(supersedes({ online: true, session: 6 }, { online: false, session: 5 })).toBe(true);
    expect(protocolError(() => decodeState(encodeCbor(new Map([["online", "yes"]])))).code).toBe("bad_message");
  });
});

describe("RFC 8949 Appendix A through cbor-x", () => {
  const vectors = JSON.parse(fs.readFileSync(new URL("../../../shared/vectors/cbor-rfc8949-appendix-a.json", import.meta.url), "utf8")) as
    { hex: string; decoded?: unknown; roundtrip: boolean }[];

  // cbor-x does not decode these well-formed items; they must come out as typed errors.
  const UNSUPPORTED = ["f0", "f818", "f8ff", "5f42010243030405ff", "7f657374726561646d696e67ff"];

  it("the items cbor-x cannot decode (simple values, indefinite strings) are typed errors", () => {
    for (const item of UNSUPPORTED) expect(protocolError(() => decodeCbor(hex(item))).code).toBe("malformed_cbor");
  });

  it("decodes every other example with a JSON-representable value to that value", () => {
    let checked = 0;
    for (const vector of vectors) {
      if (!("decoded" in vector) || UNSUPPORTED.includes(vector.hex)) continue;
      const decoded = decodeCbor(hex(vector.hex));
      const expected = vector.decoded;
      if (typeof expected === "number" && typeof decoded === "bigint") continue; // beyond 2^53
      if (decoded instanceof Map) expect(Object.fromEntries(decoded)).toEqual(expected);
      else if (typeof decoded !== "object" || decoded === null) expect(decoded).toEqual(expected);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(50);
  });
});

describe("SenML JSON", () => {
  it("writes the same records with RFC 8428's text labels", async () => {
    const { senmlToJson } = await import("../../protocol/senml-json.js");
    expect(senmlToJson([{ bn: "d:", bt: 1.5, n: "x", u: "m/s2", v: 2 }, { n: "f", vs: "none" }, { n: "b", vd: new Uint8Array([1, 2]) }]))
      .toBe('[{"bn":"d:","bt":1.5,"n":"x","u":"m/s2","v":2},{"n":"f","vs":"none"},{"n":"b","vd":"AQI"}]');
  });
});

describe("codecs on 64-bit integers where text was expected (found by the fuzzer)", () => {
  const cases: [string, string, (bytes: Uint8Array) => unknown][] = [
    ["a reply with a bignum key", "a362696407626f6bf4c2656572ff6f7223", decodeReply],
    ["a reply with a 2^64 - 1 key", "a362696401626f6bf51bffffffffffffffff01", decodeReply],
    ["a command whose cmd is 2^64 - 1", "a26269640163636d641bffffffffffffffff", decodeCommand],
    ["an event whose name is 2^64 - 1", "a1656576656e741bffffffffffffffff", decodeEvent],
  ];
  for (const [what, input, codec] of cases) {
    it(`${what}: a ProtocolError, not a TypeError`, () => {
      expect(protocolError(() => codec(hex(input))).code).toBe("bad_message");
    });
  }
});
