// Golden vectors (test/vectors/messages.json, written once by scripts/golden.ts): every
// message of the wire contract as hex with its meaning. The producers must still make exactly
// these bytes (the TypeScript codecs, and the release firmware for what a device sends), and
// the TypeScript codec for each message must read them back to the same meaning.

import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeCbor, decodeCborSequence } from "../../protocol/cbor.js";
import { diagnostic } from "../../protocol/diagnostic.js";
import { unframe } from "../../protocol/framing.js";
import { decodeCommand, decodeEvent, decodeFirmwareConfig, decodeReply, decodeWaveformPart } from "../../protocol/messages.js";
import { decodeSenml, resolveSenml } from "../../protocol/senml.js";
import { decodeState } from "../../protocol/state.js";
import { parseCddl } from "../../protocol/cddl/compile.js";
import { validateCbor, validateCborSequence } from "../../protocol/cddl/validate.js";
import { PRODUCERS } from "../../scripts/golden/producers.js";
import { loadFirmwareCbor } from "../../scripts/fuzz/firmware-cbor.js";

interface Vector {
  name: string;
  rule: string;
  by: "typescript" | "firmware";
  hex: string;
  diagnostic: string;
}

const vectors = JSON.parse(fs.readFileSync(new URL("../vectors/messages.json", import.meta.url), "utf8")) as Vector[];
const bytesOf = (vector: Vector): Uint8Array => Uint8Array.from(Buffer.from(vector.hex, "hex"));

/** The TypeScript codec that reads each impeller.cddl rule. */
const CODECS: Record<string, (bytes: Uint8Array) => unknown> = {
  "firmware-config": decodeFirmwareConfig,
  "config-command": decodeCommand,
  "self-test-command": decodeCommand,
  "sampling-command": decodeCommand,
  "waveform-command": decodeCommand,
  "reboot-command": decodeCommand,
  "shutdown-command": decodeCommand,
  "device-state": decodeState,
  "senml-pack": (bytes) => resolveSenml(decodeSenml(bytes)),
  "boot-event": decodeEvent,
  "error-event": decodeEvent,
  "fault-event": decodeEvent,
  "failed-event": decodeEvent,
  "outbox-drop-event": decodeEvent,
  "ok-reply": decodeReply,
  "error-reply": decodeReply,
  "waveform-part": decodeWaveformPart,
  "reply-payload": (bytes) => decodeReply(unframe("reply", bytes).body),
  "telemetry-payload": (bytes) => resolveSenml(decodeSenml(unframe("telemetry", bytes).body)),
};

/** A device payload's rule: a CBOR sequence (of one pack, for telemetry). */
const isPayload = (rule: string): boolean => rule.endsWith("-payload");

describe("golden vectors", () => {
  it("there is one vector per producer, in the same order", () => {
    expect(vectors.map((v) => v.name)).toEqual(PRODUCERS.map((p) => p.name));
  });

  for (const producer of PRODUCERS) {
    const vector = vectors.find((v) => v.name === producer.name)!;
    it(`${producer.name}: the ${producer.by === "firmware" ? "release firmware" : "TypeScript codec"} still produces exactly these bytes`, async () => {
      expect(Buffer.from(await producer.produce()).toString("hex")).toBe(vector.hex);
    });

    it(`${producer.name}: reads back as ${vector.rule} with the recorded meaning`, () => {
      const bytes = bytesOf(vector);
      expect(() => CODECS[vector.rule](bytes)).not.toThrow();
      const meaning = isPayload(vector.rule)
        ? decodeCborSequence(bytes).map((item) => diagnostic(item)).join(", ")
        : diagnostic(decodeCbor(bytes));
      expect(meaning).toBe(vector.diagnostic);
    });
  }

  it("every vector satisfies its rule in protocol/impeller.cddl", () => {
    const schema = parseCddl(fs.readFileSync(new URL("../../protocol/impeller.cddl", import.meta.url), "utf8"));
    for (const vector of vectors) {
      const bytes = bytesOf(vector);
      const problems = isPayload(vector.rule) ? validateCborSequence(schema, vector.rule, bytes) : validateCbor(schema, vector.rule, bytes);
      expect(problems, vector.name).toEqual([]);
    }
  });

  it("the firmware's CBOR decoder (through the debug build's ABI) reads every vector to the same meaning", async () => {
    const firmware = await loadFirmwareCbor();
    for (const vector of vectors) {
      const bytes = bytesOf(vector);
      if (isPayload(vector.rule) && vector.rule !== "telemetry-payload") {
        // A CBOR sequence: the decoder reads the first item and says where it ended.
        expect(firmware.decode(bytes), vector.name).toBe(-6); // trailing bytes: the message after the number
        continue;
      }
      expect(firmware.diagnostic(bytes), vector.name).toBe(vector.diagnostic);
    }
  });

  it("the codecs refuse each vector cut short by one byte with a ProtocolError", () => {
    for (const vector of vectors) {
      const bytes = bytesOf(vector);
      expect(() => CODECS[vector.rule](bytes.subarray(0, bytes.length - 1)), vector.name).toThrow(expect.objectContaining({ name: "ProtocolError" }));
    }
  });
});
