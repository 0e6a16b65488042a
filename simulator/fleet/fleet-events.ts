// What happens to the whole fleet at once, at a step of the virtual clock: the embedded broker
// going down or coming back (a scenario's broker_outages), and campaigns starting. Every group
// must be at that step first; the fleet finishes all steps before it.

import { identityOptions } from "../../host/link/identity.js";
import type { Campaign, CampaignReport } from "../../operator/campaign.js";
import type { Scenario } from "../scenario/scenario.js";
import type { FleetCampaigns } from "./fleet-campaigns.js";
import type { FleetNetwork } from "./fleet-network.js";

const DAY_MS = 86_400_000;

export class FleetEvents {
  /** The campaigns' final reports, in the scenario's order, as they finish. */
  readonly reports: CampaignReport[] = [];
  readonly outageStats = { outages: 0, downMs: 0 };
  private down = false;
  private readonly outages: { fromMs: number; untilMs: number }[];
  private readonly campaignStarts: number[];

  constructor(
    private readonly scenario: Scenario,
    private readonly network: FleetNetwork,
    private readonly campaigns: FleetCampaigns | undefined,
    private readonly options: { onCampaign?: (line: string, campaign: Campaign) => void; identities?: string; startCampaign?: (name: string) => boolean },
  ) {
    const startMs = Date.parse(scenario.start);
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
    const shouldBeDown = this.shouldBeDown(stepMs);
    if (shouldBeDown && !this.down) {
      await this.network.stopBroker();
      this.down = true;
      this.outageStats.outages += 1;
    } else if (!shouldBeDown && this.down) {
      await this.network.restartBroker();
      this.down = false;
    }
    if (this.down) this.outageStats.downMs += this.scenario.interval_s * 1000;
    else await this.runCampaigns(stepMs);
  }

  /** After the last step: the broker back, and every campaign still to come run. */
  async end(): Promise<void> {
    if (this.down) {
      await this.network.restartBroker();
      this.down = false;
    }
    await this.runCampaigns(Number.POSITIVE_INFINITY);
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
      this.reports.push(await this.campaigns!.run(this.reports.length, this.network.brokerUrl, options.onCampaign, operator));
    }
  }
}
