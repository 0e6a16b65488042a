// A run replays bit for bit from its seed, broker outages and update campaigns included: every
// timer of the simulated world (the links' reconnect backoff and keepalive, the update agents'
// silence, a campaign's waits) is set on the virtual clock (simulator/physics/clock.ts), and the
// clock moves on only once the world has settled. What a run records is compared whole: the
// JSON summary but for its wall-time field, the campaigns' reports with every device's
// history, and every message the collector decoded, device by device, in the order it came.

import { describe, expect, it } from "vitest";
import { simulate, type SimulationResult } from "../../simulator/fleet/fleet.js";
import { VirtualClock } from "../../simulator/physics/clock.js";
import { parseScenario, type Scenario } from "../../simulator/scenario/scenario.js";
import { runSummary } from "../../simulator/verdict/summary.js";

/** Six pumps for 0.1 day (14 windows each, one every ten minutes), one developing an outer-race
 *  fault; the broker down for 25 minutes from day 0.02; at day 0.06 a campaign of v0.2.0 in two
 *  waves, with some pumps losing power in the middle of their update and a fifth of the block
 *  requests going unanswered (the agents ask again after silence on the virtual clock). */
function scenario(seed: number): Scenario {
  return parseScenario({
    name: "replay: outage and campaign", seed, tenant: "replay", start: "2026-03-01T00:00:00Z", days: 0.1, pumps: 6,
    interval_s: 600, sample_rate_hz: 1000, window: 256,
    pump: { rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1], imbalance_g: [0.005, 0.03], misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03] },
    faults: [{ kind: "outer_race", pumps: 1, onset_day: [0, 0], pf_days: [0.2, 0.2] }],
    broker_outages: [{ start_day: 0.02, minutes: 25 }],
    campaigns: [{
      name: "fw-0.2.0", start_day: 0.06, image: "v0.2.0", waves: [0.5, 1], success_threshold: 0.5, error_threshold: 0.5, on_error: "abort",
      power_loss_share: 0.3, block_loss_share: 0.2, retries: 3,
    }],
  }, "replay-test");
}

/** Everything the run recorded, as JSON. The summary's elapsed_s (wall seconds) is the one
 *  field left out: it is the only one that measures the machine rather than the run. */
function record(result: SimulationResult): string {
  const { elapsed_s: _wallSeconds, ...summary } = runSummary(result);
  const devices = [...result.collector.devices.keys()].sort().map((device) => {
    const ledger = result.collector.devices.get(device)!;
    return {
      device, received: ledger.received, duplicates: ledger.duplicates, states: ledger.states, events: ledger.events, replies: ledger.replies,
      telemetry: [...ledger.telemetry].map((pack) => [pack.sequence, pack.time, [...pack.values], [...pack.texts]]),
    };
  });
  const counts = {
    published: result.published, delivered: result.delivered, resent: result.resent, reconnects: result.reconnects,
    duplicates: result.duplicates, gaps: result.gaps, powerCuts: result.powerCuts, outages: result.outages,
  };
  return JSON.stringify({ summary, counts, campaigns: result.campaigns, devices });
}

describe("a run replays from its seed", () => {
  it("with a broker outage and an update campaign, the same seed records the same run bit for bit; another seed does not", async () => {
    const first = await simulate(scenario(5));
    const again = await simulate(scenario(5));
    // The run had what it is about: an outage the pumps reconnected after, a campaign that
    // completed with blocks asked for again after silence and pumps powered on mid-update.
    expect(first.outages.outages).toBe(1);
    expect(first.reconnects).toBeGreaterThan(0);
    const [campaign] = first.campaigns;
    expect(campaign.state).toBe("completed");
    expect(campaign.counts.confirmed).toBe(6);
    expect(first.powerCuts).toBeGreaterThan(0);
    expect(campaign.durationMs).toBeGreaterThan(2000); // at least one silence of the agents' 2 s: blocks were lost
    expect(first.delivered).toBe(first.published);

    expect(record(again)).toBe(record(first));

    // Spread over two worker threads, the pumps do and say exactly the same.
    const twoThreads = await simulate(scenario(5), { workers: 2 });
    expect(twoThreads.workers).toBe(2);
    expect(record(twoThreads)).toBe(record(first));

    const other = await simulate(scenario(6));
    expect(record(other)).not.toBe(record(first));
  }, 120_000);
});

describe("the virtual clock's timers", () => {
  const T0 = Date.parse("2026-03-01T00:00:00Z");

  it("fire in the order of their times as the clock passes them, each reading its own time; a cleared one never fires", () => {
    const clock = new VirtualClock(T0);
    const fired: [string, number][] = [];
    const at = (name: string) => () => fired.push([name, clock.now() - T0]);
    clock.setTimeout(at("c"), 300);
    clock.setTimeout(at("a"), 100);
    const cleared = clock.setTimeout(at("never"), 150);
    clock.setTimeout(at("b1"), 200);
    clock.setTimeout(at("b2"), 200); // the same time: in the order they were set
    clock.clearTimeout(cleared);
    clock.advanceTo(T0 + 250);
    expect(fired).toEqual([["a", 100], ["b1", 200], ["b2", 200]]);
    expect(clock.now()).toBe(T0 + 250);
    expect(clock.nextDueMs()).toBe(T0 + 300);
    clock.advanceTo(T0 + 1000);
    expect(fired.at(-1)).toEqual(["c", 300]);
    expect(clock.nextDueMs()).toBeUndefined();
    expect(() => clock.advanceTo(T0)).toThrow(RangeError);
  });

  it("runTo lets what a timer set going settle before the next time: a timer it sets in between fires in its turn", async () => {
    const clock = new VirtualClock(T0);
    const fired: number[] = [];
    // An attempt whose outcome comes later (as a refused connection's does) sets the next one.
    const attempt = (): void => {
      fired.push(clock.now() - T0);
      void Promise.resolve().then(() => { if (fired.length < 4) clock.setTimeout(attempt, 100); });
    };
    clock.setTimeout(attempt, 100);
    let settles = 0;
    await clock.runTo(T0 + 350, async () => {
      settles += 1;
      await Promise.resolve();
    });
    expect(fired).toEqual([100, 200, 300]);
    expect(settles).toBe(3);
    expect(clock.now()).toBe(T0 + 350);
  });
});
