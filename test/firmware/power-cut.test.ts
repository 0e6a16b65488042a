// What an unplanned power cut costs now that the running state is written hourly
// (firmware/persist.ts): a pump runs a day and more through a degradation that raises the alarm
// to danger, is forecast, and falls back; its power is cut after every window in turn. After
// each cut the stored record decodes, section by section; it holds the state of the last window
// it was written at, no more than an hour before the cut, with the alarm level the pump had at
// the cut; and the firmware booted on it and given again the windows since that write publishes
// exactly what the pump that never lost power published. A cut costs those windows' share of
// the trend, and nothing else. (The host's write is atomic, ABI.md: a cut during one leaves the
// record before it, which is the cut just before that window's call.)

import { describe, expect, it } from "vitest";
import { decodeEvent, encodeFirmwareConfig } from "../../protocol/messages.js";
import { bootRelease, RecordingHost } from "../../host/runtime/harness-hosts.js";
import type { DeviceStorage } from "../../host/storage/storage.js";
import { accelerationForVelocity, tones } from "../support/signals.js";
import { decodeStateRecord, STORAGE_KEY_STATE, type StateRecord } from "../support/state-record.js";

const RATE_HZ = 1000;
const WINDOW = 256;
const INTERVAL_MS = 600_000;
const HOUR_WINDOWS = 6;
const T0_MS = 1_767_225_600_000;
const CONFIG = encodeFirmwareConfig({ device: "d", rate_hz: RATE_HZ, window: WINDOW, units: "g", baseline_windows: 6 });
/** 30 quiet windows, a degradation to eight times the vibration over 100, held for 20, then 40
 *  quiet again (the bearing replaced without a maintenance command): 190 windows, 31 hours. */
const VELOCITIES = [
  ...Array(30).fill(0.5), ...Array.from({ length: 100 }, (_, i) => 0.5 * 8 ** (((i + 1) / 100) ** 2)), ...Array(20).fill(4),
  ...Array(40).fill(0.5),
];
const WINDOWS = VELOCITIES.map((v, i) => tones(WINDOW, RATE_HZ, [{ hz: 25, amplitude_g: accelerationForVelocity(v, 25) }], 0.0005, i + 1));

/** Storage as a map that can be copied: what survives a cut is a copy of it at that moment. */
class SnapshotStorage implements DeviceStorage {
  constructor(readonly records = new Map<number, Uint8Array>()) {}
  read(key: number): Uint8Array | undefined { return this.records.get(key)?.slice(); }
  write(key: number, bytes: Uint8Array): void { this.records.set(key, bytes.slice()); }
  copy(): SnapshotStorage { return new SnapshotStorage(new Map(this.records)); }
}

/** Boots the release firmware on `storage` and feeds it windows [from, WINDOWS.length): what
 *  each window published (its bytes, in order), and what storage held after each. */
async function runFrom(storage: SnapshotStorage, from: number, keep = false) {
  const host = Object.assign(new RecordingHost(), { storage });
  const { firmware } = await bootRelease(host);
  firmware.init(CONFIG);
  const published: Uint8Array[][] = [];
  const after: SnapshotStorage[] = [];
  for (let i = from; i < WINDOWS.length; i++) {
    host.published.length = 0;
    firmware.process(WINDOWS[i], T0_MS + i * INTERVAL_MS, RATE_HZ);
    published.push(host.published.map((p) => p.bytes));
    if (keep) after.push(storage.copy());
  }
  return { published, after };
}

const ALARM_LEVELS = ["none", "alert", "danger"];

/** Every section of a record as the firmware reads it: its magic and, where it has one, its count. */
function checkSections(record: StateRecord): void {
  const magic = (bytes: Uint8Array | undefined): number | undefined => (bytes === undefined ? undefined : new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true));
  expect(magic(record.sections.baseline)).toBe(0x32534142); // "BAS2"
  expect(record.sections.baseline!.length).toBe(24);
  expect(magic(record.sections.trend)).toBe(0x33524e54); // "TNR3"
  expect(record.sections.trend!.length).toBe(1144);
  expect(record.sections.trend![4]).toBeLessThanOrEqual(2);
  expect(magic(record.sections.advice)).toBe(0x56444124); // "$ADV"
  expect(record.sections.temperature).toBeUndefined(); // this pump has no temperature sensor
  const history = record.sections.history;
  if (history !== undefined) {
    expect(magic(history)).toBe(0x32534948); // "HIS2"
    expect(history.length).toBe(24 + 16 * new DataView(history.buffer, history.byteOffset).getUint32(4, true));
  }
}

describe("a power cut after any window", () => {
  it("loses at most the hour of windows since the last write, never the alarm, never a record", async () => {
    const uncut = await runFrom(new SnapshotStorage(), 0, true);
    // The pump that never lost power raised alert and danger, was forecast, and fell back to none.
    const alarms = uncut.published.flatMap((messages, i) => messages.filter((m) => {
      try { return decodeEvent(m).event === "alarm"; } catch { return false; }
    }).map((m) => [i, (decodeEvent(m) as { level: string }).level]));
    expect(alarms.map(([, level]) => level)).toEqual(["alert", "danger", "alert", "none"]);
    const levelAt: number[] = [];
    let level = 0;
    for (let i = 0; i < WINDOWS.length; i++) {
      for (const [at, name] of alarms) if (at === i) level = ALARM_LEVELS.indexOf(name as string);
      levelAt.push(level);
    }
    const lost: number[] = [];
    let forecasting = 0;
    for (let cut = 0; cut < WINDOWS.length - 1; cut++) {
      const survived = uncut.after[cut].copy(); // power gone after window `cut`
      const record = decodeStateRecord(survived.read(STORAGE_KEY_STATE)!);
      checkSections(record);
      if (record.sections.history !== undefined) forecasting += 1;
      const written = (record.writtenMs - T0_MS) / INTERVAL_MS;
      expect(Number.isInteger(written)).toBe(true);
      lost.push(cut - written);
      expect(record.sections.trend![4], `alarm level after a cut at window ${cut}`).toBe(levelAt[cut]);
      // Booted on what survived and given the windows since the write again: exactly what the
      // pump that never lost power published from there on.
      const again = await runFrom(survived, written + 1);
      expect(again.published.map((m) => m.map((b) => Buffer.from(b).toString("hex"))), `cut at window ${cut}`)
        .toEqual(uncut.published.slice(written + 1).map((m) => m.map((b) => Buffer.from(b).toString("hex"))));
    }
    expect(forecasting).toBeGreaterThan(100); // the history was in the record too, from the degradation on
    // Windows lost to a cut: 0 to 5 (under an hour); fewer where the alarm changed.
    expect(Math.max(...lost)).toBe(HOUR_WINDOWS - 1);
    expect(Math.min(...lost)).toBe(0);
  });
});
