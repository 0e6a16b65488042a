// Health across windows and reboots (firmware/trend.ts through the release firmware): alarm
// levels that need persistence to rise and hysteresis to fall, a baseline learned once and
// kept in storage, and a remaining-life forecast that shrinks as the pump degrades.

import { describe, expect, it } from "vitest";
import { decodeCommand, decodeEvent, decodeReply, encodeCommand, encodeFirmwareConfig } from "../protocol/messages.js";
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

  it("forecasts when the vibration reaches five times its baseline: the range holds the truth, its high end close to it", async () => {
    // 36 baseline windows at 0.5 mm/s, then a velocity that grows five-fold in N windows:
    // the departure log(v / v0) / log(5) rises in a straight line and reaches 1 at window 36 + N.
    const N = 200;
    const velocities = [...Array(36).fill(0.5), ...Array.from({ length: N }, (_, i) => 0.5 * 5 ** ((i + 1) / N))];
    const windows = await alarms(velocities);
    const forecasts = windows.map((w, i) => ({ i, rul: w.rul_hours })).filter((f): f is { i: number; rul: [number, number] } => f.rul !== null);
    // From a tenth of the way (FORECAST_FROM) on, once twelve points of history are in.
    expect(forecasts[0].i).toBeGreaterThan(36 + N / 10);
    expect(forecasts[0].i).toBeLessThan(36 + N / 10 + 12);
    // The smoothing lags a ramp by (1 − α) / α windows: the range is allowed that, and no more.
    const lagWindows = (1 - 0.15) / 0.15;
    for (const { i, rul: [low, high] } of forecasts) {
      expect(low).toBeLessThanOrEqual(high);
      const truthH = ((36 + N - 1 - i) * 600) / 3600;
      expect(low).toBeLessThanOrEqual(truthH + ((lagWindows + 1) * 600) / 3600);
      expect(high).toBeGreaterThanOrEqual(truthH - 600 / 3600);
      // The steady trend (the range's high end) is the truth within the lag; the low end, an
      // exponential's pessimism, never says less than a fifth of it.
      expect(high).toBeLessThanOrEqual(truthH + ((lagWindows + 1) * 600) / 3600 + 0.05 * truthH);
      expect(low).toBeGreaterThan(truthH * 0.2);
    }
    expect(forecasts.at(-1)!.rul[1]).toBeLessThan(forecasts[0].rul[1]);
  });

  it("an accelerating degradation is forecast sooner than a straight line through it says", async () => {
    // The departure rises as the square of time: the parabola sees it coming.
    const N = 200;
    const velocities = [...Array(36).fill(0.5), ...Array.from({ length: N }, (_, i) => 0.5 * 5 ** (((i + 1) / N) ** 2))];
    const windows = await alarms(velocities);
    const at = 36 + 150; // three quarters of the way, departure 0.56; true remaining life 50 windows
    const [low, high] = windows[at].rul_hours!;
    const truthH = ((N - 150 - 1) * 600) / 3600;
    expect(low).toBeLessThan(truthH * 1.2);
    expect(high).toBeGreaterThan(truthH);
    expect(high).toBeGreaterThan(low * 1.3); // the steady line would have it last longer
  });

  it("a pump that reaches five times its baseline has no life left", async () => {
    const velocities = [...Array(36).fill(0.5), ...Array.from({ length: 40 }, (_, i) => 0.5 * 5 ** ((i + 1) / 20)), ...Array(30).fill(0.5 * 5 ** 2)];
    const windows = await alarms(velocities);
    expect(windows.at(-1)!.rul_hours).toEqual([0, 0]);
    expect(windows.at(-1)!.alarm).toBe("danger");
  });
});

describe("baseline and trend across reboots", () => {
  it("the baseline is learned once, kept in storage, and the alarm level survives a reboot", async () => {
    const host = new RecordingHost();
    const config = encodeFirmwareConfig({ device: "d", rate_hz: RATE_HZ, window: WINDOW, units: "g", baseline_windows: 6 });
    const first = await bootRelease(host);
    first.firmware.init(config);
    const loud = run(Array(16).fill(4.4));
    for (let i = 0; i < 16; i++) first.firmware.process(loud.subarray(i * WINDOW, (i + 1) * WINDOW), i * 600_000, RATE_HZ);
    expect(host.storage.read(4)!.length).toBe(32); // the baseline record
    const raised = host.published.filter((p) => p.kind === 2).map((p) => decodeEvent(p.bytes)).filter((e) => e.event === "alarm");
    expect(raised.map((e) => (e as { level: string }).level)).toEqual(["alert", "danger"]);
    const second = await bootRelease(host); // reboot: same storage
    second.firmware.init(config);
    host.published.length = 0;
    second.firmware.process(loud.subarray(0, WINDOW), 16 * 600_000, RATE_HZ);
    const pack = decodeSenml(host.published.find((p) => p.kind === 1)!.bytes);
    expect(pack.find((r) => r.n === "alarm")?.vs).toBe("danger"); // no new alarm event: it never fell
    expect(host.published.filter((p) => p.kind === 2)).toEqual([]);
  });

  it("a reboot in the middle of a forecast changes no forecast: the history is kept as it is computed with", async () => {
    const velocities = [...Array(36).fill(0.5), ...Array.from({ length: 200 }, (_, i) => 0.5 * 5 ** (((i + 1) / 200) ** 2))];
    const signal = run(velocities);
    const config = encodeFirmwareConfig({ device: "d", rate_hz: RATE_HZ, window: WINDOW, units: "g" });
    const forecasts = async (rebootAt: number): Promise<(number | undefined)[][]> => {
      const host = new RecordingHost();
      let { firmware } = await bootRelease(host);
      firmware.init(config);
      const seen: (number | undefined)[][] = [];
      for (let i = 0; i < velocities.length; i++) {
        if (i === rebootAt) {
          ({ firmware } = await bootRelease(host));
          firmware.init(config);
        }
        host.published.length = 0;
        firmware.process(signal.subarray(i * WINDOW, (i + 1) * WINDOW), i * 600_000, RATE_HZ);
        const pack = decodeSenml(host.published.find((p) => p.kind === 1)!.bytes);
        seen.push([pack.find((r) => r.n === "rul_lo")?.v, pack.find((r) => r.n === "rul_hi")?.v]);
      }
      return seen;
    };
    const straight = await forecasts(-1);
    expect(straight.filter(([low]) => low !== undefined).length).toBeGreaterThan(50);
    expect(await forecasts(36 + 150)).toEqual(straight);
  });

  it("a history record from before f64 points is widened and carried on", async () => {
    const host = new RecordingHost();
    const old = new DataView(new ArrayBuffer(24 + 3 * 8));
    old.setUint32(0, 0x54534948, true); // "HIST"
    old.setUint32(4, 3, true);
    old.setFloat64(8, 0, true); // spacing, hours
    old.setFloat64(16, 1, true); // the first point's time, hours
    [[0, 0.1], [1, 0.2], [2, 0.3]].forEach(([hours, departure], i) => {
      old.setFloat32(24 + i * 8, hours, true);
      old.setFloat32(28 + i * 8, departure, true);
    });
    host.storage.write(6, new Uint8Array(old.buffer));
    const { firmware } = await bootRelease(host);
    firmware.init(encodeFirmwareConfig({ device: "d", rate_hz: RATE_HZ, window: WINDOW, units: "g" }));
    firmware.process(run([0.5]), 4 * 3_600_000, RATE_HZ); // a window at 4 h: the history's fourth point
    const record = host.storage.read(6)!;
    const view = new DataView(record.buffer, record.byteOffset, record.length);
    expect([record.length, view.getUint32(0, true), view.getUint32(4, true), view.getFloat64(16, true)]).toEqual([24 + 4 * 16, 0x32534948, 4, 1]); // "HIS2"
    const points = Array.from({ length: 4 }, (_, i) => [view.getFloat64(24 + i * 16, true), view.getFloat64(32 + i * 16, true)]);
    expect(points.map(([hours]) => hours)).toEqual([1, 2, 3, 4]);
    expect(points.slice(0, 3).map(([, departure]) => departure)).toEqual([Math.fround(0.1), Math.fround(0.2), Math.fround(0.3)]);
  });

  it("refuses a baseline of fewer than 4 windows", async () => {
    const { firmware } = await bootRelease();
    expect(() => firmware.init(encodeFirmwareConfig({ device: "d", rate_hz: RATE_HZ, window: WINDOW, baseline_windows: 2 }))).toThrow(/bad_config/);
  });
});

describe("advice and maintenance", () => {
  const config = encodeFirmwareConfig({ device: "d", rate_hz: RATE_HZ, window: WINDOW, units: "g", rpm: 1500, baseline_windows: 6 });
  const events = (host: RecordingHost) => host.published.filter((p) => p.kind === 2).map((p) => decodeEvent(p.bytes));
  const replies = (host: RecordingHost) => host.published.filter((p) => p.kind === 3).map((p) => decodeReply(p.bytes));
  const lastPack = (host: RecordingHost) => decodeSenml([...host.published].reverse().find((p) => p.kind === 1)!.bytes);

  /** Six healthy windows for the baseline, then a 1x line loud enough for alert (zone C). */
  async function alarmed() {
    const { firmware, host } = await bootRelease();
    firmware.init(config);
    const signal = run([...Array(6).fill(0.5), ...Array(12).fill(3.0)]);
    for (let i = 0; i < 18; i++) firmware.process(signal.subarray(i * WINDOW, (i + 1) * WINDOW), i * 600_000, RATE_HZ);
    return { firmware, host };
  }

  it("an alarmed pump with a 1x line is advised to balance its impeller, within the forecast or 14 days", async () => {
    const { host } = await alarmed();
    const advice = events(host).filter((e) => e.event === "advice");
    expect(advice).toHaveLength(1); // once, with the alarm, not every window
    expect(advice[0]).toMatchObject({ event: "advice", action: "balance_impeller", fault: "imbalance" });
    const pack = lastPack(host);
    expect(pack.find((r) => r.n === "action")?.vs).toBe("balance_impeller");
    const actIn = pack.find((r) => r.n === "act_in")!.v!;
    const rul = pack.find((r) => r.n === "rul_lo")?.v;
    expect(actIn).toBeCloseTo(Math.min(rul ?? Infinity, 14 * 86_400), 0);
    // "by" is the window's time plus act_in, in Unix seconds.
    const alarmWindow = host.published.findIndex((p) => p.kind === 2 && decodeEvent(p.bytes).event === "advice");
    expect((advice[0] as { by: number }).by).toBeGreaterThan(0);
    expect(alarmWindow).toBeGreaterThan(0);
  });

  it("maintenance relearns the baseline: alarm and advice end, the next windows are the new baseline", async () => {
    const { firmware, host } = await alarmed();
    host.published.length = 0;
    expect(firmware.handleMessage(encodeCommand({ id: 5, cmd: "maintenance", args: { action: "balance_impeller" } }))).toBe(0);
    expect(events(host)).toEqual([
      { event: "alarm", level: "none", health: 0 },
      { event: "maintenance", action: "balance_impeller" },
    ]);
    expect(replies(host)).toEqual([{ id: 5, ok: true }]);
    expect(new DataView(host.storage.read(4)!.buffer).getUint32(4, true)).toBe(0); // baseline count
    // The repaired pump runs at 0.5 mm/s again: its new baseline, and no alarm.
    const signal = run(Array(20).fill(0.5));
    host.published.length = 0;
    for (let i = 0; i < 20; i++) firmware.process(signal.subarray(i * WINDOW, (i + 1) * WINDOW), (20 + i) * 600_000, RATE_HZ);
    expect(new DataView(host.storage.read(4)!.buffer).getUint32(4, true)).toBe(6);
    const pack = lastPack(host);
    expect(pack.find((r) => r.n === "action")).toBeUndefined();
    expect(pack.find((r) => r.n === "alarm")?.vs).toBe("none");
    expect(events(host)).toEqual([]);
  });

  it("one odd window straight after maintenance raises no alarm: the trend starts from a sound pump", async () => {
    const { firmware, host } = await alarmed();
    firmware.handleMessage(encodeCommand({ id: 9, cmd: "maintenance", args: { action: "inspect" } }));
    host.published.length = 0;
    const signal = run([20, ...Array(10).fill(0.5)]); // zone D for one window, then sound
    for (let i = 0; i < 11; i++) firmware.process(signal.subarray(i * WINDOW, (i + 1) * WINDOW), (20 + i) * 600_000, RATE_HZ);
    expect(events(host)).toEqual([]);
    expect(lastPack(host).find((r) => r.n === "alarm")?.vs).toBe("none");
  });

  it("refuses a maintenance command without a known action, and changes nothing", async () => {
    const { firmware, host } = await alarmed();
    host.published.length = 0;
    expect(firmware.handleMessage(encodeCommand({ id: 6, cmd: "maintenance", args: { action: "pray" } }))).toBe(-2);
    expect(firmware.handleMessage(encodeCommand({ id: 7, cmd: "maintenance" }))).toBe(-2);
    expect(firmware.handleMessage(encodeCommand({ id: 8, cmd: "maintenance", args: { action: "inspect", when: 1 } }))).toBe(-2);
    expect(replies(host)).toEqual([{ id: 6, ok: false, error: -2 }, { id: 7, ok: false, error: -2 }, { id: 8, ok: false, error: -2 }]);
    expect(events(host)).toEqual([]);
    expect(new DataView(host.storage.read(4)!.buffer).getUint32(4, true)).toBe(6); // the baseline stands
    expect(() => decodeCommand(encodeCommand({ id: 6, cmd: "maintenance", args: { action: "pray" } }))).toThrow(/maintenance action/);
  });

  it("the advice survives a reboot: no new advice event after it", async () => {
    const { host } = await alarmed();
    const second = await bootRelease(host);
    second.firmware.init(config);
    host.published.length = 0;
    second.firmware.process(run([3.0]), 18 * 600_000, RATE_HZ);
    expect(events(host).filter((e) => e.event === "advice" || e.event === "alarm")).toEqual([]);
    expect(lastPack(host).find((r) => r.n === "action")?.vs).toBe("balance_impeller");
  });
});

describe("bearing-housing temperature from the host's sensor mailbox", () => {
  const config = encodeFirmwareConfig({ device: "d", rate_hz: RATE_HZ, window: WINDOW, units: "g", baseline_windows: 4 });
  const reading = (celsius: number, atMs: number): Uint8Array => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setFloat64(0, celsius, true);
    new DataView(bytes.buffer).setFloat64(8, atMs, true);
    return bytes;
  };
  const pack = (host: RecordingHost) => decodeSenml([...host.published].reverse().find((p) => p.kind === 1)!.bytes);
  const window = run([0.5]);

  it("publishes a fresh reading, then its rise over the baseline learned with the vibration's", async () => {
    const { firmware, host } = await bootRelease();
    firmware.init(config);
    firmware.process(window, 0, RATE_HZ);
    expect(pack(host).find((r) => r.n === "temp")).toBeUndefined(); // no reading yet
    const temps = [40, 41, 39, 40, 47.5];
    temps.forEach((celsius, i) => {
      host.storage.write(0x200, reading(celsius, (i + 1) * 600_000 - 5_000));
      firmware.process(window, (i + 1) * 600_000, RATE_HZ);
      const records = pack(host);
      expect(records.find((r) => r.n === "temp")).toEqual({ n: "temp", u: "Cel", v: celsius });
      // Four windows with a reading make the baseline (40 °C); the fifth rises 7.5 K above it.
      expect(records.find((r) => r.n === "temp_rise")?.v).toBe(i < 3 ? undefined : celsius - 40);
    });
  });

  it("ignores a stale, implausible or unreadable reading", async () => {
    const { firmware, host } = await bootRelease();
    firmware.init(config);
    for (const [bytes, atMs] of [
      [reading(40, 0), 2 * 3_600_000 + 1], // two hours old
      [reading(400, 0), 0], // hotter than any bearing runs
      [reading(Number.NaN, 0), 0],
      [new Uint8Array(12), 0], // not a reading
    ] as [Uint8Array, number][]) {
      host.storage.write(0x200, bytes);
      firmware.process(window, atMs, RATE_HZ);
      expect(pack(host).find((r) => r.n === "temp")).toBeUndefined();
    }
  });

  it("maintenance relearns the temperature baseline too", async () => {
    const { firmware, host } = await bootRelease();
    firmware.init(config);
    for (let i = 0; i < 5; i++) {
      host.storage.write(0x200, reading(40, i * 600_000));
      firmware.process(window, i * 600_000, RATE_HZ);
    }
    expect(pack(host).find((r) => r.n === "temp_rise")?.v).toBe(0);
    firmware.handleMessage(encodeCommand({ id: 1, cmd: "maintenance", args: { action: "replace_bearing" } }));
    host.storage.write(0x200, reading(50, 5 * 600_000));
    firmware.process(window, 5 * 600_000, RATE_HZ);
    expect(pack(host).find((r) => r.n === "temp_rise")).toBeUndefined(); // learning again
    expect(new DataView(host.storage.read(8)!.buffer).getUint32(4, true)).toBe(1);
  });
});
