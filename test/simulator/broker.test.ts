// The embedded broker, in this process and in one of its own: retained messages (an exact
// subscription finds its topic's message by lookup, a wildcard one by matching), clearing, and
// a restart on the same persistence, as MQTT says; the process ends with end().

import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../simulator/net/broker.js";

const brokers: EmbeddedBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((broker) => broker.end()));
});

async function retainedOn(url: string, filter: string, expected: number): Promise<[string, string][]> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  const got: [string, string][] = [];
  client.on("message", (topic, payload, packet) => {
    if (packet.retain) got.push([topic, payload.toString()]);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  const deadline = Date.now() + 2000;
  while (got.length < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  await new Promise((resolve) => setTimeout(resolve, 50)); // nothing more should come
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
    expect(await retainedOn(broker.url, "t/b/state", 1)).toEqual([["t/b/state", "B"]]);
    expect(await retainedOn(broker.url, "t/c/state", 0)).toEqual([]);
    expect(await retainedOn(broker.url, "t/+/state", 2)).toEqual([["t/a/state", "A"], ["t/b/state", "B"]]);
    expect(await retainedOn(broker.url, "t/#", 3)).toEqual([["t/a/state", "A"], ["t/b/other", "X"], ["t/b/state", "B"]]);
  });

  it("forgets a retained message cleared with an empty payload and keeps the rest across a restart", async () => {
    const first = await startEmbeddedBroker({ ownProcess });
    await publishRetained(first.url, [["t/a/state", "A1"], ["t/a/state", "A2"], ["t/b/state", "B"], ["t/b/state", ""]]);
    await first.close();
    await expect(mqtt.connectAsync(first.url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 1000 })).rejects.toThrow();
    const second = await startEmbeddedBroker({ port: first.port, persistence: first.persistence });
    brokers.push(second);
    expect(await retainedOn(second.url, "t/a/state", 1)).toEqual([["t/a/state", "A2"]]);
    expect(await retainedOn(second.url, "t/b/state", 0)).toEqual([]);
    expect(await retainedOn(second.url, "t/+/state", 1)).toEqual([["t/a/state", "A2"]]);
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
