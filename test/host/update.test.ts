// The update agent end to end: the happy path over a real broker (aedes in this process) from
// v0.1.0 to v0.2.0 in the worker runtime, and every failure the agent must survive: a corrupted
// block, a wrong signature, a wrong class, a downgrade, images that trap or hang at init or fail
// their self-test (reverted), a truncated download, the network lost mid-download (given up
// after N requests, resumed when it is back) and a reboot mid-download (resumed from flash).

import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import mqtt from "mqtt";
import type { Device } from "../../host/device/device.js";
import { Flash } from "../../host/storage/flash.js";
import { SlotStore } from "../../host/update/slots.js";
import { UpdateAgent, type UpdateAgentOptions } from "../../host/update/update-agent.js";
import { MqttUpdateServer } from "../../operator/update-server.js";
import { parseCddl } from "../../protocol/cddl/compile.js";
import { validateCbor } from "../../protocol/cddl/validate.js";
import { encodeUpdateStatus } from "../../protocol/messages.js";
import { decodeState } from "../../protocol/state.js";
import { buildTopic } from "../../protocol/topics.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../simulator/net/broker.js";
import {
  agentOptions, deviceOptions, DirectLink, envelopeFor, NEW_IMAGE, OLD_IMAGE, OTHER_CLASS_ID, OTHER_SIGNER, provisionedFlash, T0_MS, testImage,
} from "../support/update.js";

const GEOMETRY = { size: 128 * 1024, sectorBytes: 4096, writeAlign: 8 };
const SILENCE_MS = 1000;
const TRIES_MAX = 3;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Rig {
  flash: Flash;
  device: Device;
  agent: UpdateAgent;
  link: DirectLink;
  clock: { now: number };
}

/** A device on a virtual clock, powered on from `flash`, talking to a server directly. */
async function rig(options: { flash?: Flash; link?: DirectLink; isolation?: "inline" | "worker"; agent?: Partial<UpdateAgentOptions>; budgetsMs?: Record<string, number> } = {}): Promise<Rig> {
  const flash = options.flash ?? provisionedFlash(GEOMETRY);
  const clock = { now: T0_MS };
  const link = options.link ?? new DirectLink();
  const { device, agent } = await UpdateAgent.start(
    deviceOptions({ clock: () => clock.now, isolation: options.isolation ?? "inline", budgetsMs: options.budgetsMs }),
    agentOptions(new SlotStore(flash), { timers: "manual", silenceMs: SILENCE_MS, triesMax: TRIES_MAX, selfTestTimeoutMs: 5000, ...options.agent }),
  );
  link.attach(device);
  cleanups.push(async () => {
    agent.close();
    await device.close();
  });
  return { flash, device, agent, link, clock };
}

/** Offers `image` and runs the exchange until it settles. */
async function update(r: Rig, image: Uint8Array, envelope: Uint8Array, campaign = "c1"): Promise<string[]> {
  r.link.server.serve({ campaign, image, envelope });
  await r.link.server.offer("p1", campaign);
  await r.link.pump();
  return r.agent.history.map((status) => status.state);
}

/** Moves the clock past the silence and lets the agent ask again, until it stops asking. */
async function silence(r: Rig, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    r.clock.now += SILENCE_MS;
    await r.agent.poll();
    await r.link.pump();
  }
}

function trailer(r: Rig) {
  return new SlotStore(r.flash).readTrailer();
}

/** The faults cleared, the same offer resumes from what is in flash: only the rest is sent. */
async function resumesFrom(r: Rig, offset: number): Promise<void> {
  r.link.server.faults = {};
  const before = r.link.server.counters.dataBytes;
  await r.link.server.offer("p1", "c1");
  await r.link.pump();
  expect(r.agent.state).toBe("confirmed");
  expect(r.link.server.counters.dataBytes - before).toBe(NEW_IMAGE.length - offset);
}

describe("update over MQTT", () => {
  let broker: EmbeddedBroker;

  it("updates v0.1.0 to v0.2.0 on a real broker, confirms it and announces the new version in the birth", async () => {
    broker = await startEmbeddedBroker();
    cleanups.push(() => broker.close());
    const flash = provisionedFlash(GEOMETRY);
    const { device, agent } = await UpdateAgent.start(deviceOptions({ isolation: "worker" }), agentOptions(new SlotStore(flash), { silenceMs: 2000 }));
    cleanups.push(async () => {
      agent.close();
      await device.close();
    });
    expect(device.firmwareVersion).toBe(0x000100);
    await device.connect(broker.url);
    const server = await MqttUpdateServer.connect(broker.url, "t");
    cleanups.push(() => server.close());

    const envelope = envelopeFor(NEW_IMAGE, 2);
    server.serve({ campaign: "c-mqtt", image: NEW_IMAGE, envelope });
    const confirmed = server.waitFor("p1", (s) => s.state === "confirmed" || s.state === "reverted" || s.state === "failed" || s.state === "rejected");
    const started = performance.now();
    await server.offer("p1", "c-mqtt");
    const last = await confirmed;
    const elapsedMs = performance.now() - started;
    expect(last.state).toBe("confirmed");
    expect(server.states("p1")).toEqual(["offered", "downloading", "verifying", "installing", "trial", "confirmed"]);
    expect(device.firmwareVersion).toBe(0x000200);
    expect(new SlotStore(flash).readTrailer()).toMatchObject({ state: "idle", active: 1, installedSequence: 2, outcome: "confirmed" });

    // The retained birth now says 0x000200.
    const observer = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    cleanups.push(() => observer.endAsync());
    const birth = new Promise<number | undefined>((resolve) => {
      observer.on("message", (_, payload) => {
        const state = decodeState(new Uint8Array(payload));
        if (state.online && state.fw === 0x000200) resolve(state.fw);
      });
    });
    await observer.subscribeAsync(buildTopic("t", "p1", "state"), { qos: 1 });
    expect(await birth).toBe(0x000200);

    const wire = server.counters.commandBytes + server.uplinkBytes + envelope.length;
    console.log(
      `update over MQTT: image ${NEW_IMAGE.length} bytes, envelope ${envelope.length} bytes; ${server.counters.answered} blocks ` +
        `(${server.counters.commandBytes} bytes of block commands), ${server.uplinkBytes} bytes of requests and statuses up; ` +
        `${wire} bytes on the wire in all (${(wire / NEW_IMAGE.length).toFixed(3)} × the image); ${elapsedMs.toFixed(0)} ms from offer to confirmed`,
    );
  }, 60_000);
});

describe("update messages", () => {
  it("every message of an update, both ways, is valid impeller.cddl", async () => {
    const schema = parseCddl(fs.readFileSync(new URL("../../protocol/impeller.cddl", import.meta.url), "utf8"));
    const r = await rig();
    const up: Uint8Array[] = [];
    const down: Uint8Array[] = [];
    const receive = r.link.server.receive.bind(r.link.server);
    r.link.server.receive = async (device, body) => {
      up.push(body);
      await receive(device, body);
    };
    const handle = r.device.handleCommand.bind(r.device);
    r.device.handleCommand = async (bytes) => {
      down.push(bytes);
      return handle(bytes);
    };
    r.link.server.serve({ campaign: "c1", image: NEW_IMAGE, envelope: envelopeFor(NEW_IMAGE, 2), blockBytes: 8192 });
    await r.link.server.offer("p1", "c1");
    await r.link.pump();
    expect(r.agent.state).toBe("confirmed");
    expect(up.length).toBeGreaterThan(6);
    for (const body of up) {
      const rule = Buffer.from(body).includes("block_request") ? "block-request" : "update-status";
      expect(validateCbor(schema, rule, body)).toEqual([]);
    }
    for (const body of down) expect(validateCbor(schema, "command", body)).toEqual([]);
    expect(validateCbor(schema, "update-status", encodeUpdateStatus({ campaign: "c", sequence: 2, state: "failed", progress: 1, reason: "x" }))).toEqual([]);
  });
});

describe("update failures", () => {
  it("a corrupted block fails the image digest: reported failed, nothing installed, the old image runs", async () => {
    const r = await rig();
    r.link.server.faults.corrupt = (request) => request.offset === 8192;
    const states = await update(r, NEW_IMAGE, envelopeFor(NEW_IMAGE, 2));
    expect(states).toEqual(["offered", "downloading", "verifying", "failed"]);
    expect(r.agent.history.at(-1)?.reason).toMatch(/digest mismatch/);
    expect(r.device.firmwareVersion).toBe(0x000100);
    expect(trailer(r)).toMatchObject({ state: "idle", active: 0, installedSequence: 1 });
    // Offered again with a sound server: a fresh download, confirmed.
    r.link.server.faults = {};
    await r.link.server.offer("p1", "c1");
    await r.link.pump();
    expect(r.agent.state).toBe("confirmed");
  });

  it("rejects a wrong signature, a wrong class and a downgrade before downloading anything", async () => {
    const r = await rig();
    const operations = r.flash.operations;
    await update(r, NEW_IMAGE, envelopeFor(NEW_IMAGE, 2, { key: OTHER_SIGNER.privateKey }), "bad-signature");
    await update(r, NEW_IMAGE, envelopeFor(NEW_IMAGE, 2, { classId: OTHER_CLASS_ID }), "bad-class");
    await update(r, NEW_IMAGE, envelopeFor(NEW_IMAGE, 1), "same-sequence");
    await update(r, OLD_IMAGE, envelopeFor(OLD_IMAGE, 0), "downgrade");
    const rejected = r.agent.history.map((s) => [s.campaign, s.state, s.reason?.split(":")[0]]);
    expect(rejected).toEqual([
      ["bad-signature", "rejected", "suit_signature"],
      ["bad-class", "rejected", "suit_condition"],
      ["same-sequence", "rejected", "suit_rollback"],
      ["downgrade", "rejected", "suit_rollback"],
    ]);
    expect(r.link.server.counters.requests).toBe(0);
    expect(r.flash.operations).toBe(operations);
  });

  const FAULTY = [["trap-at-init", "traps at init", undefined], ["hang-at-init", "hangs at init (stopped by the boot budget)", { boot: 400 }], ["self-test-fails", "fails its self-test", undefined]] as const;
  for (const [name, what, budgetsMs] of FAULTY) {
    it(`reverts an image that ${what} (worker runtime)`, async () => {
      const r = await rig({ isolation: "worker", budgetsMs });
      const image = testImage(name);
      const states = await update(r, image, envelopeFor(image, 2));
      expect(states).toEqual(name === "self-test-fails"
        ? ["offered", "downloading", "verifying", "installing", "trial", "reverted"]
        : ["offered", "downloading", "verifying", "installing", "reverted"]);
      expect(r.agent.history.at(-1)?.reason).toMatch(name === "self-test-fails" ? /self-test failed with status -10/ : name === "hang-at-init" ? /faulted at boot: .*(budget|hang)/i : /faulted at boot: .*trap/i);
      expect(r.device.firmwareVersion).toBe(0x000100);
      expect(r.device.supervisor.state).toBe("running");
      expect(trailer(r)).toMatchObject({ state: "idle", active: 0, installedSequence: 1, outcome: "reverted" });
      // The old image keeps its normal fault limit, and the device takes a good update after.
      await update(r, NEW_IMAGE, envelopeFor(NEW_IMAGE, 3), "c2");
      expect(r.agent.state).toBe("confirmed");
      expect(r.device.firmwareVersion).toBe(0x000200);
    }, 30_000);
  }

  it("a truncated download is reported failed, resumable once the whole image is served", async () => {
    const r = await rig();
    r.link.server.faults.truncateTo = 10_000;
    const states = await update(r, NEW_IMAGE, envelopeFor(NEW_IMAGE, 2));
    expect(states).toEqual(["offered", "downloading", "failed"]);
    expect(r.agent.history.at(-1)?.reason).toMatch(/truncated/);
    expect(trailer(r)).toMatchObject({ state: "downloading", progress: 8192 });
    await resumesFrom(r, 8192);
  });

  it("the network lost mid-download: asks again after silence, gives up after N requests, resumes when it is back", async () => {
    const r = await rig();
    r.link.server.faults.drop = (request) => request.offset >= 12_288;
    const states = await update(r, NEW_IMAGE, envelopeFor(NEW_IMAGE, 2));
    expect(states).toEqual(["offered", "downloading"]);
    const requests = r.link.server.counters.requests;
    await silence(r, TRIES_MAX + 2);
    expect(r.link.server.counters.requests - requests).toBe(TRIES_MAX - 1); // the first request and N − 1 more
    expect(r.agent.state).toBe("failed");
    expect(r.agent.history.at(-1)).toMatchObject({ state: "failed", progress: 12_288 });
    expect(r.agent.history.at(-1)?.reason).toMatch(/no answer for the block at 12288 after 3 requests/);
    // Back: the same offer resumes from what is in flash.
    await resumesFrom(r, 12_288);
  });

  it("a lost block is asked for again after silence and the download goes on", async () => {
    const r = await rig();
    let dropped = false;
    r.link.server.faults.drop = (request) => {
      if (request.offset !== 4096 || dropped) return false;
      dropped = true;
      return true;
    };
    await update(r, NEW_IMAGE, envelopeFor(NEW_IMAGE, 2));
    expect(r.agent.state).toBe("downloading");
    await silence(r, 1);
    expect(r.agent.state).toBe("confirmed");
    expect(r.agent.counters.resends).toBe(1);
  });

  it("a reboot mid-download resumes from the progress in flash, not from the start", async () => {
    const first = await rig();
    first.link.server.faults.drop = (request) => request.offset >= 16_384;
    await update(first, NEW_IMAGE, envelopeFor(NEW_IMAGE, 2));
    expect(first.agent.state).toBe("downloading");
    first.agent.close();
    await first.device.close();
    // Power on again from the same flash: the agent resumes by itself.
    const link = new DirectLink();
    link.server.serve({ campaign: "c1", image: NEW_IMAGE, envelope: envelopeFor(NEW_IMAGE, 2) });
    const second = await rig({ flash: first.flash.reopen(), link });
    await second.link.pump();
    expect(second.agent.history.map((s) => s.state)).toEqual(["downloading", "verifying", "installing", "trial", "confirmed"]);
    expect(second.agent.history[0].progress).toBe(16_384);
    expect(link.server.counters.dataBytes).toBe(NEW_IMAGE.length - 16_384);
    expect(second.device.firmwareVersion).toBe(0x000200);
  });
});
