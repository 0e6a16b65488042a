// `impeller simulate --console`: a console beside the run, on the run's broker. It follows each
// run (a service scenario runs once per policy, each on a broker of its own), lists the
// scenario's campaigns before they start so the page can start them early, and hands the run
// its pace. After the run it keeps serving until interrupted.

import { identityOptions } from "../host/link/identity.js";
import type { Campaign } from "../operator/campaign.js";
import { CampaignDesk } from "../operator/console/campaign-desk.js";
import { ConsoleLink } from "../operator/console/console-link.js";
import type { ConsoleServer, RunStatus } from "../operator/console/console-server.js";
import { collectorName, operatorName } from "../operator/provision.js";
import { campaignTargets } from "../simulator/fleet/fleet-campaigns.js";
import type { SimulationOptions } from "../simulator/fleet/fleet.js";
import type { Scenario } from "../simulator/scenario/scenario.js";
import { consoleSettings, interrupted, startConsole } from "./console.js";

/** The most simulated seconds per real second --pace takes (a year in a second). */
export const PACE_MAX = 31_536_000;

export interface ConsoleBeside {
  server: ConsoleServer;
  /** The run's options that feed the console: its broker, progress, campaigns, pace. */
  hooks: Pick<SimulationOptions, "onConnected" | "onProgress" | "onCampaign" | "startCampaign" | "pace">;
  /** Serves until interrupted, then closes. */
  serveOn(): Promise<void>;
  close(): Promise<void>;
}

export async function consoleBeside(scenario: Scenario, values: { port?: string; contract?: string; identities?: string }, pace: number | undefined): Promise<ConsoleBeside> {
  const settings = consoleSettings(values.port, values.contract);
  const desk = new CampaignDesk();
  scenario.campaigns.forEach((spec, i) => desk.plan(spec.name, campaignTargets(scenario, spec, i).length, spec.waves.length, `on day ${spec.start_day}`));
  let status: RunStatus | undefined;
  let link: ConsoleLink | undefined;
  const server = await startConsole({ port: settings.port, contract: settings.contract, title: scenario.name, desk, run: () => status });
  const hooks: ConsoleBeside["hooks"] = {
    pace,
    onConnected: async (brokerUrl) => {
      await link?.close();
      // With identities, as the tenant's collector and operator, each with its certificate.
      const { identities } = values;
      link = await ConsoleLink.connect(brokerUrl, scenario.tenant,
        identities === undefined ? {} : identityOptions(identities, collectorName(scenario.tenant)),
        identities === undefined ? undefined : identityOptions(identities, operatorName(scenario.tenant)));
      server.attach(link);
    },
    onProgress: (progress) => {
      status = { simulatedMs: progress.simulatedMs, totalMs: progress.totalMs, done: progress.simulatedMs >= progress.totalMs };
    },
    onCampaign: (_line: string, campaign: Campaign) => desk.attach(campaign),
    startCampaign: (name) => desk.startRequested(name),
  };
  const close = async (): Promise<void> => {
    await server.close();
    await link?.close();
  };
  return {
    server, hooks, close,
    async serveOn() {
      await interrupted();
      await close();
    },
  };
}
