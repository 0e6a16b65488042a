// The device host around the firmware: a reboot command restarts the firmware on the same
// storage and outbox, and the boot counter and sequence numbers carry on; persistent storage
// and the durable outbox survive a restart of the device; a full outbox reports what it drops.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Device, type DeviceOptions } from "../../host/device/device.js";
import type { DeviceLink } from "../../host/link/mqtt-link.js";
import type { Gateway } from "../../host/link/shared-link.js";
import { FileStorage, MemoryStorage } from "../../host/storage/storage.js";
import { decodeEvent, decodeReply, encodeCommand } from "../../protocol/messages.js";
import { releaseFirmware } from "../support/firmware.js";

const T0_MS = 1_767_225_600_000;
const directories: string[] = [];
const devices: Device[] = [];

function temporaryDirectory(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-device-"));
  directories.push(directory);
  return directory;
}

async function boot(options: Partial<DeviceOptions>): Promise<Device> {
  const device = await Device.boot({
    tenant: "t", config: { device: "d1", rate_hz: 1000, window: 256 }, firmware: await releaseFirmware(),
    storage: new MemoryStorage(), clock: () => 0, isolation: "inline", ...options,
  });
  devices.push(device);
  return device;
}

// A healthy pump's vibration (small enough that no alarm is raised): 0.01 g.
const window = (seed: number): Float32Array => Float32Array.from({ length: 256 }, (_, i) => 0.01 * Math.sin(i / 5 + seed));

afterEach(async () => {
  for (const device of devices.splice(0)) await device.close();
  for (const directory of directories.splice(0)) fs.rmSync(directory, { recursive: true, force: true });
});

describe("Device", () => {
  for (const isolation of ["inline", "worker"] as const) {
    it(`a reboot command replies, restarts the firmware, and the new boot is counted (${isolation})`, async () => {
      const device = await boot({ isolation });
      expect(await device.handleCommand(encodeCommand({ id: 5, cmd: "reboot" }))).toBe(1);
      expect(device.counters.reboots).toBe(1);
      const entries = device.outbox.pending();
      expect(entries.map((e) => [e.sequence, e.kind])).toEqual([[1, "event"], [2, "reply"], [3, "event"]]);
      expect(decodeEvent(entries[0].body)).toEqual({ event: "boot", boot: 1, fw: 0x000100 });
      expect(decodeReply(entries[1].body)).toEqual({ id: 5, ok: true });
      expect(decodeEvent(entries[2].body)).toEqual({ event: "boot", boot: 2, fw: 0x000100 });
    });
  }

  for (const isolation of ["inline", "worker"] as const) {
    it(`what the firmware publishes during a call is only appended; the link is pumped once, after the call (${isolation})`, async () => {
      const device = await boot({ isolation });
      // A link that notes, at each pump, how many messages wait in the outbox.
      const seen: number[] = [];
      const link = {
        counters: {}, connected: true, pump: () => { seen.push(device.outbox.pending().length); },
        announce: () => {}, drained: async () => {}, close: async () => {}, abort: () => {},
      } as unknown as DeviceLink;
      device.connectVia({ attach: () => link } as unknown as Gateway);
      const before = device.outbox.pending().length;
      // One call, two messages: the error reply and the error event of an impossible geometry.
      expect(await device.handleCommand(encodeCommand({ id: 8, cmd: "config", args: { device: "d1", rate_hz: 1000, window: 256, bearing: [9, 40, 39, 0] } }))).toBeLessThan(0);
      expect(device.outbox.pending().length - before).toBe(2);
      expect(seen).toEqual([before + 2]);
      // A window that publishes its telemetry: one more pump, after it.
      expect(await device.feed(window(1), T0_MS)).toBe(1);
      expect(seen).toEqual([before + 2, before + 3]);
    });
  }

  it("a command from a local link gets its replies there, the host's refusals too; its events still go to the outbox", async () => {
    const device = await boot({});
    const replies: unknown[] = [];
    const replyTo = (bytes: Uint8Array): void => { replies.push(decodeReply(bytes)); };
    expect(await device.handleCommand(encodeCommand({ id: 6, cmd: "self_test" }), replyTo)).toBe(0);
    expect(await device.handleCommand(encodeCommand({ id: 7, cmd: "config", args: { device: "d1", rate_hz: 1000, window: 512 } }), replyTo)).toBe(-11);
    expect(await device.handleCommand(encodeCommand({ id: 8, cmd: "config", args: { device: "d1", rate_hz: 1000, window: 256, pad: "x".repeat(3000) } }), replyTo)).toBe(-6);
    expect(replies).toEqual([{ id: 6, ok: true }, { id: 7, ok: false, error: -11 }, { id: 8, ok: false, error: -6 }]);
    expect(device.outbox.pending().map((entry) => decodeEvent(entry.body))).toEqual([
      { event: "boot", boot: 1, fw: 0x000100 }, { event: "error", code: -11, what: "config" }, { event: "error", code: -6, what: "command" },
    ]);
    expect(await device.handleCommand(encodeCommand({ id: 9, cmd: "self_test" }))).toBe(0); // no local link: the outbox, as ever
    expect(device.outbox.pending().map((entry) => entry.kind)).toEqual(["event", "event", "event", "reply"]);
  });

  it("storage and the durable outbox survive a restart: the boot counter and the sequence numbers carry on", async () => {
    const directory = temporaryDirectory();
    const options = (): Partial<DeviceOptions> => ({
      storage: new FileStorage(path.join(directory, "storage")),
      outbox: { directory: path.join(directory, "outbox") },
    });
    const first = await boot(options());
    expect(await first.feed(window(1), T0_MS)).toBe(1);
    expect(first.outbox.pending().map((e) => [e.sequence, e.kind])).toEqual([[1, "event"], [2, "telemetry"]]);
    first.outbox.acknowledge(1);
    await first.close();
    expect(() => first.outbox.append("event", new Uint8Array([0xa0]))).toThrow(/closed/);

    const second = await boot(options());
    const entries = second.outbox.pending();
    expect(entries.map((e) => [e.sequence, e.kind])).toEqual([[2, "telemetry"], [3, "event"]]);
    expect(decodeEvent(entries[1].body)).toEqual({ event: "boot", boot: 2, fw: 0x000100 });
    expect(new FileStorage(path.join(directory, "storage")).read(1)).toEqual(new Uint8Array([2, 0, 0, 0]));
  });

  it("a full durable outbox thins telemetry and says so in an outbox_drop event, numbered like the rest", async () => {
    const device = await boot({ outbox: { directory: temporaryDirectory(), options: { capacityMessages: 8 } } });
    for (let i = 0; i < 7; i++) expect(await device.feed(window(i), T0_MS + i * 256)).toBe(1);
    const before = device.outbox.pending();
    expect(before.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const thinnedBytes = before[1].body.length + before[3].body.length; // sequences 2 and 4
    expect(await device.feed(window(7), T0_MS + 7 * 256)).toBe(1);
    const after = device.outbox.pending();
    expect(after.map((e) => [e.sequence, e.kind])).toEqual([
      [1, "event"], [3, "telemetry"], [5, "telemetry"], [6, "telemetry"], [7, "telemetry"], [8, "telemetry"], [9, "telemetry"], [10, "event"],
    ]);
    expect(decodeEvent(after[7].body)).toEqual({ event: "outbox_drop", reason: "thinned", messages: 2, bytes: thinnedBytes, first: 2, last: 4 });
  });

  it("an outbox that refuses even the report keeps it queued and publishes it once there is room", async () => {
    // Room for 2 messages: the boot event, then a reply; a third (the next reply) is refused.
    const device = await boot({ outbox: { directory: temporaryDirectory(), options: { capacityMessages: 2 } } });
    expect(await device.handleCommand(encodeCommand({ id: 1, cmd: "self_test" }))).toBe(0);
    await device.handleCommand(encodeCommand({ id: 2, cmd: "self_test" })); // its reply is refused: the outbox is full
    expect(device.counters.reportsDeferred).toBe(1);
    expect(device.outbox.pending().map((e) => e.sequence)).toEqual([1, 2]);
    device.outbox.acknowledge(1);
    device.outbox.acknowledge(2);
    await device.tick();
    const [report] = device.outbox.pending();
    expect(report.sequence).toBe(3);
    expect(decodeEvent(report.body)).toEqual({ event: "outbox_drop", reason: "full", messages: 1, bytes: expect.any(Number) });
  });

  it("refuses to queue telemetry that could not carry its sequence number (no pack, or a first record that is no map)", async () => {
    const device = await boot({});
    // What the firmware's publish import reaches; the release firmware itself never sends such telemetry.
    const publish = (bytes: number[]): boolean => (device as unknown as { accept(kind: number, bytes: Uint8Array): boolean }).accept(1, Uint8Array.from(bytes));
    const queued = device.outbox.size;
    expect(publish([0xa1, 0x00, 0x61, 0x61])).toBe(false); // a map, not a pack
    expect(publish([0x81, 0x05])).toBe(false); // a record that is no map
    expect(publish([0x80])).toBe(false); // no record
    expect(device.counters.refused).toBe(3);
    expect(device.outbox.size).toBe(queued);
    expect(publish([0x81, 0xa2, 0x00, 0x61, 0x61, 0x02, 0x01])).toBe(true); // [{0: "a", 2: 1}]
    expect(device.outbox.size).toBe(queued + 1);
  });
});
