// A set of simulated pumps that run together: each a physics model driving its own device
// (the real firmware through the host shim, inline) and its own MQTT client. The fleet runs
// one group in its own thread, or one per worker thread (fleet-worker.ts); a group knows
// nothing of the others. Everything it does follows from the scenario, the seed and the
// pumps' indices, so a pump behaves the same in any group, thread or process.

import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { MessagePort } from "node:worker_threads";
import { Device, type DeviceOptions, type LogSink } from "../../host/device/device.js";
import { identityOptions } from "../../host/link/identity.js";
import type { LinkCounters } from "../../host/link/mqtt-link.js";
import { Gateway } from "../../host/link/shared-link.js";
import { MemoryOutbox } from "../../host/outbox/outbox.js";
import type { CompiledFirmware } from "../../host/runtime/firmware.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import type { MaintenancePolicy } from "../../operator/maintenance.js";
import { ownerPolicy } from "../../operator/provision.js";
import { encodeCommand, type FirmwareConfig, type OwnerPolicy } from "../../protocol/messages.js";
import { LinkDialer } from "../net/link-hub.js";
import { GroupNetwork } from "../net/network.js";
import { VirtualClock } from "../physics/clock.js";
import { pickPumps, type Degradation, type FaultAssignment } from "../physics/degradation.js";
import { powerCutsOf, PowerTimeline, type PowerChange } from "../physics/power-cuts.js";
import { bearingOrders, drawPump } from "../physics/pump-params.js";
import { pumpKind } from "../physics/pump-types.js";
import { PumpModel } from "../physics/pump.js";
import { Random } from "../physics/random.js";
import { ThermalModel } from "../physics/thermal.js";
import type { Scenario } from "../scenario/scenario.js";
import { agentOptionsFor, compileCache, powerLossPlan, UpdatablePump, type FleetUpdates } from "./fleet-updates.js";
import { PumpService, type ServicePumpSummary } from "./service.js";

const PARTITION_SALT = 0x9a27_1710;
const BACKOFF_SALT = 0xbac0_ff5e;
/** Turns of the event loop a group must be seen idle in a row to count as settled. */
const QUIET_TURNS = 3;
/** Wall ms a group is given to settle before the run goes on regardless (and says so). */
const SETTLE_WALL_MS_MAX = 30_000;
/** In the simulated world a lost connection is always seen at once (the broker or the network
 *  closes it), so a keepalive would find nothing; on the virtual clock, a ping every simulated
 *  minute would cost more than the measurements. Connections run without one. */
const SIMULATED_CLIENT = { keepalive: 0 };
/** Simulated time the end of a run gives the links to get their last messages out: two
 *  reconnect backoffs at their longest (host/link/mqtt-link.ts, BACKOFF_DEFAULT: 30 s), and
 *  room for the connections they make. */
const FINISH_DRAIN_MS_MAX = 5 * 60_000;
/** A device waits for its outbox to drain when this many messages are queued. */
const OUTBOX_HIGH_WATER = 64;
/** Devices handled between two yields to the event loop. */
const DEVICES_PER_BATCH = 32;

export function deviceId(index: number): string {
  return `pump-${String(index + 1).padStart(4, "0")}`;
}

/** What a device is told of its pump: the driver's synchronous speed (the firmware measures
 *  the real one, below it by the slip), the vanes and the bearing; and of its measurements, the
 *  windows each takes. */
export function deviceConfig(scenario: Scenario, index: number, model: PumpModel): FirmwareConfig {
  const config: FirmwareConfig = {
    device: deviceId(index), rate_hz: scenario.sample_rate_hz, window: scenario.window, units: "g",
    rpm: model.parameters.rpm, vanes: model.parameters.vanes,
  };
  const { bearing } = pumpKind(scenario, index);
  if (bearing !== undefined) config.bearing = bearing;
  if (scenario.acquisition_windows > 1) config.windows = scenario.acquisition_windows;
  return config;
}

/** The time pump `index` of `pumps` measures at in `step`: staggered across the interval. */
export function measurementMs(scenario: Scenario, step: number, index: number): number {
  const startMs = Date.parse(scenario.start);
  const offsetMs = Math.floor((index * scenario.interval_s * 1000) / scenario.pumps);
  return startMs + step * scenario.interval_s * 1000 + offsetMs;
}

/** What a group reports once settled: the records its devices' end of the in-process network
 *  sent and received (the fleet compares them with the broker's end). */
export interface SettleMark {
  sent: number;
  received: number;
}

export interface GroupPumpSummary {
  index: number;
  device: string;
  rpm: number;
  windows: number;
  published: number;
  link: LinkCounters;
  /** Times the pump lost power during an update (fleets with campaigns only). */
  powerCuts?: number;
  /** The scenario's power cuts this pump had, and its measurements that fell while it was off. */
  scheduledPowerCuts?: number;
  missedWindows?: number;
  /** The pump's service under the run's maintenance policy (a scenario with "service"). */
  service?: ServicePumpSummary;
  /** The gateway whose connection the pump shares (devices_per_connection above 1). */
  connection?: string;
}

/** What a pump's earlier lives (before power cuts) published and counted on their links. */
interface EarlierLives {
  published: number;
  link: LinkCounters;
  /** The highest sequence sent before the last cut: sent again after it, it counts as resent. */
  sentUpTo: number;
}

/** One pump of the group: its physics, its device, and what the group keeps of it. */
interface GroupPump {
  /** Its index in the fleet. */
  readonly index: number;
  readonly model: PumpModel;
  /** Its bearing-housing temperature, read before each window. */
  readonly thermal: ThermalModel;
  device: Device;
  /** Windows fed to its firmware. */
  windows: number;
  /** The gateway whose connection it shares (devices_per_connection above 1). */
  readonly gateway: Gateway | undefined;
  /** With power cuts (physics/power-cuts.ts): its timeline, and what its device boots from again (the
   *  same storage and outbox: both in flash). */
  readonly timeline: PowerTimeline | undefined;
  readonly bootOptions: DeviceOptions | undefined;
  /** What its earlier lives counted. */
  readonly earlier: EarlierLives;
  /** With updates (fleet-updates.ts): its flash and agent. */
  readonly updatable: UpdatablePump | undefined;
  /** Under a maintenance policy: its service, and the work its firmware has yet to hear of. */
  readonly service: PumpService | undefined;
  untold: string | undefined;
  /** The link's backoff jitter: a stream of its own, so reconnections leave the physics alone. */
  readonly backoff: Random;
}

export interface PumpGroupOptions {
  scenario: Scenario;
  indices: number[];
  faults: Degradation[][];
  brokerUrl: string;
  firmware: CompiledFirmware;
  log?: LogSink;
  /** Give every pump a flash and an update agent (only a scenario with campaigns does). */
  updates?: FleetUpdates;
  /** Each device connects with its certificate from this directory (impeller provision). */
  identities?: string;
  /** The maintenance policy this run follows (a scenario with "service"). */
  policy?: MaintenancePolicy;
  /** Devices connect over the embedded broker's in-process network instead of dialling brokerUrl. */
  hubPort?: MessagePort;
}

export class PumpGroup {
  private readonly window: Float32Array;
  /** One measurement's acquisition: acquisition_windows consecutive windows, sampled at once. */
  private readonly acquisition: Float32Array;
  private readonly pumps: GroupPump[] = [];
  private readonly clock: VirtualClock;
  /** The scenario's network (latency, partitions) between these pumps and the broker. */
  private network: GroupNetwork | undefined;
  /** The embedded broker's in-process network (net/link-hub.ts), when the fleet runs on it (never
   *  with a scenario's network: its proxies are TCP). */
  private readonly dialer: LinkDialer | undefined;
  /** With devices_per_connection above 1: one gateway per that many pumps, in order. */
  private readonly gateways: Gateway[] = [];
  private commandId = 0;

  private constructor(private readonly options: PumpGroupOptions) {
    this.window = new Float32Array(options.scenario.window);
    this.acquisition = new Float32Array(options.scenario.window * options.scenario.acquisition_windows);
    this.clock = new VirtualClock(Date.parse(options.scenario.start));
    if (options.hubPort !== undefined) this.dialer = new LinkDialer(options.hubPort);
  }

  private get scenario(): Scenario {
    return this.options.scenario;
  }

  /** The URL pump `index` connects to: the broker, or its proxy when the scenario has a network. */
  private urlFor(index: number): string {
    return this.network?.urlFor(index) ?? this.options.brokerUrl;
  }

  /** Connects a pump's device through its gateway, or with its own connection. */
  private async connectDevice(pump: GroupPump): Promise<void> {
    const { device, gateway, earlier, backoff } = pump;
    const sentUpTo = earlier.sentUpTo;
    if (gateway !== undefined) device.connectVia(gateway, { sentUpTo });
    else {
      const dialer = this.dialer;
      await device.connect(this.urlFor(pump.index), { ...SIMULATED_CLIENT, ...identityOptions(this.options.identities, device.id) }, {
        random: () => backoff.next(), sentUpTo, timers: this.clock, ...(dialer !== undefined ? { stream: () => dialer.dial() } : {}),
      });
    }
  }

  /** The group's pumps, each booted and connected in turn, on the scenario's network. */
  static async create(options: PumpGroupOptions): Promise<PumpGroup> {
    const group = new PumpGroup(options);
    try {
      await group.openNetwork();
      await group.openGateways();
      const owner = options.identities === undefined ? undefined : ownerPolicy(options.identities, options.scenario.tenant);
      const compile = options.updates === undefined ? undefined : compileCache({ image: options.updates.releaseImage, compiled: options.firmware });
      for (const index of options.indices) await group.addPump(index, owner, compile);
      // Every session announced (subscribed, its birth acknowledged) before the first
      // measurement: on a clustered broker a session takes a while to stand up (its record is
      // a replicated stream's), and telemetry should not race the fleet's own set-up.
      await group.settled();
    } catch (error) {
      await group.close();
      throw error;
    }
    return group;
  }

  /** The scenario's network between these pumps and the broker: latency, and partitions. */
  private async openNetwork(): Promise<void> {
    const { scenario, brokerUrl } = this.options;
    if (scenario.network === undefined) return;
    const partitions = scenario.network.partitions ?? [];
    this.network = await GroupNetwork.create(scenario.network, Date.parse(scenario.start), (i) =>
      pickPumps({ pumps: partitions[i].pumps } as FaultAssignment, scenario.pumps, new Random((scenario.seed ^ PARTITION_SALT ^ (i + 1)) >>> 0)), brokerUrl);
  }

  /** With devices_per_connection above 1, the gateways, each named after its first pump (unique
   *  whichever thread or shard runs it), connected. */
  private async openGateways(): Promise<void> {
    const { scenario, indices, identities, log } = this.options;
    const perConnection = scenario.devices_per_connection ?? 1;
    if (perConnection <= 1) return;
    if (identities !== undefined) throw new Error("devices_per_connection above 1 needs a broker that lets one connection publish for many devices: not with identities (a device's certificate allows only its own topics)");
    for (let first = 0; first < indices.length; first += perConnection) {
      const dialer = this.dialer;
      const random = Random.forItem((scenario.seed ^ BACKOFF_SALT) >>> 0, indices[first]);
      this.gateways.push(new Gateway({
        url: this.urlFor(indices[first]), tenant: scenario.tenant, id: `gw-${deviceId(indices[first])}`,
        client: SIMULATED_CLIENT, timers: this.clock, random: () => random.next(),
        onLog: (level, text) => log?.(deviceId(indices[first]), level, text),
        ...(dialer !== undefined ? { stream: () => dialer.dial() } : {}),
      }));
    }
    await Promise.all(this.gateways.map((gateway) => gateway.connect()));
  }

  /** Pump `index`: its physics drawn from its own stream, its device booted and connected. The
   *  link's backoff jitter draws from a stream of its own (BACKOFF_SALT), so however often a
   *  pump reconnects, its physics stays as it was. */
  private async addPump(index: number, owner: OwnerPolicy | undefined, compile: ReturnType<typeof compileCache> | undefined): Promise<void> {
    const { scenario, faults, firmware, updates, log } = this.options;
    const random = Random.forItem(scenario.seed, index);
    const kind = pumpKind(scenario, index);
    const model = new PumpModel(drawPump(kind.ranges, random), random, faults[index] ?? [], kind.bearing !== undefined ? bearingOrders(kind.bearing) : undefined);
    const thermal = new ThermalModel(scenario.seed, index, model);
    const service = this.serviceOf(index, model);
    const cuts = powerCutsOf(scenario.power_cuts ?? [], scenario.pumps, scenario.seed, Date.parse(scenario.start), index);
    const clock = this.clock;
    const deviceOptions = {
      tenant: scenario.tenant,
      // A provisioned fleet's devices get their tenant's owner policy at their first boot.
      config: owner === undefined ? deviceConfig(scenario, index, model) : { ...deviceConfig(scenario, index, model), owner },
      storage: new MemoryStorage(), clock: () => clock.now(),
      isolation: "inline" as const, // the throughput path: a worker per simulated pump costs too much
      log,
      ...(service !== undefined ? { onMessage: (kind: string, bytes: Uint8Array) => service.observe(kind, bytes, clock.now()) } : {}),
      // A pump that will lose power keeps its outbox in (simulated) flash: it outlives the Device.
      ...(cuts.length > 0 ? { outbox: new MemoryOutbox() } : {}),
    };
    const updatable = updates === undefined ? undefined
      : new UpdatablePump(deviceOptions, agentOptionsFor(updates, compile!), updates.releaseImage, powerLossPlan(scenario.seed, index, updates));
    const bootOptions = updatable === undefined ? { ...deviceOptions, firmware } : undefined;
    const device = updatable === undefined ? await Device.boot(bootOptions!) : await updatable.powerOn();
    const pump: GroupPump = {
      index, model, thermal, device, windows: 0,
      gateway: this.gateways[Math.floor(this.pumps.length / Math.max(1, scenario.devices_per_connection ?? 1))],
      timeline: cuts.length > 0 ? new PowerTimeline(cuts) : undefined, bootOptions,
      earlier: { published: 0, link: { connects: 0, disconnects: 0, acknowledged: 0, resent: 0 }, sentUpTo: 0 },
      updatable, service, untold: undefined, backoff: Random.forItem((scenario.seed ^ BACKOFF_SALT) >>> 0, index),
    };
    this.pumps.push(pump);
    await this.connectDevice(pump);
  }

  /** The pump's service under the run's maintenance policy (a scenario with "service"). */
  private serviceOf(index: number, model: PumpModel): PumpService | undefined {
    const { scenario, policy } = this.options;
    if (policy === undefined || scenario.service === undefined) return undefined;
    const startMs = Date.parse(scenario.start);
    const endMs = startMs + Math.floor((scenario.days * 86_400) / scenario.interval_s) * scenario.interval_s * 1000;
    return new PumpService(scenario.service, policy, () => model.degradations, (timeMs) => model.repair(timeMs), startMs, ((index + 1) * 0.618_033_988_75) % 1, endMs);
  }

  /** Times pumps lost power during an update and were powered on again. */
  get powerCuts(): number {
    return this.pumps.reduce((sum, pump) => sum + (pump.updatable?.powerCuts ?? 0), 0);
  }

  /** Between two measurements (while a campaign runs), the fleet moves the clock on: the timers
   *  due by `ms` fire, the agents' silence is checked against it, and a pump whose flash lost
   *  power is powered on again from it; pump by pump, in order. */
  async advance(ms: number): Promise<void> {
    await this.clock.runTo(Math.max(this.clock.now(), ms), () => this.settled());
    for (const pump of this.pumps) {
      const updatable = pump.updatable;
      if (updatable === undefined) continue;
      try {
        if (updatable.flash.dead) await this.powerOn(pump);
        else if (updatable.agent.state === "downloading") await updatable.agent.poll();
      } catch (error) {
        this.options.log?.(updatable.device.id, 3, `update: ${(error as Error).message}`);
      }
    }
  }

  private async powerOn(pump: GroupPump): Promise<void> {
    pump.device = await pump.updatable!.powerCycle();
    await this.connectDevice(pump);
  }

  /** Nothing under way in the group: every link idle (no attempt awaiting its outcome, every
   *  message acknowledged), every update agent idle. */
  private idle(): boolean {
    for (const gateway of this.gateways) if (!gateway.idle) return false;
    for (const pump of this.pumps) {
      if (pump.device.link !== undefined && !pump.device.link.idle) return false;
      if (pump.updatable !== undefined && !pump.updatable.agent.idle) return false;
    }
    return true;
  }

  /** Resolves once the group has been idle for QUIET_TURNS turns of the event loop in a row, with
   *  what its end of the in-process network sent and received. */
  async settled(): Promise<SettleMark> {
    const started = performance.now();
    for (let quiet = 0; quiet < QUIET_TURNS;) {
      await yieldToEventLoop();
      quiet = this.idle() ? quiet + 1 : 0;
      if (performance.now() - started > SETTLE_WALL_MS_MAX) {
        this.options.log?.(`group of ${deviceId(this.options.indices[0])}`, 2, `not settled within ${SETTLE_WALL_MS_MAX} ms: the run goes on, but may not replay exactly`);
        break;
      }
    }
    return this.dialer?.counters ?? { sent: 0, received: 0 };
  }

  /** The power goes (the device dies where it stands) or comes back (it boots again from its
   *  storage and outbox, and connects), at the change's time on the virtual clock. */
  private async changePower(pump: GroupPump, change: PowerChange): Promise<void> {
    await this.clock.runTo(Math.max(this.clock.now(), change.atMs), () => this.settled());
    if (change.change === "off") {
      const { device, earlier } = pump;
      earlier.published += device.counters.published;
      for (const key of Object.keys(earlier.link) as (keyof LinkCounters)[]) earlier.link[key] += device.link?.counters[key] ?? 0;
      earlier.sentUpTo = device.link?.sentUpTo ?? earlier.sentUpTo;
      await device.powerOff();
    } else {
      pump.device = await Device.boot(pump.bootOptions!);
      await this.connectDevice(pump);
    }
    pump.timeline!.done(change);
  }

  /** Every pump's measurement of `step`; returns the windows fed. */
  async step(step: number, onWindow?: (device: string, timestampMs: number, samples: Float32Array) => void): Promise<number> {
    this.network?.apply(Date.parse(this.scenario.start) + step * this.scenario.interval_s * 1000);
    let fed = 0;
    for (let i = 0; i < this.pumps.length; i++) {
      fed += await this.measure(this.pumps[i], step, onWindow);
      if (i % DEVICES_PER_BATCH === DEVICES_PER_BATCH - 1) await yieldToEventLoop();
    }
    return fed;
  }

  /** One pump's measurement of `step`, after the power changes and the work due by then;
   *  returns the windows fed. */
  private async measure(pump: GroupPump, step: number, onWindow?: (device: string, timestampMs: number, samples: Float32Array) => void): Promise<number> {
    const timestampMs = measurementMs(this.scenario, step, pump.index);
    const timeline = pump.timeline;
    // Bounded: each change moves the timeline on, and it has two per cut.
    for (let change = timeline?.due(timestampMs); change !== undefined; change = timeline!.due(timestampMs)) await this.changePower(pump, change);
    await this.clock.runTo(Math.max(this.clock.now(), timestampMs), () => this.settled());
    const state = pump.service?.at(timestampMs);
    if (state?.finished !== undefined) pump.untold = state.finished.action;
    // Once the work is done, the firmware is told (as the fitter's service tool would), so it
    // learns its baseline again; a controller without power hears of it when it is back.
    if (pump.untold !== undefined && timeline?.off !== true) await this.tellMaintenance(pump);
    if (state?.running === false) return 0; // the pump is stopped for its repair: nothing to measure
    const rateHz = this.scenario.sample_rate_hz;
    const windows = this.scenario.acquisition_windows;
    if (timeline?.off === true) {
      // The pump runs on while its controller is off: its physics moves the same either way.
      pump.model.sample(this.acquisition, rateHz, timestampMs);
      timeline.missedWindows += windows;
      return 0;
    }
    const device = pump.device;
    // The acquisition's windows follow one another: one continuous stretch of the pump's
    // vibration, cut into windows stamped a window apart (to the millisecond the ABI carries).
    pump.model.sample(this.acquisition, rateHz, timestampMs);
    device.sense(pump.thermal.temperatureC(timestampMs), timestampMs);
    const length = this.window.length;
    for (let k = 0; k < windows; k++) {
      const windowMs = timestampMs + Math.round((k * length * 1000) / rateHz);
      this.window.set(this.acquisition.subarray(k * length, (k + 1) * length));
      onWindow?.(device.id, windowMs, this.window);
      await device.feed(this.window, windowMs);
      pump.windows += 1;
    }
    // Backpressure while the link is up; during an outage the outbox holds what comes.
    if (device.outbox.size >= OUTBOX_HIGH_WATER && device.link?.connected) await device.link.drained();
    return windows;
  }

  private async tellMaintenance(pump: GroupPump): Promise<void> {
    const action = pump.untold!;
    pump.untold = undefined;
    const status = await pump.device.handleCommand(encodeCommand({ id: ++this.commandId, cmd: "maintenance", args: { action } }));
    if (status !== 0) this.options.log?.(pump.device.id, 2, `maintenance command refused: status ${status}`);
  }

  /** Waits until every message is acknowledged by the broker, and sums up each pump. */
  async finish(): Promise<GroupPumpSummary[]> {
    this.network?.apply(Infinity); // every partition ends with the run: what queued must get out
    for (const pump of this.pumps) {
      const back = pump.timeline?.end(); // so does every power cut
      if (back !== undefined) await this.changePower(pump, back);
    }
    await this.drain();
    return this.pumps.map((pump) => summaryOf(pump));
  }

  /** Every pump's outbox out, as far as it can get: a link that lost its connection near the
   *  end waits for its reconnection, whose backoff runs on the virtual clock, so the clock moves
   *  on to each timer due (at most FINISH_DRAIN_MS_MAX of simulated time) while anything is
   *  still queued. A link that waits for what never comes (a broker that keeps a connection but
   *  never acknowledges a message) is reported, not waited for: what it holds counts as not
   *  delivered. */
  private async drain(): Promise<void> {
    let drained = false;
    void Promise.all(this.pumps.map((pump) => pump.device.link?.drained())).then(() => { drained = true; });
    const untilMs = this.clock.now() + FINISH_DRAIN_MS_MAX;
    for (;;) {
      await this.settled();
      if (drained) return;
      const dueMs = this.clock.nextDueMs();
      if (dueMs === undefined || dueMs > untilMs) break;
      await this.clock.runTo(dueMs, () => this.settled());
    }
    const waiting = this.pumps.filter((pump) => pump.device.outbox.size > 0).map((pump) => pump.device.id);
    this.options.log?.(`group of ${deviceId(this.options.indices[0])}`, 2,
      `at the end of the run ${waiting.length} pump(s) still hold messages the broker has not acknowledged (${waiting.slice(0, 5).join(", ")}${waiting.length > 5 ? ", …" : ""}): counted as not delivered`);
  }

  async close(): Promise<void> {
    for (const pump of this.pumps) pump.updatable?.agent?.close();
    await Promise.all(this.pumps.map((pump) => pump.device.close()));
    await Promise.all(this.gateways.map((gateway) => gateway.close()));
    await this.network?.close();
    this.dialer?.close();
  }
}

function summaryOf(pump: GroupPump): GroupPumpSummary {
  const { device, earlier, timeline, updatable } = pump;
  const link = { ...device.link!.counters };
  for (const key of Object.keys(link) as (keyof LinkCounters)[]) link[key] += earlier.link[key];
  return {
    index: pump.index,
    device: device.id,
    rpm: pump.model.shaftHz * 60,
    windows: pump.windows,
    published: updatable?.published ?? earlier.published + device.counters.published,
    link,
    ...(updatable !== undefined ? { powerCuts: updatable.powerCuts } : {}),
    ...(timeline !== undefined ? { scheduledPowerCuts: timeline.cuts, missedWindows: timeline.missedWindows } : {}),
    ...(pump.gateway !== undefined ? { connection: pump.gateway.id } : {}),
    ...(pump.service !== undefined ? { service: pump.service.summary() } : {}),
  };
}
