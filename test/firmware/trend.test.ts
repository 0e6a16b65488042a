// Health across windows and reboots (firmware/trend.ts through the release firmware): a
// baseline that learns the pump's quiet state and is kept in storage, alarm levels raised only
// by evidence that has persisted and grown and lowered with hysteresis, and a remaining-life
// forecast that shrinks as the pump degrades.

import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeCommand, decodeEvent, decodeReply, encodeCommand, encodeFirmwareConfig } from "../../protocol/messages.js";
import { decodeSenml, type SenmlRecord } from "../../protocol/senml.js";
import { replay } from "../../simulator/replay/replay.js";
import { bootRelease, RecordingHost } from "../../host/runtime/harness-hosts.js";
import { releaseFirmware } from "../support/firmware.js";
import { tones } from "../support/signals.js";
import { stateSection } from "../support/state-record.js";

const RATE_HZ = 1000;
const WINDOW = 256;

/** Peak acceleration (g) of the 25 Hz line whose velocity is `v` mm/s RMS. */
function lineAmplitude(v: number): number {
  return ((v / 1000) * Math.SQRT2 * 2 * Math.PI * 25) / 9.80665;
}

/** One window of the 25 Hz line at `v` mm/s RMS (noise seeded by `seed`). */
function line(v: number, seed: number): Float32Array {
  return tones(WINDOW, RATE_HZ, [{ hz: 25, amplitude_g: lineAmplitude(v) }], 0.0005, seed);
}

/** Windows of a 25 Hz line whose velocity follows `velocities` (mm/s RMS), one per window. */
function run(velocities: number[]): Float32Array {
  const out = new Float32Array(velocities.length * WINDOW);
  velocities.forEach((v, i) => out.set(line(v, i + 1), i * WINDOW));
  return out;
}

/** Kurtosis (fourth moment over the squared second, about the mean) as features.ts has it. */
function kurtosisOf(x: Float32Array): number {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  let m2 = 0;
  let m4 = 0;
  for (const v of x) {
    const d = v - mean;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  return (m4 / x.length) / (m2 / x.length) ** 2;
}

/** `window` with one impact (a single-sample spike) at sample 100 sized so that the window's
 *  kurtosis is `kurtosis`. */
function withImpact(window: Float32Array, kurtosis: number): Float32Array {
  // A mechanical impact: a ring of a 300 Hz resonance decaying over some 30 samples (an isolated
  // one-sample spike is a sensor fault, not the machine).
  const ring = (amplitude: number): Float32Array => {
    const out = window.slice();
    for (let n = 0; n < 40; n++) out[100 + n] += amplitude * Math.exp(-n / 6) * Math.sin((2 * Math.PI * 300 * n) / RATE_HZ + 1);
    return out;
  };
  let low = 0;
  let high = 100 * Math.max(...window.map(Math.abs));
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (kurtosisOf(ring(mid)) < kurtosis) low = mid;
    else high = mid;
  }
  return ring(high);
}

async function alarms(velocities: number[]) {
  const result = await replay(run(velocities), { rateHz: RATE_HZ, window: WINDOW, intervalS: 600, firmware: await releaseFirmware() });
  return result.windows;
}

/** What one window published, as read back from its telemetry. */
interface Seen {
  alarm: string;
  health: number;
  health_trend: number;
  kurtosis: number;
  acc_rms: number;
  vel_rms_mm_s: number;
}

/** Boots the release firmware on `host`, feeds it `windows` one every ten minutes from
 *  `fromWindow`, shuts it down in order (its running state written), and returns what each
 *  window published and the alarm events. */
async function drive(windows: Float32Array[], options: { host?: RecordingHost; baselineWindows?: number; fromWindow?: number } = {}) {
  const host = options.host ?? new RecordingHost();
  const { firmware } = await bootRelease(host);
  const config: Record<string, unknown> = { device: "d", rate_hz: RATE_HZ, window: WINDOW, units: "g" };
  if (options.baselineWindows !== undefined) config.baseline_windows = options.baselineWindows;
  firmware.init(encodeFirmwareConfig(config as never));
  const seen: Seen[] = [];
  const events: { window: number; level: string }[] = [];
  windows.forEach((samples, i) => {
    const index = (options.fromWindow ?? 0) + i;
    host.published.length = 0;
    firmware.process(samples, index * 600_000, RATE_HZ);
    for (const p of host.published.filter((q) => q.kind === 2)) {
      const event = decodeEvent(p.bytes);
      if (event.event === "alarm") events.push({ window: index, level: (event as { level: string }).level });
    }
    const pack = decodeSenml(host.published.find((p) => p.kind === 1)!.bytes);
    const value = (name: string): number => pack.find((r: SenmlRecord) => r.n === name)!.v!;
    seen.push({
      alarm: pack.find((r: SenmlRecord) => r.n === "alarm")!.vs!, health: value("health"), health_trend: value("health_trend"),
      kurtosis: value("kurtosis"), acc_rms: value("acc_rms"), vel_rms_mm_s: value("vel_rms") * 1000,
    });
  });
  expect(firmware.handleMessage(encodeCommand({ id: 1, cmd: "shutdown" }))).toBe(0);
  return { host, seen, events };
}

/** The baseline (its section of the state record, storage key 9): its magic, window count and
 *  the quiet acceleration (m/s²) and velocity (mm/s) it has learned (kept as their logarithms). */
function baselineRecord(host: RecordingHost) {
  const bytes = stateSection(host.storage, "baseline")!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return {
    length: bytes.length, magic: view.getUint32(0, true), count: view.getUint32(4, true),
    acc: Math.exp(view.getFloat64(8, true)), vel: Math.exp(view.getFloat64(16, true)),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = sorted.length >> 1;
  return sorted.length % 2 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
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
    // Zone limits (group 2, rigid): health = velocity / 4.5 mm/s. The growth test needs its 46
    // windows, and the baseline (the 36 first windows, most of them at 3.0 mm/s) makes the rise
    // to 3.0 no departure: the rank test passes once 4.4 mm/s fills the newer half.
    const velocities = [...Array(10).fill(0.5), ...Array(30).fill(3.0), ...Array(30).fill(4.4), ...Array(30).fill(0.5)];
    const levels = (await alarms(velocities)).map((w) => w.alarm);
    const first = (level: string): number => levels.indexOf(level as never);
    expect(first("alert")).toBeGreaterThanOrEqual(2 * 23 - 1); // the growth test's first full ring
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

describe("an alarm needs persistent, growing evidence", () => {
  it("the growth test's constants are derived from the false-alarm budget: the exact Mann–Whitney tail, and the smallest half that bears an outlier on each side", () => {
    const source = fs.readFileSync(new URL("../../firmware/trend.ts", import.meta.url), "utf8");
    const constant = (name: string): number => Number(new RegExp(`const ${name}: i32 = (\\d+);`).exec(source)![1]);
    const [half, uMin, scales, block] = [constant("GROWTH_HALF"), constant("GROWTH_U_MIN"), constant("SCALES"), constant("FILTER_WINDOWS")];
    // 1 false alarm per 100 pump-years at one window every 10 minutes, shared by the tests of
    // every scale (scale k is tested once every block^k windows).
    const perWindow = 1 / (100 * 365.25 * 144);
    const testsPerWindow = Array.from({ length: scales }, (_, k) => block ** -k).reduce((a, b) => a + b, 0);
    const p = perWindow / testsPerWindow;
    /** The smallest U whose upper tail is at most p, for n against n exchangeable entries. */
    const critical = (n: number): number => {
      // counts[a][b][u]: orders of a older and b newer entries with u pairs newer > older.
      let previous: number[][] = Array.from({ length: n + 1 }, () => [1]);
      for (let a = 1; a <= n; a++) {
        const row: number[][] = [[1]];
        for (let b = 1; b <= n; b++) {
          const counts = new Array(a * b + 1).fill(0);
          previous[b].forEach((c, u) => { counts[u + b] += c; }); // the smallest is an older one: all b newer are above it
          row[b - 1].forEach((c, u) => { counts[u] += c; }); // the smallest is a newer one
          row.push(counts);
        }
        previous = row;
      }
      const counts = previous[n];
      const total = counts.reduce((x, y) => x + y, 0);
      let tail = 0;
      for (let u = n * n; u >= 0; u--) {
        tail += counts[u];
        if (tail / total > p) return u + 1;
      }
      return 0;
    };
    expect(critical(half)).toBe(uMin);
    const bearsOutliers = (n: number): boolean => n * n - 2 * n + 1 >= critical(n);
    expect(bearsOutliers(half)).toBe(true);
    expect(bearsOutliers(half - 1)).toBe(false);
  });

  it("a run-in (the first windows three times louder and impulsive, then quiet): the baseline is the quiet level within 1 %, and no alarm", async () => {
    // 30 loud windows of the first 36: the median of the first baseline span is the run-in's,
    // and the baseline must come down to the quiet level by itself once that is the median.
    const runIn = 30;
    const windows = [
      ...Array.from({ length: runIn }, (_, i) => withImpact(line(1.5, i + 1), 13)),
      ...Array.from({ length: 120 }, (_, i) => line(0.5, runIn + i + 1)),
    ];
    const { host, seen, events } = await drive(windows);
    expect(seen.slice(0, runIn).every((w) => w.kurtosis > 12 && w.vel_rms_mm_s > 1.45)).toBe(true);
    const quiet = seen.slice(runIn);
    const baseline = baselineRecord(host);
    // The quiet windows' velocity scatters within ±2 % of its median, acceleration within ±1 %;
    // the median of 36 of them within a fraction of that, and the baseline is the lowest such
    // median: 1 % holds it. (A mean over the first 36 windows would be 1.33 mm/s, 2.7 times
    // the quiet level.)
    expect(baseline.count).toBe(36);
    expect(Math.abs(baseline.vel / median(quiet.map((w) => w.vel_rms_mm_s)) - 1)).toBeLessThan(0.01);
    expect(Math.abs(baseline.acc / median(quiet.map((w) => w.acc_rms)) - 1)).toBeLessThan(0.01);
    expect(events).toEqual([]);
    expect(seen.every((w) => w.alarm === "none")).toBe(true);
  });

  it("one window of kurtosis 30 among sound ones moves the smoothed health by less than 0.01 and raises nothing", async () => {
    const windows = Array.from({ length: 100 }, (_, i) => line(0.5, i + 1));
    windows[60] = withImpact(windows[60], 30);
    const { seen, events } = await drive(windows);
    expect(seen[60].kurtosis).toBeCloseTo(30, 1);
    expect(seen[60].health).toBe(1); // on its own, the window is as bad as the health index goes
    expect(Math.abs(seen[60].health_trend - seen[59].health_trend)).toBeLessThan(0.01);
    expect(events).toEqual([]);
  });

  it("a level that stays high but does not grow raises no alarm, however long it lasts (the window's ISO zone reports it)", async () => {
    // Zone C from the first window: a health index of 3.0 / 4.5 = 0.67, over the alert threshold.
    const result = await replay(run(Array(400).fill(3.0)), { rateHz: RATE_HZ, window: WINDOW, intervalS: 600, firmware: await releaseFirmware() });
    const windows = result.windows;
    expect(windows.at(-1)!.features.health_trend).toBeGreaterThan(0.6);
    expect(windows.at(-1)!.iso_zone).toBe("C");
    expect(windows.every((w) => w.alarm === "none")).toBe(true);
    // The summary says both: severe from the first window, never in alarm.
    expect(result.summary).toMatchObject({ first_alarm_s: null, first_severe_s: 0 });
  });

  it("a growing degradation raises alert, then danger, at the windows its growth and persistence say", async () => {
    // 60 sound windows at 0.5 mm/s, then a velocity that grows five-fold in 50 windows: window
    // 60 + i departs (i + 0.5) / 50 from the baseline (half a step off each threshold).
    // - Alert at i = 36: the newest 23 windows' median evidence (that of window i − 11) reaches
    //   0.5 at i ≥ 35.5; the rank test over 46 windows passed long before (from i = 23 the
    //   newer 23 are all ramp, above every older one: U = 529 ≥ 479); the smoothed health,
    //   which lags the ramp by 2 windows (the median of 5) and 5.7 more (the smoothing, 0.113
    //   of departure), is over 0.5 from i = 32.
    // - Danger at i = 51: the newest 23 windows' median evidence reaches 0.8 at i ≥ 50.5, the
    //   smoothed health from i = 48.
    const N = 50;
    const velocities = [...Array(60).fill(0.5), ...Array.from({ length: 80 }, (_, i) => 0.5 * 5 ** ((i + 0.5) / N))];
    const levels = (await alarms(velocities)).map((w) => w.alarm);
    const changes = levels.flatMap((level, i) => (i > 0 && level !== levels[i - 1] ? [[i, level]] : []));
    expect(changes).toEqual([[60 + 36, "alert"], [60 + 51, "danger"]]);
  });
});

describe("baseline and trend across reboots", () => {
  it("the baseline and the alarm are kept in storage: the alarm level survives a reboot, without a new event", async () => {
    const host = new RecordingHost();
    const config = encodeFirmwareConfig({ device: "d", rate_hz: RATE_HZ, window: WINDOW, units: "g", baseline_windows: 6 });
    const first = await bootRelease(host);
    first.firmware.init(config);
    const signal = run([...Array(30).fill(0.5), ...Array(30).fill(4.4)]);
    for (let i = 0; i < 60; i++) first.firmware.process(signal.subarray(i * WINDOW, (i + 1) * WINDOW), i * 600_000, RATE_HZ);
    const baseline = baselineRecord(host);
    expect([baseline.length, baseline.magic, baseline.count]).toEqual([24, 0x32534142, 6]); // "BAS2"
    expect(baseline.vel).toBeCloseTo(0.5, 1);
    // Written when the alarm changed, not only on the hour: the reboot below is a power cut.
    expect(new DataView(stateSection(host.storage, "trend")!.buffer).getUint32(0, true)).toBe(0x33524e54); // "TNR3"
    const raised = host.published.filter((p) => p.kind === 2).map((p) => decodeEvent(p.bytes)).filter((e) => e.event === "alarm");
    expect(raised.map((e) => (e as { level: string }).level)).toEqual(["alert", "danger"]);
    const second = await bootRelease(host); // power cut and reboot: same storage, no shutdown
    second.firmware.init(config);
    host.published.length = 0;
    second.firmware.process(signal.subarray(59 * WINDOW, 60 * WINDOW), 60 * 600_000, RATE_HZ);
    const pack = decodeSenml(host.published.find((p) => p.kind === 1)!.bytes);
    expect(pack.find((r) => r.n === "alarm")?.vs).toBe("danger"); // no new alarm event: it never fell
    expect(host.published.filter((p) => p.kind === 2)).toEqual([]);
  });

  it("an orderly reboot (shutdown, then boot) in the middle of a forecast changes no forecast: the history is kept as it is computed with", async () => {
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
          expect(firmware.handleMessage(encodeCommand({ id: 1, cmd: "shutdown" }))).toBe(0);
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
    const record = stateSection(host.storage, "history")!; // its first write: the old record is not written again
    const view = new DataView(record.buffer, record.byteOffset, record.length);
    expect([record.length, view.getUint32(0, true), view.getUint32(4, true), view.getFloat64(16, true)]).toEqual([24 + 4 * 16, 0x32534948, 4, 1]); // "HIS2"
    expect(host.storage.read(6)!.length).toBe(24 + 3 * 8);
    const points = Array.from({ length: 4 }, (_, i) => [view.getFloat64(24 + i * 16, true), view.getFloat64(32 + i * 16, true)]);
    expect(points.map(([hours]) => hours)).toEqual([1, 2, 3, 4]);
    expect(points.slice(0, 3).map(([, departure]) => departure)).toEqual([Math.fround(0.1), Math.fround(0.2), Math.fround(0.3)]);
  });

  it("an orderly reboot in the middle of a degradation changes nothing: the growth test's windows are kept in storage too", async () => {
    const windows = [...Array.from({ length: 30 }, (_, i) => line(0.5, i + 1)), ...Array.from({ length: 30 }, (_, i) => line(4.4, 31 + i))];
    const straight = await drive(windows, { baselineWindows: 6 });
    const host = new RecordingHost();
    const before = await drive(windows.slice(0, 40), { host, baselineWindows: 6 });
    const after = await drive(windows.slice(40), { host, baselineWindows: 6, fromWindow: 40 }); // shut down, boots again on the same storage
    expect(straight.events).toEqual([{ window: 49, level: "alert" }, { window: 50, level: "danger" }]);
    expect([...before.events, ...after.events]).toEqual(straight.events);
    expect([...before.seen, ...after.seen]).toEqual(straight.seen);
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

  /** Thirty healthy windows, then a 1x line at three times their vibration (a departure of
   *  log 3 / log 5 = 0.68: alert, not danger) until the growth test has seen it grow. */
  const ALARMED = 60;
  async function alarmed() {
    const { firmware, host } = await bootRelease();
    firmware.init(config);
    const signal = run([...Array(30).fill(0.5), ...Array(ALARMED - 30).fill(1.5)]);
    for (let i = 0; i < ALARMED; i++) firmware.process(signal.subarray(i * WINDOW, (i + 1) * WINDOW), i * 600_000, RATE_HZ);
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
    expect(new DataView(stateSection(host.storage, "baseline")!.buffer).getUint32(4, true)).toBe(0); // baseline count, written at once
    // The repaired pump runs at 0.5 mm/s again: its new baseline, and no alarm.
    const signal = run(Array(20).fill(0.5));
    host.published.length = 0;
    for (let i = 0; i < 20; i++) firmware.process(signal.subarray(i * WINDOW, (i + 1) * WINDOW), (ALARMED + i) * 600_000, RATE_HZ);
    expect(new DataView(stateSection(host.storage, "baseline")!.buffer).getUint32(4, true)).toBe(6);
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
    for (let i = 0; i < 11; i++) firmware.process(signal.subarray(i * WINDOW, (i + 1) * WINDOW), (ALARMED + i) * 600_000, RATE_HZ);
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
    expect(new DataView(stateSection(host.storage, "baseline")!.buffer).getUint32(4, true)).toBe(6); // the baseline stands
    expect(() => decodeCommand(encodeCommand({ id: 6, cmd: "maintenance", args: { action: "pray" } }))).toThrow(/maintenance action/);
  });

  it("the advice survives a reboot: no new advice event after it", async () => {
    const { host } = await alarmed();
    const second = await bootRelease(host);
    second.firmware.init(config);
    host.published.length = 0;
    second.firmware.process(run([1.5]), ALARMED * 600_000, RATE_HZ);
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
    expect(new DataView(stateSection(host.storage, "temperature")!.buffer).getUint32(4, true)).toBe(0); // written at maintenance
    expect(firmware.handleMessage(encodeCommand({ id: 2, cmd: "shutdown" }))).toBe(0);
    expect(new DataView(stateSection(host.storage, "temperature")!.buffer).getUint32(4, true)).toBe(1);
  });
});
