// Device identities against mosquitto run with the configuration `impeller provision` wrote:
// two tenants in one broker, every client with its own certificate. A device publishes and
// reads only its own topics, a tenant's collector sees only its tenant, only the operator
// commands devices, and a client without a certificate from the fleet's CA never connects.
// mosquitto drops an unauthorised MQTT 3.1.1 publish silently, so each "never arrives" is
// bounded by a marker sent after it on the same connection that does arrive.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Collector } from "../../operator/collector.js";
import { IdentityError, loadIdentity } from "../../host/link/identity.js";
import { MqttLink } from "../../host/link/mqtt-link.js";
import { MemoryOutbox } from "../../host/outbox/outbox.js";
import { MqttUpdateServer } from "../../operator/update-server.js";
import { encodeCbor } from "../../protocol/cbor.js";
import { frame } from "../../protocol/framing.js";
import { encodeUpdateStatus } from "../../protocol/messages.js";
import { main } from "../../cli/main.js";
import { simulate } from "../../simulator/fleet/fleet.js";
import { MOSQUITTO_PASSWD, OPENSSL, provision, ProvisionError } from "../../operator/provision.js";
import { parseScenario } from "../../simulator/scenario/scenario.js";
import { MOSQUITTO_MISSING_REASON, MOSQUITTO_PATH, runMosquittoConfig } from "../support/mosquitto.js";
import { testPort } from "../support/ports.js";
import { createPki } from "../support/pki.js";
import { until, untilValue } from "../support/wait.js";

const READY = MOSQUITTO_PATH !== undefined && OPENSSL !== undefined;
const SKIP_REASON = `${MOSQUITTO_MISSING_REASON}, or openssl is missing (apt-get install -y openssl)`;
const WAIT_MS = 5000;

const ACME = "impeller/v1/acme";
const BETA = "impeller/v1/beta";

/** A raw MQTT 3.1.1 client that records what it receives as "topic payload". */
interface Recorder {
  client: MqttClient;
  received: string[];
  /** Resolves when `line` has arrived; rejects after WAIT_MS. */
  waitFor(line: string): Promise<void>;
}

async function connectRaw(url: string, options: IClientOptions): Promise<Recorder> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: WAIT_MS,
    clientId: `test.${Math.random().toString(36).slice(2)}`, ...options,
  });
  const received: string[] = [];
  client.on("message", (topic, payload) => received.push(`${topic} ${payload.toString()}`));
  const waitFor = async (line: string): Promise<void> => {
    await untilValue(() => received, (lines) => lines.includes(line), { timeoutMs: WAIT_MS, what: `${line} did not arrive` });
  };
  return { client, received, waitFor };
}

describe.skipIf(!READY)("device identities against mosquitto with the provisioned configuration", () => {
  let directory: string;
  let port: number;
  let broker: Awaited<ReturnType<typeof runMosquittoConfig>>;
  const open: MqttClient[] = [];

  /** Connects as a provisioned identity (its certificate, the fleet's CA). */
  async function as(name: string): Promise<Recorder> {
    const identity = loadIdentity(directory, name);
    const recorder = await connectRaw(identity.url, identity.client);
    open.push(recorder.client);
    return recorder;
  }

  async function subscribe(recorder: Recorder, filter: string): Promise<void> {
    await recorder.client.subscribeAsync(filter, { qos: 1 });
  }

  /** Publishes once (QoS 1) as `name` on a connection of its own; resolves true when the
   *  broker then closes that connection, false when it stays open for WAIT_MS. */
  async function forge(name: string, topic: string, text: string): Promise<boolean> {
    const identity = loadIdentity(directory, name);
    const { client } = await connectRaw(identity.url, identity.client);
    let closed = false;
    client.once("close", () => { closed = true; });
    client.publish(topic, text, { qos: 1 });
    const result = await until(() => closed, { timeoutMs: WAIT_MS }).then(() => true, () => false);
    await client.endAsync(true);
    return result;
  }

  beforeAll(async () => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-security-"));
    fs.chmodSync(directory, 0o755); // mosquitto, run as root, reads its key as the mosquitto user
    port = await testPort(2); // certificates on the first, passwords on the second
    await provision({ tenant: "acme", devices: 2, out: directory, port, bind: "127.0.0.1", days: 2 });
    await provision({ tenant: "beta", devices: 1, first: 100, out: directory, days: 2 });
    if (process.env.SECURITY_DEBUG) fs.appendFileSync(path.join(directory, "mosquitto.conf"), "log_type all\n");
    broker = await runMosquittoConfig(path.join(directory, "mosquitto.conf"), port);
  });

  afterAll(async () => {
    await Promise.all(open.map((client) => client.endAsync(true)));
    if (process.env.SECURITY_DEBUG) console.log(broker?.stderr());
    await broker?.stop();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it("writes identities with the device id as CN, keys private, and a configuration that requires client certificates", () => {
    const subject = execFileSync(OPENSSL!, ["x509", "-in", path.join(directory, "devices", "pump-0002", "cert.pem"), "-noout", "-subject", "-issuer"]).toString();
    expect(subject).toBe("subject=CN = pump-0002\nissuer=O = impeller, CN = impeller fleet CA\n");
    expect(fs.statSync(path.join(directory, "ca.key")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(directory, "devices", "pump-0101", "key.pem")).mode & 0o777).toBe(0o600);
    const config = fs.readFileSync(path.join(directory, "mosquitto.conf"), "utf8").split("\n");
    for (const line of ["allow_anonymous false", "require_certificate true", "use_identity_as_username true", "max_queued_messages 0", "persistence true", `acl_file ${directory}/acl`]) {
      expect(config).toContain(line);
    }
    const acl = fs.readFileSync(path.join(directory, "acl"), "utf8");
    expect(acl).toContain(["user pump-0101", `topic write ${BETA}/pump-0101/telemetry`, `topic write ${BETA}/pump-0101/event`,
      `topic write ${BETA}/pump-0101/reply`, `topic write ${BETA}/pump-0101/waveform`, `topic write ${BETA}/pump-0101/update`,
      `topic readwrite ${BETA}/pump-0101/state`, `topic read ${BETA}/pump-0101/command`, ""].join("\n"));
    expect(acl).not.toMatch(/^pattern /m);
  });

  it("a device's link with its identity delivers to its tenant's collector, birth and Will included", async () => {
    const collectorIdentity = loadIdentity(directory, "collector.acme");
    const collector = await Collector.connect(collectorIdentity.url, "acme", collectorIdentity.client);
    const identity = loadIdentity(directory, "pump-0001");
    const outbox = new MemoryOutbox();
    const link = new MqttLink({
      url: identity.url, tenant: "acme", device: "pump-0001", nextSession: () => 7, firmwareVersion: 256, abiVersion: 1, outbox,
      client: identity.client, backoff: { initialMs: 50, maxMs: 200, jitter: 0.5 },
    });
    try {
      await link.connect(WAIT_MS);
      outbox.append("event", encodeCbor(new Map<string, unknown>([["event", "boot"], ["boot", 1], ["fw", 256]])));
      link.pump();
      await link.drained();
      // The collector wakes its waiters on framed messages only, not on state: poll.
      await until(() => (collector.devices.get("pump-0001")?.releasedThrough ?? 0) === 1 && collector.devices.get("pump-0001")?.state?.online === true);
      expect(collector.devices.get("pump-0001")!.events).toEqual([{ event: "boot", boot: 1, fw: 256 }]);
      expect(collector.devices.get("pump-0001")!.state).toMatchObject({ online: true, session: 7, fw: 256 });
      expect(collector.errors).toEqual([]);
    } finally {
      await link.close();
      await collector.close();
    }
  });

  it("device A cannot publish as device B: the collector sees A's own messages and none of the forged ones", async () => {
    const collector = await as("collector.acme");
    await subscribe(collector, `${ACME}/+/#`);
    const a = await as("pump-0001");
    await a.client.publishAsync(`${ACME}/pump-0001/telemetry`, "own-1", { qos: 1 });
    const closed: boolean[] = [];
    for (const kind of ["telemetry", "event", "reply", "waveform", "update", "state", "command"]) closed.push(await forge("pump-0001", `${ACME}/pump-0002/${kind}`, `forged-${kind}`));
    closed.push(await forge("pump-0001", `${ACME}/pump-0001/command`, "own-command")); // a device does not command itself either
    await a.client.publishAsync(`${ACME}/pump-0001/telemetry`, "own-2", { qos: 1 });
    await collector.waitFor(`${ACME}/pump-0001/telemetry own-2`);
    expect(collector.received.filter((line) => !line.includes("/state "))).toEqual([`${ACME}/pump-0001/telemetry own-1`, `${ACME}/pump-0001/telemetry own-2`]);
    expect(collector.received.filter((line) => line.includes("/pump-0002/"))).toEqual([]);
    // MQTT 3.1.1 lets the broker acknowledge or close (MQTT-3.3.5-2); mosquitto closes.
    expect(closed).toEqual(closed.map(() => true));
  });

  it("device A cannot read B's commands nor command B; the operator's command reaches B alone", async () => {
    const a = await as("pump-0001");
    const b = await as("pump-0002");
    // mosquitto grants these subscriptions and checks read access message by message.
    await subscribe(a, `${ACME}/pump-0002/command`);
    await subscribe(a, `${ACME}/+/command`);
    await subscribe(b, `${ACME}/pump-0002/command`);
    expect(await forge("pump-0001", `${ACME}/pump-0002/command`, "from-a")).toBe(true);
    const operator = await as("operator.acme");
    await operator.client.publishAsync(`${ACME}/pump-0002/command`, "reboot-b", { qos: 1 });
    await operator.client.publishAsync(`${ACME}/pump-0001/command`, "marker-a", { qos: 1 });
    await b.waitFor(`${ACME}/pump-0002/command reboot-b`);
    await a.waitFor(`${ACME}/pump-0001/command marker-a`);
    expect(b.received).toEqual([`${ACME}/pump-0002/command reboot-b`]);
    expect(a.received).toEqual([`${ACME}/pump-0001/command marker-a`]);
  });

  it("the operator commands and reads replies but cannot publish as a device nor read telemetry", async () => {
    const collector = await as("collector.acme");
    await subscribe(collector, `${ACME}/pump-0002/telemetry`);
    const operator = await as("operator.acme");
    await subscribe(operator, `${ACME}/+/reply`);
    await subscribe(operator, `${ACME}/+/telemetry`);
    expect(await forge("operator.acme", `${ACME}/pump-0002/telemetry`, "forged-by-operator")).toBe(true);
    const b = await as("pump-0002");
    await b.client.publishAsync(`${ACME}/pump-0002/telemetry`, "real", { qos: 1 });
    await b.client.publishAsync(`${ACME}/pump-0002/reply`, "reply-1", { qos: 1 });
    await operator.waitFor(`${ACME}/pump-0002/reply reply-1`);
    await collector.waitFor(`${ACME}/pump-0002/telemetry real`);
    expect(operator.received).toEqual([`${ACME}/pump-0002/reply reply-1`]);
    expect(collector.received).toEqual([`${ACME}/pump-0002/telemetry real`]);
  });

  it("the update server runs as the tenant's operator: it hears its devices' update statuses, not another tenant's", async () => {
    const operator = loadIdentity(directory, "operator.acme");
    const server = await MqttUpdateServer.connect(operator.url, "acme", operator.client);
    try {
      const status = (campaign: string): Buffer => Buffer.from(frame("update", 1, encodeUpdateStatus({ campaign, sequence: 2, state: "downloading", progress: 0 })));
      const beta = await as("pump-0101");
      await beta.client.publishAsync(`${ACME}/pump-0101/update`, status("from-beta"), { qos: 1 }).catch(() => undefined);
      const device = await as("pump-0002");
      await device.client.publishAsync(`${ACME}/pump-0002/update`, status("acme-1"), { qos: 1 });
      await until(() => server.states("pump-0002").length > 0, { timeoutMs: WAIT_MS, what: "pump-0002's update status" });
      expect(server.states("pump-0002")).toEqual(["downloading"]);
      expect(server.states("pump-0101")).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("a tenant's collector sees nothing of another tenant, and no identity reaches across", async () => {
    const acme = await as("collector.acme");
    const beta = await as("collector.beta");
    await subscribe(acme, "impeller/v1/#");
    await subscribe(beta, "impeller/v1/#");
    const acmeDevice = await as("pump-0001");
    const betaDevice = await as("pump-0101");
    const closed = [
      await forge("pump-0101", `${ACME}/pump-0101/telemetry`, "phantom"), // its own name, the other tenant
      await forge("pump-0001", `${BETA}/pump-0001/telemetry`, "phantom"),
      await forge("operator.beta", `${ACME}/pump-0001/command`, "cross-tenant"),
      await forge("collector.beta", `${ACME}/pump-0001/event`, "collectors-only-read"),
    ];
    await acmeDevice.client.publishAsync(`${ACME}/pump-0001/event`, "acme-1", { qos: 1 });
    await betaDevice.client.publishAsync(`${BETA}/pump-0101/event`, "beta-1", { qos: 1 });
    await acme.waitFor(`${ACME}/pump-0001/event acme-1`);
    await beta.waitFor(`${BETA}/pump-0101/event beta-1`);
    expect(acme.received.filter((line) => !line.includes("/state "))).toEqual([`${ACME}/pump-0001/event acme-1`]);
    expect(beta.received.filter((line) => !line.includes("/state "))).toEqual([`${BETA}/pump-0101/event beta-1`]);
    expect(acme.received.filter((line) => !line.startsWith(`${ACME}/`))).toEqual([]);
    expect(closed).toEqual([true, true, true, true]);
  });

  it("a client without a certificate, or with one from another CA, cannot connect", async () => {
    const identity = loadIdentity(directory, "pump-0001");
    const { cert: _cert, key: _key, ...noCertificate } = identity.client;
    await expect(connectRaw(identity.url, noCertificate)).rejects.toThrow(/alert certificate required/);
    const foreign = createPki(path.join(directory, "foreign"));
    const impostor = foreign.issue("pump-0001"); // the right name, the wrong CA
    await expect(connectRaw(identity.url, {
      ...noCertificate, cert: fs.readFileSync(impostor.cert), key: fs.readFileSync(impostor.key),
    })).rejects.toThrow(/alert unknown ca/);
    // And a username and password are no way around the certificate.
    await expect(connectRaw(identity.url, { ...noCertificate, username: "pump-0001", password: "anything" })).rejects.toThrow(/alert certificate required/);
    // The same connection with the provisioned certificate goes through.
    const genuine = await connectRaw(identity.url, identity.client);
    expect(genuine.client.connected).toBe(true);
    await genuine.client.endAsync();
  });

  it("impeller simulate with identities: every pump and the collector connect with their own certificates", async () => {
    const scenario = parseScenario({
      name: "two pumps, five minutes, provisioned", seed: 9, tenant: "acme", start: "2026-03-01T12:00:00Z", days: 5 / 1440, pumps: 2,
      interval_s: 60, sample_rate_hz: 12800, window: 4096,
      pump: {
        rpm: [2950, 2950], vanes: [6, 6], slip: [0.02, 0.02], load: [0.8, 0.8],
        imbalance_g: [0.2, 0.2], misalignment_g: [0.05, 0.05], vane_pass_g: [0.15, 0.15], noise_g: [0.03, 0.03],
      },
    });
    const result = await simulate(scenario, { identities: directory, workers: 1 });
    expect(result.brokerUrl).toBe(`mqtts://127.0.0.1:${port}`);
    expect(result.decodeErrors).toEqual([]);
    expect(result.delivered).toBe(result.published);
    expect(result.pumps.map((pump) => [pump.device, pump.windows, pump.delivered])).toEqual([["pump-0001", 5, 5], ["pump-0002", 5, 5]]);
    expect([...result.collector.devices.values()].map((ledger) => [ledger.telemetry.length, ledger.duplicates, ledger.state?.online])).toEqual([[5, 0, false], [5, 0, false]]);
    // A pump without an identity of its own does not get to connect at all.
    await expect(simulate({ ...scenario, pumps: 3 }, { identities: directory, workers: 1 }))
      .rejects.toThrow(`1 of the 3 pumps have no identity of tenant acme in ${directory} (first: pump-0003): impeller provision --tenant acme --devices 3 --out ${directory}`);
    // Nor does a fleet of a tenant that was not provisioned, though beta's pump-0101 exists.
    await expect(simulate({ ...scenario, tenant: "gamma" }, { identities: directory, workers: 1 })).rejects.toThrow(/^tenant gamma has no identities in /);
  });
});

if (!READY) {
  describe("device identities against mosquitto with the provisioned configuration", () => {
    it.skip(SKIP_REASON, () => {});
  });
}

// provision hashes the brokers' password file with mosquitto_passwd, which comes with mosquitto.
const PROVISION_READY = OPENSSL !== undefined && MOSQUITTO_PASSWD !== undefined;
if (!PROVISION_READY) {
  describe("impeller provision", () => {
    it.skip("openssl or mosquitto_passwd is missing (apt-get install -y openssl mosquitto)", () => {});
  });
}

describe.skipIf(!PROVISION_READY)("impeller provision", () => {
  it("refuses a device id another tenant of the directory already has, and names the way out", async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-provision-"));
    try {
      await provision({ tenant: "acme", devices: 1, out: directory });
      await expect(provision({ tenant: "beta", devices: 1, out: directory })).rejects.toThrow(ProvisionError);
      await expect(provision({ tenant: "beta", devices: 1, out: directory })).rejects.toThrow(/device id pump-0001 already belongs to tenant acme .*--first N/);
      const again = await provision({ tenant: "acme", devices: 2, out: directory });
      expect(again.issued).toEqual(["pump-0002"]); // what exists is kept: the CA and pump-0001 stay
      expect(again.manifest.tenants.acme.devices).toEqual(["pump-0001", "pump-0002"]);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });

  it.skipIf(process.getuid?.() !== 0 || !fs.readFileSync("/etc/passwd", "utf8").includes("\nmosquitto:"))(
    "as root, says when the mosquitto user cannot reach the directory, and how to fix it (exit 1); says nothing when it can", async () => {
      const parent = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-provision-reach-"));
      try {
        fs.chmodSync(parent, 0o700); // root's alone: mosquitto cannot pass
        const hidden = path.join(parent, "fleet");
        const refused = await provision({ tenant: "acme", devices: 1, out: hidden });
        expect(refused.brokerProblems).toEqual([`${parent} (mode 0700) does not let the mosquitto user through: chmod o+x ${parent}, or provision under a directory it can reach`]);
        let errors = "";
        vi.spyOn(process.stdout, "write").mockImplementation(() => true);
        const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
          errors += String(chunk);
          return true;
        });
        try {
          expect(await main(["provision", "--tenant", "acme", "--devices", "1", "--out", hidden])).toBe(1);
        } finally {
          spy.mockRestore();
          vi.restoreAllMocks();
        }
        expect(errors).toContain(`chmod o+x ${parent}`);
        fs.chmodSync(parent, 0o755);
        expect((await provision({ tenant: "acme", devices: 1, out: hidden })).brokerProblems).toEqual([]);
      } finally {
        fs.rmSync(parent, { recursive: true, force: true });
      }
    });

  it("the command line writes DIR and exits 0; a bad argument exits 2", async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-provision-cli-"));
    fs.chmodSync(directory, 0o755); // mkdtemp's 0700 would keep the broker's own user out (exit 1)
    try {
      const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
      const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
      expect(await main(["provision", "--tenant", "acme", "--devices", "2", "--out", directory, "--port", "18883"])).toBe(0);
      expect(String(stdout.mock.calls[0][0])).toContain(`Broker: mosquitto -c ${directory}/mosquitto.conf   (mqtts://127.0.0.1:18883, client certificates required)`);
      expect(fs.readdirSync(path.join(directory, "devices")).sort()).toEqual(["pump-0001", "pump-0002"]);
      expect(fs.readdirSync(path.join(directory, "clients")).sort()).toEqual(["collector.acme", "operator.acme"]);
      expect(loadIdentity(directory, "operator.acme").url).toBe("mqtts://127.0.0.1:18883");
      expect(() => loadIdentity(directory, "pump-0003")).toThrow(IdentityError);
      expect(await main(["provision", "--tenant", "acme", "--devices", "two", "--out", directory])).toBe(2);
      expect(await main(["provision", "--tenant", "a/b", "--devices", "1", "--out", directory])).toBe(2);
      expect(stderr.mock.calls.map(([text]) => String(text))).toEqual([
        "impeller: --devices needs a whole number from 0 to 100000, not \"two\"\n",
        "impeller: tenant \"a/b\" is not valid: use 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit\n",
      ]);
    } finally {
      vi.restoreAllMocks();
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});
