// End to end: a simulated pump's accelerometer -> host shim -> release firmware -> SenML CBOR
// -> MQTT broker -> an independent subscriber, checked against features computed here in
// TypeScript from the very samples the pump produced. Once on the embedded broker (aedes),
// once on a mosquitto child process.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulate, type SimulationResult } from "../../simulator/fleet/fleet.js";
import { faultOutcomes } from "../../simulator/verdict/expectations.js";
import { parseScenario, type Scenario } from "../../simulator/scenario/scenario.js";
import { STANDARD_GRAVITY_M_S2 } from "../../simulator/physics/pump-params.js";
import { timeFeatures } from "../support/features-reference.js";
import { TELEMETRY_UNITS } from "../support/firmware.js";
import { drawPump } from "../../simulator/physics/pump-params.js";
import { PumpModel } from "../../simulator/physics/pump.js";
import { Random } from "../../simulator/physics/random.js";
import { ThermalModel } from "../../simulator/physics/thermal.js";
import { MOSQUITTO_MISSING_REASON, MOSQUITTO_PATH, startMosquitto, type Mosquitto } from "../support/mosquitto.js";

const MINUTES = 10;
const scenario: Scenario = parseScenario({
  name: "one pump, ten minutes",
  seed: 42,
  tenant: "acme",
  start: "2026-03-01T12:00:00Z",
  days: MINUTES / 1440,
  pumps: 1,
  interval_s: 60,
  sample_rate_hz: 12800,
  window: 4096,
  pump: {
    rpm: [2950, 2950], vanes: [6, 6], slip: [0.02, 0.02], load: [0.8, 0.8],
    imbalance_g: [0.02, 0.02], misalignment_g: [0.005, 0.005], vane_pass_g: [0.05, 0.05], noise_g: [0.01, 0.01],
  },
});

/** float32 rounding of the published value, plus float64 summation order. */
const RELATIVE_TOLERANCE = 1e-6;

interface FedWindow {
  timestampMs: number;
  samples: Float32Array;
}

async function runAndCapture(brokerUrl?: string): Promise<{ result: SimulationResult; fed: FedWindow[] }> {
  const fed: FedWindow[] = [];
  const result = await simulate(scenario, {
    brokerUrl,
    onWindow: (_device, timestampMs, samples) => fed.push({ timestampMs, samples: samples.slice() }),
  });
  return { result, fed };
}

function expectClose(actual: number | undefined, expected: number, what: string): void {
  expect(actual, what).toBeTypeOf("number");
  expect(Math.abs(actual! - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(RELATIVE_TOLERANCE * Math.abs(expected));
}

function checkDelivery({ result, fed }: { result: SimulationResult; fed: FedWindow[] }): void {
  expect(fed).toHaveLength(MINUTES);
  expect(result.decodeErrors).toEqual([]);
  const temperatures = expectedTemperatures(fed.map((window) => window.timestampMs));
  const ledger = result.collector.devices.get("pump-0001")!;
  expect(ledger.duplicates).toBe(0);
  expect(ledger.telemetry).toHaveLength(MINUTES);
  expect(ledger.events).toEqual([{ event: "boot", boot: 1, fw: 0x000100 }]);
  // Birth on connect, death on the clean shutdown at the end, both of session 1.
  expect(ledger.states).toEqual([{ online: true, session: 1, fw: 0x000100, abi: 1 }, { online: false, session: 1 }]);
  // Telemetry carries sequence numbers 2..11 after the boot event's 1, in order.
  expect(ledger.telemetry.map((pack) => pack.sequence)).toEqual(Array.from({ length: MINUTES }, (_, i) => i + 2));

  ledger.telemetry.forEach((pack, index) => {
    const window = fed[index];
    expect(pack.time).toBe(window.timestampMs / 1000);
    const expected = timeFeatures(window.samples, STANDARD_GRAVITY_M_S2);
    expectClose(pack.values.get("acc_rms"), expected.rms, `window ${index} acc_rms`);
    expectClose(pack.values.get("acc_peak"), expected.peak, `window ${index} acc_peak`);
    expectClose(pack.values.get("acc_p2p"), expected.peakToPeak, `window ${index} acc_p2p`);
    expectClose(pack.values.get("crest"), expected.crest, `window ${index} crest`);
    expectClose(pack.values.get("kurtosis"), expected.kurtosis, `window ${index} kurtosis`);
    expectClose(pack.values.get("skewness"), expected.skewness, `window ${index} skewness`);
    expect([...pack.units]).toEqual([...TELEMETRY_UNITS.filter(([, unit]) => unit !== ""), ["temp", "Cel"]]);
    // The bearing-housing temperature the host read before the window, as the thermal model
    // of the same pump (the same seed, its own stream) gives it window by window.
    expectClose(pack.values.get("temp"), temperatures[index], `window ${index} temp`);
  });
}

/** The temperatures pump 0's controller reads at `times`, from a model built as the fleet builds it. */
function expectedTemperatures(times: number[]): number[] {
  const random = Random.forItem(scenario.seed, 0);
  const pump = new PumpModel(drawPump(scenario.pump, random), random, []);
  const thermal = new ThermalModel(scenario.seed, 0, pump);
  return times.map((t) => thermal.temperatureC(t));
}

describe("one pump end to end", () => {
  it("on the embedded aedes broker: every window arrives once, decoded, equal to the TypeScript features", async () => {
    checkDelivery(await runAndCapture());
  });

  describe.skipIf(MOSQUITTO_PATH === undefined)("on mosquitto", () => {
    let broker: Mosquitto;
    beforeAll(async () => { broker = await startMosquitto(); });
    afterAll(async () => { await broker?.stop(); });

    it("on a mosquitto child process: every window arrives once, decoded, equal to the TypeScript features", async () => {
      checkDelivery(await runAndCapture(broker.url));
    });
  });

  if (MOSQUITTO_PATH === undefined) {
    it.skip(MOSQUITTO_MISSING_REASON, () => {});
    console.warn(MOSQUITTO_MISSING_REASON);
  }
});

describe("determinism", () => {
  it("the same seed gives the same samples and the same decoded telemetry", async () => {
    const first = await runAndCapture();
    const second = await runAndCapture();
    expect(second.fed.map((w) => Array.from(w.samples.subarray(0, 64)))).toEqual(first.fed.map((w) => Array.from(w.samples.subarray(0, 64))));
    const values = (run: { result: SimulationResult }): unknown =>
      run.result.collector.devices.get("pump-0001")!.telemetry.map((pack) => [pack.time, Object.fromEntries(pack.values)]);
    expect(values(second)).toEqual(values(first));
  });
});

describe("fleet determinism", () => {
  const fleetScenario: Scenario = parseScenario({
    ...scenario, name: "four pumps, one with an outer race fault", pumps: 4, days: 0.5, interval_s: 600,
    bearing: [9, 7.94, 39.04, 0],
    pump: { rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1], imbalance_g: [0.005, 0.03], misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03] },
    faults: [{ kind: "outer_race", pumps: 1, onset_day: [0, 0], pf_days: [1, 1] }],
  });
  const decoded = (result: SimulationResult): unknown =>
    [...result.collector.devices].sort(([a], [b]) => a.localeCompare(b)).map(([device, ledger]) =>
      [device, [...ledger.telemetry].sort((a, b) => a.sequence - b.sequence).map((p) => [p.sequence, p.time, Object.fromEntries(p.values), Object.fromEntries(p.texts)])]);

  it("the same seed and scenario give the same messages from every pump and the same detections", async () => {
    const first = await simulate(fleetScenario);
    const second = await simulate(fleetScenario);
    expect(decoded(second)).toEqual(decoded(first));
    expect(second.pumps.map((p) => p.degradations)).toEqual(first.pumps.map((p) => p.degradations));
    const faulty = first.pumps.filter((p) => p.degradations.length > 0);
    expect(faulty).toHaveLength(1);
    expect(faultOutcomes(first).find((f) => f.device === faulty[0].device)?.detectedMs).not.toBeNull();
  });

  it("another seed gives another fleet", async () => {
    const other = await simulate({ ...fleetScenario, seed: fleetScenario.seed + 1 });
    const first = await simulate(fleetScenario);
    expect(decoded(other)).not.toEqual(decoded(first));
  });
});

describe("fleet across worker threads and shards", () => {
  const shardScenario: Scenario = parseScenario({
    ...scenario, name: "six pumps", pumps: 6, days: 3 * 600 / 86400, interval_s: 600, bearing: [9, 7.94, 39.04, 0],
    faults: [{ kind: "inner_race", pumps: [4], onset_day: [0, 0], pf_days: [1, 1] }],
  });
  const decoded = (result: SimulationResult): unknown =>
    [...result.collector.devices].filter(([, ledger]) => ledger.telemetry.length > 0).sort(([a], [b]) => a.localeCompare(b)).map(([device, ledger]) =>
      [device, [...ledger.telemetry].sort((a, b) => a.sequence - b.sequence).map((p) => [p.sequence, p.time, Object.fromEntries(p.values)])]);

  it("two worker threads produce exactly the messages one thread does", async () => {
    const one = await simulate(shardScenario, { workers: 1 });
    const two = await simulate(shardScenario, { workers: 2 });
    expect(two.workers).toBe(2);
    expect(decoded(two)).toEqual(decoded(one));
    expect(two.published).toBe(one.published);
  });

  it("two shards against one broker together run the whole fleet, each pump once", async () => {
    const { startEmbeddedBroker } = await import("../../simulator/net/broker.js");
    const broker = await startEmbeddedBroker();
    try {
      const whole = await simulate(shardScenario);
      const [first, second] = await Promise.all([0, 1].map((index) => simulate(shardScenario, { brokerUrl: broker.url, shard: { index, count: 2 } })));
      expect(first.pumps.map((p) => p.device)).toEqual(["pump-0001", "pump-0003", "pump-0005"]);
      expect(second.pumps.map((p) => p.device)).toEqual(["pump-0002", "pump-0004", "pump-0006"]);
      expect(first.published + second.published).toBe(whole.published);
      const merged = [...(decoded(first) as unknown[]), ...(decoded(second) as unknown[])];
      // Each shard's collector sees the whole broker; its own pumps are the ones it reports.
      const own = (result: SimulationResult, devices: string[]): unknown =>
        (decoded(result) as [string, unknown][]).filter(([device]) => devices.includes(device));
      expect([...own(first, ["pump-0001", "pump-0003", "pump-0005"]) as unknown[], ...own(second, ["pump-0002", "pump-0004", "pump-0006"]) as unknown[]]
        .sort((a, b) => String((a as [string])[0]).localeCompare(String((b as [string])[0])))).toEqual(decoded(whole));
      expect(merged.length).toBeGreaterThan(0);
    } finally {
      await broker.close();
    }
  });
});

describe("network conditions", () => {
  it("latency and a partition: the cut-off pumps reconnect afterwards and every message arrives once", async () => {
    const networked: Scenario = parseScenario({
      ...scenario, name: "four pumps, two cut off for half an hour", pumps: 4, days: 14 * 600 / 86400, interval_s: 600,
      network: { latency_ms: 2, partitions: [{ start_day: 3 * 600 / 86400, minutes: 30, pumps: 2 }] },
    });
    const result = await simulate(networked);
    expect(result.delivered).toBe(result.published);
    expect(result.gaps).toBe(0);
    expect(result.reconnects).toBe(2); // the two partitioned pumps, once each
    expect(() => parseScenario({ ...networked, network: { partitions: [{ start_day: 0, minutes: 5, pumps: "120%" }] } })).toThrow(/network.partitions\[0\].pumps/);
  });

  it("a partition that lasts past the run's end: the cut-off pumps reconnect once it is over and their last messages arrive", { timeout: 60_000 }, async () => {
    // Their reconnection backoff runs on the virtual clock, which the run's end moves on for it.
    const cut: Scenario = parseScenario({
      ...scenario, name: "four pumps, two cut off at the end", pumps: 4, days: 14 * 600 / 86400, interval_s: 600,
      network: { partitions: [{ start_day: 12 * 600 / 86400, minutes: 600, pumps: 2 }] },
    });
    const result = await simulate(cut);
    expect(result.windows).toBe(4 * 14);
    expect(result.delivered).toBe(result.published);
    expect(result.gaps).toBe(0);
    expect(result.pumps.map((pump) => pump.delivered)).toEqual([14, 14, 14, 14]);
    expect(result.reconnects).toBe(2);
  });
});
