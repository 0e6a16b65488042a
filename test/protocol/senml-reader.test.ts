// The collector's one-pass telemetry reader and compact log against the general decoders: for
// every payload the fast path takes, the same pack as unframe + decodeSenml + resolveSenml;
// for everything else it declines, and the collector records the general decoder's error.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collector } from "../../operator/collector.js";
import { Firmware } from "../../host/runtime/firmware.js";
import { TelemetryLog, timeOrdered, type TelemetryPack } from "../../operator/telemetry-log.js";
import { encodeCbor } from "../../protocol/cbor.js";
import { frame, unframe } from "../../protocol/framing.js";
import { encodeFirmwareConfig } from "../../protocol/messages.js";
import { decodeSenml, encodeSenml, resolveSenml, type SenmlRecord } from "../../protocol/senml.js";
import { readFramedSenml, type SenmlSink } from "../../protocol/senml-reader.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../simulator/net/broker.js";
import { PumpModel } from "../../simulator/physics/pump.js";
import { drawPump, bearingOrders, SUPPLY_MM_S_DEFAULT } from "../../simulator/physics/pump-params.js";
import { Random } from "../../simulator/physics/random.js";
import { RecordingHost } from "../../host/runtime/harness-hosts.js";
import { releaseFirmware } from "../support/firmware.js";

const DEVICE = "pump-0007";
const TOPIC = `impeller/v1/demo/${DEVICE}/telemetry`;

/** What the collector kept before the compact log: the general decoders' records as Maps. */
function reference(payload: Uint8Array): Omit<TelemetryPack, "device"> {
  const { sequence, body } = unframe("telemetry", payload);
  const records = resolveSenml(decodeSenml(body));
  const values = new Map<string, number>();
  const units = new Map<string, string>();
  const texts = new Map<string, string>();
  for (const record of records) {
    if (!record.name.startsWith(`${DEVICE}:`)) throw new Error(`not ${DEVICE}'s: ${record.name}`);
    const name = record.name.slice(DEVICE.length + 1);
    if (record.value !== undefined) values.set(name, record.value);
    if (record.unit !== undefined) units.set(name, record.unit);
    if (record.stringValue !== undefined) texts.set(name, record.stringValue);
  }
  return { sequence, time: records[0]?.time ?? 0, values, units, texts };
}

/** A sink that keeps one pack in a fresh log, as the collector's does. */
function readIntoLog(payload: Uint8Array): TelemetryLog | undefined {
  const log = new TelemetryLog(DEVICE);
  const sink: SenmlSink = {
    begin: (sequence, baseName) => {
      if (baseName !== `${DEVICE}:`) return false;
      log.begin(sequence);
      return true;
    },
    value: (name, unit, value, time) => log.value(name, unit, value, time),
    text: (name, unit, text, time) => log.text(name, unit, text, time),
  };
  if (!readFramedSenml(payload, sink)) return undefined;
  log.commit();
  return log;
}

function plain(pack: Omit<TelemetryPack, "device">): unknown {
  return { sequence: pack.sequence, time: pack.time, values: [...pack.values], units: [...pack.units], texts: [...pack.texts] };
}

const pack = (records: SenmlRecord[], sequence = 5): Uint8Array => frame("telemetry", sequence, encodeSenml(records));
/** A pack of records given as label => value maps, encoded as they are (a first record's "seq" included). */
const raw = (...records: [unknown, unknown][][]): Uint8Array => encodeCbor(records.map((entries) => new Map(entries)));
const DEVICE_LABEL: [unknown, unknown] = [-2, `${DEVICE}:`];

async function firmwarePayloads(count: number): Promise<Uint8Array[]> {
  const scenario = { rate: 12_800, window: 4096 };
  const random = Random.forItem(3, 7);
  const model = new PumpModel(drawPump({ rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1], imbalance_g: [0.005, 0.03], misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03], supply_mm_s: SUPPLY_MM_S_DEFAULT }, random), random, [], bearingOrders([9, 7.94, 39.04, 0]));
  const host = new RecordingHost();
  const firmware = await Firmware.instantiate(await releaseFirmware(), host);
  firmware.init(encodeFirmwareConfig({ device: DEVICE, rate_hz: scenario.rate, window: scenario.window, units: "g", rpm: model.parameters.rpm, vanes: model.parameters.vanes, bearing: [9, 7.94, 39.04, 0] }));
  const window = new Float32Array(scenario.window);
  for (let i = 0; i < count; i++) {
    const timeMs = Date.parse("2026-01-05T00:00:00Z") + i * 600_000;
    model.sample(window, scenario.rate, timeMs);
    firmware.process(window, timeMs, scenario.rate);
  }
  const TELEMETRY = 1;
  return host.published.filter((p) => p.kind === TELEMETRY).map((p, i) => frame("telemetry", i + 1, p.bytes));
}

describe("readFramedSenml", () => {
  it("reads the firmware's own telemetry in one pass, pack for pack as the general decoders", async () => {
    const payloads = await firmwarePayloads(40);
    expect(payloads).toHaveLength(40);
    for (const payload of payloads) {
      const log = readIntoLog(payload);
      expect(log, "the fast path takes the firmware's packs").toBeDefined();
      expect(plain(log!.at(0)!)).toEqual(plain(reference(payload)));
    }
  });

  it("resolves base time, base unit, base value and record times as RFC 8428 says", () => {
    const payload = pack([
      { bn: `${DEVICE}:`, bt: 1_767_571_200.5, bu: "m/s2", bv: 10, n: "a", v: 0.25 },
      { n: "b", u: "Cel", v: -3, t: 2 },
      { n: "c", vs: "outer_race" },
      { n: "a", v: 1.5 },
    ], 9);
    const read = readIntoLog(payload)!.at(0)!;
    expect(plain(read)).toEqual({
      sequence: 9, time: 1_767_571_200.5,
      values: [["a", 11.5], ["b", 7]], units: [["a", "m/s2"], ["b", "Cel"], ["c", "m/s2"]], texts: [["c", "outer_race"]],
    });
    expect(plain(read)).toEqual(plain(reference(payload)));
  });

  it("declines what it does not read itself, and the general decoder takes it or words the error", () => {
    const declined: [string, Uint8Array][] = [
      ["a name beyond ASCII", pack([{ bn: `${DEVICE}:`, n: "temp\u00b0", v: 1 }])],
      ["a boolean record", pack([{ bn: `${DEVICE}:`, n: "on", vb: true }])],
      ["a sum", pack([{ bn: `${DEVICE}:`, n: "energy", s: 3 }])],
      ["a base name changed mid-pack", pack([{ bn: `${DEVICE}:`, n: "a", v: 1 }, { bn: `${DEVICE}:x`, n: "b", v: 2 }])],
      ["another device's base name", pack([{ bn: "pump-0008:", n: "a", v: 1 }])],
      ["no sequence number", encodeSenml([{ bn: `${DEVICE}:`, n: "a", v: 1 }])],
      ["the sequence number in front of the pack", concat(encodeCbor(5), encodeSenml([{ bn: `${DEVICE}:`, n: "a", v: 1 }]))],
      ["two sequence numbers", frame("telemetry", 6, pack([{ bn: `${DEVICE}:`, n: "a", v: 1 }]))],
      ["a sequence number on the second record", raw([["seq", 5], DEVICE_LABEL, [0, "a"], [2, 1]], [["seq", 6], [0, "b"], [2, 2]])],
      ["a sequence number as a float", raw([["seq", 5.5], DEVICE_LABEL, [0, "a"], [2, 1]])],
      ["a negative sequence number", raw([["seq", -5], DEVICE_LABEL, [0, "a"], [2, 1]])],
      ["a sequence label in a longer head", Uint8Array.of(0x81, 0xa4, 0x78, 0x03, 0x73, 0x65, 0x71, 0x05, ...raw([DEVICE_LABEL, [0, "a"], [2, 1]]).subarray(2))],
      ["an unknown label", raw([["seq", 5], DEVICE_LABEL, [0, "a"], [2, 1], [99, 1]])],
      ["a text label", raw([["seq", 5], DEVICE_LABEL, [0, "a"], ["v", 1]])],
      ["a value of the wrong type", raw([["seq", 5], DEVICE_LABEL, [0, "a"], [2, "1"]])],
      ["two value fields", raw([["seq", 5], DEVICE_LABEL, [0, "a"], [2, 1], [3, "x"]])],
      ["a name with no value", raw([["seq", 5], DEVICE_LABEL, [0, "a"]])],
      ["an invalid name", pack([{ bn: `${DEVICE}:`, n: "a b", v: 1 }])],
      ["an indefinite-length pack", concat(Uint8Array.of(0x9f), encodeCbor(new Map<unknown, unknown>([["seq", 5], DEVICE_LABEL, [0, "a"], [2, 1]])), Uint8Array.of(0xff))],
      ["trailing bytes", concat(pack([{ bn: `${DEVICE}:`, n: "a", v: 1 }]), Uint8Array.of(0x00))],
      ["a NaN value", Uint8Array.of(0x81, 0xa4, 0x63, 0x73, 0x65, 0x71, 0x05, 0x21, 0x6a, ...new TextEncoder().encode(`${DEVICE}:`), 0x00, 0x61, 0x61, 0x02, 0xf9, 0x7e, 0x00)],
      ["a pack that is not an array", encodeCbor(new Map<unknown, unknown>([["seq", 5], [0, "a"]]))],
    ];
    for (const [why, payload] of declined) expect(readIntoLog(payload), why).toBeUndefined();
  });

  it("never takes a payload the general decoders refuse, nor reads it differently (every truncation and 3,000 byte flips)", async () => {
    const [original] = await firmwarePayloads(1);
    const random = new Random(11);
    const variants: Uint8Array[] = [];
    for (let length = 0; length < original.length; length++) variants.push(original.subarray(0, length));
    for (let i = 0; i < 3000; i++) {
      const flipped = original.slice();
      const at = Math.floor(random.next() * flipped.length);
      flipped[at] ^= 1 << Math.floor(random.next() * 8);
      variants.push(flipped);
    }
    let taken = 0;
    for (const payload of variants) {
      const log = readIntoLog(payload);
      let expected: unknown;
      try {
        expected = plain(reference(payload));
      } catch {
        expected = undefined;
      }
      if (log === undefined) continue;
      taken += 1;
      expect(expected, "the general decoders also take it").toBeDefined();
      expect(plain(log.at(0)!)).toEqual(expected);
    }
    // Most flips land in a value's bytes, which stays a well-formed pack.
    expect(taken).toBeGreaterThan(1000);
  });
});

describe("TelemetryLog", () => {
  it("keeps values exactly: float32 cells where they fit, float64 where not", () => {
    const log = new TelemetryLog(DEVICE);
    log.begin(1);
    log.value("a", "m/s2", 0.1, 100);
    log.value("b", undefined, Math.fround(0.1), 100);
    log.value("c", undefined, 2 ** 40 + 1, 100);
    log.text("fault", undefined, "none", 100);
    log.commit();
    expect(log.numberOf(0, "a")).toBe(0.1);
    expect(log.numberOf(0, "b")).toBe(Math.fround(0.1));
    expect(log.numberOf(0, "c")).toBe(2 ** 40 + 1);
    expect(log.textOf(0, "fault")).toBe("none");
    expect(log.numberOf(0, "fault")).toBeUndefined();
    expect(log.textOf(0, "a")).toBeUndefined();
  });

  it("grows past its first rows and bytes, drops an aborted pack, and orders rows by time", () => {
    const log = new TelemetryLog(DEVICE);
    for (let i = 0; i < 1000; i++) {
      log.begin(i + 1);
      const time = i % 2 === 0 ? 1000 - i : 1000 + i;
      for (let r = 0; r < 20; r++) log.value(`v${r}`, "m/s", i * 20 + r + 0.5, time);
      log.text("fault", undefined, i % 3 === 0 ? "none" : "outer_race", time);
      if (i % 10 === 9) log.abort();
      else log.commit();
    }
    expect(log.length).toBe(900);
    const row = 899; // the 1,000th begin was aborted; the last row is the 999th pack (i = 998)
    expect(log.sequence(row)).toBe(999);
    expect(log.numberOf(row, "v19")).toBe(998 * 20 + 19 + 0.5);
    expect(log.textOf(row, "fault")).toBe("outer_race");
    expect(log.textOf(897, "fault")).toBe("none"); // i = 996
    const ordered = timeOrdered(log);
    const times = Array.from({ length: ordered.length }, (_, i) => ordered.time(i));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(() => log.time(900)).toThrow(RangeError);
    expect(log.at(-1)!.sequence).toBe(999);
    expect(log.at(900)).toBeUndefined();
  });

  it("holds a month of a pump's windows in under three hundred and fifty bytes each (31 records a pack)", async () => {
    const payloads = await firmwarePayloads(50);
    const log = new TelemetryLog(DEVICE);
    const sink: SenmlSink = {
      begin: (sequence) => (log.begin(sequence), true),
      value: (name, unit, value, time) => log.value(name, unit, value, time),
      text: (name, unit, text, time) => log.text(name, unit, text, time),
    };
    for (let i = 0; i < 4320; i++) {
      expect(readFramedSenml(payloads[i % payloads.length], sink)).toBe(true);
      log.commit();
    }
    expect(log.length).toBe(4320);
    const perPack = log.bytesHeld / log.length;
    expect(perPack).toBeLessThan(350);
    expect(perPack).toBeGreaterThan(100);
  });
});

describe("TelemetryLog past its room for shapes", () => {
  it("keeps a pack of a shape it has no room for as it came, and reads it the same way", () => {
    const log = new TelemetryLog(DEVICE);
    // Made-up names, one shape each, until the shared trie is full (10,000 shapes).
    for (let i = 0; i < 10_001; i++) {
      log.begin(i + 1);
      log.value(`made_up_${i}`, "m/s2", i, i);
      log.commit();
    }
    log.begin(10_002);
    log.value("late", "Cel", 0.1, 99);
    log.text("fault", undefined, "none", 99);
    log.commit();
    const row = log.length - 1;
    expect(plain(log.at(row)!)).toEqual({ sequence: 10_002, time: 99, values: [["late", 0.1]], units: [["late", "Cel"]], texts: [["fault", "none"]] });
    expect([log.numberOf(row, "late"), log.textOf(row, "fault"), log.time(row)]).toEqual([0.1, "none", 99]);
    expect(log.numberOf(0, "made_up_0")).toBe(0);
    expect(log.numberOf(9_999, "made_up_9999")).toBe(9_999);
    expect(plain(log.at(10_000)!)).toEqual({ sequence: 10_001, time: 10_000, values: [["made_up_10000", 10_000]], units: [["made_up_10000", "m/s2"]], texts: [] });
  });
});

describe("Collector", () => {
  let broker: EmbeddedBroker;
  let collector: Collector;
  beforeAll(async () => {
    broker = await startEmbeddedBroker();
    collector = await Collector.connect(broker.url, "demo");
  });
  afterAll(async () => {
    await collector.close();
    await broker.close();
  });

  it("keeps fast and general packs alike, drops a duplicate, and words a bad pack's error", () => {
    const good = pack([{ bn: `${DEVICE}:`, bt: 10, n: "a", u: "m/s2", v: 0.5 }, { n: "fault", vs: "none" }], 1);
    const slow = pack([{ bn: `${DEVICE}:`, bt: 20, n: "a", u: "m/s2", v: 0.75 }, { n: "on", u: "/", vb: true }], 2);
    const bad = pack([{ bn: "pump-0008:", n: "a", v: 1 }], 3);
    const whole = pack([{ bn: `${DEVICE}:`, bt: 40, n: "a", u: "m/s2", v: 1 }], 4);
    const malformed = whole.subarray(0, whole.length - 1);
    for (const payload of [good, slow, good, bad, malformed]) collector.ingest(TOPIC, payload);
    const ledger = collector.devices.get(DEVICE)!;
    expect(ledger.telemetry.map((p) => plain(p))).toEqual([
      { sequence: 1, time: 10, values: [["a", 0.5]], units: [["a", "m/s2"]], texts: [["fault", "none"]] },
      { sequence: 2, time: 20, values: [["a", 0.75]], units: [["a", "m/s2"], ["on", "/"]], texts: [] },
    ]);
    expect([ledger.duplicates, ledger.received, ledger.releasedThrough, ledger.held.size]).toEqual([1, 3, 3, 0]); // the malformed one never gave its number
    expect(collector.errors.map((e) => [e.code, e.message])).toEqual([
      ["bad_senml", `record pump-0008:a does not belong to device ${DEVICE}`],
      ["malformed_cbor", expect.stringContaining("not well-formed CBOR") as unknown as string],
    ]);
  });
});

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
