// A scenario's power cuts: the cut pump's controller dies without a goodbye (the broker
// publishes its Will), misses the windows that fall while it is off, boots again from its
// storage and its outbox in flash, and carries its trend on; nothing it published is lost, and
// the same seed gives the same cuts and the same messages.

import { describe, expect, it } from "vitest";
import { encodeFirmwareConfig } from "../../protocol/messages.js";
import { decodeSenml } from "../../protocol/senml.js";
import { simulate, type SimulationResult } from "../../simulator/fleet/fleet.js";
import { deviceConfig, measurementMs } from "../../simulator/fleet/pump-group.js";
import { drawPump } from "../../simulator/physics/pump-params.js";
import { PumpModel } from "../../simulator/physics/pump.js";
import { Random } from "../../simulator/physics/random.js";
import { powerCutsOf, PowerTimeline } from "../../simulator/physics/power-cuts.js";
import { parseScenario, type Scenario } from "../../simulator/scenario/scenario.js";
import { bootRelease, RecordingHost } from "../../host/runtime/harness-hosts.js";

const START = "2026-03-01T00:00:00Z";
const START_MS = Date.parse(START);
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Four identical pumps for half a day, a window every ten minutes (72 each), measurements
 *  staggered 150 s apart; pump-0002 loses power at day 0.3 (minute 432) for 45 minutes. */
const base = {
  name: "four pumps, one power cut", seed: 42, tenant: "acme", start: START, days: 0.5, pumps: 4,
  interval_s: 600, sample_rate_hz: 12800, window: 4096,
  pump: {
    rpm: [2950, 2950], vanes: [6, 6], slip: [0.02, 0.02], load: [0.8, 0.8],
    imbalance_g: [0.02, 0.02], misalignment_g: [0.005, 0.005], vane_pass_g: [0.05, 0.05], noise_g: [0.01, 0.01],
  },
};
const scenario: Scenario = parseScenario({ ...base, power_cuts: [{ pumps: [1], day: [0.3, 0.3], minutes: [45, 45] }] });
const STEPS = 72;
const CUT_FROM_MS = START_MS + 432 * MINUTE_MS;
const CUT_UNTIL_MS = CUT_FROM_MS + 45 * MINUTE_MS;

interface Fed {
  device: string;
  timestampMs: number;
  samples: Float32Array;
}

async function run(s: Scenario): Promise<{ result: SimulationResult; fed: Fed[] }> {
  const fed: Fed[] = [];
  const result = await simulate(s, { onWindow: (device, timestampMs, samples) => fed.push({ device, timestampMs, samples: samples.slice() }) });
  return { result, fed };
}

/** What the collector decoded, per device: every message by sequence, and the states. */
function decoded(result: SimulationResult): unknown {
  return [...result.collector.devices].sort(([a], [b]) => a.localeCompare(b)).map(([device, ledger]) => [
    device,
    [...ledger.telemetry].sort((a, b) => a.sequence - b.sequence).map((p) => [p.sequence, p.time, Object.fromEntries(p.values), Object.fromEntries(p.texts)]),
    ledger.events,
    ledger.releasedThrough,
    ledger.state,
  ]);
}

describe("a pump that loses power", () => {
  it("misses the windows while it is off, dies by its Will, boots again, and every message arrives once", async () => {
    const { result, fed } = await run(scenario);
    // pump-0002 measures at minute 2.5 + 10k: 432.5, 442.5, 452.5, 462.5 and 472.5 fall in [432, 477).
    expect(result.scheduledPowerCuts).toBe(1);
    expect(result.missedWindows).toBe(5);
    expect(result.pumps.map((p) => [p.device, p.windows, p.missedWindows, p.scheduledPowerCuts])).toEqual([
      ["pump-0001", 72, 0, 0], ["pump-0002", 67, 5, 1], ["pump-0003", 72, 0, 0], ["pump-0004", 72, 0, 0],
    ]);
    expect(result.windows).toBe(4 * STEPS - 5);
    expect(result.reconnects).toBe(1); // the cut pump's second life connected once more

    // Nothing lost: what was queued or in flight at the cut went out after the reboot; a
    // message the broker had before its acknowledgement was lost is a duplicate, dropped.
    expect(result.decodeErrors).toEqual([]);
    expect(result.delivered).toBe(result.published);
    expect(result.gaps).toBe(0);
    expect(result.resent).toBeGreaterThanOrEqual(result.duplicates); // a copy the collector dropped was sent again, and counted
    for (const [device, ledger] of result.collector.devices) {
      expect(ledger.releasedThrough, device).toBe(ledger.received);
      expect(ledger.held.size, device).toBe(0);
    }
    const cut = result.collector.devices.get("pump-0002")!;
    // 67 windows and two boot events: the second boot's event carries on the sequence.
    expect(cut.releasedThrough).toBe(69);
    expect(cut.events.filter((e) => e.event === "boot")).toEqual([{ event: "boot", boot: 1, fw: 0x000100 }, { event: "boot", boot: 2, fw: 0x000100 }]);
    const times = Array.from({ length: STEPS }, (_, step) => measurementMs(scenario, step, 1)).filter((t) => t < CUT_FROM_MS || t >= CUT_UNTIL_MS);
    expect([...cut.telemetry].sort((a, b) => a.sequence - b.sequence).map((p) => p.time * 1000)).toEqual(times);
    expect(fed.filter((w) => w.device === "pump-0002").map((w) => w.timestampMs)).toEqual(times);

    // Its death came while it had no link (the broker's Will), then the birth of session 2;
    // the run's end closes it cleanly.
    const states = cut.states.filter((s, i) => i === 0 || JSON.stringify(s) !== JSON.stringify(cut.states[i - 1]));
    expect(states).toEqual([
      { online: true, session: 1, fw: 0x000100, abi: 1 }, { online: false, session: 1 },
      { online: true, session: 2, fw: 0x000100, abi: 1 }, { online: false, session: 2 },
    ]);
    expect(result.collector.devices.get("pump-0001")!.states).toEqual([{ online: true, session: 1, fw: 0x000100, abi: 1 }, { online: false, session: 1 }]);
  });

  it("carries its baseline and trend across the cut: its telemetry is the firmware's booted again on the same storage, not a fresh start", async () => {
    const { result, fed } = await run(scenario);
    const windows = fed.filter((w) => w.device === "pump-0002");
    // The configuration the fleet gives pump-0002 (index 1).
    const random = Random.forItem(scenario.seed, 1);
    const config = encodeFirmwareConfig(deviceConfig(scenario, 1, new PumpModel(drawPump(scenario.pump, random), random, [])));
    /** The trend the release firmware gives for these windows, rebooted before the first window
     *  after the cut on the same storage (or, `fresh`, on empty storage). */
    const replayTrend = async (fresh: boolean): Promise<number[]> => {
      const before = windows.filter((w) => w.timestampMs < CUT_FROM_MS).length;
      let host = new RecordingHost();
      let life = await bootRelease(host);
      life.firmware.init(config);
      const trend: number[] = [];
      for (const [k, w] of windows.entries()) {
        if (k === before) {
          host = fresh ? new RecordingHost() : Object.assign(new RecordingHost(), { storage: host.storage });
          life = await bootRelease(host);
          life.firmware.init(config);
        }
        host.nowMs = w.timestampMs;
        host.published.length = 0;
        life.firmware.process(w.samples, w.timestampMs, 12800);
        const pack = decodeSenml(host.published.find((p) => p.kind === 1)!.bytes);
        trend.push(pack.find((r) => r.n === "health_trend")!.v!);
      }
      return trend;
    };
    const delivered = [...result.collector.devices.get("pump-0002")!.telemetry].sort((a, b) => a.sequence - b.sequence).map((p) => p.values.get("health_trend")!);
    const carried = await replayTrend(false);
    const relearned = await replayTrend(true);
    expect(delivered).toHaveLength(67);
    expect(delivered).toEqual(carried);
    const first = 43; // the first window after the reboot (43 came before the cut)
    expect(relearned[first]).not.toBe(carried[first]);
    // A fresh start's trend begins at the window's own health; this one went on from before.
    const after = [...result.collector.devices.get("pump-0002")!.telemetry].sort((a, b) => a.sequence - b.sequence)[first];
    expect(after.values.get("health_trend")).not.toBe(after.values.get("health"));
  });

  it("a pump still off when the run ends is powered on to send what it queued", async () => {
    const late = parseScenario({ ...base, power_cuts: [{ pumps: [3], day: [0.45, 0.45], minutes: [600, 600] }] });
    const { result } = await run(late);
    // pump-0004 measures at minute 7.5 + 10k: from 648 (0.45 days) on, 657.5 … 717.5 are missed.
    expect(result.missedWindows).toBe(7);
    expect(result.pumps[3].windows).toBe(65);
    expect(result.delivered).toBe(result.published);
    expect(result.collector.devices.get("pump-0004")!.events.filter((e) => e.event === "boot")).toHaveLength(2);
  });

  it("a cut between two measurements misses none, yet the pump dies and boots again", async () => {
    const short = parseScenario({ ...base, power_cuts: [{ pumps: [0], day: [0.1, 0.1], minutes: [3, 3] }] });
    const { result } = await run(short);
    expect(result.scheduledPowerCuts).toBe(1);
    expect(result.missedWindows).toBe(0);
    expect(result.windows).toBe(4 * STEPS);
    const ledger = result.collector.devices.get("pump-0001")!;
    expect(ledger.events.filter((e) => e.event === "boot").map((e) => e.boot)).toEqual([1, 2]);
    expect(ledger.state).toEqual({ online: false, session: 2 });
    expect(result.delivered).toBe(result.published);
  });
});

describe("power cuts are deterministic", () => {
  const seeded = parseScenario({ ...base, name: "seeded cuts", power_cuts: [{ pumps: "50%", day: [0.1, 0.4], minutes: [20, 60] }, { pumps: 1, day: [0, 0.5], minutes: [5, 15] }] });

  it("the same seed gives the same cuts, the same missed windows and the same messages", async () => {
    const first = await run(seeded);
    const second = await run(seeded);
    expect(first.result.scheduledPowerCuts).toBeGreaterThanOrEqual(2);
    expect(second.result.pumps.map((p) => [p.scheduledPowerCuts, p.missedWindows])).toEqual(first.result.pumps.map((p) => [p.scheduledPowerCuts, p.missedWindows]));
    expect(second.result.published).toBe(first.result.published);
    expect(decoded(second.result)).toEqual(decoded(first.result));
    expect(first.result.delivered).toBe(first.result.published);
    // The missed windows are exactly the measurements that fall inside each pump's cuts.
    first.result.pumps.forEach((pump, index) => {
      const cuts = powerCutsOf(seeded.power_cuts!, 4, seeded.seed, START_MS, index);
      const missed = Array.from({ length: STEPS }, (_, step) => measurementMs(seeded, step, index)).filter((t) => cuts.some((c) => t >= c.fromMs && t < c.untilMs));
      expect(pump.missedWindows, pump.device).toBe(missed.length);
    });
  });

  it("two worker threads give the same cuts and the same messages as one", async () => {
    const one = await simulate(seeded, { workers: 1 });
    const two = await simulate(seeded, { workers: 2 });
    expect(two.workers).toBe(2);
    expect(two.pumps.map((p) => [p.scheduledPowerCuts, p.missedWindows])).toEqual(one.pumps.map((p) => [p.scheduledPowerCuts, p.missedWindows]));
    expect(decoded(two)).toEqual(decoded(one));
  });

  it("a pump's cuts follow from the seed and its index alone; a share picks that many pumps; overlapping cuts merge", () => {
    const specs = seeded.power_cuts!;
    const plans = [0, 1, 2, 3].map((i) => powerCutsOf(specs, 4, 42, START_MS, i));
    expect([3, 1, 0, 2].map((i) => powerCutsOf(specs, 4, 42, START_MS, i))).toEqual([3, 1, 0, 2].map((i) => plans[i]));
    const halves = [0, 1, 2, 3].filter((i) => powerCutsOf([specs[0]], 4, 42, START_MS, i).length === 1);
    expect(halves).toHaveLength(2);
    for (const plan of plans) {
      for (const cut of plan) {
        expect(cut.untilMs).toBeGreaterThan(cut.fromMs);
        expect(cut.fromMs).toBeGreaterThanOrEqual(START_MS);
        expect(cut.fromMs).toBeLessThanOrEqual(START_MS + 0.5 * DAY_MS);
      }
    }
    const overlapping = powerCutsOf([{ pumps: [0], day: [1, 1], minutes: [60, 60] }, { pumps: [0], day: [1.02, 1.02], minutes: [60, 60] }], 1, 7, START_MS, 0);
    expect(overlapping).toEqual([{ fromMs: START_MS + DAY_MS, untilMs: START_MS + 1.02 * DAY_MS + 60 * MINUTE_MS }]);
    const timeline = new PowerTimeline(overlapping);
    expect(timeline.due(START_MS)).toBeUndefined();
    const off = timeline.due(START_MS + 2 * DAY_MS)!;
    expect(off).toEqual({ change: "off", atMs: START_MS + DAY_MS });
    timeline.done(off);
    const on = timeline.due(START_MS + 2 * DAY_MS)!;
    expect(on).toEqual({ change: "on", atMs: overlapping[0].untilMs });
    timeline.done(on);
    expect(timeline.due(START_MS + 2 * DAY_MS)).toBeUndefined();
    expect(timeline.cuts).toBe(1);
  });
});

describe("power_cuts validation", () => {
  const bad = (power_cuts: unknown): (() => Scenario) => () => parseScenario({ ...base, power_cuts }, "cuts.json");

  it("names the field that is wrong", () => {
    expect(bad({ pumps: 1 })).toThrow(`cuts.json: "power_cuts" must be a list of at most 64 {"pumps", "day", "minutes"}`);
    expect(bad([{ pumps: 1, day: [1, 2] }])).toThrow(`cuts.json: "power_cuts[0].minutes" must be [low, high]`);
    expect(bad([{ pumps: 1, day: [2, 1], minutes: [5, 10] }])).toThrow(`cuts.json: "power_cuts[0].day[1]" must be a number from 2 to 3650, not 1`);
    expect(bad([{ pumps: 1, day: [1, 2], minutes: [0, 10] }])).toThrow(`cuts.json: "power_cuts[0].minutes[0]" must be a number from 0.1 to 5256000, not 0`);
    expect(bad([{ pumps: "120%", day: [1, 2], minutes: [5, 10] }])).toThrow(`cuts.json: "power_cuts[0].pumps" must be a count, "N%" of the fleet, or a list of pump indices below 4`);
    expect(bad([{ pumps: [4], day: [1, 2], minutes: [5, 10] }])).toThrow(/"power_cuts\[0\].pumps"/);
    expect(bad([{ pumps: 1, day: [1, 2], minutes: [5, 10], hours: 1 }])).toThrow(`cuts.json: unknown field "power_cuts[0].hours" (known: pumps, day, minutes)`);
    expect(bad([[1, 2]])).toThrow(/"power_cuts\[0\]" must be an object/);
  });

  it("accepts a valid list and defaults to none", () => {
    expect(parseScenario(base).power_cuts).toEqual([]);
    expect(parseScenario({ ...base, power_cuts: [{ pumps: "25%", day: [1, 2], minutes: [5, 10] }] }).power_cuts).toEqual([{ pumps: "25%", day: [1, 2], minutes: [5, 10] }]);
  });
});
