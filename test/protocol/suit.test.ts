// SUIT envelopes (protocol/suit/, protocol/cose.ts): built, parsed and verified under ES256
// and EdDSA; tampering, wrong devices and rollbacks refused with the right code; anything else
// thrown at the parser refused as a SuitError; the interpreter; the SUIT draft's own examples
// (signed by the draft's key); and keygen → sign → inspect on the command line.

import { execFile } from "node:child_process";
import crypto, { type KeyObject } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Tag } from "cbor-x";
import { describe, expect, it } from "vitest";
import { decodeCbor, encodeCbor } from "../../protocol/cbor.js";
import { signSign1Detached, verifySign1Detached } from "../../protocol/cose.js";
import { authenticateEnvelope, checkCandidate, parseEnvelope, severEnvelope, verifyEnvelope } from "../../protocol/suit/envelope.js";
import { buildEnvelope } from "../../protocol/suit/build.js";
import { createState, runManifest, runSequence, type SuitContext } from "../../protocol/suit/interpreter.js";
import { digestOf, SuitError, type SuitSequence } from "../../protocol/suit/model.js";
import { encodeSequence, parseSequence } from "../../protocol/suit/sequence.js";
import { suitDiagnostic } from "../../protocol/suit/diagnostic.js";
import { formatUuid, parseUuid, vendorUuid } from "../../protocol/uuid.js";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const VENDOR = vendorUuid("impeller.example");
const CLASS = parseUuid("1492af14-2569-5e48-bf42-9b2d51f2ab45");
const DEVICE = parseUuid("5f0c1d2e-3a4b-5c6d-8e7f-0123456789ab");
const IMAGE = Uint8Array.from({ length: 24576 }, (_, i) => (i * 31 + 7) & 0xff);
const ed = crypto.generateKeyPairSync("ed25519");
const ec = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
const other = crypto.generateKeyPairSync("ed25519");

function build(overrides: Partial<Parameters<typeof buildEnvelope>[0]> = {}): Uint8Array {
  return buildEnvelope({ image: IMAGE, sequenceNumber: 7, vendorId: VENDOR, classId: CLASS, key: ed.privateKey, alg: -8, ...overrides });
}

function suitCode(body: () => unknown): string {
  try {
    body();
  } catch (error) {
    if (error instanceof SuitError) return error.code;
    throw error;
  }
  return "no error";
}

/** A small seeded generator (mulberry32): the mutations replay exactly. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An envelope from raw member items (key, encoded value), in order: for shapes buildEnvelope never makes. */
function envelopeOf(members: [number, Uint8Array][]): Uint8Array {
  return Buffer.concat([Uint8Array.of(0xd8, 107, 0xa0 + members.length), ...members.flatMap(([key, item]) => [encodeCbor(key), item])]);
}

const authItemOf = (envelope: Uint8Array): Uint8Array => {
  const parsed = parseEnvelope(envelope);
  return encodeCbor(encodeCbor([parsed.digestBytes, ...parsed.signatures]));
};

describe("building, parsing and verifying", () => {
  for (const [name, keys, alg] of [["ES256", ec, -7], ["EdDSA", ed, -8]] as const) {
    it(`${name}: an envelope built for an image parses to its facts and verifies with the public key`, () => {
      const envelope = build({ key: keys.privateKey, alg, deviceId: DEVICE, uri: "mqtt:impeller/v1/fw" });
      const verified = verifyEnvelope(envelope, [other.publicKey, keys.publicKey]);
      expect(verified.alg).toBe(alg);
      expect(verified.keyIndex).toBe(1);
      const m = verified.manifest;
      expect(m.sequenceNumber).toBe(7);
      expect(m.components).toEqual([[Uint8Array.of(0)]]);
      expect(formatUuid(m.vendorId!)).toBe(formatUuid(VENDOR));
      expect(m.classId).toEqual(CLASS);
      expect(m.deviceId).toEqual(DEVICE);
      expect(m.imageDigest).toEqual({ alg: -16, bytes: digestOf(-16, IMAGE) });
      expect(m.imageSize).toBe(24576);
      expect(m.uri).toBe("mqtt:impeller/v1/fw");
      expect(envelope[0]).toBe(0xd8);
      expect(envelope[1]).toBe(107);
      expect(parseEnvelope(envelope).manifest).toEqual(m);
    });
  }

  it("Ed25519 envelopes are deterministic: the same inputs give the same bytes", () => {
    expect(Buffer.from(build()).equals(Buffer.from(build()))).toBe(true);
  });

  it("the digest covers the manifest's bstr header too, and the signature signs the bstr-wrapped digest", () => {
    const envelope = parseEnvelope(build());
    expect(decodeCbor(envelope.digestBytes)).toEqual([-16, digestOf(-16, envelope.manifestBytes)]);
    expect(verifySign1Detached(envelope.signatures[0], envelope.digestBytes, [ed.publicKey])).toEqual({ ok: true, alg: -8, keyIndex: 0 });
    const content = decodeCbor(envelope.manifestBytes) as Uint8Array;
    expect(Buffer.from(digestOf(-16, content)).equals(Buffer.from(envelope.digest.bytes))).toBe(false);
  });

  it("COSE_Sign1: tag 18, protected {1: alg}, nil payload, a 64-byte r‖s signature; a kid goes unprotected", () => {
    const sign1 = decodeCbor(signSign1Detached(Uint8Array.of(1, 2, 3), ec.privateKey, -7, Uint8Array.of(9))) as Tag;
    expect(sign1.tag).toBe(18);
    const [protectedBytes, unprotected, payload, signature] = sign1.value as unknown[];
    expect(decodeCbor(protectedBytes as Uint8Array)).toEqual(new Map([[1, -7]]));
    expect(unprotected).toEqual(new Map([[4, Uint8Array.of(9)]]));
    expect(payload).toBeNull();
    expect((signature as Uint8Array).length).toBe(64);
  });
});

describe("refusals", () => {
  const envelope = build({ key: ec.privateKey, alg: -7 });

  it("one bit flipped in the manifest: suit_digest", () => {
    const parsed = parseEnvelope(envelope);
    const at = Buffer.from(envelope).indexOf(Buffer.from(parsed.manifestBytes)) + 40;
    for (const bit of [0, 3, 7]) {
      const tampered = Uint8Array.from(envelope);
      tampered[at] ^= 1 << bit;
      expect(suitCode(() => verifyEnvelope(tampered, [ec.publicKey]))).toBe("suit_digest");
    }
  });

  it("one bit flipped in the signature: suit_signature", () => {
    const sign1 = parseEnvelope(envelope).signatures[0];
    const at = Buffer.from(envelope).indexOf(Buffer.from(sign1)) + sign1.length - 10;
    const tampered = Uint8Array.from(envelope);
    tampered[at] ^= 0x10;
    expect(suitCode(() => verifyEnvelope(tampered, [ec.publicKey]))).toBe("suit_signature");
  });

  it("another key, or a key of the other type, or no key: suit_signature", () => {
    expect(suitCode(() => verifyEnvelope(envelope, [crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey]))).toBe("suit_signature");
    expect(suitCode(() => verifyEnvelope(envelope, [ed.publicKey]))).toBe("suit_signature");
    expect(suitCode(() => verifyEnvelope(envelope, []))).toBe("suit_signature");
  });

  it("wrong vendor, class or device: suit_condition; a sequence number not above the current: suit_rollback", () => {
    const verified = verifyEnvelope(build({ deviceId: DEVICE }), [ed.publicKey]);
    const device = { vendorId: VENDOR, classId: CLASS, deviceId: DEVICE, currentSequence: 6 };
    expect(suitCode(() => checkCandidate(verified, device))).toBe("no error");
    expect(suitCode(() => checkCandidate(verified, { ...device, vendorId: vendorUuid("other.example") }))).toBe("suit_condition");
    expect(suitCode(() => checkCandidate(verified, { ...device, classId: VENDOR }))).toBe("suit_condition");
    expect(suitCode(() => checkCandidate(verified, { ...device, deviceId: CLASS }))).toBe("suit_condition");
    expect(suitCode(() => checkCandidate(verified, { ...device, deviceId: undefined }))).toBe("suit_condition");
    expect(suitCode(() => checkCandidate(verified, { ...device, currentSequence: 7 }))).toBe("suit_rollback");
    expect(suitCode(() => checkCandidate(verified, { ...device, currentSequence: 8 }))).toBe("suit_rollback");
    // A manifest for the whole class fits every device of it.
    expect(suitCode(() => checkCandidate(verifyEnvelope(build(), [ed.publicKey]), device))).toBe("no error");
  });

  it("every truncation of an envelope is suit_malformed", () => {
    for (let length = 0; length < envelope.length; length++) {
      expect(suitCode(() => parseEnvelope(envelope.subarray(0, length)))).toBe("suit_malformed");
    }
  });

  it("malformed shapes are suit_malformed or suit_unsupported, each with a message", () => {
    const cases: [unknown, string][] = [
      [new Tag(new Map(), 107), "suit_malformed"],
      [new Tag([1, 2], 107), "suit_malformed"],
      [new Tag(new Map([[2, Uint8Array.of(0x80)], [3, Uint8Array.of(0xa0)]]), 108), "suit_malformed"],
      [new Tag(new Map([[2, encodeCbor([])], [3, encodeCbor(new Map())]]), 107), "suit_malformed"],
      [new Tag(new Map([[2, encodeCbor([encodeCbor([-16, new Uint8Array(32)])])], [3, encodeCbor(new Map())], [1, Uint8Array.of()]]), 107), "suit_unsupported"],
      ["not an envelope", "suit_malformed"],
    ];
    for (const [value, code] of cases) expect(suitCode(() => parseEnvelope(encodeCbor(value)))).toBe(code);
    expect(suitCode(() => parseEnvelope(Uint8Array.of(0xd8, 0x6b, 0xbf)))).toBe("suit_malformed");
    expect(suitCode(() => parseEnvelope(Buffer.concat([envelope, Uint8Array.of(0)])))).toBe("suit_malformed");
    // A duplicate key in the envelope: two manifests, only one of which the digest covers.
    const { manifestBytes } = parseEnvelope(envelope);
    const duplicate = envelopeOf([[2, authItemOf(envelope)], [3, manifestBytes], [3, encodeCbor(Uint8Array.of(0xa0))]]);
    expect(suitCode(() => parseEnvelope(duplicate))).toBe("suit_malformed");
  });

  it("random mutations of an envelope (3000): nothing but SuitError ever escapes", () => {
    const random = mulberry32(20260107);
    const envelopes = [envelope, build({ text: { "manifest-description": "x", "component-version": "1" } })];
    const codes = new Map<string, number>();
    for (let round = 0; round < 3000; round++) {
      const source = envelopes[round % envelopes.length];
      const mutated = Uint8Array.from(source);
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * mutated.length);
        const how = random();
        if (how < 0.5) mutated[at] ^= 1 << Math.floor(random() * 8);
        else mutated[at] = Math.floor(random() * 256);
      }
      let code = Buffer.compare(mutated, source) === 0 ? "unchanged" : "accepted"; // edits can cancel out
      try {
        parseEnvelope(mutated);
        verifyEnvelope(mutated, [ec.publicKey, ed.publicKey]);
      } catch (error) {
        expect(error).toBeInstanceOf(SuitError);
        code = (error as SuitError).code;
      }
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    // A mutation that still verifies would be a forgery; every one is refused.
    expect(codes.get("accepted") ?? 0).toBe(0);
    expect(codes.get("suit_digest")! + codes.get("suit_malformed")!).toBeGreaterThan(2000);
  });
});

describe("severable members", () => {
  const text = { "manifest-description": "impeller 1.4: bearing model v2", "component-version": "1.4.0" };
  const full = build({ text });

  it("text carried in the envelope is checked against its digest and read", () => {
    const verified = verifyEnvelope(full, [ed.publicKey]);
    expect(verified.manifest.text).toEqual({
      language: "en", manifest: { "manifest-description": "impeller 1.4: bearing model v2" },
      components: [{ componentId: [Uint8Array.of(0)], fields: { "component-version": "1.4.0" } }],
    });
    expect(verified.manifest.severed).toEqual([]);
  });

  it("severed, the envelope still verifies and says the text is gone", () => {
    const severed = severEnvelope(full, ["text"]);
    expect(severed.length).toBeLessThan(full.length);
    const verified = verifyEnvelope(severed, [ed.publicKey]);
    expect(verified.manifest.text).toBeUndefined();
    expect(verified.manifest.severed).toEqual(["text"]);
  });

  it("a member altered in the envelope: suit_digest; one the manifest has no digest for: suit_digest", () => {
    const parsed = parseEnvelope(full);
    const textAt = Buffer.from(full).lastIndexOf(Buffer.from("1.4.0"));
    const altered = Uint8Array.from(full);
    altered[textAt] = "2".charCodeAt(0);
    expect(suitCode(() => verifyEnvelope(altered, [ed.publicKey]))).toBe("suit_digest");
    // Our manifests carry install inline: a second install in the envelope is malformed.
    expect(suitCode(() => parseEnvelope(envelopeOf([[2, authItemOf(full)], [3, parsed.manifestBytes], [20, encodeCbor(encodeSequence([]))]])))).toBe("suit_malformed");
    // The draft's Example 0 has no install at all: one added to the envelope is not authenticated.
    const example0 = loadDraft()[0].bytes;
    const unauthenticated = envelopeOf([[2, authItemOf(example0)], [3, parseEnvelope(example0).manifestBytes], [20, encodeCbor(encodeSequence([]))]]);
    expect(suitCode(() => parseEnvelope(unauthenticated))).toBe("suit_digest");
  });

  it("a severed install cannot run", async () => {
    const draft = loadDraft()[2];
    const severed = severEnvelope(draft.bytes, ["install", "text"]);
    const envelope = authenticateEnvelope(severed, [draftKey()]);
    expect(envelope.manifest.severed).toEqual(["install", "text"]);
    const result = await runManifest(envelope, "install", deviceContext());
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe("suit_unsupported");
  });
});

// ---------------------------------------------------------------------------------------------
// The interpreter

interface Trace { calls: string[] }

function deviceContext(overrides: Partial<SuitContext> = {}, trace: Trace = { calls: [] }, slots: Uint8Array[] = [IMAGE]): SuitContext {
  return {
    vendorId: VENDOR,
    classId: CLASS,
    fetch: async (uri, component) => { trace.calls.push(`fetch ${uri} -> ${component}`); return IMAGE; },
    imageDigest: (component, alg, size) => digestOf(alg, (slots[component] ?? new Uint8Array()).subarray(0, size)),
    invoke: (component) => { trace.calls.push(`invoke ${component}`); },
    componentSlot: () => 1,
    ...overrides,
  };
}

const VENDOR_OK: SuitSequence = [{ kind: "override-parameters", parameters: { vendorId: VENDOR, classId: CLASS } }, { kind: "condition", code: 1, policy: 15 }, { kind: "condition", code: 2, policy: 15 }];

describe("the interpreter", () => {
  it("runs a hand-made sequence: try-each picks the option whose slot condition holds, run-sequence nests, parameters persist", async () => {
    const image = IMAGE;
    const sequence: SuitSequence = [
      ...VENDOR_OK,
      {
        kind: "try-each", options: [
          [{ kind: "override-parameters", parameters: { componentSlot: 0, uri: "slot0.bin" } }, { kind: "condition", code: 5, policy: 2 }],
          [{ kind: "override-parameters", parameters: { componentSlot: 1, uri: "slot1.bin" } }, { kind: "condition", code: 5, policy: 2 }],
        ],
      },
      {
        kind: "run-sequence", sequence: [
          { kind: "override-parameters", parameters: { imageDigest: { alg: -16, bytes: digestOf(-16, image) }, imageSize: image.length } },
          { kind: "action", code: 21, policy: 2 },
          { kind: "condition", code: 3, policy: 15 },
        ],
      },
      { kind: "action", code: 23, policy: 1 },
    ];
    // Through the wire form and back, so the parser is what feeds the interpreter.
    const parsed = parseSequence(encodeSequence(sequence));
    expect(parsed).toEqual(sequence);
    const trace: Trace = { calls: [] };
    const result = await runSequence(parsed, deviceContext({}, trace));
    expect(trace.calls).toEqual(["fetch slot1.bin -> 0", "invoke 0"]);
    expect(result.ok).toBe(true);
    expect(result.records.map((r) => `${r.command} ${r.ok ? "ok" : "failed"}`)).toEqual([
      "condition-vendor-identifier ok", "condition-class-identifier ok", "condition-component-slot failed", "condition-image-match ok", "directive-invoke ok",
    ]);
    expect(result.steps).toBe(13);
  });

  it("a failing condition stops the sequence with its code; wrong vendor is suit_condition, a wrong image suit_digest", async () => {
    const trace: Trace = { calls: [] };
    const wrong = await runSequence([...VENDOR_OK, { kind: "action", code: 23, policy: 0 }], deviceContext({ vendorId: CLASS }, trace));
    expect(!wrong.ok && wrong.error.code).toBe("suit_condition");
    expect(trace.calls).toEqual([]);
    const image = await runSequence([{ kind: "override-parameters", parameters: { imageDigest: { alg: -16, bytes: new Uint8Array(32) } } }, { kind: "condition", code: 3, policy: 0 }], deviceContext());
    expect(!image.ok && image.error.code).toBe("suit_digest");
    const aborted = await runSequence([{ kind: "condition", code: 14, policy: 0 }], deviceContext());
    expect(!aborted.ok && aborted.error.code).toBe("suit_abort");
  });

  it("try-each with no option succeeding fails; a nil option last makes it a no-op; soft-failure lets run-sequence end quietly", async () => {
    const failing: SuitSequence = [{ kind: "override-parameters", parameters: { componentSlot: 7 } }, { kind: "condition", code: 5, policy: 0 }];
    const none = await runSequence([{ kind: "try-each", options: [failing, failing] }], deviceContext());
    expect(!none.ok && none.error.code).toBe("suit_condition");
    expect((await runSequence([{ kind: "try-each", options: [failing, null] }], deviceContext())).ok).toBe(true);
    const hard = await runSequence([{ kind: "run-sequence", sequence: failing }], deviceContext());
    expect(hard.ok).toBe(false);
    const soft = await runSequence([{ kind: "run-sequence", sequence: [{ kind: "override-parameters", parameters: { softFailure: true } }, ...failing] }], deviceContext());
    expect(soft.ok).toBe(true);
  });

  it("a device error becomes suit_failed; an unknown command suit_unsupported; components out of range suit_malformed", async () => {
    const broken = await runSequence([{ kind: "override-parameters", parameters: { uri: "x" } }, { kind: "action", code: 21, policy: 2 }], deviceContext({ fetch: () => { throw new Error("flash write failed"); } }));
    expect(!broken.ok && broken.error.code).toBe("suit_failed");
    expect(broken.records[0]).toMatchObject({ command: "directive-fetch", ok: false });
    const unknown = await runSequence(parseSequence(encodeCbor([11, 0])), deviceContext());
    expect(!unknown.ok && unknown.error.code).toBe("suit_unsupported");
    const range = await runSequence([{ kind: "set-component-index", index: 3 }], deviceContext(), createState(2));
    expect(!range.ok && range.error.code).toBe("suit_malformed");
  });

  it("is bounded: nesting beyond the limit is refused when parsed, and a run stops after STEPS_MAX commands", async () => {
    let nested = encodeCbor([14, 0]);
    for (let i = 0; i < 6; i++) nested = encodeCbor([32, nested]);
    expect(suitCode(() => parseSequence(nested))).toBe("suit_malformed");
    const wide: SuitSequence = Array.from({ length: 8 }, () => ({ kind: "try-each", options: [[{ kind: "run-sequence", sequence: Array.from({ length: 128 }, () => ({ kind: "condition", code: 1, policy: 0 }) as const) }]] }) as const);
    const result = await runSequence([{ kind: "override-parameters", parameters: { vendorId: VENDOR } }, ...wide], deviceContext());
    expect(!result.ok && result.error.code).toBe("suit_limit");
  });

  it("runs our own manifest's install, validate and invoke against a device", async () => {
    const trace: Trace = { calls: [] };
    const verified = verifyEnvelope(build({ deviceId: DEVICE }), [ed.publicKey]);
    const context = deviceContext({ deviceId: DEVICE }, trace);
    for (const step of ["install", "validate", "invoke"] as const) expect((await runManifest(verified, step, context)).ok).toBe(true);
    expect(trace.calls).toEqual(["fetch impeller:block-download -> 0", "invoke 0"]);
    const elsewhere = await runManifest(verified, "install", deviceContext({ deviceId: CLASS }));
    expect(!elsewhere.ok && elsewhere.error.code).toBe("suit_condition");
  });
});

// ---------------------------------------------------------------------------------------------
// Envelopes made by other SUIT tools: the draft's Appendix B, as published (hex), signed with the
// draft's example key. Nothing here was re-encoded by us.

interface DraftFile { public_key_pem: string; examples: { name: string; hex: string }[] }
const draftFile = JSON.parse(fs.readFileSync(path.join(ROOT, "test/vectors/suit-draft-examples.json"), "utf8")) as DraftFile;
const loadDraft = (): { name: string; bytes: Uint8Array }[] => draftFile.examples.map((e) => ({ name: e.name, bytes: Uint8Array.from(Buffer.from(e.hex, "hex")) }));
const draftKey = (): KeyObject => crypto.createPublicKey(draftFile.public_key_pem);

describe("the SUIT draft's examples (Appendix B)", () => {
  const ARM_VENDOR = "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe";
  const ARM_CLASS = "1492af14-2569-5e48-bf42-9b2d51f2ab45";
  const DIGEST_0 = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";
  const expected = [
    { sequence: 0, components: [["00"]], size: 34768, steps: ["shared", "validate", "invoke"] },
    { sequence: 1, components: [["00"]], size: 34768, uri: "http://example.com/file.bin", steps: ["shared", "validate", "install"] },
    { sequence: 2, components: [["00"]], size: 34768, uri: "http://example.com/very/long/path/to/file/file.bin", steps: ["shared", "validate", "invoke", "install"] },
    { sequence: 3, components: [["00"]], size: undefined, steps: ["shared", "validate", "install"] },
    { sequence: 4, components: [["00"], ["02"], ["01"]], size: 34768, uri: "http://example.com/file.bin", steps: ["shared", "validate", "load", "invoke", "payloadFetch", "install"] },
    { sequence: 5, components: [["00"], ["01"]], size: 34768, uri: "http://example.com/file1.bin", steps: ["shared", "validate", "invoke", "install"] },
  ];

  it("the vendor ID is UUIDv5 of arm.com in the DNS namespace, as the draft says", () => {
    expect(formatUuid(vendorUuid("arm.com"))).toBe(ARM_VENDOR);
  });

  loadDraft().forEach(({ name, bytes }, i) => {
    it(`${name}: parses to its sequence number, components, vendor, class, digest; the draft's key verifies it`, () => {
      const want = expected[i];
      const envelope = authenticateEnvelope(bytes, [draftKey()]);
      const m = envelope.manifest;
      expect(envelope.alg).toBe(-7);
      expect(m.sequenceNumber).toBe(want.sequence);
      expect(m.components.map((id) => id.map((part) => Buffer.from(part).toString("hex")))).toEqual(want.components);
      expect(formatUuid(m.vendorId!)).toBe(ARM_VENDOR);
      expect(formatUuid(m.classId!)).toBe(ARM_CLASS);
      expect(m.imageSize).toBe(want.size);
      if (want.size !== undefined) expect(Buffer.from(m.imageDigest!.bytes).toString("hex")).toBe(DIGEST_0);
      expect(m.uri).toBe(want.uri);
      expect(Object.keys(m.sequences)).toEqual(want.steps);
      expect(suitCode(() => verifyEnvelope(bytes, [ed.publicKey]))).toBe("suit_signature");
    });
  });

  it("Example 2 carries install and text severable in the envelope: both match their digests", () => {
    const m = parseEnvelope(loadDraft()[2].bytes).manifest;
    expect(m.referenceUri).toBe("https://git.io/JJYoj");
    expect(m.text?.language).toBe("en-US");
    expect(m.text?.components[0].fields["vendor-domain"]).toBe("arm.com");
    expect(m.sequences.install?.map((c) => c.kind)).toEqual(["override-parameters", "action", "condition"]);
  });

  it("Example 3 (A/B images) runs its install on a device whose free slot is 1: fetches file2.bin and checks its digest", async () => {
    const envelope = parseEnvelope(loadDraft()[3].bytes);
    const trace: Trace = { calls: [] };
    const context = deviceContext({
      vendorId: parseUuid(ARM_VENDOR), classId: parseUuid(ARM_CLASS),
      imageDigest: () => Buffer.from("0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff", "hex"),
      fetch: (uri, component) => { trace.calls.push(`fetch ${uri} -> ${component}`); },
    }, trace);
    const result = await runManifest(envelope, "install", context);
    expect(result.ok).toBe(true);
    expect(trace.calls).toEqual(["fetch http://example.com/file2.bin -> 0"]);
  });

  it("inspect's diagnostic notation names the labels the way the draft prints them", () => {
    const text = suitDiagnostic(loadDraft()[0].bytes);
    expect(text).toContain("/ sequence-number / 2: 0");
    expect(text).toContain("/ condition-vendor-identifier / 1, 15");
    expect(text).toContain(`/ vendor-id / 1: h'fa6b4a53d5ad5fdfbe9de663e4d41ffe' / ${ARM_VENDOR} /`);
    expect(text).toContain("/ alg / 1: -7 / ES256 /");
    expect(text).toContain("/ directive-invoke / 23, 2");
  });
});

// ---------------------------------------------------------------------------------------------

describe("impeller keygen, sign, inspect", () => {
  const run = promisify(execFile);
  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, "bin/impeller.js"), ...args], { cwd: ROOT });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it("a key made by keygen signs an image that inspect verifies (exit 0); another key, a tampered file or another image exit 1", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-suit-"));
    try {
      expect((await cli("keygen", "--alg", "es256", "--out", path.join(dir, "a"))).code).toBe(0);
      expect((await cli("keygen", "--out", path.join(dir, "b"))).code).toBe(0);
      expect((await cli("keygen", "--out", path.join(dir, "b"))).code).toBe(2); // no silent overwrite
      expect(fs.readFileSync(path.join(dir, "a/signing-key.pem"), "utf8")).toContain("BEGIN PRIVATE KEY");
      expect(fs.readFileSync(path.join(dir, "a/signing-key.pub.pem"), "utf8")).toContain("BEGIN PUBLIC KEY");
      const image = path.join(dir, "firmware.wasm");
      fs.writeFileSync(image, IMAGE);
      const envelope = path.join(dir, "firmware.suit");
      const signed = await cli("sign", image, "--seq", "12", "--key", path.join(dir, "a/signing-key.pem"), "--vendor", "impeller.example",
        "--class", formatUuid(CLASS), "--device", "pump-0001", "--out", envelope);
      expect(signed.code).toBe(0);
      const good = await cli("inspect", envelope, "--key", path.join(dir, "a/signing-key.pub.pem"), "--image", image);
      expect(good.code).toBe(0);
      expect(good.stdout).toContain("/ sequence-number / 2: 12");
      expect(good.stdout).toContain("signature: ok (ES256");
      expect(verifyEnvelope(fs.readFileSync(envelope), [crypto.createPublicKey(fs.readFileSync(path.join(dir, "a/signing-key.pub.pem")))]).manifest.vendorId).toEqual(VENDOR);
      const otherKey = await cli("inspect", envelope, "--key", path.join(dir, "b/signing-key.pub.pem"));
      expect(otherKey.code).toBe(1);
      expect(otherKey.stdout).toContain("suit_signature");
      const bytes = fs.readFileSync(envelope);
      bytes[bytes.length - 30] ^= 0x01;
      const tampered = path.join(dir, "tampered.suit");
      fs.writeFileSync(tampered, bytes);
      const bad = await cli("inspect", tampered, "--key", path.join(dir, "a/signing-key.pub.pem"));
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain("suit_digest");
      const otherImage = path.join(dir, "other.wasm");
      fs.writeFileSync(otherImage, IMAGE.subarray(1));
      expect((await cli("inspect", envelope, "--key", path.join(dir, "a/signing-key.pub.pem"), "--image", otherImage)).code).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
