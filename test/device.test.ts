// The device host around the firmware: a reboot command restarts the firmware on the same
// storage and outbox, and the boot counter and sequence numbers carry on.

import { describe, expect, it } from "vitest";
import { Device } from "../host/device.js";
import { MemoryStorage } from "../host/storage.js";
import { decodeEvent, decodeReply, encodeCommand } from "../protocol/messages.js";
import { releaseFirmware } from "./helpers/firmware.js";

describe("Device", () => {
  it("a reboot command replies, restarts the firmware, and the new boot is counted", async () => {
    const device = await Device.boot({
      tenant: "t", config: { device: "d1", rate_hz: 1000, window: 256 }, firmware: await releaseFirmware(),
      storage: new MemoryStorage(), clock: () => 0,
    });
    expect(await device.handleCommand(encodeCommand({ id: 5, cmd: "reboot" }))).toBe(1);
    expect(device.counters.reboots).toBe(1);
    const entries = device.outbox.pending();
    expect(entries.map((e) => [e.sequence, e.kind])).toEqual([[1, "event"], [2, "reply"], [3, "event"]]);
    expect(decodeEvent(entries[0].body)).toEqual({ event: "boot", boot: 1, fw: 0x000100 });
    expect(decodeReply(entries[1].body)).toEqual({ id: 5, ok: true });
    expect(decodeEvent(entries[2].body)).toEqual({ event: "boot", boot: 2, fw: 0x000100 });
  });
});
