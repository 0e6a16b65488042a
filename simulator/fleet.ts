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
import { Collector } from "./collector.js";
import { drawPump, PumpModel } from "./pump.js";
import { Random } from "./random.js";
import type { Scenario } from "./scenario.js";
import type { FirmwareConfig } from "../protocol/messages.js";

export const FIRMWARE_PATH = new URL("../build/firmware.wasm", import.meta.url);

/** A device waits for its outbox to drain when this many messages are queued. */
const OUTBOX_HIGH_WATER = 64;
/** Devices handled between two yields to the event loop. */
const DEVICES_PER_BATCH = 32;
const DELIVERY_TIMEOUT_MS = 30_000;

export interface SimulationOptions {
  /** An external broker; the embedded one when absent. */
  brokerUrl?: string;
  firmware?: CompiledFirmware;
  /** Called with every window fed to a device (tests check the firmware against it). */
  onWindow?: (device: string, timestampMs: number, samples: Float32Array) => void;
  onProgress?: (progress: Progress) => void;
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
  const embedded = options.brokerUrl === undefined ? await startEmbeddedBroker() : undefined;
  const brokerUrl = options.brokerUrl ?? embedded!.url;
  const firmware = options.firmware ?? (await loadFirmware());
  const startMs = Date.parse(scenario.start);
  const clock = new VirtualClock(startMs);
  const random = new Random(scenario.seed);
  const collector = await Collector.connect(brokerUrl, scenario.tenant);
  const devices: Device[] = [];
  const models: PumpModel[] = [];
  try {
    for (let index = 0; index < scenario.pumps; index++) {
      const pumpRandom = random.fork(index);
      models.push(new PumpModel(drawPump(scenario.pump, pumpRandom), pumpRandom));
      const device = await Device.boot({
        tenant: scenario.tenant,
        config: deviceConfig(scenario, index, models[index]),
        firmware,
        storage: new MemoryStorage(),
        clock: () => clock.now(),
        isolation: "inline", // the throughput path: a worker per simulated pump costs too much
        log: options.log,
      });
      await device.connect(brokerUrl);
      devices.push(device);
    }

    const steps = Math.floor((scenario.days * 86_400) / scenario.interval_s);
    const totalMs = steps * scenario.interval_s * 1000;
    const window = new Float32Array(scenario.window);
    const windowCounts = new Array<number>(devices.length).fill(0);
    let windows = 0;
    for (let step = 0; step < steps; step++) {
      for (let index = 0; index < devices.length; index++) {
        // Pumps measure at staggered times within the interval, as a real fleet does.
        const offsetMs = Math.floor((index * scenario.interval_s * 1000) / devices.length);
        const timestampMs = startMs + step * scenario.interval_s * 1000 + offsetMs;
        clock.advanceTo(Math.max(clock.now(), timestampMs));
        models[index].sample(window, scenario.sample_rate_hz);
        options.onWindow?.(devices[index].id, timestampMs, window);
        await devices[index].feed(window, timestampMs);
        windowCounts[index] += 1;
        windows += 1;
        if (devices[index].outbox.size >= OUTBOX_HIGH_WATER) await devices[index].link?.drained();
        if (index % DEVICES_PER_BATCH === DEVICES_PER_BATCH - 1) await yieldToEventLoop();
      }
      options.onProgress?.({ simulatedMs: (step + 1) * scenario.interval_s * 1000, totalMs, windows, elapsedMs: performance.now() - started });
      await yieldToEventLoop();
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
      };
    });
    return {
      scenario, brokerUrl, windows, published, delivered: delivered(), decodeErrors: collector.errors,
      pumps, elapsedMs: performance.now() - started, collector,
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
