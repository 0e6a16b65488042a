// The MQTT link with credentials over TLS, against mosquitto: a device that trusts the CA and
// knows its password gets its messages through; a wrong password or an untrusted server
// never connects, and the link keeps retrying with backoff instead of giving up.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collector } from "../../operator/collector.js";
import { MqttLink } from "../../host/link/mqtt-link.js";
import { MemoryOutbox } from "../../host/outbox/outbox.js";
import { encodeCbor } from "../../protocol/cbor.js";
import { MOSQUITTO_MISSING_REASON, MOSQUITTO_PATH, startMosquitto, type Mosquitto } from "../support/mosquitto.js";
import { testPort } from "../support/ports.js";
import { createPki, OPENSSL, type Pki } from "../support/pki.js";

const READY = MOSQUITTO_PATH !== undefined && OPENSSL !== undefined && fs.existsSync("/usr/bin/mosquitto_passwd");

describe.skipIf(!READY)("MQTT over TLS with a password", () => {
  let directory: string;
  let pki: Pki;
  let broker: Mosquitto;
  let tlsUrl: string;

  beforeAll(async () => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-tls-"));
    fs.chmodSync(directory, 0o755);
    pki = createPki(directory);
    const server = pki.issue("broker", { server: true });
    const passwords = path.join(directory, "passwords");
    execFileSync("/usr/bin/mosquitto_passwd", ["-c", "-b", passwords, "pump-1", "s3cret"]);
    execFileSync("/usr/bin/mosquitto_passwd", ["-b", passwords, "collector", "c0llect"]);
    for (const file of fs.readdirSync(directory)) fs.chmodSync(path.join(directory, file), 0o644);
    const tlsPort = await testPort();
    broker = await startMosquitto([
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${pki.caCert}`, `certfile ${server.cert}`, `keyfile ${server.key}`,
      "allow_anonymous false", `password_file ${passwords}`,
    ]);
    tlsUrl = `mqtts://127.0.0.1:${tlsPort}`;
  });

  afterAll(async () => {
    await broker?.stop();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  function link(password: string, trustCa: boolean, outbox = new MemoryOutbox()): MqttLink {
    return new MqttLink({
      url: tlsUrl, tenant: "acme", device: "pump-1", nextSession: () => 1, firmwareVersion: 256, abiVersion: 1, outbox,
      client: { username: "pump-1", password, ...(trustCa ? { ca: fs.readFileSync(pki.caCert) } : {}), rejectUnauthorized: true },
      backoff: { initialMs: 50, maxMs: 200, jitter: 0.5 },
    });
  }

  it("a device with the right password that trusts the CA delivers its messages", async () => {
    const collector = await Collector.connect(tlsUrl, "acme", { username: "collector", password: "c0llect", ca: fs.readFileSync(pki.caCert) });
    const outbox = new MemoryOutbox();
    const good = link("s3cret", true, outbox);
    try {
      await good.connect(5000);
      outbox.append("event", encodeCbor(new Map<string, unknown>([["event", "boot"], ["boot", 1], ["fw", 256]])));
      good.pump();
      await good.drained();
      await collector.waitFor(() => (collector.devices.get("pump-1")?.releasedThrough ?? 0) === 1, 5000);
      expect(collector.devices.get("pump-1")!.events).toEqual([{ event: "boot", boot: 1, fw: 256 }]);
    } finally {
      await good.close();
      await collector.close();
    }
  });

  it("a wrong password never connects, and the link keeps retrying", async () => {
    const bad = link("guess", true);
    try {
      await expect(bad.connect(800)).rejects.toThrow(/no MQTT connection .* within 800 ms; still trying/);
      expect(bad.connected).toBe(false);
      expect(bad.counters.connects).toBe(0);
    } finally {
      await bad.close();
    }
  });

  it("a device that does not trust the server's certificate never connects", async () => {
    const untrusting = link("s3cret", false);
    try {
      await expect(untrusting.connect(800)).rejects.toThrow(/still trying/);
      expect(untrusting.counters.connects).toBe(0);
    } finally {
      await untrusting.close();
    }
  });
});

if (!READY) {
  describe("MQTT over TLS with a password", () => {
    it.skip(`${MOSQUITTO_MISSING_REASON}, or openssl / mosquitto_passwd are missing`, () => {});
  });
}
