// Telemetry on the wire is plain SenML: a subscriber that is not ours — another CBOR library
// (cborg) and a SenML reading written from RFC 8428 alone (test/support/senml-rfc8428.ts) —
// takes every telemetry payload of a real run (release firmware, host shim, MQTT broker) as one
// valid pack, finds each device's sequence numbers in it, rising, and reads the very records
// our collector kept.

import { decode } from "cborg";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../simulator/net/broker.js";
import { simulate, type SimulationResult } from "../../simulator/fleet/fleet.js";
import { parseScenario } from "../../simulator/scenario/scenario.js";
import { readSenmlPack, type SenmlPack } from "../support/senml-rfc8428.js";
import { until } from "../support/wait.js";

const WINDOWS = 8;
const scenario = parseScenario({
  name: "three pumps, plain SenML", seed: 5, tenant: "acme", start: "2026-03-01T12:00:00Z",
  days: WINDOWS * 600 / 86_400, pumps: 3, interval_s: 600, sample_rate_hz: 12_800, window: 4096,
  bearing: [9, 7.94, 39.04, 0],
  pump: { rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1], imbalance_g: [0.005, 0.03], misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03] },
  faults: [{ kind: "outer_race", pumps: 1, onset_day: [0, 0], pf_days: [1, 1] }],
});

interface Heard {
  device: string;
  payload: Uint8Array;
}

describe("telemetry read by a SenML subscriber that is not ours (cborg, RFC 8428)", () => {
  let broker: EmbeddedBroker;
  let subscriber: mqtt.MqttClient;
  const heard: Heard[] = [];
  let result: SimulationResult;

  beforeAll(async () => {
    broker = await startEmbeddedBroker();
    subscriber = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: "plain-senml-reader" });
    subscriber.on("message", (topic, payload) => heard.push({ device: topic.split("/")[3], payload: new Uint8Array(payload) }));
    await subscriber.subscribeAsync(`impeller/v1/${scenario.tenant}/+/telemetry`, { qos: 1 });
    result = await simulate(scenario, { brokerUrl: broker.url });
    const expected = result.collector.telemetryCount;
    await until(() => heard.length >= expected).catch(() => undefined); // a shortfall is the tests' to name
  });

  afterAll(async () => {
    await subscriber?.endAsync();
    await broker?.close();
  });

  it("every payload is exactly one CBOR item, a SenML pack whose every record resolves to a name and one value", () => {
    expect(result.decodeErrors).toEqual([]);
    expect(heard).toHaveLength(scenario.pumps * WINDOWS);
    for (const { device, payload } of heard) {
      // cborg refuses trailing bytes (a CBOR sequence), duplicate labels and indefinite lengths here.
      const pack = readSenmlPack(decode(payload, { useMaps: true, rejectDuplicateMapKeys: true, allowIndefinite: false, allowUndefined: false }));
      for (const record of pack.records) {
        expect(record.name.startsWith(`${device}:`), record.name).toBe(true);
        expect(record.value, record.name).toBeDefined();
        expect(record.time).toBeGreaterThan(Date.parse(scenario.start) / 1000 - 1);
      }
      // The sequence number is no measurement: it is the first record's one extension label.
      expect(pack.records.some((record) => record.name.endsWith(":seq"))).toBe(false);
      expect(pack.extensions.map((labels) => [...labels.keys()])).toEqual(pack.records.map((_, i) => (i === 0 ? ["seq"] : [])));
    }
  });

  it("each device's sequence numbers rise from payload to payload, and are the ones the collector took", () => {
    const byDevice = new Map<string, number[]>();
    for (const { device, payload } of heard) {
      const sequence = readSenmlPack(decode(payload, { useMaps: true })).extensions[0].get("seq");
      expect(Number.isSafeInteger(sequence) && (sequence as number) >= 0, String(sequence)).toBe(true);
      byDevice.set(device, [...(byDevice.get(device) ?? []), sequence as number]);
    }
    expect([...byDevice.keys()].sort()).toEqual(result.pumps.map((pump) => pump.device).sort());
    for (const [device, sequences] of byDevice) {
      for (let i = 1; i < sequences.length; i++) expect(sequences[i], `${device} after ${sequences[i - 1]}`).toBeGreaterThan(sequences[i - 1]);
      const ledger = result.collector.devices.get(device)!;
      expect(sequences).toEqual(ledger.telemetry.map((pack) => pack.sequence));
    }
  });

  it("reads the very values and texts the collector kept, record for record", () => {
    for (const { device, payload } of heard) {
      const pack: SenmlPack = readSenmlPack(decode(payload, { useMaps: true }));
      const sequence = pack.extensions[0].get("seq") as number;
      const log = result.collector.devices.get(device)!.telemetry;
      const kept = log.map((p) => p).find((p) => p.sequence === sequence)!;
      const values = new Map<string, number>();
      const texts = new Map<string, string>();
      for (const record of pack.records) {
        const name = record.name.slice(device.length + 1);
        if (record.value?.kind === "v") values.set(name, record.value.value as number);
        if (record.value?.kind === "vs") texts.set(name, record.value.value as string);
      }
      expect(pack.records[0].time).toBe(kept.time);
      expect(values).toEqual(kept.values);
      expect(texts).toEqual(kept.texts);
    }
  });
});

describe("the reference SenML reading itself", () => {
  const refusal = (pack: unknown): string => {
    try {
      readSenmlPack(pack);
    } catch (error) {
      return (error as Error).message;
    }
    return "taken";
  };

  it("resolves base name, time, unit and value, and keeps a text label as an extension", () => {
    const pack = readSenmlPack([
      new Map<unknown, unknown>([["seq", 5], [-2, "p:"], [-3, 100], [-4, "m/s2"], [-5, 1], [0, "a"], [2, 0.5]]),
      new Map<unknown, unknown>([[0, "b"], [6, 2], [3, "x"]]),
    ]);
    expect(pack.records).toEqual([
      { name: "p:a", time: 100, unit: "m/s2", value: { kind: "v", value: 1.5 } },
      { name: "p:b", time: 102, unit: "m/s2", value: { kind: "vs", value: "x" } },
    ]);
    expect(pack.extensions).toEqual([new Map([["seq", 5]]), new Map()]);
  });

  it("refuses what RFC 8428 does not allow", () => {
    expect(() => decode(Uint8Array.from(Buffer.from("0581a2006161" + "0201", "hex")), { useMaps: true })).toThrow(/too many terminals/); // a number in front
    expect(refusal([])).toMatch(/non-empty array/);
    expect(refusal([new Map([[0, "a"]])])).toMatch(/no value and no sum/);
    expect(refusal([new Map<number, unknown>([[0, "a"], [2, 1], [3, "x"]])])).toMatch(/2 value fields/);
    expect(refusal([new Map<number, unknown>([[0, "a"], [2, 1], [9, 1]])])).toMatch(/not in Table 4/);
    expect(refusal([new Map<unknown, unknown>([[0, "a"], [2, 1], ["seq_", 1]])])).toMatch(/must-understand/);
    expect(refusal([new Map<unknown, unknown>([[0, "a"], ["v", 1]])])).toMatch(/as text/);
    expect(refusal([new Map<number, unknown>([[0, "a b"], [2, 1]])])).toMatch(/§4.5.1/);
    expect(refusal([new Map<number, unknown>([[0, "a"], [2, "1"]])])).toMatch(/wrong type/);
    expect(refusal([new Map<number, unknown>([[-1, 11], [0, "a"], [2, 1]])])).toMatch(/newer/);
  });
});
