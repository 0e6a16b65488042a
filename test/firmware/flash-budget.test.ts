// The flash budget (firmware/persist.ts, ABI.md "Storage"): the running state stays in RAM and
// is written as one record at most once an hour by the firmware's clock, at once when the alarm
// changes or a command asks, and only when it changed; a failed write is reported and tried
// again; the records of before are read once; a damaged record is a fresh start, never a trap.

import { describe, expect, it } from "vitest";
import { decodeEvent, decodeReply, encodeCommand, encodeFirmwareConfig } from "../../protocol/messages.js";
import { decodeSenml } from "../../protocol/senml.js";
import { bootRelease, RecordingHost } from "../../host/runtime/harness-hosts.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import { Device } from "../../host/device/device.js";
import { releaseFirmware } from "../support/firmware.js";
import { accelerationForVelocity, tones } from "../support/signals.js";
import { stateRecord, stateSection, STORAGE_KEY_STATE } from "../support/state-record.js";

const RATE_HZ = 1000;
const WINDOW = 256;
const INTERVAL_MS = 600_000; // one window every ten minutes
const HOUR_MS = 3_600_000;
const DAY_WINDOWS = 144;
const T0_MS = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const CONFIG = encodeFirmwareConfig({ device: "d", rate_hz: RATE_HZ, window: WINDOW, units: "g", baseline_windows: 6 });

/** One window of a 25 Hz line at `v` mm/s RMS. */
const line = (v: number, seed: number): Float32Array => tones(WINDOW, RATE_HZ, [{ hz: 25, amplitude_g: accelerationForVelocity(v, 25) }], 0.0005, seed);

async function booted(host = new RecordingHost()) {
  const { firmware } = await bootRelease(host);
  firmware.init(CONFIG);
  const storage = host.storage as MemoryStorage;
  const feed = (index: number, v = 0.5): void => { firmware.process(line(v, index + 1), T0_MS + index * INTERVAL_MS, RATE_HZ); };
  const events = () => host.published.filter((p) => p.kind === 2).map((p) => decodeEvent(p.bytes));
  return { firmware, host, storage, feed, events };
}

describe("storage writes a day at one window every ten minutes", () => {
  it("24 a day, first day included (the firmware before wrote 288), and the boot count once a boot", async () => {
    const { storage, feed } = await booted();
    const perDay: number[] = [];
    for (let day = 0; day < 3; day++) {
      const before = storage.writes;
      for (let i = 0; i < DAY_WINDOWS; i++) feed(day * DAY_WINDOWS + i);
      perDay.push(storage.writes - before);
    }
    expect(perDay).toEqual([24, 24, 24]);
    expect(Object.fromEntries(storage.writesByKey)).toEqual({ 1: 1, [STORAGE_KEY_STATE]: 72 });
    // Written on the hour of the windows' clock: the last at 71 h.
    expect(stateRecord(storage)!.writtenMs).toBe(T0_MS + 71 * HOUR_MS);
  });

  it("through the device's host, ticked every minute, temperature read every window: 24 writes a day of its storage, all of them the state", async () => {
    let nowMs = T0_MS;
    const storage = new MemoryStorage();
    const device = await Device.boot({
      tenant: "acme", config: { device: "d", rate_hz: RATE_HZ, window: WINDOW, units: "g", baseline_windows: 6 },
      firmware: await releaseFirmware(), storage, clock: () => nowMs, isolation: "inline",
    });
    try {
      const perDay: number[] = [];
      for (let day = 0; day < 2; day++) {
        const before = storage.writes;
        for (let minute = 0; minute < 24 * 60; minute++) {
          nowMs = T0_MS + (day * 24 * 60 + minute) * 60_000;
          if (minute % 10 === 0) {
            device.sense(40, nowMs);
            await device.feed(line(0.5, minute + 1), nowMs);
          }
          await device.tick();
        }
        perDay.push(storage.writes - before);
      }
      expect(perDay).toEqual([24, 24]);
      expect(Object.fromEntries(storage.writesByKey)).toEqual({ 1: 1, [STORAGE_KEY_STATE]: 48 });
    } finally {
      await device.close();
    }
  });

  it("an alarm that changes is written at once, with the window that changed it", async () => {
    const { storage, feed, events } = await booted();
    let raised = -1;
    for (let i = 0; i < 80 && raised < 0; i++) {
      const writes = storage.writes;
      feed(i, i < 30 ? 0.5 : 4.4);
      if (events().some((e) => e.event === "alarm")) {
        raised = i;
        expect(storage.writes).toBe(writes + 1);
      }
    }
    expect(raised).toBe(49);
    const record = stateRecord(storage)!;
    expect(record.writtenMs).toBe(T0_MS + 49 * INTERVAL_MS);
    expect(record.sections.trend![4]).toBe(1); // the level: alert
  });

  it("tick writes a state whose windows stopped once its hour is up, and a clean state never", async () => {
    const { firmware, storage, feed } = await booted();
    feed(0); // the first window writes: there was no record
    feed(1);
    expect(storage.writesByKey.get(STORAGE_KEY_STATE)).toBe(1);
    const minutes: number[] = [];
    for (let minute = 11; minute <= 180; minute++) {
      const writes = storage.writes;
      firmware.tick(T0_MS + minute * 60_000);
      if (storage.writes > writes) minutes.push(minute);
    }
    expect(minutes).toEqual([60]);
    expect(stateRecord(storage)!.writtenMs).toBe(T0_MS + HOUR_MS);
  });

  it("shutdown writes what changed at once and replies ok; with nothing changed it writes nothing", async () => {
    const { firmware, host, storage, feed } = await booted();
    feed(0);
    feed(1);
    const writes = storage.writes;
    expect(firmware.handleMessage(encodeCommand({ id: 4, cmd: "shutdown" }))).toBe(0);
    expect(storage.writes).toBe(writes + 1);
    expect(firmware.handleMessage(encodeCommand({ id: 5, cmd: "shutdown" }))).toBe(0);
    expect(storage.writes).toBe(writes + 1);
    expect(firmware.handleMessage(encodeCommand({ id: 6, cmd: "shutdown", args: {} }))).toBe(-2);
    const replies = host.published.filter((p) => p.kind === 3).map((p) => decodeReply(p.bytes));
    expect(replies).toEqual([{ id: 4, ok: true }, { id: 5, ok: true }, { id: 6, ok: false, error: -2 }]);
    // The record holds the second window: its time is the latest the firmware was told.
    expect(stateRecord(storage)!.writtenMs).toBe(T0_MS + INTERVAL_MS);
  });

  it("reboot writes the state before it asks for the restart", async () => {
    const { firmware, storage, feed } = await booted();
    feed(0);
    feed(1);
    const writes = storage.writes;
    expect(firmware.handleMessage(encodeCommand({ id: 4, cmd: "reboot" }))).toBe(1);
    expect(storage.writes).toBe(writes + 1);
  });

  it("sampling without pause, ticked each second by a clock five seconds behind the samples': one write an hour", async () => {
    const { firmware, storage } = await booted();
    const window = line(0.5, 1);
    const windowMs = (WINDOW * 1000) / RATE_HZ; // 256 ms, one after the other
    let tickAt = T0_MS;
    const before = storage.writes;
    for (let i = 0; i * windowMs < 75 * 60_000; i++) {
      const at = T0_MS + i * windowMs;
      firmware.process(window, at, RATE_HZ);
      if (at >= tickAt) {
        firmware.tick(at - 5_000);
        tickAt += 1000;
      }
    }
    expect(storage.writes - before).toBe(2); // the first window (there was no record), and at the hour
    expect(stateRecord(storage)!.writtenMs).toBe(T0_MS + Math.ceil(3_600_000 / windowMs) * windowMs);
  });

  it("a clock set back more than an hour before the last write makes the state due, so the writes go on", async () => {
    const { storage, feed } = await booted();
    feed(10);
    feed(11);
    const writes = storage.writes;
    feed(3); // a day's clock corrected backwards by over an hour
    expect(storage.writes).toBe(writes + 1);
    expect(stateRecord(storage)!.writtenMs).toBe(T0_MS + 3 * INTERVAL_MS);
    feed(4);
    expect(storage.writes).toBe(writes + 1);
  });
});

/** Storage whose writes of the state record fail while `failing` is set. */
function flakyHost(): { host: RecordingHost; flash: { failing: boolean } } {
  const flash = { failing: false };
  const host = new RecordingHost();
  const storage = host.storage;
  const write = storage.write.bind(storage);
  storage.write = (key, bytes) => {
    if (flash.failing && key === STORAGE_KEY_STATE) throw new Error("flash write failed");
    write(key, bytes);
  };
  return { host, flash };
}

describe("a write that fails", () => {
  it("is told once as an error event (-8, storage), tried again a minute later, and written once the flash works", async () => {
    const { host, flash } = flakyHost();
    const { firmware, storage, feed, events } = await booted(host);
    feed(0);
    flash.failing = true;
    for (let i = 1; i <= 6; i++) feed(i); // due at window 6 (an hour): fails
    expect(events().filter((e) => e.event === "error")).toEqual([{ event: "error", code: -8, what: "storage" }]);
    expect(host.logs.filter((l) => l.text.startsWith("state record could not be written"))).toHaveLength(1);
    firmware.tick(T0_MS + 6 * INTERVAL_MS + 30_000); // within the minute: not tried
    feed(7); // past it: tried, fails again, not told again
    expect(host.logs.filter((l) => l.text.startsWith("state record could not be written"))).toHaveLength(2);
    expect(events().filter((e) => e.event === "error")).toHaveLength(1);
    expect(stateRecord(storage)!.writtenMs).toBe(T0_MS);
    flash.failing = false;
    firmware.tick(T0_MS + 7 * INTERVAL_MS + 60_000);
    expect(stateRecord(storage)!.writtenMs).toBe(T0_MS + 7 * INTERVAL_MS + 60_000);
    flash.failing = true;
    expect(firmware.handleMessage(encodeCommand({ id: 3, cmd: "maintenance", args: { action: "inspect" } }))).toBe(0);
    expect(events().filter((e) => e.event === "error")).toHaveLength(2); // a new run of failures is told again
    expect(firmware.handleMessage(encodeCommand({ id: 4, cmd: "shutdown" }))).toBe(-8);
    expect(host.published.filter((p) => p.kind === 3).map((p) => decodeReply(p.bytes)).at(-1)).toEqual({ id: 4, ok: false, error: -8 });
  });

  it("a read the host cannot make (-8) starts the state afresh with a warning, and never traps", async () => {
    const host = new RecordingHost();
    const storage = host.storage;
    const read = storage.read.bind(storage);
    storage.read = (key) => {
      if (key === STORAGE_KEY_STATE) throw new Error("flash read failed");
      return read(key);
    };
    const { feed } = await booted(host);
    feed(0);
    expect(host.logs.map((l) => l.text)).toContain("state record unreadable: baseline and trend start afresh");
    expect(host.published.filter((p) => p.kind === 1)).toHaveLength(1);
  });
});

describe("what storage holds before the firmware reads it", () => {
  /** A trend record of before (key 5, "TNR3"): in danger, smoothed health 0.9, scales empty. */
  function legacyTrend(): Uint8Array {
    const bytes = new Uint8Array(1144);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, 0x33524e54, true);
    bytes[4] = 2;
    view.setFloat64(8, 0.9, true);
    view.setFloat64(16, 0.5, true);
    return bytes;
  }

  it("the records of before (keys 4 to 8) are read when record 9 is absent, carried into it, and never written again", async () => {
    const host = new RecordingHost();
    host.storage.write(5, legacyTrend());
    const { storage, feed, firmware } = await booted(host);
    feed(0, 0.5);
    expect(firmware.handleMessage(encodeCommand({ id: 1, cmd: "shutdown" }))).toBe(0);
    const pack = decodeSenml(host.published.find((p) => p.kind === 1)!.bytes);
    expect(pack.find((r) => r.n === "alarm")?.vs).toBe("danger"); // the alarm raised before the update stands
    expect(stateSection(storage, "trend")![4]).toBe(2);
    expect([4, 5, 6, 7, 8].map((key) => storage.writesByKey.get(key) ?? 0)).toEqual([0, 1, 0, 0, 0]); // key 5: the test's own
  });

  for (const [name, bytes] of [
    ["a wrong magic", Uint8Array.from({ length: 1252 }, (_, i) => (i < 4 ? 0x58 : 0))],
    ["a section longer than its place", (() => { const b = new Uint8Array(1252); new DataView(b.buffer).setUint32(0, 0x31415453, true); b[6] = 0xff; b[7] = 0xff; return b; })()],
    ["a length that does not end where the history does", (() => { const b = new Uint8Array(1300); new DataView(b.buffer).setUint32(0, 0x31415453, true); return b; })()],
    ["one byte", new Uint8Array(1)],
    ["more bytes than the record can have", new Uint8Array(4096)],
  ] as [string, Uint8Array][]) {
    it(`a state record with ${name} starts afresh with a warning, and never traps`, async () => {
      const host = new RecordingHost();
      host.storage.write(STORAGE_KEY_STATE, bytes);
      host.storage.write(5, legacyTrend()); // not read: record 9 is there
      const { feed } = await booted(host);
      feed(0);
      expect(host.logs.map((l) => l.text)).toContain("state record unreadable: baseline and trend start afresh");
      const pack = decodeSenml(host.published.find((p) => p.kind === 1)!.bytes);
      expect(pack.find((r) => r.n === "alarm")?.vs).toBe("none");
      expect(stateRecord(host.storage)!.writtenMs).toBe(T0_MS); // and a good one is written in its place
    });
  }
});
