// The embedded broker, in this process and in one of its own: retained messages (an exact
// subscription finds its topic's message by lookup, a wildcard one by matching), clearing, and
// a restart on the same persistence, as MQTT says; the process ends with end().

import net from "node:net";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../simulator/net/broker.js";
import { until } from "../support/wait.js";
import { testPort } from "../support/ports.js";

const brokers: EmbeddedBroker[] = [];
let barriers = 0;
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((broker) => broker.end()));
});

/** The retained messages a new subscription to `filter` gets. The broker sends them after its
 *  SUBACK, from a stream of its own; a second subscription, to a barrier topic with a retained
 *  message of its own, is read a round trip later, so its message comes after all of them. */
async function retainedOn(url: string, filter: string): Promise<[string, string][]> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  const barrier = `barrier/${(barriers += 1)}`;
  await client.publishAsync(barrier, "end", { qos: 1, retain: true });
  const got: [string, string][] = [];
  let through = false;
  client.on("message", (topic, payload, packet) => {
    if (topic === barrier) through = true;
    else if (packet.retain) got.push([topic, payload.toString()]);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  await client.subscribeAsync(barrier, { qos: 1 });
  await until(() => through, { what: "the barrier's retained message" });
  await client.publishAsync(barrier, "", { qos: 1, retain: true });
  await client.endAsync();
  return got.sort(([a], [b]) => a.localeCompare(b));
}

async function publishRetained(url: string, messages: [string, string][]): Promise<void> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  for (const [topic, payload] of messages) await client.publishAsync(topic, payload, { qos: 1, retain: true });
  await client.endAsync();
}

describe.each([
  ["in this process", false],
  ["in a process of its own", true],
])("embedded broker %s: retained messages", (_, ownProcess) => {
  it("gives an exact subscription its own topic's message and a wildcard one every match", async () => {
    const broker = await startEmbeddedBroker({ ownProcess });
    brokers.push(broker);
    await publishRetained(broker.url, [["t/a/state", "A"], ["t/b/state", "B"], ["t/b/other", "X"]]);
    expect(await retainedOn(broker.url, "t/b/state")).toEqual([["t/b/state", "B"]]);
    expect(await retainedOn(broker.url, "t/c/state")).toEqual([]);
    expect(await retainedOn(broker.url, "t/+/state")).toEqual([["t/a/state", "A"], ["t/b/state", "B"]]);
    expect(await retainedOn(broker.url, "t/#")).toEqual([["t/a/state", "A"], ["t/b/other", "X"], ["t/b/state", "B"]]);
  });

  it("forgets a retained message cleared with an empty payload and keeps the rest across a restart", async () => {
    const first = await startEmbeddedBroker({ ownProcess, port: await testPort() }); // restarted on it below
    await publishRetained(first.url, [["t/a/state", "A1"], ["t/a/state", "A2"], ["t/b/state", "B"], ["t/b/state", ""]]);
    await first.close();
    await expect(mqtt.connectAsync(first.url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 1000 })).rejects.toThrow();
    const second = await startEmbeddedBroker({ port: first.port, persistence: first.persistence });
    brokers.push(second);
    expect(await retainedOn(second.url, "t/a/state")).toEqual([["t/a/state", "A2"]]);
    expect(await retainedOn(second.url, "t/b/state")).toEqual([]);
    expect(await retainedOn(second.url, "t/+/state")).toEqual([["t/a/state", "A2"]]);
  });
});

describe("embedded broker in a process of its own", () => {
  it("ends its process with end(), after which it refuses connections", async () => {
    const broker = await startEmbeddedBroker({ ownProcess: true });
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    await client.endAsync();
    await broker.end();
    await expect(mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 1000 })).rejects.toThrow();
    await expect(startEmbeddedBroker({ port: broker.port, persistence: broker.persistence })).rejects.toThrow(/exited/);
  });
});

describe("the tests' ports (test/support/ports.ts)", () => {
  it("come from below the kernel's ephemeral range, one after another, and skip a port something listens on", async () => {
    const first = await testPort();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(first + 1, "127.0.0.1", resolve));
    try {
      const second = await testPort();
      expect(first).toBeGreaterThanOrEqual(20_000);
      expect(second).toBeLessThan(32_768);
      expect(second).toBe(first + 2); // first + 1 is taken
      const pair = await testPort(2);
      expect(pair).toBe(second + 1);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
