// Commands that must not work, against mosquitto running the provisioned configuration: a
// command captured and published again is refused by the device (its counter is not above the
// last), a policy change without the owner's token is refused, and an update offer signed by
// someone else is rejected by the update agent. Every device, operator and broker here uses
// the certificates `impeller provision` made.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Device } from "../../host/device/device.js";
import { identityBrokerUrl, identityOptions } from "../../host/link/identity.js";
import { Flash } from "../../host/storage/flash.js";
import { SlotStore } from "../../host/update/slots.js";
import { UpdateAgent } from "../../host/update/update-agent.js";
import { unframe } from "../../protocol/framing.js";
import { decodeEvent, decodeReply, decodeUpdateMessage, encodeCommand, encodeUpdateOffer } from "../../protocol/messages.js";
import { ownerPolicy, provision, OPENSSL } from "../../operator/provision.js";
import { MOSQUITTO_MISSING_REASON, MOSQUITTO_PATH, runMosquittoConfig } from "../support/mosquitto.js";
import { testPort } from "../support/ports.js";
import { agentOptions, deviceOptions, envelopeFor, NEW_IMAGE, OTHER_SIGNER, provisionedFlash } from "../support/update.js";
import { until } from "../support/wait.js";

const READY = MOSQUITTO_PATH !== undefined && OPENSSL !== undefined;
const WAIT_MS = 5000;
const TOPIC = "impeller/v1/acme/pump-0001";

describe.skipIf(!READY)("refused commands over the provisioned broker", () => {
  let directory: string;
  let broker: Awaited<ReturnType<typeof runMosquittoConfig>>;
  let device: Device;
  let agent: UpdateAgent;
  let operator: MqttClient;
  const replies: ReturnType<typeof decodeReply>[] = [];
  const statuses: ReturnType<typeof decodeUpdateMessage>[] = [];

  beforeAll(async () => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-commands-"));
    fs.chmodSync(directory, 0o755);
    const port = await testPort(2); // certificates on the first, passwords on the second
    await provision({ tenant: "acme", devices: 1, out: directory, port, bind: "127.0.0.1", days: 2, waveform: "never" });
    broker = await runMosquittoConfig(path.join(directory, "mosquitto.conf"), port);
    const flash: Flash = provisionedFlash({});
    const config = { device: "pump-0001", rate_hz: 1000, window: 256, owner: ownerPolicy(directory, "acme") };
    ({ device, agent } = await UpdateAgent.start(deviceOptions({ tenant: "acme", config, isolation: "inline" }), agentOptions(new SlotStore(flash))));
    await device.connect(identityBrokerUrl(directory), identityOptions(directory, "pump-0001"));
    operator = await mqtt.connectAsync(identityBrokerUrl(directory), { protocolVersion: 4, ...identityOptions(directory, "operator.acme") });
    operator.on("message", (topic, payload) => {
      const { body } = unframe(topic.endsWith("/reply") ? "reply" : "update", new Uint8Array(payload));
      if (topic.endsWith("/reply")) replies.push(decodeReply(body));
      if (topic.endsWith("/update")) statuses.push(decodeUpdateMessage(body));
    });
    await operator.subscribeAsync([`${TOPIC}/reply`, `${TOPIC}/update`], { qos: 1 });
  });

  afterAll(async () => {
    await operator?.endAsync();
    agent?.close();
    await device?.close();
    await broker?.stop();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it("the device was provisioned with its tenant's owner policy", () => {
    expect(device.policy).toEqual({ waveform: "never", detail: "full" });
  });

  it("a command published again, byte for byte, is refused as a replay", async () => {
    const command = Buffer.from(encodeCommand({ id: 1, seq: 1, cmd: "self_test" }));
    await operator.publishAsync(`${TOPIC}/command`, command, { qos: 1 });
    await until(() => replies.length === 1);
    await operator.publishAsync(`${TOPIC}/command`, command, { qos: 1 });
    await until(() => replies.length === 2);
    expect(replies).toEqual([{ id: 1, ok: true }, { id: 1, ok: false, error: -14 }]);
  });

  it("without the owner's token the policy stays, and raw waveforms stay on the device", async () => {
    replies.length = 0;
    const forged = encodeCommand({ id: 2, seq: 2, cmd: "policy", args: { token: new Uint8Array(32).fill(7), waveform: "on_request" } });
    await operator.publishAsync(`${TOPIC}/command`, Buffer.from(forged), { qos: 1 });
    await operator.publishAsync(`${TOPIC}/command`, Buffer.from(encodeCommand({ id: 3, seq: 3, cmd: "waveform" })), { qos: 1 });
    await until(() => replies.length === 2);
    expect(replies).toEqual([{ id: 2, ok: false, error: -13 }, { id: 3, ok: false, error: -13 }]);
  });

  it("an update offer signed with another key is rejected before a byte is downloaded, with an error event", async () => {
    const collector = await mqtt.connectAsync(identityBrokerUrl(directory), { protocolVersion: 4, ...identityOptions(directory, "collector.acme") });
    const events: unknown[] = [];
    collector.on("message", (_topic, payload) => events.push(decodeEvent(unframe("event", new Uint8Array(payload)).body)));
    await collector.subscribeAsync(`${TOPIC}/event`, { qos: 1 });
    const offer = encodeUpdateOffer({ id: 4, campaign: "forged", envelope: envelopeFor(NEW_IMAGE, 5, { key: OTHER_SIGNER.privateKey }) });
    await operator.publishAsync(`${TOPIC}/command`, Buffer.from(offer), { qos: 1 });
    await until(() => statuses.some((s) => "state" in s && s.state === "rejected"));
    const rejected = statuses.find((s) => "state" in s && s.state === "rejected")!;
    expect(rejected).toMatchObject({ update: "status", campaign: "forged", state: "rejected" });
    expect(String((rejected as { reason?: string }).reason)).toMatch(/signature/);
    expect(statuses.filter((s) => s.update === "block_request")).toEqual([]);
    expect(device.firmwareVersion).toBe(0x000100);
    await until(() => events.length > 0);
    expect(events).toEqual([{ event: "error", code: -13, what: "update" }]);
    await collector.endAsync();
  });
});

if (!READY) {
  describe("refused commands over the provisioned broker", () => {
    it.skip(`${MOSQUITTO_MISSING_REASON}, or openssl is missing`, () => {});
  });
}

describe.skipIf(!READY)("an update campaign on the provisioned broker", () => {
  it("goes out as the operator, each pump downloading with its own certificate, and completes", async () => {
    const { simulate } = await import("../../simulator/fleet/fleet.js");
    const { parseScenario } = await import("../../simulator/scenario/scenario.js");
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-campaign-id-"));
    fs.chmodSync(directory, 0o755);
    const port = await testPort(2); // certificates on the first, passwords on the second
    await provision({ tenant: "demo", devices: 3, out: directory, port, bind: "127.0.0.1", days: 2 });
    const broker = await runMosquittoConfig(path.join(directory, "mosquitto.conf"), port);
    try {
      const scenario = parseScenario({
        name: "campaign over identities", seed: 3, tenant: "demo", start: "2026-01-05T00:00:00Z", days: 0.1, pumps: 3,
        interval_s: 1800, sample_rate_hz: 12800, window: 4096,
        pump: { rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1], imbalance_g: [0.005, 0.03], misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03] },
        campaigns: [{ name: "v020", start_day: 0.05, image: "v0.2.0", waves: [1] }],
      });
      const result = await simulate(scenario, { identities: directory });
      expect(result.campaigns.map((c) => [c.state, c.counts.confirmed])).toEqual([["completed", 3]]);
      expect(result.delivered).toBe(result.published);
    } finally {
      await broker.stop();
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!READY)("the password listener of the provisioned broker", () => {
  it("takes an identity's password over TLS under the same ACL, and refuses a wrong one", async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-passwords-"));
    fs.chmodSync(directory, 0o755);
    const port = await testPort(2); // certificates on the first, passwords on the second
    await provision({ tenant: "acme", devices: 2, out: directory, port, bind: "127.0.0.1", days: 2 });
    const broker = await runMosquittoConfig(path.join(directory, "mosquitto.conf"), port);
    const clients: MqttClient[] = [];
    try {
      const url = `mqtts://127.0.0.1:${port + 1}`;
      const ca = fs.readFileSync(path.join(directory, "ca.pem"));
      const password = (name: string, kind = "devices"): string => fs.readFileSync(path.join(directory, kind, name, "password"), "utf8").trim();
      expect(fs.statSync(path.join(directory, "devices", "pump-0001", "password")).mode & 0o777).toBe(0o600);
      const collector = await mqtt.connectAsync(url, { protocolVersion: 4, ca, username: "collector.acme", password: password("collector.acme", "clients") });
      clients.push(collector);
      const seen: string[] = [];
      collector.on("message", (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
      await collector.subscribeAsync("impeller/v1/acme/#", { qos: 1 });
      const device = await mqtt.connectAsync(url, { protocolVersion: 4, ca, username: "pump-0001", password: password("pump-0001") });
      clients.push(device);
      await device.publishAsync("impeller/v1/acme/pump-0001/event", "own", { qos: 1 });
      await device.publishAsync("impeller/v1/acme/pump-0002/event", "forged", { qos: 1 }).catch(() => undefined);
      await until(() => seen.includes("impeller/v1/acme/pump-0001/event own"), { timeoutMs: WAIT_MS }).catch(() => undefined);
      expect(seen).toEqual(["impeller/v1/acme/pump-0001/event own"]);
      await expect(mqtt.connectAsync(url, { protocolVersion: 4, ca, username: "pump-0001", password: "guess", reconnectPeriod: 0 })).rejects.toThrow();
    } finally {
      for (const client of clients) await client.endAsync(true);
      await broker.stop();
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});
