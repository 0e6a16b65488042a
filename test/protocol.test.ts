// The wire contract's TypeScript side: topics, SenML CBOR, framing, state, and the typed
// errors every malformed input must produce.

import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeCbor, encodeCbor } from "../protocol/cbor.js";
import { ProtocolError } from "../protocol/errors.js";
import { frame, unframe } from "../protocol/framing.js";
import { decodeSenml, encodeSenml, resolveSenml } from "../protocol/senml.js";
import { decodeState, encodeState, supersedes } from "../protocol/state.js";
import { decodeCommand, decodeEvent, decodeReply } from "../protocol/messages.js";
import { buildTopic, parseTopic, topicFilter } from "../protocol/topics.js";

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

describe("framing", () => {
  it("prefixes the message with its sequence number as a CBOR sequence", () => {
    const body = encodeCbor([1, 2]);
    expect(Buffer.from(frame(0, body)).toString("hex")).toBe("00820102");
    expect(Buffer.from(frame(500, body)).toString("hex")).toBe("1901f4820102");
    expect(unframe(frame(500, body))).toEqual({ sequence: 500, body });
    // A non-shortest head from another encoder is still split at the right byte.
    expect(unframe(hex("1a000001f4820102"))).toEqual({ sequence: 500, body });
  });

  it("refuses payloads that are not a sequence number and one message", () => {
    expect(protocolError(() => unframe(hex("820102"))).code).toBe("bad_message");
    expect(protocolError(() => unframe(hex("01"))).code).toBe("bad_message");
    expect(protocolError(() => unframe(hex("0102 03".replace(" ", "")))).code).toBe("bad_message");
    expect(protocolError(() => unframe(hex("20820102"))).code).toBe("bad_message"); // -1
    expect(protocolError(() => unframe(hex("018201"))).code).toBe("malformed_cbor");
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
  const vectors = JSON.parse(fs.readFileSync(new URL("../../shared/vectors/cbor-rfc8949-appendix-a.json", import.meta.url), "utf8")) as
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
    const { senmlToJson } = await import("../protocol/senml-json.js");
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
