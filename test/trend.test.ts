// Health across windows and reboots (firmware/trend.ts through the release firmware): alarm
// levels that need persistence to rise and hysteresis to fall, a baseline learned once and
// kept in storage, and a remaining-life forecast that shrinks as the pump degrades.

import { describe, expect, it } from "vitest";
import { encodeFirmwareConfig, decodeEvent } from "../protocol/messages.js";
import { decodeSenml } from "../protocol/senml.js";
import { replay } from "../simulator/replay.js";
import { bootRelease, releaseFirmware, RecordingHost } from "./helpers/firmware.js";
import { tones } from "./helpers/signals.js";

const RATE_HZ = 1000;
const WINDOW = 256;

/** Windows of a 25 Hz line whose velocity follows `velocities` (mm/s RMS), one per window. */
function run(velocities: number[]): Float32Array {
  const out = new Float32Array(velocities.length * WINDOW);
  velocities.forEach((v, i) => {
    const amplitude = ((v / 1000) * Math.SQRT2 * 2 * Math.PI * 25) / 9.80665;
    out.set(tones(WINDOW, RATE_HZ, [{ hz: 25, amplitude_g: amplitude }], 0.0005, i + 1), i * WINDOW);
  });
  return out;
}

async function alarms(velocities: number[]) {
  const result = await replay(run(velocities), { rateHz: RATE_HZ, window: WINDOW, intervalS: 600, firmware: await releaseFirmware() });
  return result.windows;
}

describe("alarm levels", () => {
  it("a healthy pump never alarms and has no forecast", async () => {
    const windows = await alarms(Array(40).fill(0.5));
    expect(windows.every((w) => w.alarm === "none" && w.rul_hours === null)).toBe(true);
  });

  it("one noisy window among healthy ones raises nothing", async () => {
    const velocities = Array(40).fill(0.5);
    velocities[20] = 20; // zone D for one window
    const windows = await alarms(velocities);
    expect(windows.map((w) => w.alarm)).toEqual(Array(40).fill("none"));
  });

  it("rises to alert and then danger only after their persistence, and falls with hysteresis", async () => {
    // Zone limits (group 2, rigid): health = velocity / 4.5 mm/s.
    const velocities = [...Array(10).fill(0.5), ...Array(30).fill(3.0), ...Array(30).fill(4.4), ...Array(30).fill(0.5)];
    const levels = (await alarms(velocities)).map((w) => w.alarm);
    const first = (level: string): number => levels.indexOf(level as never);
    expect(first("alert")).toBeGreaterThan(10 + 2); // three windows at the threshold, after smoothing
    expect(first("danger")).toBeGreaterThan(40 + 2);
    // Never back and forth: none → alert → danger → alert → none, each once.
    const changes = levels.filter((level, i) => i === 0 || level !== levels[i - 1]);
    expect(changes).toEqual(["none", "alert", "danger", "alert", "none"]);
    // Falling takes six windows below the threshold less the hysteresis.
    const recovery = levels.slice(70);
    expect(recovery.slice(0, 6)).toEqual(Array(6).fill("danger"));
  });

  it("a steadily degrading pump gets a forecast that shrinks, low never above high", async () => {
    const velocities = Array.from({ length: 80 }, (_, i) => 0.5 + 0.06 * i);
    const windows = await alarms(velocities);
    const forecasts = windows.map((w) => w.rul_hours).filter((r): r is [number, number] => r !== null);
    expect(forecasts.length).toBeGreaterThan(20);
    for (const [low, high] of forecasts) expect(low).toBeLessThanOrEqual(high);
    expect(forecasts.at(-1)![1]).toBeLessThan(forecasts[0][1]);
  });
});

describe("baseline and trend across reboots", () => {
  it("the baseline is learned once, kept in storage, and the alarm level survives a reboot", async () => {
    const host = new RecordingHost();
    const config = encodeFirmwareConfig({ device: "d", rate_hz: RATE_HZ, window: WINDOW, units: "g", baseline_windows: 6 });
    const first = await bootRelease(host);
    first.firmware.init(config);
    const loud = run(Array(12).fill(4.4));
    for (let i = 0; i < 12; i++) first.firmware.process(loud.subarray(i * WINDOW, (i + 1) * WINDOW), i * 600_000, RATE_HZ);
    expect(host.storage.read(4)!.length).toBe(32); // the baseline record
    const raised = host.published.filter((p) => p.kind === 2).map((p) => decodeEvent(p.bytes)).filter((e) => e.event === "alarm");
    expect(raised.map((e) => (e as { level: string }).level)).toEqual(["alert", "danger"]);
    const second = await bootRelease(host); // reboot: same storage
    second.firmware.init(config);
    host.published.length = 0;
    second.firmware.process(loud.subarray(0, WINDOW), 12 * 600_000, RATE_HZ);
    const pack = decodeSenml(host.published.find((p) => p.kind === 1)!.bytes);
    expect(pack.find((r) => r.n === "alarm")?.vs).toBe("danger"); // no new alarm event: it never fell
    expect(host.published.filter((p) => p.kind === 2)).toEqual([]);
  });

  it("refuses a baseline of fewer than 4 windows", async () => {
    const { firmware } = await bootRelease();
    expect(() => firmware.init(encodeFirmwareConfig({ device: "d", rate_hz: RATE_HZ, window: WINDOW, baseline_windows: 2 }))).toThrow(/bad_config/);
  });
});
