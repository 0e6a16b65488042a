// What happens to the whole fleet at once, at a step of the virtual clock: the embedded broker
// going down or coming back (a scenario's broker_outages), and campaigns starting. Every group
// must be at that step first; the fleet finishes all steps before it, and the world settles
// (every message out) before and after each. A campaign runs on the fleet's virtual clock: its
// waits are timers on it, and the clock moves from one timer to the next, every group's clock
// with it, once the world has settled at each.

import { setTimeout as sleepWall } from "node:timers/promises";
import { identityOptions } from "../../host/link/identity.js";
import type { Campaign, CampaignReport } from "../../operator/campaign.js";
import { VirtualClock } from "../physics/clock.js";
import type { Scenario } from "../scenario/scenario.js";
import type { CampaignTime, FleetCampaigns } from "./fleet-campaigns.js";
import type { FleetNetwork } from "./fleet-network.js";

const DAY_MS = 86_400_000;

/** What the fleet's events need of the world the groups make up. */
export interface FleetWorld {
  /** Resolves once nothing is under way anywhere: every group idle, nothing on its way between
   *  the groups and the broker, and `idle` (the operator's side) true. */
  settle(idle?: () => boolean): Promise<void>;
  /** Moves every group's clock on to `ms`, firing the timers due by then. */
  advance(ms: number): Promise<void>;
}

export class FleetEvents {
  /** The campaigns' final reports, in the scenario's order, as they finish. */
  readonly reports: CampaignReport[] = [];
  readonly outageStats = { outages: 0, downMs: 0 };
  private down = false;
  private readonly outages: { fromMs: number; untilMs: number }[];
  private readonly campaignStarts: number[];
  /** The fleet's clock: campaigns' timers are set on it. */
  private readonly clock: VirtualClock;

  constructor(
    private readonly scenario: Scenario,
    private readonly network: FleetNetwork,
    private readonly campaigns: FleetCampaigns | undefined,
    private readonly world: FleetWorld,
    private readonly options: { onCampaign?: (line: string, campaign: Campaign) => void; identities?: string; startCampaign?: (name: string) => boolean; pace?: number },
  ) {
    const startMs = Date.parse(scenario.start);
    this.clock = new VirtualClock(startMs);
    this.outages = scenario.broker_outages.map((o) => ({
      fromMs: startMs + o.start_day * DAY_MS, untilMs: startMs + o.start_day * DAY_MS + o.minutes * 60_000,
    }));
    this.campaignStarts = scenario.campaigns.map((c) => startMs + c.start_day * DAY_MS);
  }

  private shouldBeDown(stepMs: number): boolean {
    return this.outages.some((o) => stepMs >= o.fromMs && stepMs < o.untilMs);
  }

  /** Whether something happens at `stepMs` that every group must be at. */
  due(stepMs: number): boolean {
    const shouldBeDown = this.shouldBeDown(stepMs);
    const campaignDue = !shouldBeDown && this.campaignDue(stepMs);
    return shouldBeDown !== this.down || campaignDue;
  }

  /** What happens at the step at `stepMs`, before its measurements (which wait for it). */
  async apply(stepMs: number): Promise<void> {
    this.clock.advanceTo(Math.max(this.clock.now(), stepMs));
    const shouldBeDown = this.shouldBeDown(stepMs);
    if (shouldBeDown && !this.down) {
      await this.world.settle();
      await this.network.stopBroker();
      this.down = true;
      this.outageStats.outages += 1;
      await this.world.settle(); // every pump has seen its connection go
    } else if (!shouldBeDown && this.down) {
      await this.restart();
    }
    if (this.down) this.outageStats.downMs += this.scenario.interval_s * 1000;
    else await this.runCampaigns(stepMs);
  }

  /** After the last step: the broker back, and every campaign still to come run. */
  async end(): Promise<void> {
    if (this.down) await this.restart();
    await this.runCampaigns(Number.POSITIVE_INFINITY);
  }

  /** The broker back; what it kept for the collector reaches it before the pumps come back. */
  private async restart(): Promise<void> {
    await this.network.restartBroker();
    this.down = false;
    await this.world.settle();
  }

  /** The campaign's time: the fleet's clock, moved from one of its timers to the next (every
   *  group's clock with it), the world settled before and after each move. */
  private readonly time: CampaignTime = {
    clock: { now: () => this.clock.now(), setTimeout: (f, ms) => this.clock.setTimeout(f, ms), clearTimeout: (h) => this.clock.clearTimeout(h) },
    drive: async (done, idle) => {
      let ended = false;
      done.then(() => (ended = true), () => (ended = true));
      for (;;) {
        await this.world.settle(idle);
        const next = this.clock.nextDueMs();
        if (ended || next === undefined) return done;
        await this.pace(next - this.clock.now());
        await this.world.advance(next);
        await this.world.settle(idle);
        this.clock.advanceTo(next);
      }
    },
  };

  /** With a pace (simulated seconds per real second, `--pace`), the wall time a campaign's
   *  move of `virtualMs` takes, so a person watching sees its waves go out; without, none. The
   *  wait is on the wall only: what happens in the simulated world does not depend on it. */
  private async pace(virtualMs: number): Promise<void> {
    const pace = this.options.pace;
    if (pace === undefined || virtualMs <= 0) return;
    await sleepWall(virtualMs / pace);
  }

  /** Whether the next campaign starts at `stepMs`: its day has come, or it was asked to start
   *  now (the console's operator). Campaigns run one after another, in the scenario's order. */
  private campaignDue(stepMs: number): boolean {
    const next = this.reports.length;
    if (next >= this.scenario.campaigns.length) return false;
    return this.campaignStarts[next] <= stepMs || this.options.startCampaign?.(this.scenario.campaigns[next].name) === true;
  }

  private async runCampaigns(untilMs: number): Promise<void> {
    const { scenario, options } = this;
    while (this.campaignDue(untilMs)) {
      const operator = identityOptions(options.identities, `operator.${scenario.tenant}`);
      await this.world.settle();
      this.reports.push(await this.campaigns!.run(this.reports.length, this.network.brokerUrl, {
        onProgress: options.onCampaign, operator, stream: this.network.operatorStream, time: this.time,
      }));
    }
  }
}
