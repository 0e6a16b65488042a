// The simulator's in-process network (simulator/net/link-hub.ts): MQTT connections to the embedded
// broker that cross threads as batched records instead of loopback sockets. What a device and
// the broker see must be what TCP gives them: the bytes in order, a connection refused while
// the broker is down, a hang-up seen by both ends (and the Will published for an abrupt one).

import { afterEach, describe, expect, it } from "vitest";
import mqtt, { MqttClient } from "mqtt";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../simulator/net/broker.js";
import { LinkDialer, LinkHub } from "../../simulator/net/link-hub.js";
import { simulate } from "../../simulator/fleet/fleet.js";
import { loadScenario, parseScenario } from "../../simulator/scenario/scenario.js";
import { timeOrdered } from "../../operator/telemetry-log.js";
import { until } from "../support/wait.js";

const defaults = loadScenario(new URL("../../scenarios/default.json", import.meta.url).pathname);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function brokerWithHub(): Promise<{ hub: LinkHub; broker: EmbeddedBroker; dialer: LinkDialer }> {
  const hub = new LinkHub();
  const broker = await startEmbeddedBroker();
  broker.serve!(hub);
  const dialer = new LinkDialer(hub.port());
  cleanups.push(() => hub.close(), () => broker.end(), () => dialer.close());
  return { hub, broker, dialer };
}

function client(dialer: LinkDialer, clientId: string, extra: mqtt.IClientOptions = {}): MqttClient {
  const c = new MqttClient(() => dialer.dial(), { clientId, protocolVersion: 4, reconnectPeriod: 0, ...extra });
  c.on("error", () => {});
  cleanups.push(() => { c.end(true); });
  return c;
}

const connected = (c: MqttClient): Promise<void> => new Promise((resolve, reject) => {
  c.once("connect", () => resolve());
  c.once("close", () => reject(new Error("closed before CONNACK")));
});

async function subscriber(url: string, topic: string): Promise<{ sub: mqtt.MqttClient; got: { topic: string; payload: Buffer }[] }> {
  const sub = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  cleanups.push(() => sub.endAsync());
  const got: { topic: string; payload: Buffer }[] = [];
  sub.on("message", (t, payload) => got.push({ topic: t, payload }));
  await sub.subscribeAsync(topic, { qos: 1 });
  return { sub, got };
}

describe("the in-process network to the embedded broker", () => {
  it("carries each connection's packets in order, both ways, to a subscriber on TCP", async () => {
    const { hub, broker, dialer } = await brokerWithHub();
    const { got } = await subscriber(broker.url, "t/#");
    const clients = Array.from({ length: 20 }, (_, i) => client(dialer, `c${i}`));
    await Promise.all(clients.map(connected));
    expect(hub.connections).toBe(20);
    // QoS 1: every publish resolves on its PUBACK, which came back over the hub.
    await Promise.all(clients.flatMap((c, i) => Array.from({ length: 25 }, (_, n) => c.publishAsync(`t/${i}`, `${i}:${n}`, { qos: 1 }))));
    await until(() => got.length === 500);
    for (let i = 0; i < 20; i++) {
      expect(got.filter((m) => m.topic === `t/${i}`).map((m) => m.payload.toString())).toEqual(Array.from({ length: 25 }, (_, n) => `${i}:${n}`));
    }
  });

  it("carries a message larger than one batch intact", async () => {
    const { broker, dialer } = await brokerWithHub();
    const { got } = await subscriber(broker.url, "big");
    const c = client(dialer, "big");
    await connected(c);
    const payload = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
    await c.publishAsync("big", payload, { qos: 1 });
    await until(() => got.length === 1);
    expect(got[0].payload.equals(payload)).toBe(true);
  });

  it("refuses a connection while the broker is down and takes it again once it is back", async () => {
    const hub = new LinkHub();
    const dialer = new LinkDialer(hub.port());
    cleanups.push(() => hub.close(), () => dialer.close());
    const refused = client(dialer, "early");
    await expect(connected(refused)).rejects.toThrow("closed before CONNACK");
    expect(hub.counters).toEqual({ opened: 0, refused: 1 });
    const broker = await startEmbeddedBroker();
    broker.serve!(hub);
    cleanups.push(() => broker.end());
    await connected(client(dialer, "later"));
    expect(hub.counters).toEqual({ opened: 1, refused: 1 });
    // The broker stops: its connections end on both sides, and new ones are refused again.
    const later = client(dialer, "third");
    await connected(later);
    const laterClosed = new Promise<void>((resolve) => later.once("close", () => resolve()));
    await broker.close();
    await laterClosed;
    await expect(connected(client(dialer, "fourth"))).rejects.toThrow("closed before CONNACK");
    expect(hub.connections).toBe(0);
    expect(hub.counters.refused).toBe(2);
  });

  it("a device that drops its connection gets its Will published; one that says goodbye does not", async () => {
    const { hub, broker, dialer } = await brokerWithHub();
    const { sub, got } = await subscriber(broker.url, "state/#");
    const abrupt = client(dialer, "abrupt", { will: { topic: "state/abrupt", payload: Buffer.from("dead"), qos: 1, retain: false } });
    const polite = client(dialer, "polite", { will: { topic: "state/polite", payload: Buffer.from("dead"), qos: 1, retain: false } });
    await Promise.all([connected(abrupt), connected(polite)]);
    await polite.endAsync(); // DISCONNECT, then the stream ends
    abrupt.end(true); // the stream is destroyed without a DISCONNECT
    await until(() => got.length === 1 && hub.connections === 0);
    // Both are gone: a Will the broker would still send comes before a message published now.
    await sub.publishAsync("state/marker", "", { qos: 1 });
    await until(() => got.some((m) => m.topic === "state/marker"));
    expect(got.filter((m) => m.topic !== "state/marker").map((m) => [m.topic, m.payload.toString()])).toEqual([["state/abrupt", "dead"]]);
  });

  for (const transport of ["hub", "tcp"] as const) {
    it(`a broker outage over ${transport === "hub" ? "the in-process network" : "loopback TCP"}: each device is born again in a new session, and nothing is lost`, async () => {
      const scenario = parseScenario({
        ...defaults, name: "outage", seed: 5, days: 0.1, pumps: 8, interval_s: 600, faults: [], broker_outages: [{ start_day: 0.04, minutes: 20 }],
      });
      for (const perConnection of [1, 4]) {
        const result = await simulate({ ...scenario, devices_per_connection: perConnection }, { transport });
        expect(result.outages.outages).toBe(1);
        expect(result.delivered).toBe(result.published);
        expect(result.gaps).toBe(0);
        for (const pump of result.pumps) {
          // The first session's death (the Will of its own connection, which a restarted broker
          // may publish after the new birth: the session numbers order them; or said by its
          // gateway on reconnecting) and the birth of a later session (attempts refused while
          // the broker was away use session numbers up).
          const states = result.collector.devices.get(pump.device)!.states;
          const label = `${pump.device}, ${perConnection} per connection: ${JSON.stringify(states)}`;
          expect(states, label).toContainEqual({ online: false, session: 1 });
          expect(states.some((s) => s.online && s.session > 1), label).toBe(true);
        }
      }
    });
  }

  it("gives a fleet the same messages as loopback TCP", async () => {
    const scenario = parseScenario({
      ...defaults, name: "hub vs tcp", seed: 11, days: (6 * 600) / 86_400, pumps: 4, interval_s: 600,
      faults: [{ kind: "outer_race", pumps: 1, onset_day: [0, 0], pf_days: [1, 1] }],
    });
    const packs = (result: Awaited<ReturnType<typeof simulate>>): string[] => result.pumps.flatMap((pump) => {
      const log = timeOrdered(result.collector.devices.get(pump.device)!.telemetry);
      return Array.from({ length: log.length }, (_, i) => `${pump.device} ${log.time(i)} ${log.number(i, "acc_rms")} ${log.text(i, "fault")}`);
    });
    const overHub = await simulate(scenario);
    const overTcp = await simulate(scenario, { transport: "tcp" });
    expect(overHub.delivered).toBe(24 + 4); // six windows and a boot event per pump
    expect(packs(overHub)).toHaveLength(24);
    expect(packs(overHub)).toEqual(packs(overTcp));
  });
});
