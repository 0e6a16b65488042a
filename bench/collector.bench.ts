// The collector's cost per telemetry message and memory per pack kept: Collector.ingest (the
// one-pass reader into the compact log) against the general decoders into Maps (unframe +
// decodeSenml + resolveSenml, what the collector kept before the log), over the firmware's own
// packs, alternated in one run.
// Run: npx tsx --expose-gc bench/collector.bench.ts [--packs 20000] [--rounds 5]

import { parseArgs } from "node:util";
import { Collector } from "../operator/collector.js";
import { Firmware, type FirmwareHost } from "../host/runtime/firmware.js";
import { MemoryStorage } from "../host/storage/storage.js";
import { frame, unframe } from "../protocol/framing.js";
import { encodeFirmwareConfig } from "../protocol/messages.js";
import { decodeSenml, resolveSenml } from "../protocol/senml.js";
import { startEmbeddedBroker } from "../simulator/net/broker.js";
import { loadRelease } from "../host/runtime/images.js";
import { deviceConfig } from "../simulator/fleet/pump-group.js";
import { bearingOrders, drawPump } from "../simulator/physics/pump-params.js";
import { PumpModel } from "../simulator/physics/pump.js";
import { Random } from "../simulator/physics/random.js";
import { loadScenario } from "../simulator/scenario/scenario.js";

const DEVICES = 100;
const { values } = parseArgs({ options: { packs: { type: "string", default: "20000" }, rounds: { type: "string", default: "5" } } });
const packs = Number(values.packs);
const rounds = Number(values.rounds);
const scenario = loadScenario(new URL("../scenarios/default.json", import.meta.url).pathname);

// One window's telemetry from each of DEVICES pumps, framed as their links send it.
const firmware = await loadRelease();
const bodies: { device: string; body: Uint8Array }[] = [];
for (let i = 0; i < DEVICES; i++) {
  const random = Random.forItem(scenario.seed, i);
  const model = new PumpModel(drawPump(scenario.pump, random), random, [], bearingOrders(scenario.bearing!));
  const config = deviceConfig(scenario, i, model);
  let body: Uint8Array | undefined;
  const host: FirmwareHost = { clockMs: () => 0, publish: (kind, bytes) => ((kind === 1 ? (body = bytes.slice()) : undefined), true), log: () => {}, storage: new MemoryStorage() };
  const device = await Firmware.instantiate(firmware, host);
  device.init(encodeFirmwareConfig(config));
  const window = new Float32Array(scenario.window);
  model.sample(window, scenario.sample_rate_hz, Date.parse(scenario.start));
  device.process(window, Date.parse(scenario.start), scenario.sample_rate_hz);
  bodies.push({ device: config.device, body: body! });
}
const topics = bodies.map(({ device }) => `impeller/v1/${scenario.tenant}/${device}/telemetry`);
const payloadBytes = bodies[0].body.length;

const broker = await startEmbeddedBroker();
global.gc?.();

function general(): { us: number; bytesPerPack: number } {
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const kept: unknown[] = [];
  const started = performance.now();
  for (let i = 0; i < packs; i++) {
    const { device, body } = bodies[i % DEVICES];
    const { sequence, body: inner } = unframe("telemetry", frame("telemetry", Math.floor(i / DEVICES) + 1, body));
    const prefix = `${device}:`;
    const valuesOf = new Map<string, number>();
    const units = new Map<string, string>();
    const texts = new Map<string, string>();
    const records = resolveSenml(decodeSenml(inner));
    for (const record of records) {
      const name = record.name.slice(prefix.length);
      if (record.value !== undefined) valuesOf.set(name, record.value);
      if (record.unit !== undefined) units.set(name, record.unit);
      if (record.stringValue !== undefined) texts.set(name, record.stringValue);
    }
    kept.push({ device, sequence, time: records[0].time, values: valuesOf, units, texts });
  }
  const us = ((performance.now() - started) * 1000) / packs;
  global.gc?.();
  const bytesPerPack = (process.memoryUsage().heapUsed - before) / kept.length;
  return { us, bytesPerPack };
}

async function compact(): Promise<{ us: number; bytesPerPack: number }> {
  const collector = await Collector.connect(broker.url, scenario.tenant);
  const framed = Array.from({ length: packs }, (_, i) => frame("telemetry", Math.floor(i / DEVICES) + 1, bodies[i % DEVICES].body));
  const started = performance.now();
  for (let i = 0; i < packs; i++) collector.ingest(topics[i % DEVICES], framed[i]);
  const us = ((performance.now() - started) * 1000) / packs;
  if (collector.telemetryCount !== packs || collector.errors.length > 0) throw new Error("collector lost packs");
  // What the logs hold (cells, row columns): the heap around them is the ledgers' few objects.
  const held = [...collector.devices.values()].reduce((sum, ledger) => sum + ledger.telemetry.bytesHeld, 0);
  await collector.close();
  return { us, bytesPerPack: held / packs };
}

console.log(`collector bench: ${packs} telemetry messages of ${payloadBytes} bytes from ${DEVICES} devices per round, ${rounds} rounds alternated${global.gc === undefined ? " (no --expose-gc: memory figures are rough)" : ""}`);
console.log("round   general us/msg   heap bytes/pack   collector us/msg   log bytes/pack");
const ratios: number[] = [];
for (let round = 0; round < rounds; round++) {
  const a = general();
  const b = await compact();
  ratios.push(a.us / b.us);
  console.log(`${String(round + 1).padStart(5)} ${a.us.toFixed(2).padStart(16)} ${a.bytesPerPack.toFixed(0).padStart(17)} ${b.us.toFixed(2).padStart(18)} ${b.bytesPerPack.toFixed(0).padStart(16)}`);
}
ratios.sort((x, y) => x - y);
console.log(`median speed-up ${ratios[Math.floor(ratios.length / 2)].toFixed(2)}x`);
await broker.close();
