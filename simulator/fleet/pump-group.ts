// A set of simulated pumps that run together: each a physics model driving its own device
// (the real firmware through the host shim, inline) and its own MQTT client. The fleet runs
// one group in its own thread, or one per worker thread (fleet-worker.ts); a group knows
// nothing of the others. Everything it does follows from the scenario, the seed and the
// pumps' indices, so a pump behaves the same in any group, thread or process.

import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { Device, type DeviceOptions, type LogSink } from "../../host/device/device.js";
import { Gateway } from "../../host/link/shared-link.js";
import { MemoryOutbox } from "../../host/outbox/outbox.js";
import { identityOptions } from "../../host/link/identity.js";
import { ownerPolicy } from "../../operator/provision.js";
import type { CompiledFirmware } from "../../host/runtime/firmware.js";
import type { LinkCounters } from "../../host/link/mqtt-link.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import type { FirmwareConfig } from "../../protocol/messages.js";
import { VirtualClock } from "../physics/clock.js";
import type { Degradation } from "../physics/degradation.js";
import { agentOptionsFor, compileCache, powerLossPlan, TICK_MS, UpdatablePump, type FleetUpdates } from "./fleet-updates.js";
import { bearingOrders, drawPump } from "../physics/pump-params.js";
import { PumpModel } from "../physics/pump.js";
import { Random } from "../physics/random.js";
import { GroupNetwork } from "../net/network.js";
import { LinkDialer } from "../net/link-hub.js";
import type { MessagePort } from "node:worker_threads";
import { pickPumps, type FaultAssignment } from "../physics/degradation.js";
import { powerCutsOf, PowerTimeline, type PowerChange } from "../physics/power-cuts.js";
import { pumpKind } from "../physics/pump-types.js";
import { ThermalModel } from "../physics/thermal.js";
import { PumpService, type ServicePumpSummary } from "./service.js";
import type { MaintenancePolicy } from "../../operator/maintenance.js";
import { encodeCommand } from "../../protocol/messages.js";

const PARTITION_SALT = 0x9a27_1710;
import type { Scenario } from "../scenario/scenario.js";

/** A device waits for its outbox to drain when this many messages are queued. */
const OUTBOX_HIGH_WATER = 64;
/** Devices handled between two yields to the event loop. */
const DEVICES_PER_BATCH = 32;

export function deviceId(index: number): string {
  return `pump-${String(index + 1).padStart(4, "0")}`;
}

/** What a device is told of its pump: the driver's synchronous speed (the firmware measures
 *  the real one, below it by the slip), the vanes and the bearing. */
export function deviceConfig(scenario: Scenario, index: number, model: PumpModel): FirmwareConfig {
  const config: FirmwareConfig = {
    device: deviceId(index), rate_hz: scenario.sample_rate_hz, window: scenario.window, units: "g",
    rpm: model.parameters.rpm, vanes: model.parameters.vanes,
  };
  const { bearing } = pumpKind(scenario, index);
  if (bearing !== undefined) config.bearing = bearing;
  return config;
}

/** The time pump `index` of `pumps` measures at in `step`: staggered across the interval. */
export function measurementMs(scenario: Scenario, step: number, index: number): number {
  const startMs = Date.parse(scenario.start);
  const offsetMs = Math.floor((index * scenario.interval_s * 1000) / scenario.pumps);
  return startMs + step * scenario.interval_s * 1000 + offsetMs;
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

export class PumpGroup {
  private readonly window: Float32Array;
  private readonly windows: number[];
  /** With updates (fleet-updates.ts): each pump's flash and agent, by position. */
  private readonly updatable: UpdatablePump[] = [];
  private ticker: NodeJS.Timeout | undefined;
  private brokerUrl = "";
  /** The scenario's network (latency, partitions) between these pumps and the broker. */
  private network: GroupNetwork | undefined;

  /** The URL pump `index` connects to: the broker, or its proxy when the scenario has a network. */
  private urlFor(index: number): string {
    return this.network?.urlFor(index) ?? this.brokerUrl;
  }
  /** Provisioned identities (DIR of impeller provision): each device connects with its own. */
  private identities: string | undefined;
  /** The embedded broker's in-process network (link-hub.ts), when the fleet runs on it (never
   *  with a scenario's network: its proxies are TCP). */
  private dialer: LinkDialer | undefined;
  /** With power cuts (power-cuts.ts): each pump's timeline, what its device boots from again
   *  (the same storage and outbox: both in flash), and what its earlier lives counted. */
  private readonly timelines: (PowerTimeline | undefined)[] = [];
  private readonly bootOptions: DeviceOptions[] = [];
  private readonly earlier: EarlierLives[] = [];
  /** With devices_per_connection above 1: one gateway per that many pumps, in order. */
  private readonly gateways: Gateway[] = [];
  private perConnection = 1;
  /** Under a maintenance policy: each pump's service, and the work the firmware has yet to hear of. */
  private readonly services: (PumpService | undefined)[] = [];
  private readonly untold: (string | undefined)[] = [];
  private commandId = 0;
  /** Each pump's bearing-housing temperature, read before each window. */
  private readonly thermals: ThermalModel[] = [];
  private log: LogSink | undefined;

  /** Connects the device at `i` through its gateway, or with its own connection. */
  private async connectDevice(i: number, random: Random): Promise<void> {
    const device = this.devices[i];
    const gateway = this.gateways[Math.floor(i / this.perConnection)];
    const sentUpTo = this.earlier[i]?.sentUpTo ?? 0;
    if (gateway !== undefined) device.connectVia(gateway, { sentUpTo });
    else {
      const dialer = this.dialer;
      await device.connect(this.urlFor(this.indices[i]), identityOptions(this.identities, device.id), {
        random: () => random.next(), sentUpTo, ...(dialer !== undefined ? { stream: () => dialer.dial() } : {}),
      });
    }
  }

  private constructor(
    private readonly scenario: Scenario,
    private readonly indices: number[],
    private readonly models: PumpModel[],
    readonly devices: Device[],
    private readonly clock: VirtualClock,
  ) {
    this.window = new Float32Array(scenario.window);
    this.windows = indices.map(() => 0);
  }

  static async create(options: {
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
  }): Promise<PumpGroup> {
    const { scenario, indices, faults, brokerUrl, firmware, updates } = options;
    const clock = new VirtualClock(Date.parse(scenario.start));
    const models: PumpModel[] = [];
    const devices: Device[] = [];
    const group = new PumpGroup(scenario, indices, models, devices, clock);
    group.brokerUrl = brokerUrl;
    if (scenario.network !== undefined) {
      const partitions = scenario.network.partitions ?? [];
      group.network = await GroupNetwork.create(scenario.network, Date.parse(scenario.start), (i) =>
        pickPumps({ pumps: partitions[i].pumps } as FaultAssignment, scenario.pumps, new Random((scenario.seed ^ PARTITION_SALT ^ (i + 1)) >>> 0)), brokerUrl);
    }
    group.identities = options.identities;
    if (options.hubPort !== undefined) group.dialer = new LinkDialer(options.hubPort);
    group.log = options.log;
    group.perConnection = scenario.devices_per_connection ?? 1;
    if (group.perConnection > 1) {
      if (options.identities !== undefined) throw new Error("devices_per_connection above 1 needs a broker that lets one connection publish for many devices: not with identities (a device's certificate allows only its own topics)");
      for (let first = 0; first < indices.length; first += group.perConnection) {
        // Named after its first pump: unique whichever thread or shard runs it.
        const dialer = group.dialer;
        const gateway = new Gateway({
          url: group.urlFor(indices[first]), tenant: scenario.tenant, id: `gw-${deviceId(indices[first])}`,
          onLog: (level, text) => options.log?.(deviceId(indices[first]), level, text),
          ...(dialer !== undefined ? { stream: () => dialer.dial() } : {}),
        });
        group.gateways.push(gateway);
      }
      await Promise.all(group.gateways.map((gateway) => gateway.connect()));
    }
    const compile = updates === undefined ? undefined : compileCache({ image: updates.releaseImage, compiled: firmware });
    const owner = options.identities === undefined ? undefined : ownerPolicy(options.identities, scenario.tenant);
    try {
      for (const index of indices) {
        const random = Random.forItem(scenario.seed, index);
        const kind = pumpKind(scenario, index);
        const model = new PumpModel(drawPump(kind.ranges, random), random, faults[index] ?? [], kind.bearing !== undefined ? bearingOrders(kind.bearing) : undefined);
        models.push(model);
        group.thermals.push(new ThermalModel(scenario.seed, index, model));
        const service = options.policy === undefined || scenario.service === undefined ? undefined : new PumpService(
          scenario.service, options.policy, () => model.degradations, (timeMs) => model.repair(timeMs), Date.parse(scenario.start),
          ((index + 1) * 0.618_033_988_75) % 1, Date.parse(scenario.start) + Math.floor((scenario.days * 86_400) / scenario.interval_s) * scenario.interval_s * 1000);
        group.services.push(service);
        group.untold.push(undefined);
        const cuts = powerCutsOf(scenario.power_cuts ?? [], scenario.pumps, scenario.seed, Date.parse(scenario.start), index);
        group.timelines.push(cuts.length > 0 ? new PowerTimeline(cuts) : undefined);
        group.earlier.push({ published: 0, link: { connects: 0, disconnects: 0, acknowledged: 0, resent: 0 }, sentUpTo: 0 });
        const deviceOptions = {
          tenant: scenario.tenant,
          // A provisioned fleet's devices get their tenant's owner policy at their first boot.
          config: owner === undefined ? deviceConfig(scenario, index, model) : { ...deviceConfig(scenario, index, model), owner },
          storage: new MemoryStorage(), clock: () => clock.now(),
          isolation: "inline" as const, // the throughput path: a worker per simulated pump costs too much
          log: options.log,
          ...(service !== undefined ? { onMessage: (kind: string, bytes: Uint8Array) => service.observe(kind, bytes, clock.now()) } : {}),
          // A pump that will lose power keeps its outbox in (simulated) flash: it outlives the Device.
          ...(cuts.length > 0 ? { outbox: new MemoryOutbox() } : {}),
        };
        let device: Device;
        if (updates === undefined) {
          group.bootOptions.push({ ...deviceOptions, firmware });
          device = await Device.boot({ ...deviceOptions, firmware });
        } else {
          const pump = new UpdatablePump(deviceOptions, agentOptionsFor(updates, compile!), updates.releaseImage, powerLossPlan(scenario.seed, index, updates));
          group.updatable.push(pump);
          device = await pump.powerOn();
        }
        devices.push(device);
        await group.connectDevice(devices.length - 1, random);
      }
    } catch (error) {
      await group.close();
      throw error;
    }
    if (updates !== undefined) {
      group.ticker = setInterval(() => group.tick(options.log), TICK_MS);
      group.ticker.unref();
    }
    return group;
  }

  /** Times pumps lost power during an update and were powered on again. */
  get powerCuts(): number {
    return this.updatable.reduce((sum, pump) => sum + pump.powerCuts, 0);
  }

  /** While a download is under way the virtual clock moves with wall time, so the agents'
   *  silence timers run; a pump whose flash lost power is powered on again from it. One pump
   *  busy (an agent's queue held by a reboot, a slow power-on) holds up no other. */
  private tick(log?: LogSink): void {
    if (this.updatable.some((pump) => pump.agent.state === "downloading")) this.clock.advanceTo(this.clock.now() + TICK_MS);
    for (let i = 0; i < this.updatable.length; i++) {
      const pump = this.updatable[i];
      if (pump.busy) continue;
      let work: Promise<unknown>;
      if (pump.flash.dead) work = this.powerOn(i);
      else if (pump.agent.state === "downloading") work = pump.agent.poll();
      else continue;
      pump.busy = true;
      work.catch((error: unknown) => log?.(pump.device.id, 3, `update tick: ${(error as Error).message}`)).finally(() => (pump.busy = false));
    }
  }

  private async powerOn(i: number): Promise<void> {
    const random = Random.forItem(this.scenario.seed, this.indices[i]);
    this.devices[i] = await this.updatable[i].powerCycle();
    await this.connectDevice(i, random);
  }

  /** The power goes (the device dies where it stands) or comes back (it boots again from its
   *  storage and outbox, and connects), at the change's time on the virtual clock. */
  private async changePower(i: number, change: PowerChange): Promise<void> {
    this.clock.advanceTo(Math.max(this.clock.now(), change.atMs));
    if (change.change === "off") {
      const device = this.devices[i];
      const earlier = this.earlier[i];
      earlier.published += device.counters.published;
      for (const key of Object.keys(earlier.link) as (keyof LinkCounters)[]) earlier.link[key] += device.link?.counters[key] ?? 0;
      earlier.sentUpTo = device.link?.sentUpTo ?? earlier.sentUpTo;
      await device.powerOff();
    } else {
      this.devices[i] = await Device.boot(this.bootOptions[i]);
      await this.connectDevice(i, Random.forItem(this.scenario.seed, this.indices[i]));
    }
    this.timelines[i]!.done(change);
  }

  /** Every pump's measurement of `step`; returns the windows fed. */
  async step(step: number, onWindow?: (device: string, timestampMs: number, samples: Float32Array) => void): Promise<number> {
    this.network?.apply(Date.parse(this.scenario.start) + step * this.scenario.interval_s * 1000);
    let fed = 0;
    for (let i = 0; i < this.devices.length; i++) {
      const timestampMs = measurementMs(this.scenario, step, this.indices[i]);
      const timeline = this.timelines[i];
      // Bounded: each change moves the timeline on, and it has two per cut.
      for (let change = timeline?.due(timestampMs); change !== undefined; change = timeline!.due(timestampMs)) await this.changePower(i, change);
      this.clock.advanceTo(Math.max(this.clock.now(), timestampMs));
      const service = this.services[i];
      const state = service?.at(timestampMs);
      if (state?.finished !== undefined) this.untold[i] = state.finished.action;
      const device = this.devices[i];
      // Once the work is done, the firmware is told (as the fitter's service tool would), so it
      // learns its baseline again; a controller without power hears of it when it is back.
      if (this.untold[i] !== undefined && timeline?.off !== true) {
        const action = this.untold[i]!;
        this.untold[i] = undefined;
        const status = await device.handleCommand(encodeCommand({ id: ++this.commandId, cmd: "maintenance", args: { action } }));
        if (status !== 0) this.log?.(device.id, 2, `maintenance command refused: status ${status}`);
      }
      if (state?.running === false) {
        // The pump is stopped for its repair: nothing to measure.
      } else if (timeline?.off === true) {
        // The pump runs on while its controller is off: its physics moves the same either way.
        this.models[i].sample(this.window, this.scenario.sample_rate_hz, timestampMs);
        timeline.missedWindows += 1;
      } else {
        this.models[i].sample(this.window, this.scenario.sample_rate_hz, timestampMs);
        onWindow?.(device.id, timestampMs, this.window);
        device.sense(this.thermals[i].temperatureC(timestampMs), timestampMs);
        await device.feed(this.window, timestampMs);
        this.windows[i] += 1;
        fed += 1;
        // Backpressure while the link is up; during an outage the outbox holds what comes.
        if (device.outbox.size >= OUTBOX_HIGH_WATER && device.link?.connected) await device.link.drained();
      }
      if (i % DEVICES_PER_BATCH === DEVICES_PER_BATCH - 1) await yieldToEventLoop();
    }
    return fed;
  }

  /** Waits until every message is acknowledged by the broker, and sums up each pump. */
  async finish(): Promise<GroupPumpSummary[]> {
    this.network?.apply(Infinity); // every partition ends with the run: what queued must get out
    for (let i = 0; i < this.devices.length; i++) {
      const back = this.timelines[i]?.end(); // so does every power cut
      if (back !== undefined) await this.changePower(i, back);
    }
    await Promise.all(this.devices.map((device) => device.link?.drained()));
    return this.devices.map((device, i) => {
      const earlier = this.earlier[i];
      const link = { ...device.link!.counters };
      for (const key of Object.keys(link) as (keyof LinkCounters)[]) link[key] += earlier.link[key];
      const timeline = this.timelines[i];
      return {
        index: this.indices[i],
        device: device.id,
        rpm: this.models[i].shaftHz * 60,
        windows: this.windows[i],
        published: this.updatable[i]?.published ?? earlier.published + device.counters.published,
        link,
        ...(this.updatable.length > 0 ? { powerCuts: this.updatable[i].powerCuts } : {}),
        ...(timeline !== undefined ? { scheduledPowerCuts: timeline.cuts, missedWindows: timeline.missedWindows } : {}),
        ...(this.gateways.length > 0 ? { connection: this.gateways[Math.floor(i / this.perConnection)].id } : {}),
        ...(this.services[i] !== undefined ? { service: this.services[i]!.summary() } : {}),
      };
    });
  }

  async close(): Promise<void> {
    clearInterval(this.ticker);
    for (const pump of this.updatable) pump.agent?.close();
    await Promise.all(this.devices.map((device) => device.close()));
    await Promise.all(this.gateways.map((gateway) => gateway.close()));
    await this.network?.close();
    this.dialer?.close();
  }
}
