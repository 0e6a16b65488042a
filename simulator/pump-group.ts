// A set of simulated pumps that run together: each a physics model driving its own device
// (the real firmware through the host shim, inline) and its own MQTT client. The fleet runs
// one group in its own thread, or one per worker thread (fleet-worker.ts); a group knows
// nothing of the others. Everything it does follows from the scenario, the seed and the
// pumps' indices, so a pump behaves the same in any group, thread or process.

import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { Device, type LogSink } from "../host/device.js";
import { identityOptions } from "../host/identity.js";
import { ownerPolicy } from "./provision.js";
import type { CompiledFirmware } from "../host/firmware.js";
import type { LinkCounters } from "../host/mqtt-link.js";
import { MemoryStorage } from "../host/storage.js";
import type { FirmwareConfig } from "../protocol/messages.js";
import { VirtualClock } from "./clock.js";
import type { Degradation } from "./degradation.js";
import { agentOptionsFor, compileCache, powerLossPlan, TICK_MS, UpdatablePump, type FleetUpdates } from "./fleet-updates.js";
import { bearingOrders, drawPump, PumpModel } from "./pump.js";
import { Random } from "./random.js";
import { GroupNetwork } from "./network.js";
import { pickPumps, type FaultAssignment } from "./degradation.js";

const PARTITION_SALT = 0x9a27_1710;
import type { Scenario } from "./scenario.js";

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
  if (scenario.bearing !== undefined) config.bearing = scenario.bearing;
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
  }): Promise<PumpGroup> {
    const { scenario, indices, faults, brokerUrl, firmware, updates } = options;
    const clock = new VirtualClock(Date.parse(scenario.start));
    const orders = scenario.bearing !== undefined ? bearingOrders(scenario.bearing) : undefined;
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
    const compile = updates === undefined ? undefined : compileCache({ image: updates.releaseImage, compiled: firmware });
    const owner = options.identities === undefined ? undefined : ownerPolicy(options.identities, scenario.tenant);
    try {
      for (const index of indices) {
        const random = Random.forItem(scenario.seed, index);
        const model = new PumpModel(drawPump(scenario.pump, random), random, faults[index] ?? [], orders);
        models.push(model);
        const deviceOptions = {
          tenant: scenario.tenant,
          // A provisioned fleet's devices get their tenant's owner policy at their first boot.
          config: owner === undefined ? deviceConfig(scenario, index, model) : { ...deviceConfig(scenario, index, model), owner },
          storage: new MemoryStorage(), clock: () => clock.now(),
          isolation: "inline" as const, // the throughput path: a worker per simulated pump costs too much
          log: options.log,
        };
        let device: Device;
        if (updates === undefined) {
          device = await Device.boot({ ...deviceOptions, firmware });
        } else {
          const pump = new UpdatablePump(deviceOptions, agentOptionsFor(updates, compile!), updates.releaseImage, powerLossPlan(scenario.seed, index, updates));
          group.updatable.push(pump);
          device = await pump.powerOn();
        }
        devices.push(device);
        await device.connect(group.urlFor(index), identityOptions(options.identities, device.id), { random: () => random.next() });
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
    await this.devices[i].connect(this.urlFor(this.indices[i]), identityOptions(this.identities, this.devices[i].id), { random: () => random.next() });
  }

  /** Every pump's measurement of `step`; returns the windows fed. */
  async step(step: number, onWindow?: (device: string, timestampMs: number, samples: Float32Array) => void): Promise<number> {
    this.network?.apply(Date.parse(this.scenario.start) + step * this.scenario.interval_s * 1000);
    for (let i = 0; i < this.devices.length; i++) {
      const timestampMs = measurementMs(this.scenario, step, this.indices[i]);
      this.clock.advanceTo(Math.max(this.clock.now(), timestampMs));
      this.models[i].sample(this.window, this.scenario.sample_rate_hz, timestampMs);
      onWindow?.(this.devices[i].id, timestampMs, this.window);
      const device = this.devices[i];
      await device.feed(this.window, timestampMs);
      this.windows[i] += 1;
      // Backpressure while the link is up; during an outage the outbox holds what comes.
      if (device.outbox.size >= OUTBOX_HIGH_WATER && device.link?.connected) await device.link.drained();
      if (i % DEVICES_PER_BATCH === DEVICES_PER_BATCH - 1) await yieldToEventLoop();
    }
    return this.devices.length;
  }

  /** Waits until every message is acknowledged by the broker, and sums up each pump. */
  async finish(): Promise<GroupPumpSummary[]> {
    this.network?.apply(Infinity); // every partition ends with the run: what queued must get out
    await Promise.all(this.devices.map((device) => device.link?.drained()));
    return this.devices.map((device, i) => ({
      index: this.indices[i],
      device: device.id,
      rpm: this.models[i].shaftHz * 60,
      windows: this.windows[i],
      published: this.updatable[i]?.published ?? device.counters.published,
      link: { ...device.link!.counters },
      ...(this.updatable.length > 0 ? { powerCuts: this.updatable[i].powerCuts } : {}),
    }));
  }

  async close(): Promise<void> {
    clearInterval(this.ticker);
    for (const pump of this.updatable) pump.agent?.close();
    await Promise.all(this.devices.map((device) => device.close()));
    await this.network?.close();
  }
}
