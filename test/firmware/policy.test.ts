// The owner's data policy and replay protection, enforced by the release firmware: set once at
// provisioning, changed only with the owner's token, deciding what may leave the device, and
// reported in the birth; commands to a provisioned device need a counter above the last one.

import { describe, expect, it } from "vitest";
import { Device } from "../../host/device/device.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import { encodeCommand, encodeFirmwareConfig, decodeEvent, decodeReply, type FirmwareConfig } from "../../protocol/messages.js";
import { decodeSenml } from "../../protocol/senml.js";
import { decodeState } from "../../protocol/state.js";
import { startEmbeddedBroker } from "../../simulator/net/broker.js";
import { bootRelease, RecordingHost } from "../../host/runtime/harness-hosts.js";
import { releaseFirmware } from "../support/firmware.js";
import { tones } from "../support/signals.js";

const TOKEN = Uint8Array.from({ length: 24 }, (_, i) => i * 7 + 1);
const OTHER = Uint8Array.from({ length: 24 }, (_, i) => i * 7 + 2);
const BASE: FirmwareConfig = { device: "p1", rate_hz: 1000, window: 256, units: "g" };
const PROVISIONED: FirmwareConfig = { ...BASE, owner: { token: TOKEN, waveform: "never", detail: "summary" } };
const signal = tones(256, 1000, [{ hz: 25, amplitude_g: 0.1 }], 0.01);

async function provisioned(host = new RecordingHost()) {
  const { firmware } = await bootRelease(host);
  firmware.init(encodeFirmwareConfig(PROVISIONED));
  return { firmware, host };
}

const events = (host: RecordingHost) => host.published.filter((p) => p.kind === 2).map((p) => decodeEvent(p.bytes));
const replies = (host: RecordingHost) => host.published.filter((p) => p.kind === 3).map((p) => decodeReply(p.bytes));

describe("owner data policy", () => {
  it("provisioning stores the policy and the firmware reports it after booting", async () => {
    const { host } = await provisioned();
    expect(events(host)).toEqual([
      { event: "boot", boot: 1, fw: 0x000100 },
      { event: "policy", provisioned: true, waveform: "never", detail: "summary" },
    ]);
    expect(host.storage.read(2)).toEqual(Uint8Array.from([0x50, 1, 1, 1, 24, ...TOKEN]));
  });

  it("summary detail: a window publishes its diagnosis and findings only", async () => {
    const { firmware, host } = await provisioned();
    firmware.process(signal, 0, 1000);
    const pack = decodeSenml(host.published.find((p) => p.kind === 1)!.bytes);
    // The signal, a 1x line well into zone B, is an imbalance finding.
    expect(pack.map((r) => r.n)).toEqual(["acc_rms", "vel_rms", "iso_zone", "fault", "strength", "severity", "health",
      "find_imbalance", "conf_imbalance", "alarm"]);
  });

  it("waveform never: a raw waveform request is forbidden", async () => {
    const { firmware, host } = await provisioned();
    firmware.process(signal, 0, 1000);
    expect(firmware.handleMessage(encodeCommand({ id: 1, seq: 1, cmd: "waveform" }))).toBe(-13);
    expect(host.published.filter((p) => p.kind === 4)).toEqual([]);
    expect(replies(host)).toEqual([{ id: 1, ok: false, error: -13 }]);
  });

  it("only the owner's token changes the policy; then waveforms may leave and all records come back", async () => {
    const { firmware, host } = await provisioned();
    expect(firmware.handleMessage(encodeCommand({ id: 2, seq: 1, cmd: "policy", args: { token: OTHER, waveform: "on_request", detail: "full" } }))).toBe(-13);
    expect(events(host).at(-1)).toEqual({ event: "error", code: -13, what: "policy" });
    expect(firmware.handleMessage(encodeCommand({ id: 3, seq: 2, cmd: "policy", args: { token: TOKEN, waveform: "on_request", detail: "full" } }))).toBe(0);
    expect(events(host).at(-1)).toEqual({ event: "policy", provisioned: true, waveform: "on_request", detail: "full" });
    firmware.process(signal, 0, 1000);
    expect(decodeSenml(host.published.filter((p) => p.kind === 1).at(-1)!.bytes)).toHaveLength(33); // 31 records and the imbalance finding's two
    expect(firmware.handleMessage(encodeCommand({ id: 4, seq: 3, cmd: "waveform" }))).toBe(0);
    expect(replies(host).map((r) => [r.id, r.ok])).toEqual([[2, false], [3, true], [4, true]]);
  });

  it("a configuration cannot change a provisioned policy: by command it is refused, at boot it is ignored", async () => {
    const host = new RecordingHost();
    await provisioned(host);
    const other = { ...BASE, owner: { token: OTHER, waveform: "on_request" as const, detail: "full" as const } };
    const { firmware } = await bootRelease(host); // a reboot with another owner in its configuration
    firmware.init(encodeFirmwareConfig(other));
    expect(events(host).at(-1)).toEqual({ event: "policy", provisioned: true, waveform: "never", detail: "summary" });
    expect(firmware.handleMessage(encodeCommand({ id: 5, seq: 1, cmd: "config", args: other }))).toBe(-13);
  });

  it("a device without an owner has no policy to report and refuses a policy command", async () => {
    const { firmware, host } = await bootRelease();
    firmware.init(encodeFirmwareConfig(BASE));
    expect(events(host)).toEqual([{ event: "boot", boot: 1, fw: 0x000100 }]);
    expect(firmware.handleMessage(encodeCommand({ id: 6, cmd: "policy", args: { token: TOKEN } }))).toBe(-13);
  });
});

describe("replay protection", () => {
  it("a provisioned device runs a command only with a counter above the last, across reboots too", async () => {
    const host = new RecordingHost();
    const { firmware } = await provisioned(host);
    const command = encodeCommand({ id: 10, seq: 5, cmd: "self_test" });
    expect(firmware.handleMessage(command)).toBe(0);
    expect(firmware.handleMessage(command)).toBe(-14); // the same bytes again: a replay
    expect(firmware.handleMessage(encodeCommand({ id: 11, seq: 4, cmd: "self_test" }))).toBe(-14);
    expect(firmware.handleMessage(encodeCommand({ id: 12, cmd: "self_test" }))).toBe(-14); // no counter at all
    expect(firmware.handleMessage(encodeCommand({ id: 13, seq: 6, cmd: "self_test" }))).toBe(0);
    expect(replies(host).map((r) => [r.id, r.ok ? 0 : r.error])).toEqual([[10, 0], [10, -14], [11, -14], [12, -14], [13, 0]]);
    expect(events(host).filter((e) => e.event === "error")).toEqual(Array(3).fill({ event: "error", code: -14, what: "command" }));
    const rebooted = await bootRelease(host);
    rebooted.firmware.init(encodeFirmwareConfig(PROVISIONED));
    expect(rebooted.firmware.handleMessage(encodeCommand({ id: 13, seq: 6, cmd: "self_test" }))).toBe(-14);
    expect(rebooted.firmware.handleMessage(encodeCommand({ id: 14, seq: 7, cmd: "self_test" }))).toBe(0);
  });

  it("shutdown needs no counter (its host may send it before a planned power-off), writes only what changed, and spends no counter", async () => {
    const host = new RecordingHost();
    const { firmware } = await provisioned(host);
    firmware.process(signal, 1_767_225_600_000, 1000); // the first window writes the state: there was none
    firmware.process(signal, 1_767_225_600_000 + 600_000, 1000);
    const writes = host.storage.writesByKey.get(9);
    expect(firmware.handleMessage(encodeCommand({ id: 20, cmd: "shutdown" }))).toBe(0);
    expect(firmware.handleMessage(encodeCommand({ id: 21, cmd: "shutdown" }))).toBe(0); // again: nothing changed
    expect(host.storage.writesByKey.get(9)).toBe(writes! + 1);
    expect(host.storage.read(3)).toBeUndefined(); // no counter stored
    expect(firmware.handleMessage(encodeCommand({ id: 22, cmd: "reboot" }))).toBe(-14); // every other command still needs one
    expect(replies(host).map((r) => [r.id, r.ok ? 0 : r.error])).toEqual([[20, 0], [21, 0], [22, -14]]);
  });

  it("a counter the host cannot store is a storage failure (-8), not a replay, and the command does not run", async () => {
    const host = new RecordingHost();
    const { firmware } = await provisioned(host);
    const write = host.storage.write.bind(host.storage);
    host.storage.write = (key, bytes) => {
      if (key === 3) throw new Error("flash write failed");
      write(key, bytes);
    };
    expect(firmware.handleMessage(encodeCommand({ id: 30, seq: 1, cmd: "self_test" }))).toBe(-8);
    expect(replies(host)).toEqual([{ id: 30, ok: false, error: -8 }]);
    expect(events(host).filter((e) => e.event === "error")).toEqual([]);
  });

  it("an unprovisioned device (a lab bench) takes commands without a counter", async () => {
    const { firmware } = await bootRelease();
    firmware.init(encodeFirmwareConfig(BASE));
    expect(firmware.handleMessage(encodeCommand({ id: 1, cmd: "self_test" }))).toBe(0);
    expect(firmware.handleMessage(encodeCommand({ id: 1, cmd: "self_test" }))).toBe(0);
  });
});

describe("the policy in the birth", () => {
  it("a provisioned device's retained birth states its policy", async () => {
    const broker = await startEmbeddedBroker();
    const device = await Device.boot({
      tenant: "acme", config: PROVISIONED, firmware: await releaseFirmware(), storage: new MemoryStorage(), clock: () => 0, isolation: "inline",
    });
    try {
      await device.connect(broker.url);
      const mqtt = await import("mqtt");
      const client = await mqtt.default.connectAsync(broker.url, { protocolVersion: 4 });
      const birth = await new Promise<Uint8Array>((resolve) => {
        client.on("message", (_topic, payload) => resolve(new Uint8Array(payload)));
        void client.subscribeAsync("impeller/v1/acme/p1/state");
      });
      expect(decodeState(birth)).toEqual({ online: true, session: 1, fw: 0x000100, abi: 1, policy: { waveform: "never", detail: "summary" } });
      await client.endAsync();
    } finally {
      await device.close();
      await broker.close();
    }
  });
});
