// The console's campaigns: those a run has planned (started at their day, or earlier from the
// page), each attached once it runs, and the operator's word on them: start, pause, resume,
// abort. The campaign itself (operator/campaign.ts) does the work; this only relays.

import type { Campaign, CampaignState, DeviceOutcome, WaveReport } from "../campaign.js";

export const CAMPAIGN_ACTIONS = ["start", "pause", "resume", "abort"] as const;
export type CampaignAction = (typeof CAMPAIGN_ACTIONS)[number];

/** An operator's request the console refuses: a code for the page and a message that says why. */
export class ConsoleError extends Error {
  constructor(readonly code: "bad_request" | "not_found" | "conflict" | "unavailable", message: string) {
    super(message);
    this.name = "ConsoleError";
  }
}

export interface CampaignView {
  name: string;
  /** "planned" until it runs. */
  state: CampaignState | "planned";
  reason: string | null;
  /** When a planned campaign starts on its own (text), or null. */
  starts: string | null;
  startRequested: boolean;
  targets: number;
  waves: WaveReport[];
  /** Waves in its plan. */
  waveCount: number;
  counts: Record<DeviceOutcome, number> | null;
  /** The actions the page may offer now. */
  actions: CampaignAction[];
}

interface Entry {
  name: string;
  starts: string | null;
  targets: number;
  waveCount: number;
  startRequested: boolean;
  campaign: Campaign | undefined;
  /** Starts it here (a console on its own), rather than a run at its next step. */
  starter?: () => Promise<Campaign>;
  /** Why the last start failed. */
  failed?: string;
  /** Paused as soon as it runs: the operator paused it while it was starting. */
  pauseOnStart?: boolean;
}

export class CampaignDesk {
  private readonly entries = new Map<string, Entry>();

  /** A campaign a run will start at `starts` (or when the page asks first); with `starter`,
   *  one the console starts itself when the page asks (`starts` null: only then). */
  plan(name: string, targets: number, waveCount: number, starts: string | null, starter?: () => Promise<Campaign>): void {
    this.entries.set(name, { name, starts, targets, waveCount, startRequested: false, campaign: undefined, starter });
  }

  /** A campaign that runs now (the run's onCampaign tells every change; the first attaches it). */
  attach(campaign: Campaign): void {
    const name = campaign.plan.name;
    const entry = this.entries.get(name);
    if (entry?.campaign === campaign) return;
    this.entries.set(name, {
      name, starts: entry?.starts ?? null, targets: campaign.plan.devices.length, waveCount: campaign.plan.waves.length,
      startRequested: entry?.startRequested ?? false, campaign, starter: entry?.starter,
    });
    if (entry?.pauseOnStart === true) campaign.pause("paused by the operator from the console");
  }

  /** Whether the page asked for planned campaign `name` to start now. */
  startRequested(name: string): boolean {
    return this.entries.get(name)?.startRequested === true;
  }

  /** Carries out the operator's `action` on campaign `name`; returns its view after. */
  act(name: unknown, action: unknown): CampaignView {
    if (typeof action !== "string" || !(CAMPAIGN_ACTIONS as readonly string[]).includes(action)) {
      throw new ConsoleError("bad_request", `a campaign action is one of ${CAMPAIGN_ACTIONS.join(", ")}, not ${JSON.stringify(action)}`);
    }
    const entry = typeof name === "string" ? this.entries.get(name) : undefined;
    if (entry === undefined) throw new ConsoleError("not_found", `no campaign named ${JSON.stringify(name)}; the console knows ${[...this.entries.keys()].join(", ") || "none"}`);
    const allowed = actions(entry);
    if (!allowed.includes(action as CampaignAction)) {
      throw new ConsoleError("conflict", `campaign ${entry.name} is ${stateOf(entry)}: it can ${allowed.length === 0 ? "take no action" : allowed.join(" or ")}, not ${action}`);
    }
    const campaign = entry.campaign;
    if (action === "start") this.start(entry);
    else if (action === "pause" && campaign === undefined) entry.pauseOnStart = true;
    else if (action === "pause") campaign!.pause("paused by the operator from the console");
    else if (action === "resume") campaign!.resume();
    else campaign!.abort("aborted by the operator from the console");
    return view(entry);
  }

  private start(entry: Entry): void {
    entry.startRequested = true;
    entry.failed = undefined;
    entry.pauseOnStart = false;
    entry.starter?.().then((campaign) => this.attach(campaign), (error: unknown) => {
      entry.startRequested = false;
      entry.failed = `could not start: ${(error as Error).message}`;
    });
  }

  views(): CampaignView[] {
    return [...this.entries.values()].map(view);
  }
}

function stateOf(entry: Entry): CampaignState | "planned" {
  return entry.campaign?.state ?? "planned";
}

function actions(entry: Entry): CampaignAction[] {
  const state = stateOf(entry);
  // A campaign asked to start can be paused before it runs: its first wave's offers go out, no more.
  if (state === "planned") return !entry.startRequested ? ["start"] : entry.pauseOnStart === true ? [] : ["pause"];
  if (state === "running") return ["pause", "abort"];
  if (state === "paused") return ["resume", "abort"];
  return [];
}

function view(entry: Entry): CampaignView {
  const report = entry.campaign?.report();
  return {
    name: entry.name, state: stateOf(entry), reason: report?.reason ?? entry.failed ?? null, starts: entry.starts, startRequested: entry.startRequested,
    targets: entry.targets, waves: report?.waves ?? [], waveCount: entry.waveCount, counts: report?.counts ?? null, actions: actions(entry),
  };
}
