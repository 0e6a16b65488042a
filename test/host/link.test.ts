// Links that lose nothing: devices keep producing while their broker is down or their network
// is cut; afterwards every message each device produced has been delivered exactly once after
// de-duplication, in order, on aedes (restarted with its persistence) and on mosquitto
// (restarted with its persistence file), across a cut and healed connection, and from one broker
// of a list to the next.

import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { Device } from "../../host/device/device.js";
import { backoffDelayMs, keepaliveTimer } from "../../host/link/mqtt-link.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import { topicFilter } from "../../protocol/topics.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../simulator/net/broker.js";
import { Collector } from "../../operator/collector.js";
import { LinkProxy } from "../../simulator/net/network.js";
import { VirtualClock } from "../../simulator/physics/clock.js";
import { Random } from "../../simulator/physics/random.js";
import { releaseFirmware } from "../support/firmware.js";
import { testPort } from "../support/ports.js";
import { MOSQUITTO_MISSING_REASON, MOSQUITTO_PATH, startMosquitto, type Mosquitto } from "../support/mosquitto.js";
import { tones } from "../support/signals.js";
import { until } from "../support/wait.js";

const TENANT = "acme";
const DEVICES = 3;
const WINDOWS_PER_PHASE = 20;
const WINDOW = 256;
const RATE_HZ = 1000;
const FAST_BACKOFF = { initialMs: 50, maxMs: 400, jitter: 0.5 };
const DELIVERY_TIMEOUT_MS = 20_000;
/** The firmware's time budget per call here: these tests are about the link. Once, on a machine
 *  busy with other suites, a device published two messages more than expected, which is what a
 *  window counted as a hang at the default 1 s gives (a fault event, then a boot event).
 *  Supervision's own tests hold the budget itself (test/host/supervision.test.ts). */
const LINK_TEST_BUDGET_MS = 10_000;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

interface Fleet {
  devices: Device[];
  produce(phase: number): Promise<void>;
}

async function fleet(url: string, seed: number): Promise<Fleet> {
  const random = new Random(seed);
  const firmware = await releaseFirmware();
  const devices: Device[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const device = await Device.boot({
      tenant: TENANT, config: { device: `pump-${i + 1}`, rate_hz: RATE_HZ, window: WINDOW, units: "g" },
      firmware, storage: new MemoryStorage(), clock: () => 0, budgetMs: LINK_TEST_BUDGET_MS,
    });
    await device.connect(url, {}, { backoff: FAST_BACKOFF, random: () => random.next() });
    cleanups.push(() => device.close());
    devices.push(device);
  }
  const signal = tones(WINDOW, RATE_HZ, [{ hz: 25, amplitude_g: 0.005 }], 0.002, seed); // a healthy pump: no alarm
  return {
    devices,
    produce: async (phase) => {
      for (let w = 0; w < WINDOWS_PER_PHASE; w++) {
        const t = (phase * WINDOWS_PER_PHASE + w) * 60_000;
        for (const device of devices) await device.feed(signal, t);
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}

/** Every device's messages, 1..published, each released once and in order. */
async function expectEverythingOnce(collector: Collector, devices: Device[]): Promise<void> {
  await Promise.all(devices.map((device) => device.link!.drained()));
  const complete = (): boolean => devices.every((d) => (collector.devices.get(d.id)?.releasedThrough ?? 0) >= d.counters.published);
  await collector.waitFor(complete, DELIVERY_TIMEOUT_MS).catch((error: unknown) => {
    const seen = devices.map((d) => `${d.id}: published ${d.counters.published}, released ${collector.devices.get(d.id)?.releasedThrough ?? 0}, held ${[...(collector.devices.get(d.id)?.held ?? [])].slice(0, 5)}, outbox ${d.outbox.size}`);
    throw new Error(`${(error as Error).message}\n${seen.join("\n")}`);
  });
  expect(collector.errors).toEqual([]);
  for (const device of devices) {
    const ledger = collector.devices.get(device.id)!;
    expect(device.counters.published).toBe(1 + 3 * WINDOWS_PER_PHASE); // boot event + windows
    expect([ledger.releasedThrough, ledger.received]).toEqual([device.counters.published, device.counters.published]);
    expect(ledger.held.size).toBe(0);
    expect(ledger.telemetry).toHaveLength(3 * WINDOWS_PER_PHASE);
  }
  expect(collector.gaps()).toEqual(new Map());
}

describe("reconnect backoff", () => {
  it("doubles from the initial delay up to the cap, scaled by a jitter factor in [1 - jitter, 1]", () => {
    const backoff = { initialMs: 100, maxMs: 1000, jitter: 0.5 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelayMs(backoff, a, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelayMs(backoff, a, () => 1))).toEqual([50, 100, 200, 400, 500, 500]);
    expect(backoffDelayMs(backoff, 1e9, () => 0)).toBe(1000);
  });

  it("runs on the clock the link is given: no attempt until that clock reaches the delay", async () => {
    let broker: EmbeddedBroker = await startEmbeddedBroker({ port: await testPort() }); // restarted on it below
    cleanups.push(() => broker.close());
    const clock = new VirtualClock(Date.parse("2026-03-01T00:00:00Z"));
    const device = await Device.boot({
      tenant: TENANT, config: { device: "pump-1", rate_hz: RATE_HZ, window: WINDOW, units: "g" },
      firmware: await releaseFirmware(), storage: new MemoryStorage(), clock: () => clock.now(),
    });
    cleanups.push(() => device.close());
    const link = await device.connect(broker.url, { keepalive: 0 }, { backoff: { initialMs: 1000, maxMs: 1000, jitter: 0 }, timers: clock });
    await broker.close();
    await until(() => !link.connected && link.idle, { what: "the link seeing its connection go" });
    const lostAt = clock.now();
    expect(clock.nextDueMs()).toBe(lostAt + 1000);
    broker = await startEmbeddedBroker({ port: broker.port, persistence: broker.persistence });
    clock.advanceTo(lostAt + 999);
    expect([link.connected, link.counters.connects, clock.nextDueMs()]).toEqual([false, 1, lostAt + 1000]);
    clock.advanceTo(lostAt + 1000); // the attempt, on the broker that is back
    await until(() => link.connected, { what: "the reconnection" });
    expect(link.counters.connects).toBe(2);
    expect(clock.nextDueMs()).toBeUndefined();
  });

  it("mqtt.js's keepalive timer on a clock: fires every period as the clock passes, until cleared", () => {
    const clock = new VirtualClock(0);
    const timer = keepaliveTimer(clock);
    const fired: number[] = [];
    const id = timer.set(() => fired.push(clock.now()), 500);
    clock.advanceTo(1600);
    expect(fired).toEqual([500, 1000, 1500]);
    timer.clear(id);
    clock.advanceTo(5000);
    expect(fired).toHaveLength(3);
    expect(clock.nextDueMs()).toBeUndefined();
  });
});

describe("broker restarted mid-run", () => {
  it("aedes: devices queue while it is down, reconnect with a new session and deliver everything once, in order", async () => {
    let broker: EmbeddedBroker = await startEmbeddedBroker({ port: await testPort() }); // restarted on it below
    cleanups.push(() => broker.close());
    const collector = await Collector.connect(broker.url, TENANT, { durable: true });
    cleanups.push(() => collector.close());
    const { devices, produce } = await fleet(broker.url, 1);

    await produce(0);
    await broker.close();
    await produce(1); // the broker is gone: everything waits in the outboxes
    expect(devices.every((d) => d.outbox.size >= WINDOWS_PER_PHASE)).toBe(true);
    broker = await startEmbeddedBroker({ port: broker.port, persistence: broker.persistence });
    await produce(2);
    await expectEverythingOnce(collector, devices);

    for (const device of devices) {
      expect(device.link!.counters.disconnects).toBeGreaterThanOrEqual(1);
      expect(device.link!.counters.connects).toBeGreaterThanOrEqual(2);
      const states = collector.devices.get(device.id)!.states.filter((s) => s.online).map((s) => s.session);
      expect(states[0]).toBe(1);
      expect(Math.max(...states)).toBeGreaterThanOrEqual(2); // a new session after reconnecting
    }
  });

  it.skipIf(MOSQUITTO_PATH === undefined)("mosquitto with persistence: the same, across a restart of the broker process", async () => {
    let broker: Mosquitto = await startMosquitto([], { persistence: true });
    cleanups.push(() => broker.stop());
    const collector = await Collector.connect(broker.url, TENANT, { durable: true });
    cleanups.push(() => collector.close());
    const { devices, produce } = await fleet(broker.url, 2);

    await produce(0);
    broker = await broker.restart(); // SIGTERM, then the same port and persistence file
    await produce(1);
    await produce(2);
    await expectEverythingOnce(collector, devices);
    for (const device of devices) expect(device.link!.counters.disconnects).toBeGreaterThanOrEqual(1);
  });

  if (MOSQUITTO_PATH === undefined) it.skip(MOSQUITTO_MISSING_REASON, () => {});
});

describe("connection cut", () => {
  it("a cut network: devices retry with backoff, then send what queued, each message once, in order", async () => {
    const broker = await startEmbeddedBroker();
    cleanups.push(() => broker.close());
    const proxy = await LinkProxy.start(broker.port, { latencyMs: 2 });
    cleanups.push(() => proxy.close());
    const collector = await Collector.connect(broker.url, TENANT); // on the other side of the cut
    cleanups.push(() => collector.close());
    const { devices, produce } = await fleet(proxy.url, 3);

    await produce(0);
    proxy.cut();
    await produce(1);
    await until(() => proxy.counters.refused > 0, { what: "a refused retry" });
    proxy.heal();
    await produce(2);
    await expectEverythingOnce(collector, devices);
    const resent = devices.reduce((sum, d) => sum + d.link!.counters.resent, 0);
    const duplicates = devices.reduce((sum, d) => sum + collector.devices.get(d.id)!.duplicates, 0);
    expect(duplicates).toBeLessThanOrEqual(resent); // only what was sent again can arrive twice
  });
});

describe("a broker list", () => {
  it("the first broker gone: devices go on at the second with what queued meanwhile, each message once across both", async () => {
    const first = await startEmbeddedBroker();
    cleanups.push(() => first.close());
    const second = await startEmbeddedBroker();
    cleanups.push(() => second.close());
    // One collector reading both brokers: what either took counts once.
    const collector = Collector.detached(TENANT);
    for (const broker of [first, second]) {
      const reader = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
      cleanups.push(() => reader.endAsync(true));
      reader.on("message", (topic, payload) => collector.ingest(topic, new Uint8Array(payload)));
      await reader.subscribeAsync(topicFilter(TENANT, "#"), { qos: 1 });
    }
    const { devices, produce } = await fleet(`${first.url},${second.url}`, 4);

    await produce(0);
    // Two brokers are not a cluster: what the first acknowledged but had not passed on goes with
    // it. So it goes once its readers have everything; then the devices dial the next in their list.
    await Promise.all(devices.map((device) => device.link!.drained()));
    await collector.waitFor(() => devices.every((d) => collector.devices.get(d.id)?.releasedThrough === d.counters.published), DELIVERY_TIMEOUT_MS);
    await first.close();
    await produce(1); // what comes before they are on the second waits in their outboxes
    await until(() => devices.every((d) => d.link!.connected), { what: "every device on the second broker" });
    await produce(2);
    await expectEverythingOnce(collector, devices);
    for (const device of devices) {
      expect(device.link!.counters.connects).toBe(2); // once on each broker: the second held
      expect(collector.devices.get(device.id)!.states.filter((s) => s.online).map((s) => s.session)).toEqual([1, 2]);
    }
  });

  it("a list with one bad address in it: the next address is tried, the link gets through", async () => {
    const broker = await startEmbeddedBroker();
    cleanups.push(() => broker.close());
    const collector = await Collector.connect(broker.url, TENANT);
    cleanups.push(() => collector.close());
    const { devices, produce } = await fleet(`mqtt://127.0.0.1:1,${broker.url}`, 5);
    await produce(0);
    await produce(1);
    await produce(2);
    await expectEverythingOnce(collector, devices);
  });
});
