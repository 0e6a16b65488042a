// Runs a scenario: every pump a physics model driving the real firmware through the real host
// shim, each device its own MQTT client, on a virtual clock that advances one measurement
// interval at a time across all groups of pumps (in this thread, or one group per worker
// thread), against the embedded broker or any broker; an independent collector decodes what
// arrives. A shard runs one slice of the fleet, so processes can share a scenario.

import { setImmediate as yieldToEventLoop, setTimeout as sleepWall } from "node:timers/promises";
import type { LogSink } from "../../host/device/device.js";
import type { CompiledFirmware } from "../../host/runtime/firmware.js";
import { releaseBytes } from "../../host/runtime/images.js";
import type { Campaign, CampaignReport } from "../../operator/campaign.js";
import type { Collector } from "../../operator/collector.js";
import type { MaintenancePolicy } from "../../operator/maintenance.js";
import { checkFleetIdentities } from "../../operator/provision.js";
import type { Rejections } from "../../operator/rejections.js";
import { timeOrdered, type TimeOrdered } from "../../operator/telemetry-log.js";
import { assignFaults, type Degradation } from "../physics/degradation.js";
import { pumpKind } from "../physics/pump-types.js";
import { Pacer } from "../physics/clock.js";
import { Random } from "../physics/random.js";
import type { Scenario } from "../scenario/scenario.js";
import { prepareCampaigns, type FleetCampaigns } from "./fleet-campaigns.js";
import { FleetEvents, type FleetWorld } from "./fleet-events.js";
import { DELIVERY_TIMEOUT_MS, FleetNetwork } from "./fleet-network.js";
import { defaultWorkers, startGroups, type Group } from "./groups.js";
import type { GroupPumpSummary } from "./pump-group.js";
import { policyOutcome, type PolicyOutcome, type ServicePumpSummary } from "./service.js";

/** Steps a group may be ahead of the slowest group. */
const STEPS_AHEAD_MAX = 1;
/** Turns of the event loop this thread must be seen idle in a row, once the groups are. */
const QUIET_TURNS = 3;
/** Wall ms the world is given to settle before the run goes on regardless (and says so). */
const SETTLE_WALL_MS_MAX = 60_000;
/** Over TCP sockets, how long (wall ms) the counts must stay the same to call the world quiet:
 *  a message through a broker on loopback takes well under a millisecond, and a loaded 2-core
 *  machine was seen to hold one for tens; without it, a campaign's virtual 20 s stall timeout
 *  fired while blocks were on their way through mosquitto. */
const TCP_QUIET_WALL_MS = 200;
const TCP_LOOK_WALL_MS = 20;
const FAULT_SEED_SALT = 0x5eed_fa17;

export interface SimulationOptions {
  /** An external broker; the embedded one when absent. A clustered broker's nodes separated by
   *  commas: each device dials the first, and the next after losing one (host/link/mqtt-link.ts). */
  brokerUrl?: string;
  /** The broker (or nodes) the collector reads from, when not brokerUrl: another node of a cluster. */
  collectorUrl?: string;
  firmware?: CompiledFirmware;
  /** Called with every window fed to a device (tests check the firmware against it). */
  onWindow?: (device: string, timestampMs: number, samples: Float32Array) => void;
  onProgress?: (progress: Progress) => void;
  /** Called once every device has booted and connected, before the first window, with the
   *  broker's address; the first window waits for a promise it returns. */
  onConnected?: (brokerUrl: string) => void | Promise<void>;
  log?: LogSink;
  /** Worker threads to spread the pumps over (default: one per core for large fleets). */
  workers?: number;
  /** Run only the pumps whose index % count == index: one slice of a fleet shared by processes. */
  shard?: { index: number; count: number };
  /** Told a campaign's progress line whenever it changes. */
  onCampaign?: (line: string, campaign: Campaign) => void;
  /** Identities from impeller provision: every device and the collector connect with their own
   *  certificate, to the provisioned broker unless brokerUrl says otherwise. */
  identities?: string;
  /** The maintenance policy to follow (a scenario with "service"; service.ts). */
  policy?: MaintenancePolicy;
  /** Run the embedded broker in a process of its own (default: for more than 4,000 TCP connections). */
  brokerProcess?: boolean;
  /** How devices reach the embedded broker: its in-process network ("hub", the default) or
   *  loopback TCP sockets ("tcp"). A scenario's network, identities and an external broker
   *  always use TCP. */
  transport?: "hub" | "tcp";
  /** Simulated seconds per real second, so a person can watch (default: as fast as it goes). */
  pace?: number;
  /** Asked at every step whether the scenario's campaign of this name, due later, is to start
   *  now (an operator's console). */
  startCampaign?: (name: string) => boolean;
}

export interface Progress {
  simulatedMs: number;
  totalMs: number;
  windows: number;
  elapsedMs: number;
}

export interface PumpSummary {
  device: string;
  /** Its kind in the scenario's pump_types ("" for the scenario's own ranges). */
  type: string;
  rpm: number;
  windows: number;
  delivered: number;
  duplicates: number;
  last?: Map<string, number>;
  /** Windows per diagnosed fault. */
  faults: Map<string, number>;
  /** The faults this pump was given (when each was detected is the verdict's: verdict/). */
  degradations: Degradation[];
  /** The scenario's power cuts this pump had, and its measurements that fell while it was off. */
  scheduledPowerCuts: number;
  missedWindows: number;
  /** Its service under the run's maintenance policy. */
  service?: ServicePumpSummary;
}

export interface SimulationResult {
  scenario: Scenario;
  brokerUrl: string;
  windows: number;
  published: number;
  delivered: number;
  /** The first payloads the collector refused, worded (rejected counts them all). */
  decodeErrors: { topic: string; code: string; message: string }[];
  /** Payloads the collector refused, by device and reason. */
  rejected: Rejections;
  pumps: PumpSummary[];
  elapsedMs: number;
  collector: Collector;
  /** Messages that arrived more than once (dropped by the collector), numbers still missing,
   *  messages the devices sent again after reconnecting, and reconnections. */
  duplicates: number;
  gaps: number;
  resent: number;
  reconnects: number;
  outages: { outages: number; downMs: number };
  workers: number;
  /** The scenario's campaigns' final reports, in the scenario's order. */
  campaigns: CampaignReport[];
  /** Times pumps lost power during an update and were powered on again. */
  powerCuts: number;
  /** The run's maintenance policy and its outcome over the fleet (a scenario with "service"). */
  service?: PolicyOutcome;
  /** The scenario's power cuts (power_cuts), and the measurements that fell while pumps were off. */
  scheduledPowerCuts: number;
  missedWindows: number;
  /** MQTT connections the pumps used: one each, or one per gateway (devices_per_connection). */
  connections: number;
}

export { deviceId } from "./pump-group.js";

export async function simulate(scenario: Scenario, options: SimulationOptions = {}): Promise<SimulationResult> {
  const started = performance.now();
  if (options.identities !== undefined) checkFleetIdentities(options.identities, scenario.tenant, scenario.pumps);
  const shard = options.shard ?? { index: 0, count: 1 };
  const network = await FleetNetwork.open(scenario, options, shard);
  const plan = planRun(scenario, options, shard);
  const groups: Group[] = [];
  const events = new FleetEvents(scenario, network, plan.campaigns, worldOf(groups, network, options.log), options);
  try {
    groups.push(...await startGroups(
      { scenario, faults: plan.faults, brokerUrl: network.brokerUrl, updates: plan.campaigns?.updates, identities: options.identities, policy: plan.policy },
      plan.indices, plan.workers, { firmware: options.firmware, log: options.log, hubPort: () => network.hubPort(), onWindow: options.onWindow },
    ));
    await options.onConnected?.(network.brokerUrl);
    const windows = await runSteps(scenario, groups, events, { onProgress: options.onProgress, pacer: new Pacer(scenario.interval_s, options.pace) }, started);
    await events.end();
    const summaries = (await Promise.all(groups.map((group) => group.finish()))).flat().sort((a, b) => a.index - b.index);
    return await gather(scenario, summaries, network, { ...plan, windows, events, started });
  } finally {
    await Promise.all(groups.map((group) => group.close()));
    await network.close();
  }
}

/** The groups and the broker as one world: settled when every group is idle, every record
 *  sent on the in-process network has been received at its other end, this thread (the
 *  operator's side) is idle, and two looks in a row find the same counts. Over TCP sockets
 *  (no in-process network) bytes in the kernel cannot be counted: the looks alone tell, and
 *  they must agree for TCP_QUIET_WALL_MS. */
function worldOf(groups: readonly Group[], network: FleetNetwork, log: LogSink | undefined): FleetWorld {
  const settle = async (idle: () => boolean = () => true): Promise<void> => {
    const started = performance.now();
    const tcp = network.hubCounters === undefined;
    let last = "";
    let lastChanged = started;
    for (;;) {
      const marks = await Promise.all(groups.map((group) => group.settle()));
      for (let quiet = 0; quiet < QUIET_TURNS;) {
        await yieldToEventLoop();
        quiet = idle() ? quiet + 1 : 0;
      }
      const hub = network.hubCounters;
      const balanced = network.operatorBalanced && (hub === undefined || marks.every((mark, i) => mark.sent === hub[i].received && mark.received === hub[i].sent));
      const look = JSON.stringify([marks, hub, network.collector.received]);
      if (look !== last) {
        last = look;
        lastChanged = performance.now();
      } else if (balanced && (!tcp || performance.now() - lastChanged >= TCP_QUIET_WALL_MS)) {
        return;
      }
      if (tcp) await sleepWall(TCP_LOOK_WALL_MS);
      if (performance.now() - started > SETTLE_WALL_MS_MAX) {
        log?.("fleet", 2, `not settled within ${SETTLE_WALL_MS_MAX} ms: the run goes on, but may not replay exactly`);
        return;
      }
    }
  };
  return { settle, advance: async (ms) => void (await Promise.all(groups.map((group) => group.advance(ms)))) };
}

/** What a run is made of before it starts: every pump's faults, this shard's pumps and the
 *  groups they run in, the maintenance policy, and the campaigns with their signing key. */
interface RunPlan {
  faults: Degradation[][];
  indices: number[];
  workers: number;
  policy: MaintenancePolicy | undefined;
  campaigns: FleetCampaigns | undefined;
}

function planRun(scenario: Scenario, options: SimulationOptions, shard: { index: number; count: number }): RunPlan {
  // Faults draw from a stream of their own, so adding one leaves every pump's physics as it was.
  const faults = assignFaults(scenario.faults, scenario.pumps, Date.parse(scenario.start), new Random(scenario.seed ^ FAULT_SEED_SALT));
  const indices = Array.from({ length: scenario.pumps }, (_, i) => i).filter((i) => i % shard.count === shard.index);
  const workers = options.onWindow !== undefined ? 1 : Math.max(1, Math.min(options.workers ?? defaultWorkers(indices.length), indices.length));
  // With campaigns every pump gets a flash and an update agent, provisioned with the run's key.
  if (scenario.campaigns.length > 0 && shard.count > 1) throw new Error("campaigns need the whole fleet in one run: not with --shard");
  if (options.policy !== undefined && scenario.service === undefined) throw new Error("a maintenance policy needs a scenario with a \"service\" section");
  const policy = options.policy ?? scenario.service?.policies[0];
  const campaigns = scenario.campaigns.length === 0 ? undefined : prepareCampaigns(scenario, releaseBytes());
  return { faults, indices, workers, policy, campaigns };
}

/** Every step of the run; returns the windows fed. Each group runs its steps in order, and may
 *  start the next while another group finishes the one before (at most STEPS_AHEAD_MAX ahead),
 *  so no core idles at the end of a step. A broker outage or a campaign takes every group at
 *  the same step: all steps before it are finished first. */
async function runSteps(
  scenario: Scenario, groups: readonly Group[], events: FleetEvents, { onProgress, pacer }: { onProgress: SimulationOptions["onProgress"]; pacer: Pacer }, started: number,
): Promise<number> {
  const startMs = Date.parse(scenario.start);
  const steps = Math.floor((scenario.days * 86_400) / scenario.interval_s);
  const totalMs = steps * scenario.interval_s * 1000;
  let windows = 0;
  const unfinished: { step: number; windows: Promise<number> }[] = [];
  const finishSteps = async (left: number): Promise<void> => {
    while (unfinished.length > left) {
      const { step, windows: fed } = unfinished.shift()!;
      windows += await fed;
      onProgress?.({ simulatedMs: (step + 1) * scenario.interval_s * 1000, totalMs, windows, elapsedMs: performance.now() - started });
    }
  };
  for (let step = 0; step < steps; step++) {
    const stepMs = startMs + step * scenario.interval_s * 1000;
    await pacer.wait(step);
    if (events.due(stepMs)) await finishSteps(0);
    await events.apply(stepMs);
    const fed = Promise.all(groups.map((group) => group.step(step))).then((counts) => counts.reduce((a, b) => a + b, 0));
    fed.catch(() => undefined); // awaited in order below; a failure surfaces there
    unfinished.push({ step, windows: fed });
    await finishSteps(STEPS_AHEAD_MAX);
    await yieldToEventLoop();
  }
  await finishSteps(0);
  return windows;
}

/** Once every message is out: what the collector decoded, pump by pump, and the run's figures. */
async function gather(
  scenario: Scenario, summaries: GroupPumpSummary[], network: FleetNetwork,
  run: RunPlan & { windows: number; events: FleetEvents; started: number },
): Promise<SimulationResult> {
  const { collector } = network;
  const published = summaries.reduce((sum, pump) => sum + pump.published, 0);
  const mine = new Set(summaries.map((pump) => pump.device));
  const delivered = (): number => {
    let count = 0;
    for (const [device, ledger] of collector.devices) if (mine.has(device)) count += ledger.received;
    return count;
  };
  await collector.waitFor(() => delivered() >= published, DELIVERY_TIMEOUT_MS).catch(() => undefined);
  const pumps = summaries.map((summary) => pumpSummary(scenario, summary, collector, run.faults[summary.index]));
  const gaps = collector.gaps();
  const totalMs = Math.floor((scenario.days * 86_400) / scenario.interval_s) * scenario.interval_s * 1000;
  return {
    scenario, brokerUrl: network.brokerUrl, windows: run.windows, published, delivered: delivered(), decodeErrors: collector.errors, rejected: collector.rejections,
    pumps, elapsedMs: performance.now() - run.started, collector,
    duplicates: pumps.reduce((sum, pump) => sum + pump.duplicates, 0),
    gaps: [...mine].reduce((sum, device) => sum + (gaps.get(device)?.length ?? 0), 0),
    resent: summaries.reduce((sum, pump) => sum + pump.link.resent, 0),
    reconnects: summaries.reduce((sum, pump) => sum + pump.link.connects - 1, 0),
    outages: run.events.outageStats,
    workers: run.workers,
    campaigns: run.events.reports,
    powerCuts: summaries.reduce((sum, pump) => sum + (pump.powerCuts ?? 0), 0),
    ...(run.policy !== undefined && scenario.service !== undefined ? {
      service: policyOutcome(scenario.service, run.policy, summaries.map((pump) => pump.service!), totalMs),
    } : {}),
    scheduledPowerCuts: pumps.reduce((sum, pump) => sum + pump.scheduledPowerCuts, 0),
    missedWindows: pumps.reduce((sum, pump) => sum + pump.missedWindows, 0),
    connections: new Set(summaries.map((pump) => pump.connection ?? pump.device)).size,
  };
}

function pumpSummary(scenario: Scenario, summary: GroupPumpSummary, collector: Collector, faults: readonly Degradation[]): PumpSummary {
  const ledger = collector.devices.get(summary.device);
  return {
    device: summary.device,
    type: pumpKind(scenario, summary.index).name,
    rpm: summary.rpm,
    windows: summary.windows,
    delivered: ledger?.telemetry.length ?? 0,
    duplicates: ledger?.duplicates ?? 0,
    last: ledger?.telemetry.at(-1)?.values,
    faults: countFaults(timeOrdered(ledger?.telemetry ?? [])),
    degradations: faults.map((d) => ({ ...d })),
    ...(summary.service !== undefined ? { service: summary.service } : {}),
    scheduledPowerCuts: summary.scheduledPowerCuts ?? 0,
    missedWindows: summary.missedWindows ?? 0,
  };
}

function countFaults(packs: TimeOrdered): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < packs.length; i++) {
    const fault = packs.text(i, "fault") ?? "?";
    counts.set(fault, (counts.get(fault) ?? 0) + 1);
  }
  return counts;
}
