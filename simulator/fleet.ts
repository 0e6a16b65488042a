// Runs a scenario: every pump a physics model driving the real firmware through the real host
// shim, on one virtual clock, each device its own MQTT client, and an independent collector
// decoding what arrives. Measurements go round the fleet in time order.

import fs from "node:fs";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { Device, type LogSink } from "../host/device.js";
import { compileFirmware, type CompiledFirmware } from "../host/firmware.js";
import { MemoryStorage } from "../host/storage.js";
import { startEmbeddedBroker } from "./broker.js";
import { VirtualClock } from "./clock.js";
import { Collector } from "../host/collector.js";
import { bearingOrders, drawPump, PumpModel } from "./pump.js";
import { assignFaults, type Degradation } from "./degradation.js";
import { Random } from "./random.js";
import type { Scenario } from "./scenario.js";
import type { FirmwareConfig } from "../protocol/messages.js";

export const FIRMWARE_PATH = new URL("../build/firmware.wasm", import.meta.url);

/** A device waits for its outbox to drain when this many messages are queued. */
const OUTBOX_HIGH_WATER = 64;
/** Devices handled between two yields to the event loop. */
const DEVICES_PER_BATCH = 32;
const DELIVERY_TIMEOUT_MS = 30_000;
const FAULT_SEED_SALT = 0x5eed_fa17;
/** Consecutive windows with the right diagnosis that count as the fault being detected. */
export const DETECTION_PERSISTENCE = 3;

export interface SimulationOptions {
  /** An external broker; the embedded one when absent. */
  brokerUrl?: string;
  firmware?: CompiledFirmware;
  /** Called with every window fed to a device (tests check the firmware against it). */
  onWindow?: (device: string, timestampMs: number, samples: Float32Array) => void;
  onProgress?: (progress: Progress) => void;
  /** Called once every device has booted and connected, before the first window. */
  onConnected?: () => void;
  log?: LogSink;
}

export interface Progress {
  simulatedMs: number;
  totalMs: number;
  windows: number;
  elapsedMs: number;
}

export interface PumpSummary {
  device: string;
  rpm: number;
  windows: number;
  delivered: number;
  duplicates: number;
  last?: Map<string, number>;
  /** Windows per diagnosed fault. */
  faults: Map<string, number>;
  /** The faults this pump was given, and when the collector first saw each diagnosed
   *  (DETECTION_PERSISTENCE windows in a row; null: never). */
  degradations: (Degradation & { detectedMs: number | null })[];
}

export interface SimulationResult {
  scenario: Scenario;
  brokerUrl: string;
  windows: number;
  published: number;
  delivered: number;
  decodeErrors: { topic: string; code: string; message: string }[];
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
}

export function deviceId(index: number): string {
  return `pump-${String(index + 1).padStart(4, "0")}`;
}

/** What a device is told of its pump: the driver's synchronous speed (the firmware measures
 *  the real one, below it by the slip), the vanes and the bearing. */
function deviceConfig(scenario: Scenario, index: number, model: PumpModel): FirmwareConfig {
  const config: FirmwareConfig = {
    device: deviceId(index), rate_hz: scenario.sample_rate_hz, window: scenario.window, units: "g",
    rpm: model.parameters.rpm, vanes: model.parameters.vanes,
  };
  if (scenario.bearing !== undefined) config.bearing = scenario.bearing;
  return config;
}

export async function loadFirmware(): Promise<CompiledFirmware> {
  return compileFirmware(new Uint8Array(fs.readFileSync(FIRMWARE_PATH)));
}

export async function simulate(scenario: Scenario, options: SimulationOptions = {}): Promise<SimulationResult> {
  const started = performance.now();
  let embedded = options.brokerUrl === undefined ? await startEmbeddedBroker() : undefined;
  const brokerUrl = options.brokerUrl ?? embedded!.url;
  if (scenario.broker_outages.length > 0 && embedded === undefined) {
    throw new Error("broker_outages need the embedded broker: an external broker cannot be stopped from here");
  }
  const firmware = options.firmware ?? (await loadFirmware());
  const startMs = Date.parse(scenario.start);
  const clock = new VirtualClock(startMs);
  // Durable: what arrives while the collector is reconnecting after a broker outage waits for it.
  const collector = await Collector.connect(brokerUrl, scenario.tenant, { durable: true });
  const outages = scenario.broker_outages.map((o) => ({
    fromMs: startMs + o.start_day * 86_400_000, untilMs: startMs + o.start_day * 86_400_000 + o.minutes * 60_000,
  }));
  let brokerDown = false;
  const outageStats = { outages: 0, downMs: 0 };
  const devices: Device[] = [];
  const models: PumpModel[] = [];
  // Faults draw from a stream of their own, so adding one leaves every pump's physics as it was.
  const faults = assignFaults(scenario.faults, scenario.pumps, startMs, new Random(scenario.seed ^ FAULT_SEED_SALT));
  const orders = scenario.bearing !== undefined ? bearingOrders(scenario.bearing) : undefined;
  try {
    for (let index = 0; index < scenario.pumps; index++) {
      const pumpRandom = Random.forItem(scenario.seed, index);
      models.push(new PumpModel(drawPump(scenario.pump, pumpRandom), pumpRandom, faults[index], orders));
      const device = await Device.boot({
        tenant: scenario.tenant,
        config: deviceConfig(scenario, index, models[index]),
        firmware,
        storage: new MemoryStorage(),
        clock: () => clock.now(),
        isolation: "inline", // the throughput path: a worker per simulated pump costs too much
        log: options.log,
      });
      await device.connect(brokerUrl, {}, { random: () => pumpRandom.next() });
      devices.push(device);
    }

    options.onConnected?.();
    const steps = Math.floor((scenario.days * 86_400) / scenario.interval_s);
    const totalMs = steps * scenario.interval_s * 1000;
    const window = new Float32Array(scenario.window);
    const windowCounts = new Array<number>(devices.length).fill(0);
    let windows = 0;
    for (let step = 0; step < steps; step++) {
      const stepMs = startMs + step * scenario.interval_s * 1000;
      const shouldBeDown = outages.some((o) => stepMs >= o.fromMs && stepMs < o.untilMs);
      if (shouldBeDown && !brokerDown) {
        await embedded!.close();
        brokerDown = true;
        outageStats.outages += 1;
      } else if (!shouldBeDown && brokerDown) {
        embedded = await startEmbeddedBroker({ port: embedded!.port, persistence: embedded!.persistence });
        brokerDown = false;
      }
      if (brokerDown) outageStats.downMs += scenario.interval_s * 1000;
      for (let index = 0; index < devices.length; index++) {
        // Pumps measure at staggered times within the interval, as a real fleet does.
        const offsetMs = Math.floor((index * scenario.interval_s * 1000) / devices.length);
        const timestampMs = startMs + step * scenario.interval_s * 1000 + offsetMs;
        clock.advanceTo(Math.max(clock.now(), timestampMs));
        models[index].sample(window, scenario.sample_rate_hz, timestampMs);
        options.onWindow?.(devices[index].id, timestampMs, window);
        await devices[index].feed(window, timestampMs);
        windowCounts[index] += 1;
        windows += 1;
        // Backpressure while the link is up; during an outage the outbox holds what comes.
        if (devices[index].outbox.size >= OUTBOX_HIGH_WATER && devices[index].link?.connected) await devices[index].link?.drained();
        if (index % DEVICES_PER_BATCH === DEVICES_PER_BATCH - 1) await yieldToEventLoop();
      }
      options.onProgress?.({ simulatedMs: (step + 1) * scenario.interval_s * 1000, totalMs, windows, elapsedMs: performance.now() - started });
      await yieldToEventLoop();
    }

    if (brokerDown) {
      embedded = await startEmbeddedBroker({ port: embedded!.port, persistence: embedded!.persistence });
      brokerDown = false;
    }
    await Promise.all(devices.map((device) => device.link?.drained()));
    const published = devices.reduce((sum, device) => sum + device.counters.published, 0);
    const delivered = (): number => {
      let count = 0;
      for (const ledger of collector.devices.values()) count += ledger.sequences.size;
      return count;
    };
    await collector.waitFor(() => delivered() >= published, DELIVERY_TIMEOUT_MS).catch(() => undefined);

    const pumps = devices.map((device, index): PumpSummary => {
      const ledger = collector.devices.get(device.id);
      return {
        device: device.id,
        rpm: models[index].shaftHz * 60,
        windows: windowCounts[index],
        delivered: ledger?.telemetry.length ?? 0,
        duplicates: ledger?.duplicates ?? 0,
        last: ledger?.telemetry.at(-1)?.values,
        faults: countFaults(ledger?.telemetry ?? []),
        degradations: faults[index].map((d) => ({ ...d, detectedMs: detection(ledger?.telemetry ?? [], d) })),
      };
    });
    const links = devices.map((device) => device.link!.counters);
    return {
      scenario, brokerUrl, windows, published, delivered: delivered(), decodeErrors: collector.errors,
      pumps, elapsedMs: performance.now() - started, collector,
      duplicates: pumps.reduce((sum, pump) => sum + pump.duplicates, 0),
      gaps: [...collector.gaps().values()].reduce((sum, missing) => sum + missing.length, 0),
      resent: links.reduce((sum, link) => sum + link.resent, 0),
      reconnects: links.reduce((sum, link) => sum + link.connects - 1, 0),
      outages: outageStats,
    };
  } finally {
    await Promise.all(devices.map((device) => device.close()));
    await collector.close();
    await embedded?.close();
  }
}

function countFaults(packs: { texts: Map<string, string> }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const pack of packs) {
    const fault = pack.texts.get("fault") ?? "?";
    counts.set(fault, (counts.get(fault) ?? 0) + 1);
  }
  return counts;
}

/** Start of the first run of DETECTION_PERSISTENCE packs that diagnose `degradation`'s kind
 *  after its onset. */
function detection(packs: { time: number; texts: Map<string, string> }[], degradation: Degradation): number | null {
  const ordered = [...packs].sort((a, b) => a.time - b.time);
  let run = 0;
  for (let i = 0; i < ordered.length; i++) {
    const timeMs = ordered[i].time * 1000;
    run = timeMs >= degradation.onsetMs && ordered[i].texts.get("fault") === degradation.kind ? run + 1 : 0;
    if (run === DETECTION_PERSISTENCE) return ordered[i - DETECTION_PERSISTENCE + 1].time * 1000;
  }
  return null;
}
