// OTA campaigns on the simulated fleet (operator/campaign.ts over fleet-updates.ts): waves
// that advance on the success threshold, a bad image that aborts the campaign after its first
// wave with every device of that wave back on the old image, pause/resume/cancel by the
// operator, and pumps that lose power in the middle of their update still ending on an image
// that runs.

import { describe, expect, it, vi } from "vitest";
import { UpdateServer } from "../../operator/update-server.js";
import { encodeUpdateStatus, type UpdateStateName } from "../../protocol/messages.js";
import { Campaign, checkPlan, waveEnds, type CampaignPlan, type CampaignReport } from "../../operator/campaign.js";
import { evaluateExpectations } from "../../simulator/verdict/expectations.js";
import { simulate } from "../../simulator/fleet/fleet.js";
import { parseScenario, ScenarioError, type Scenario } from "../../simulator/scenario/scenario.js";
import { until } from "../support/wait.js";

const BASE = {
  name: "campaigns", seed: 11, tenant: "ota", start: "2026-03-01T00:00:00Z", days: 600 / 86_400, pumps: 20,
  interval_s: 300, sample_rate_hz: 1000, window: 256,
  pump: { rpm: [1500, 3000], vanes: [5, 7], slip: [0.01, 0.03], load: [0.6, 1], imbalance_g: [0.005, 0.03], misalignment_g: [0.003, 0.015], vane_pass_g: [0.03, 0.12], noise_g: [0.01, 0.03] },
};
const WAVES = [0.1, 0.5, 1];

function scenario(campaigns: unknown[], extra: Record<string, unknown> = {}): Scenario {
  return parseScenario({ ...BASE, campaigns, ...extra }, "campaign-test");
}

function campaign(extra: Record<string, unknown>): Record<string, unknown> {
  return { name: "c1", start_day: 0, image: "v0.2.0", waves: WAVES, success_threshold: 0.95, error_threshold: 0.2, on_error: "abort", ...extra };
}

function statesOf(report: CampaignReport, device: string): string[] {
  return report.devices.find((d) => d.device === device)!.history.map((h) => h.state);
}

describe("campaign policy", () => {
  it("waves take cumulative shares of the targets, rounded up, at least one more device each", () => {
    expect(waveEnds(20, [0.1, 0.5, 1])).toEqual([2, 10, 20]);
    expect(waveEnds(1000, [0.01, 0.1, 1])).toEqual([10, 100, 1000]);
    expect(waveEnds(3, [0.01, 0.1, 1])).toEqual([1, 2, 3]);
  });

  it("refuses waves that do not increase to 1 and thresholds outside 0 … 1", () => {
    const plan = { name: "c", devices: ["a"], image: new Uint8Array(1), envelope: new Uint8Array(1), waves: [0.5, 1], successThreshold: 1, errorThreshold: 0, onError: "abort" } satisfies CampaignPlan;
    expect(() => checkPlan(plan)).not.toThrow();
    expect(() => checkPlan({ ...plan, waves: [0.5, 0.4, 1] })).toThrow(/increase/);
    expect(() => checkPlan({ ...plan, waves: [0.5] })).toThrow(/last wave must be 1/);
    expect(() => checkPlan({ ...plan, successThreshold: 1.5 })).toThrow(/success threshold/);
    expect(() => checkPlan({ ...plan, devices: [] })).toThrow(/targets no device/);
  });

  it("scenario campaigns are validated field by field", () => {
    expect(scenario([campaign({})]).campaigns[0]).toMatchObject({ name: "c1", waves: WAVES, on_error: "abort", power_loss_share: 0, retries: 1 });
    expect(() => scenario([campaign({ waves: [0.5, 0.2, 1] })])).toThrow(/campaigns\[0\]\.waves" must increase/);
    expect(() => scenario([campaign({ on_error: "stop" })])).toThrow(/on_error/);
    expect(() => scenario([campaign({ image: "hang-at-init" })])).toThrow(/hang-at-init would hang the whole simulation/);
    expect(() => scenario([campaign({ colour: "red" })])).toThrow(ScenarioError);
    expect(() => scenario([campaign({})], { expectations: [{ kind: "campaign_outcome", campaign: "c2", state: "completed" }] })).toThrow(/no campaign is named "c2"/);
  });
});

describe("campaigns on the fleet", () => {
  it("a good image goes out in three waves and every pump confirms v0.2.0", async () => {
    const s = scenario([campaign({})], { expectations: [{ kind: "campaign_outcome", campaign: "c1", state: "completed", max_wave: 3, devices_on: "new" }] });
    const result = await simulate(s);
    const [report] = result.campaigns;
    expect(report.state).toBe("completed");
    expect(report.maxWave).toBe(3);
    expect(report.waves.map((w) => [w.devices, w.confirmed, w.errors])).toEqual([[2, 2, 0], [8, 8, 0], [10, 10, 0]]);
    expect(report.counts.confirmed).toBe(20);
    for (const device of report.devices) expect(statesOf(report, device.device)).toEqual(["offer sent", "offered", "downloading", "verifying", "installing", "trial", "confirmed"]);
    expect(report.bytes.blockData).toBe(20 * report.bytes.image);
    expect(evaluateExpectations(result).map((e) => e.passed)).toEqual([true]);
    expect(result.delivered).toBe(result.published); // telemetry, statuses and block requests alike
  }, 60_000);

  it("an image that traps at init: aborted after the first wave, that wave reverted to the old image, the rest never offered", async () => {
    const s = scenario([campaign({ image: "trap-at-init" })], { expectations: [{ kind: "campaign_outcome", campaign: "c1", state: "aborted", max_wave: 1, devices_on: "old" }] });
    const result = await simulate(s);
    const [report] = result.campaigns;
    expect(report.state).toBe("aborted");
    expect(report.maxWave).toBe(1);
    expect(report.reason).toMatch(/^wave 1: [12] of 2 devices failed, above the error threshold 0.2$/); // the first revert already crosses it
    const first = report.devices.filter((d) => d.wave === 1);
    expect(first.map((d) => d.outcome)).toEqual(["reverted", "reverted"]);
    for (const d of first) expect(d.history.at(-1)?.reason).toMatch(/faulted at boot/);
    expect(report.devices.filter((d) => d.wave === -1).map((d) => [d.outcome, d.offers])).toEqual(Array.from({ length: 18 }, () => ["pending", 0]));
    expect(evaluateExpectations(result).map((e) => [e.passed, e.detail])).toEqual([[true, expect.stringContaining("aborted in wave 1")]]);
  }, 60_000);

  it("pause holds the next wave until resume; cancel ends a campaign with the rest never offered", async () => {
    const s = scenario([campaign({ name: "paused" }), campaign({ name: "cancelled" })]);
    const held: number[] = [];
    const result = await simulate(s, {
      onCampaign: (_, c) => {
        if (c.plan.name === "paused" && c.wave === 0 && c.state === "running" && held.length === 0) {
          c.pause();
          held.push(c.wave);
          // Paused, the first wave settles and the next does not start: still the first wave.
          const settled = (): boolean => [...c.records.values()].filter((r) => r.wave === 0).every((r) => r.outcome !== "pending" && r.outcome !== "updating");
          void until(settled, { timeoutMs: 30_000, what: "the first wave settling" }).finally(() => {
            held.push(c.wave);
            c.resume();
          });
        }
        if (c.plan.name === "cancelled" && c.wave === 0 && c.state === "running") c.cancel();
      },
    });
    const [paused, cancelled] = result.campaigns;
    expect(held).toEqual([0, 0]);
    expect(paused.state).toBe("completed");
    expect(paused.counts.confirmed).toBe(20);
    expect(cancelled.state).toBe("cancelled");
    expect(cancelled.reason).toBe("cancelled by the operator");
    expect(cancelled.maxWave).toBe(1);
    expect(cancelled.counts.confirmed).toBe(2); // the first wave's offers were out: they finish
    expect(cancelled.counts.pending).toBe(18);
  }, 60_000);

  it("pumps that lose power in the middle of their update come back on an image that runs, and the campaign completes", async () => {
    const s = scenario([campaign({ power_loss_share: 0.3, error_threshold: 0.5, success_threshold: 0.5 })]);
    const result = await simulate(s);
    const [report] = result.campaigns;
    expect(result.powerCuts).toBeGreaterThan(0);
    expect(report.state).toBe("completed");
    expect(report.counts.timeout + report.counts.updating + report.counts.pending).toBe(0);
    expect(report.counts.confirmed + report.counts.reverted).toBe(20);
    expect(report.counts.confirmed).toBeGreaterThanOrEqual(20 - result.powerCuts);
    expect(result.delivered).toBe(result.published); // the outbox outlives the power cut
    console.log(`power loss: ${result.powerCuts} cuts; ${report.counts.confirmed} confirmed, ${report.counts.reverted} reverted`);
  }, 60_000);
});

describe("campaign policy against scripted devices", () => {
  /** Devices behind a transport-free UpdateServer: each answers an offer as its script says. */
  function scripted(behaviour: (device: string, offer: number) => "confirmed" | "reverted" | "silent") {
    const offers = new Map<string, number>();
    const server: UpdateServer = new UpdateServer((device) => {
      const n = (offers.get(device) ?? 0) + 1;
      offers.set(device, n);
      const outcome = behaviour(device, n);
      if (outcome === "silent") return;
      const report = (state: UpdateStateName): Promise<void> => server.receive(device, encodeUpdateStatus({ campaign: "c", sequence: 2, state }));
      setTimeout(() => {
        void report("offered").then(() => report("downloading")).then(() => report(outcome));
      }, 5);
    });
    return { server, offers };
  }
  const devices = Array.from({ length: 10 }, (_, i) => `d${i}`);
  const plan = (extra: Partial<CampaignPlan>): CampaignPlan => ({
    name: "c", devices, image: new Uint8Array(100), envelope: new Uint8Array(10), waves: [0.2, 1], successThreshold: 1, errorThreshold: 0.4, onError: "abort", ...extra,
  });

  it("on_error pause: a wave over the error threshold pauses the campaign; resume starts the next wave", async () => {
    const { server } = scripted((device) => (device === "d0" ? "reverted" : "confirmed"));
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    try {
      const campaign = new Campaign(plan({ onError: "pause", errorThreshold: 0.4 }), server);
      const done = campaign.run();
      await vi.waitFor(() => expect(campaign.state).toBe("paused"), { timeout: 2000 });
      expect(campaign.reason).toBe("wave 1: 1 of 2 devices failed, above the error threshold 0.4");
      await vi.advanceTimersByTimeAsync(200); // four looks at the devices, paused: the first wave still
      expect(campaign.wave).toBe(0);
      campaign.resume();
      let report: Awaited<typeof done> | undefined;
      void done.then((finished) => { report = finished; });
      await vi.waitFor(() => expect(report).toBeDefined(), { timeout: 2000 }); // the timers move as it waits
      expect(report!.state).toBe("completed");
      expect(report!.counts).toMatchObject({ confirmed: 9, reverted: 1 });
      expect(report!.waves.map((w) => w.devices)).toEqual([2, 8]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a device silent after its offer is offered again after the stall time, and a silent one times out the wave", async () => {
    const { server, offers } = scripted((device, n) => (device === "d1" && n === 1 ? "silent" : device === "d2" ? "silent" : "confirmed"));
    const campaign = new Campaign(plan({ waves: [1], stallMs: 200, waveTimeoutMs: 1000, errorThreshold: 0.5, successThreshold: 0.8 }), server);
    const report = await campaign.run();
    expect(offers.get("d1")).toBe(2);
    expect(offers.get("d2")).toBe(2); // one retry, then the wave's time runs out
    expect(report.devices.find((d) => d.device === "d1")?.outcome).toBe("confirmed");
    expect(report.devices.find((d) => d.device === "d2")?.outcome).toBe("timeout");
    expect(report.state).toBe("completed"); // 9 of 10 confirmed: above 0.8
  });

  it("a device being updated that connects again is offered the image again at once, not after the stall time", async () => {
    const { server, offers } = scripted((device, n) => (device === "d0" && n === 1 ? "silent" : "confirmed"));
    const campaign = new Campaign(plan({ waves: [1], stallMs: 60_000 }), server);
    const done = campaign.run();
    await vi.waitFor(() => expect(campaign.counts().confirmed).toBe(9), { timeout: 2000 });
    expect(offers.get("d0")).toBe(1);
    campaign.deviceConnected("d0");
    const report = await done;
    expect(offers.get("d0")).toBe(2);
    expect(report.state).toBe("completed");
    expect(report.durationMs).toBeLessThan(5000);
    campaign.deviceConnected("d0"); // done: nothing more is sent
    expect(offers.get("d0")).toBe(2);
  });
});
