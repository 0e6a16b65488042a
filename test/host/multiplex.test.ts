// Connection multiplexing: devices behind a gateway share one MQTT connection, yet each keeps
// its own topics, outbox, sequence numbers and in-flight window, so the collector sees the same
// per-device streams as from a connection per device; births and deaths as host/link/shared-link.ts
// says (the gateway's Will on its own state topic, device deaths published by the gateway).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Collector } from "../../operator/collector.js";
import { MemoryOutbox } from "../../host/outbox/outbox.js";
import { Gateway, type GatewayChannel } from "../../host/link/shared-link.js";
import { encodeCbor } from "../../protocol/cbor.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../simulator/net/broker.js";
import { simulate, type SimulationResult } from "../../simulator/fleet/fleet.js";
import { faultOutcomes } from "../../simulator/verdict/expectations.js";
import { LinkProxy } from "../../simulator/net/network.js";
import { main } from "../../cli/main.js";
import { parseScenario } from "../../simulator/scenario/scenario.js";
import { until } from "../support/wait.js";

const base = {
  name: "twelve pumps", seed: 42, tenant: "acme", start: "2026-03-01T00:00:00Z", days: 0.25, pumps: 12,
  interval_s: 600, sample_rate_hz: 12800, window: 4096, bearing: [9, 7.94, 39.04, 0],
  pump: {
    rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1], imbalance_g: [0.005, 0.03],
    misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03],
  },
  faults: [{ kind: "outer_race", pumps: 2, onset_day: [0, 0.1], pf_days: [1, 2] }],
};
const STEPS = 36;

/** Per device: its telemetry in arrival order with sequence, time and values, and its events. */
function streams(result: SimulationResult): unknown {
  return [...result.collector.devices].filter(([device]) => device.startsWith("pump-")).sort(([a], [b]) => a.localeCompare(b)).map(([device, ledger]) =>
    [device, ledger.telemetry.map((p) => [p.sequence, p.time, Object.fromEntries(p.values), Object.fromEntries(p.texts)]), ledger.events]);
}

describe("a multiplexed fleet", () => {
  it("12 pumps, 4 per connection: 3 connections, every message once and in order per device, the same telemetry as a connection each", async () => {
    const shared = await simulate(parseScenario({ ...base, devices_per_connection: 4 }));
    const own = await simulate(parseScenario(base));
    expect(shared.connections).toBe(3);
    expect(own.connections).toBe(12);
    expect(shared.pumps.map((p) => p.device)).toEqual(own.pumps.map((p) => p.device));
    expect(shared.windows).toBe(12 * STEPS);
    expect(shared.published).toBe(own.published);
    expect(shared.delivered).toBe(shared.published);
    expect(shared.duplicates).toBe(0);
    expect(shared.gaps).toBe(0);
    expect(shared.decodeErrors).toEqual([]);
    for (const pump of shared.pumps) {
      const ledger = shared.collector.devices.get(pump.device)!;
      // In order: the packs arrived in sequence order, and every number once from 1 (the boot event).
      const arrived = ledger.telemetry.map((p) => p.sequence);
      expect(arrived, pump.device).toHaveLength(STEPS);
      expect(arrived, pump.device).toEqual([...arrived].sort((x, y) => x - y));
      expect(ledger.releasedThrough, pump.device).toBe(ledger.received);
      expect(ledger.duplicates, pump.device).toBe(0);
    }
    expect(streams(shared)).toEqual(streams(own));
    expect(faultOutcomes(shared).map((f) => [f.device, f.kind, f.detectedMs])).toEqual(faultOutcomes(own).map((f) => [f.device, f.kind, f.detectedMs]));
  });

  it("each gateway is born and dies on its own state topic; its devices' births and deaths come from it", async () => {
    const result = await simulate(parseScenario({ ...base, pumps: 6, days: 0.05, devices_per_connection: 4 }));
    const gateways = [...result.collector.devices.keys()].filter((id) => id.startsWith("gw-")).sort();
    expect(gateways).toEqual(["gw-pump-0001", "gw-pump-0005"]); // 4 pumps and 2 pumps
    for (const id of gateways) expect(result.collector.devices.get(id)!.states).toEqual([{ online: true, session: 1 }, { online: false, session: 1 }]);
    for (const pump of result.pumps) {
      expect(result.collector.devices.get(pump.device)!.states, pump.device).toEqual([{ online: true, session: 1, fw: 0x000100, abi: 1 }, { online: false, session: 1 }]);
    }
    expect(result.connections).toBe(2);
  });

  it("a pump behind a gateway that loses power: the gateway publishes its death, the others go on, nothing is lost", async () => {
    const result = await simulate(parseScenario({ ...base, pumps: 4, devices_per_connection: 4, faults: [], power_cuts: [{ pumps: [2], day: [0.1, 0.1], minutes: [30, 30] }] }));
    expect(result.connections).toBe(1);
    expect(result.scheduledPowerCuts).toBe(1);
    expect(result.missedWindows).toBe(3);
    expect(result.delivered).toBe(result.published);
    expect(result.gaps).toBe(0);
    const cut = result.collector.devices.get("pump-0003")!;
    expect(cut.states.filter((s, i) => i === 0 || JSON.stringify(s) !== JSON.stringify(cut.states[i - 1]))).toEqual([
      { online: true, session: 1, fw: 0x000100, abi: 1 }, { online: false, session: 1 },
      { online: true, session: 2, fw: 0x000100, abi: 1 }, { online: false, session: 2 },
    ]);
    expect(cut.events.filter((e) => e.event === "boot").map((e) => e.boot)).toEqual([1, 2]);
    // The gateway itself never went away.
    expect(result.collector.devices.get("gw-pump-0001")!.states).toEqual([{ online: true, session: 1 }, { online: false, session: 1 }]);
    expect(result.reconnects).toBe(1); // the cut pump's second life only
  });

  it("a broker outage: the gateways reconnect, their devices start new sessions, and every message arrives once", async () => {
    const result = await simulate(parseScenario({ ...base, pumps: 8, faults: [], devices_per_connection: 4, broker_outages: [{ start_day: 0.1, minutes: 30 }] }));
    expect(result.outages.outages).toBe(1);
    expect(result.connections).toBe(2);
    expect(result.windows).toBe(8 * STEPS);
    expect(result.delivered).toBe(result.published);
    expect(result.gaps).toBe(0);
    expect(result.reconnects).toBe(8); // every device once, with its gateway
    // A gateway's birth after the outage, in a later session than its first (an attempt refused
    // while the broker was away uses a session number up too); each device's first session's
    // death (the gateway says it on reconnecting), then its second session's birth.
    for (const id of ["gw-pump-0001", "gw-pump-0005"]) {
      const states = result.collector.devices.get(id)!.states;
      expect(states[0]).toEqual({ online: true, session: 1 });
      expect(states.filter((s) => s.online && s.session > 1), id).toHaveLength(1);
    }
    for (const pump of result.pumps) {
      const states = result.collector.devices.get(pump.device)!.states;
      expect(states.slice(0, 3), pump.device).toEqual([
        { online: true, session: 1, fw: 0x000100, abi: 1 }, { online: false, session: 1 }, { online: true, session: 2, fw: 0x000100, abi: 1 },
      ]);
    }
  });

  it("OTA campaigns over shared connections: a good image confirmed by every pump; with power lost mid-update, each pump ends on an image that runs", async () => {
    const fleet = { ...base, pumps: 20, days: 600 / 86_400, interval_s: 300, sample_rate_hz: 1000, window: 256, faults: [], devices_per_connection: 5 };
    const plain = await simulate(parseScenario({ ...fleet, campaigns: [{ name: "c1", start_day: 0, image: "v0.2.0", waves: [0.1, 0.5, 1], success_threshold: 0.95, error_threshold: 0.2 }] }));
    expect(plain.connections).toBe(4);
    expect(plain.campaigns[0].state).toBe("completed");
    expect(plain.campaigns[0].counts.confirmed).toBe(20);
    expect(plain.delivered).toBe(plain.published);
    // Power cuts: every wave goes on whatever its outcome, so each pump is tried once.
    const cut = await simulate(parseScenario({ ...fleet, campaigns: [{ name: "c1", start_day: 0, image: "v0.2.0", waves: [0.1, 0.5, 1], success_threshold: 0, error_threshold: 1, power_loss_share: 0.3 }] }));
    const [report] = cut.campaigns;
    expect(cut.powerCuts).toBeGreaterThan(0); // powered on again from their flash, through their gateway
    expect(report.counts.confirmed + report.counts.reverted).toBe(20);
    expect(report.counts.confirmed).toBeGreaterThanOrEqual(20 - cut.powerCuts);
    expect(cut.delivered).toBe(cut.published);
    expect(cut.gaps).toBe(0);
  }, 60_000);

  it("refuses what it cannot do, naming the field", () => {
    expect(() => parseScenario({ ...base, devices_per_connection: 0 }, "mux.json")).toThrow(`mux.json: "devices_per_connection" must be an integer from 1 to 10000, not 0`);
    expect(() => parseScenario({ ...base, devices_per_connection: 2.5 }, "mux.json")).toThrow(/"devices_per_connection" must be an integer/);
    expect(() => parseScenario({ ...base, devices_per_connection: 4, network: { partitions: [{ start_day: 0, minutes: 5, pumps: 1 }] } }, "mux.json"))
      .toThrow(/"devices_per_connection" above 1 cannot be combined with "network.partitions"/);
    expect(parseScenario(base).devices_per_connection).toBe(1);
  });
});

describe("impeller simulate --multiplex", () => {
  afterEach(() => vi.restoreAllMocks());

  it("overrides devices_per_connection, and the summary says how many connections and power cuts there were", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-multiplex-"));
    try {
      const file = path.join(dir, "fleet.json");
      fs.writeFileSync(file, JSON.stringify({ ...base, pumps: 6, days: 0.1, faults: [], power_cuts: [{ pumps: [5], day: [0.05, 0.05], minutes: [25, 25] }] }));
      let output = "";
      vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
        output += String(chunk);
        return true;
      });
      const code = await main(["simulate", file, "--multiplex", "4", "--quiet", "--report", path.join(dir, "report.html")]);
      expect(code, output).toBe(0);
      expect(output).toContain("Connections: 2 for 6 pumps (4 per connection, through gateways)\n");
      // pump-0006 measures at minute 8.33 + 10k: 78.33 and 88.33 fall in [72, 97).
      expect(output).toContain("Power cuts: 1 on 1 pumps (booted again from their storage and outbox), 2 windows missed while off\n");
      vi.restoreAllMocks();
      let errors = "";
      vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
        errors += String(chunk);
        return true;
      });
      expect(await main(["simulate", file, "--multiplex", "0", "--quiet"])).toBe(2);
      expect(errors).toContain(`impeller: --multiplex needs a whole number from 1 to 10000, not "0"`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the gateway", () => {
  let broker: EmbeddedBroker;
  let collector: Collector;
  beforeEach(async () => {
    broker = await startEmbeddedBroker();
    collector = await Collector.connect(broker.url, "acme");
  });
  afterEach(async () => {
    await collector.close();
    await broker.close();
  });

  function attach(gateway: Gateway, device: string, outbox: MemoryOutbox): GatewayChannel {
    let session = 0;
    return gateway.attach({ tenant: "acme", device, nextSession: () => ++session, firmwareVersion: 0x000100, abiVersion: 1, outbox });
  }
  /** Message i: a boot event counting i (any well-formed event would do). */
  const event = (i: number): Uint8Array => encodeCbor(new Map<string, unknown>([["event", "boot"], ["boot", i], ["fw", 0x000100]]));

  it("one device's backlog holds up no other's and loses none of them: each has its own window", async () => {
    const gateway = new Gateway({ url: broker.url, tenant: "acme", id: "gw-1" });
    await gateway.connect();
    const busy = new MemoryOutbox();
    const quiet = new MemoryOutbox();
    for (let i = 0; i < 600; i++) busy.append("event", event(i));
    for (let i = 0; i < 10; i++) quiet.append("event", event(i));
    const a = attach(gateway, "pump-a", busy);
    const b = attach(gateway, "pump-b", quiet);
    await b.drained();
    expect(busy.size).toBeGreaterThan(500); // b was through while a's backlog had barely begun
    await a.drained();
    await collector.waitFor(() => (collector.devices.get("pump-a")?.releasedThrough ?? 0) === 600 && (collector.devices.get("pump-b")?.releasedThrough ?? 0) === 10, 10_000);
    expect(collector.devices.get("pump-a")!.events.map((e) => e.boot)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(collector.devices.get("pump-b")!.events.map((e) => e.boot)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect([a.counters.acknowledged, b.counters.acknowledged]).toEqual([600, 10]);
    await gateway.close();
  });

  it("an unclean loss: the broker publishes only the gateway's Will; back, the gateway mourns each device's lost session and births a new one, and resends what was not acknowledged", async () => {
    const proxy = await LinkProxy.start(Number(new URL(broker.url).port));
    const gateway = new Gateway({ url: proxy.url, tenant: "acme", id: "gw-1", backoff: { initialMs: 50, maxMs: 50, jitter: 0 } });
    await gateway.connect();
    const outbox = new MemoryOutbox();
    attach(gateway, "pump-a", outbox);
    await until(() => collector.devices.get("pump-a")?.states.length === 1);
    proxy.cut();
    await until(() => collector.devices.get("gw-1")?.states.length === 2);
    expect(collector.devices.get("gw-1")!.states).toEqual([{ online: true, session: 1 }, { online: false, session: 1 }]);
    expect(collector.devices.get("pump-a")!.states).toEqual([{ online: true, session: 1, fw: 0x000100, abi: 1 }]);
    for (let i = 0; i < 20; i++) outbox.append("event", event(i)); // queued while the gateway is away
    proxy.heal();
    await until(() => collector.devices.get("pump-a")?.releasedThrough === 20 && collector.devices.get("pump-a")!.states.length === 3);
    expect(collector.devices.get("pump-a")!.states).toEqual([
      { online: true, session: 1, fw: 0x000100, abi: 1 }, { online: false, session: 1 }, { online: true, session: 2, fw: 0x000100, abi: 1 },
    ]);
    expect(collector.devices.get("gw-1")!.states.at(-1)).toEqual({ online: true, session: 2 });
    expect(gateway.counters).toEqual({ connects: 2, disconnects: 1 });
    await gateway.close();
    await proxy.close();
  });

  it("with a broker list: its connection to the first cut, it goes on at the next with every device's queue", async () => {
    const proxy = await LinkProxy.start(Number(new URL(broker.url).port));
    const gateway = new Gateway({ url: `${proxy.url},${broker.url}`, tenant: "acme", id: "gw-1", backoff: { initialMs: 50, maxMs: 50, jitter: 0 } });
    await gateway.connect();
    const outbox = new MemoryOutbox();
    attach(gateway, "pump-a", outbox);
    await until(() => collector.devices.get("pump-a")?.states.length === 1);
    proxy.cut(); // and it stays cut: the gateway must take the second address
    for (let i = 0; i < 20; i++) outbox.append("event", event(i));
    await until(() => collector.devices.get("pump-a")?.releasedThrough === 20);
    expect(collector.devices.get("pump-a")!.events.map((e) => e.boot)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(gateway.counters).toEqual({ connects: 2, disconnects: 1 });
    expect(proxy.counters.refused).toBe(0); // never dialled again: the second address held
    await gateway.close();
    await proxy.close();
  });

  it("takes its session from its storage when it has one, and refuses a device attached twice", async () => {
    let stored = 41;
    const gateway = new Gateway({ url: broker.url, tenant: "acme", id: "gw-1", nextSession: () => ++stored });
    await gateway.connect();
    attach(gateway, "pump-a", new MemoryOutbox());
    expect(() => attach(gateway, "pump-a", new MemoryOutbox())).toThrow("device pump-a is attached to gateway gw-1 already");
    await until(() => collector.devices.get("gw-1")?.states.length === 1);
    expect(collector.devices.get("gw-1")!.states).toEqual([{ online: true, session: 42 }]);
    await gateway.close();
    await until(() => collector.devices.get("gw-1")?.states.length === 2);
    expect(collector.devices.get("gw-1")!.state).toEqual({ online: false, session: 42 });
    expect(() => attach(gateway, "pump-b", new MemoryOutbox())).toThrow("gateway gw-1 is closed");
  });

  it("a device that goes away while its gateway is disconnected gets its death when the gateway is back", async () => {
    const proxy = await LinkProxy.start(Number(new URL(broker.url).port));
    const gateway = new Gateway({ url: proxy.url, tenant: "acme", id: "gw-1", backoff: { initialMs: 50, maxMs: 50, jitter: 0 } });
    await gateway.connect();
    const channel = attach(gateway, "pump-a", new MemoryOutbox());
    attach(gateway, "pump-b", new MemoryOutbox());
    await until(() => collector.devices.get("pump-a")?.states.length === 1 && collector.devices.get("pump-b")?.states.length === 1);
    proxy.cut();
    await until(() => collector.devices.get("gw-1")?.states.length === 2);
    channel.abort(); // pump-a loses power while nobody can hear of it
    proxy.heal();
    await until(() => collector.devices.get("pump-b")?.states.length === 3);
    await until(() => collector.devices.get("pump-a")?.states.length === 2);
    expect(collector.devices.get("pump-a")!.states).toEqual([{ online: true, session: 1, fw: 0x000100, abi: 1 }, { online: false, session: 1 }]);
    expect(gateway.size).toBe(1);
    await gateway.close();
    await proxy.close();
  });
});
