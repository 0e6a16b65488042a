// Runs a scenario: every pump a physics model driving the real firmware through the real host
// shim, each device its own MQTT client, on a virtual clock that advances one measurement
// interval at a time across all groups of pumps (in this thread, or one group per worker
// thread), against the embedded broker or any broker; an independent collector decodes what
// arrives. A shard runs one slice of the fleet, so processes can share a scenario.

import os from "node:os";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { LogSink } from "../../host/device/device.js";
import type { CompiledFirmware } from "../../host/runtime/firmware.js";
import { loadRelease, RELEASE_IMAGE, releaseBytes } from "../../host/runtime/images.js";
import { Collector } from "../../operator/collector.js";
import type { Rejections } from "../../operator/rejections.js";
import { timeOrdered, type TimeOrdered } from "../../operator/telemetry-log.js";
import { identityBrokerUrl, identityOptions } from "../../host/link/identity.js";
import { startEmbeddedBroker } from "../net/broker.js";
import { LinkHub } from "../net/link-hub.js";
import type { Campaign, CampaignReport } from "../../operator/campaign.js";
import { assignFaults, type Degradation } from "../physics/degradation.js";
import { prepareCampaigns } from "./fleet-campaigns.js";
import type { FleetWorkerData } from "./fleet-worker.js";
import { PumpGroup, type GroupPumpSummary } from "./pump-group.js";
import { checkFleetIdentities } from "../../operator/provision.js";
import { Random } from "../physics/random.js";
import type { Scenario } from "../scenario/scenario.js";
import { pumpKind } from "../physics/pump-types.js";
import { policyOutcome, type PolicyOutcome, type ServicePumpSummary } from "./service.js";
import type { MaintenancePolicy } from "../../operator/maintenance.js";


/** A worker thread is worth starting for at least this many pumps. */
const PUMPS_PER_WORKER_MIN = 50;
const DELIVERY_TIMEOUT_MS = 30_000;
/** Steps a group may be ahead of the slowest group. */
const STEPS_AHEAD_MAX = 1;
/** Connections (devices or gateways) the embedded broker takes inside this process; more, and
 *  it runs in a process of its own: both ends of a loopback connection in one process cost two
 *  file descriptors, and 20,000 is a common limit. */
const CONNECTIONS_WITH_BROKER_IN_PROCESS_MAX = 4000;
const FAULT_SEED_SALT = 0x5eed_fa17;

export interface SimulationOptions {
  /** An external broker; the embedded one when absent. */
  brokerUrl?: string;
  firmware?: CompiledFirmware;
  /** Called with every window fed to a device (tests check the firmware against it). */
  onWindow?: (device: string, timestampMs: number, samples: Float32Array) => void;
  onProgress?: (progress: Progress) => void;
  /** Called once every device has booted and connected, before the first window, with the
   *  broker's address. */
  onConnected?: (brokerUrl: string) => void;
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

/** What the fleet asks of a group of pumps, in this thread or in a worker. */
interface Group {
  step(step: number): Promise<number>;
  finish(): Promise<GroupPumpSummary[]>;
  close(): Promise<void>;
}

const WORKER_ENTRY = new URL("./fleet-worker-entry.mjs", import.meta.url);

/** A PumpGroup in a worker thread, driven by messages. */
async function workerGroup(data: FleetWorkerData, log?: LogSink): Promise<Group> {
  const worker = new Worker(WORKER_ENTRY, { workerData: data, transferList: data.hubPort !== undefined ? [data.hubPort] : [] });
  const waiters: ((message: { type: string; [key: string]: unknown }) => void)[] = [];
  let failure: Error | undefined;
  worker.on("message", (message: { type: string; [key: string]: unknown }) => {
    if (message.type === "log") {
      log?.(String(message.device), Number(message.level), String(message.text));
      return;
    }
    if (message.type === "failed") failure = new Error(`fleet worker: ${String(message.message)}`);
    waiters.shift()?.(message);
  });
  worker.on("error", (error) => {
    failure = error;
    for (const waiter of waiters.splice(0)) waiter({ type: "failed" });
  });
  const next = (): Promise<{ type: string; [key: string]: unknown }> => new Promise((resolve, reject) => {
    waiters.push((message) => (message.type === "failed" ? reject(failure ?? new Error("fleet worker failed")) : resolve(message)));
  });
  await next(); // created
  return {
    step: async (step) => {
      worker.postMessage({ type: "step", step });
      return Number((await next()).windows);
    },
    finish: async () => {
      worker.postMessage({ type: "finish" });
      return (await next()).pumps as GroupPumpSummary[];
    },
    close: async () => {
      worker.postMessage({ type: "close" });
      await next().catch(() => undefined);
      await worker.terminate();
    },
  };
}

/** Worker threads for a fleet: one per core for a fleet large enough to share out. */
export function defaultWorkers(pumps: number): number {
  return pumps < PUMPS_PER_WORKER_MIN * 2 ? 1 : Math.min(os.availableParallelism(), Math.floor(pumps / PUMPS_PER_WORKER_MIN));
}

export async function simulate(scenario: Scenario, options: SimulationOptions = {}): Promise<SimulationResult> {
  const started = performance.now();
  if (options.identities !== undefined) checkFleetIdentities(options.identities, scenario.tenant, scenario.pumps);
  const externalUrl = options.brokerUrl ?? (options.identities !== undefined ? identityBrokerUrl(options.identities) : undefined);
  const shard = options.shard ?? { index: 0, count: 1 };
  const connections = Math.ceil(Math.ceil(scenario.pumps / shard.count) / Math.max(1, scenario.devices_per_connection ?? 1));
  // On the embedded broker, devices connect over its in-process network (link-hub.ts) unless the
  // scenario's network (a TCP proxy) or their certificates (TLS) need sockets, or TCP is asked for.
  const hub = externalUrl === undefined && scenario.network === undefined && options.transport !== "tcp" && options.brokerProcess !== true
    ? new LinkHub() : undefined;
  let embedded = externalUrl === undefined
    ? await startEmbeddedBroker({ ownProcess: options.brokerProcess ?? (hub === undefined && connections > CONNECTIONS_WITH_BROKER_IN_PROCESS_MAX) })
    : undefined;
  if (hub !== undefined) embedded!.serve!(hub);
  const brokerUrl = externalUrl ?? embedded!.url;
  if (scenario.broker_outages.length > 0 && embedded === undefined) {
    throw new Error("broker_outages need the embedded broker: an external broker cannot be stopped from here");
  }
  const startMs = Date.parse(scenario.start);
  // Durable: what arrives while the collector is reconnecting after a broker outage waits for
  // it. Each shard's collector needs a session of its own on a shared broker.
  const collector = await Collector.connect(brokerUrl, scenario.tenant, {
    durable: true, ...(shard.count > 1 ? { clientId: `collector.${scenario.tenant}.shard-${shard.index}-of-${shard.count}` } : {}),
    ...identityOptions(options.identities, `collector.${scenario.tenant}`),
  });
  const outages = scenario.broker_outages.map((o) => ({
    fromMs: startMs + o.start_day * 86_400_000, untilMs: startMs + o.start_day * 86_400_000 + o.minutes * 60_000,
  }));
  let brokerDown = false;
  const restartBroker = async (): Promise<void> => {
    embedded = await startEmbeddedBroker({ port: embedded!.port, persistence: embedded!.persistence });
    brokerDown = false;
    // The collector is back before the pumps are let in: what they say on reconnecting (deaths
    // of lost sessions, births) reaches it live and in order. From its offline queue, aedes
    // delivers it after newer messages, and a retained topic's older message can be lost.
    await collector.connection(true, DELIVERY_TIMEOUT_MS);
    if (hub !== undefined) embedded.serve!(hub);
  };
  const outageStats = { outages: 0, downMs: 0 };
  // Faults draw from a stream of their own, so adding one leaves every pump's physics as it was.
  const faults = assignFaults(scenario.faults, scenario.pumps, startMs, new Random(scenario.seed ^ FAULT_SEED_SALT));
  const indices = Array.from({ length: scenario.pumps }, (_, i) => i).filter((i) => i % shard.count === shard.index);
  const workers = options.onWindow !== undefined ? 1 : Math.max(1, Math.min(options.workers ?? defaultWorkers(indices.length), indices.length));
  // With campaigns every pump gets a flash and an update agent, provisioned with the run's key.
  if (scenario.campaigns.length > 0 && shard.count > 1) throw new Error("campaigns need the whole fleet in one run: not with --shard");
  if (options.policy !== undefined && scenario.service === undefined) throw new Error("a maintenance policy needs a scenario with a \"service\" section");
  const policy = options.policy ?? scenario.service?.policies[0];
  const campaigns = scenario.campaigns.length === 0 ? undefined : prepareCampaigns(scenario, releaseBytes());
  const updates = campaigns?.updates;
  const campaignStarts = scenario.campaigns.map((c) => startMs + c.start_day * 86_400_000);
  const reports: CampaignReport[] = [];
  const runCampaigns = async (untilMs: number): Promise<void> => {
    while (reports.length < scenario.campaigns.length && campaignStarts[reports.length] <= untilMs) {
      reports.push(await campaigns!.run(reports.length, brokerUrl, options.onCampaign, identityOptions(options.identities, `operator.${scenario.tenant}`)));
    }
  };
  const groups: Group[] = [];
  try {
    if (workers === 1) {
      const firmware = options.firmware ?? (await loadRelease());
      const group = await PumpGroup.create({ scenario, indices, faults, brokerUrl, firmware, log: options.log, updates, identities: options.identities, policy, hubPort: hub?.port() });
      let last: Promise<unknown> = Promise.resolve(); // its steps one after the other
      const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
        const next = last.then(work);
        last = next.catch(() => undefined);
        return next;
      };
      groups.push({ step: (step) => inTurn(() => group.step(step, options.onWindow)), finish: () => inTurn(() => group.finish()), close: () => inTurn(() => group.close()) });
    } else {
      const firmwarePath = fileURLToPath(RELEASE_IMAGE);
      const shares = Array.from({ length: workers }, (_, w) => indices.filter((_, i) => i % workers === w));
      groups.push(...await Promise.all(shares.map((share) => workerGroup({ scenario, indices: share, faults, brokerUrl, firmwarePath, updates, identities: options.identities, policy, hubPort: hub?.port() }, options.log))));
    }

    options.onConnected?.(brokerUrl);
    const steps = Math.floor((scenario.days * 86_400) / scenario.interval_s);
    const totalMs = steps * scenario.interval_s * 1000;
    let windows = 0;
    // Each group runs its steps in order, and may start the next while another group finishes
    // the one before (at most STEPS_AHEAD_MAX ahead), so no core idles at the end of a step.
    // A broker outage or a campaign takes every group at the same step: all steps before it
    // are finished first.
    const unfinished: { step: number; windows: Promise<number> }[] = [];
    const finishSteps = async (left: number): Promise<void> => {
      while (unfinished.length > left) {
        const { step, windows: fed } = unfinished.shift()!;
        windows += await fed;
        options.onProgress?.({ simulatedMs: (step + 1) * scenario.interval_s * 1000, totalMs, windows, elapsedMs: performance.now() - started });
      }
    };
    for (let step = 0; step < steps; step++) {
      const stepMs = startMs + step * scenario.interval_s * 1000;
      const shouldBeDown = outages.some((o) => stepMs >= o.fromMs && stepMs < o.untilMs);
      const campaignDue = !shouldBeDown && reports.length < scenario.campaigns.length && campaignStarts[reports.length] <= stepMs;
      if (shouldBeDown !== brokerDown || campaignDue) await finishSteps(0);
      if (shouldBeDown && !brokerDown) {
        await embedded!.close();
        await collector.connection(false, DELIVERY_TIMEOUT_MS); // it knows, as the pumps do
        brokerDown = true;
        outageStats.outages += 1;
      } else if (!shouldBeDown && brokerDown) {
        await restartBroker();
      }
      if (brokerDown) outageStats.downMs += scenario.interval_s * 1000;
      // A campaign runs when its start comes, before the step's measurements (which wait for it).
      if (!brokerDown) await runCampaigns(stepMs);
      const fed = Promise.all(groups.map((group) => group.step(step))).then((counts) => counts.reduce((a, b) => a + b, 0));
      fed.catch(() => undefined); // awaited in order below; a failure surfaces there
      unfinished.push({ step, windows: fed });
      await finishSteps(STEPS_AHEAD_MAX);
      await yieldToEventLoop();
    }
    await finishSteps(0);

    if (brokerDown) await restartBroker();
    await runCampaigns(Number.POSITIVE_INFINITY);
    const summaries = (await Promise.all(groups.map((group) => group.finish()))).flat().sort((a, b) => a.index - b.index);
    const published = summaries.reduce((sum, pump) => sum + pump.published, 0);
    const mine = new Set(summaries.map((pump) => pump.device));
    const delivered = (): number => {
      let count = 0;
      for (const [device, ledger] of collector.devices) if (mine.has(device)) count += ledger.received;
      return count;
    };
    await collector.waitFor(() => delivered() >= published, DELIVERY_TIMEOUT_MS).catch(() => undefined);

    const pumps = summaries.map((summary): PumpSummary => {
      const ledger = collector.devices.get(summary.device);
      const packs = timeOrdered(ledger?.telemetry ?? []);
      return {
        device: summary.device,
        type: pumpKind(scenario, summary.index).name,
        rpm: summary.rpm,
        windows: summary.windows,
        delivered: ledger?.telemetry.length ?? 0,
        duplicates: ledger?.duplicates ?? 0,
        last: ledger?.telemetry.at(-1)?.values,
        faults: countFaults(packs),
        degradations: faults[summary.index].map((d) => ({ ...d })),
        ...(summary.service !== undefined ? { service: summary.service } : {}),
        scheduledPowerCuts: summary.scheduledPowerCuts ?? 0,
        missedWindows: summary.missedWindows ?? 0,
      };
    });
    const gaps = collector.gaps();
    return {
      scenario, brokerUrl, windows, published, delivered: delivered(), decodeErrors: collector.errors, rejected: collector.rejections,
      pumps, elapsedMs: performance.now() - started, collector,
      duplicates: pumps.reduce((sum, pump) => sum + pump.duplicates, 0),
      gaps: [...mine].reduce((sum, device) => sum + (gaps.get(device)?.length ?? 0), 0),
      resent: summaries.reduce((sum, pump) => sum + pump.link.resent, 0),
      reconnects: summaries.reduce((sum, pump) => sum + pump.link.connects - 1, 0),
      outages: outageStats,
      workers,
      campaigns: reports,
      powerCuts: summaries.reduce((sum, pump) => sum + (pump.powerCuts ?? 0), 0),
      ...(policy !== undefined && scenario.service !== undefined ? {
        service: policyOutcome(scenario.service, policy, summaries.map((pump) => pump.service!), totalMs),
      } : {}),
      scheduledPowerCuts: pumps.reduce((sum, pump) => sum + pump.scheduledPowerCuts, 0),
      missedWindows: pumps.reduce((sum, pump) => sum + pump.missedWindows, 0),
      connections: new Set(summaries.map((pump) => pump.connection ?? pump.device)).size,
    };
  } finally {
    await Promise.all(groups.map((group) => group.close()));
    await collector.close();
    await embedded?.end();
    hub?.close();
  }
}

function countFaults(packs: TimeOrdered): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < packs.length; i++) {
    const fault = packs.text(i, "fault") ?? "?";
    counts.set(fault, (counts.get(fault) ?? 0) + 1);
  }
  return counts;
}
