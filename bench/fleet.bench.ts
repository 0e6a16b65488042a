// Fleet throughput and memory: simulated pump-windows per second (4096-sample windows, full
// analysis by the release firmware, every message through the embedded broker to the
// collector) and memory per device, at several fleet sizes, in one process; and how busy the
// main thread (embedded broker, collector, stepping the groups) was while the windows ran.
// windows/s counts from the connected fleet to the end of the run (last deliveries and every
// connection closed); stepping/s to the last step's windows fed, what a long run approaches;
// "end s" is the time after that step.
// Run: npx tsx bench/fleet.bench.ts [--pumps 100,1000,10000] [--windows 20] [--workers N] [--broker URL]
//      [--per-connection N]  (N pumps share one gateway connection: scenario devices_per_connection)
//      [--broker-process]  (the embedded broker in a process of its own at any fleet size)
//      [--tcp]  (devices reach the embedded broker over loopback TCP, not its in-process network)
//      npx tsx bench/fleet.bench.ts --scenario scenarios/fleet-1000.json   (a whole scenario as it
//      is, faults and all: 1,000 pumps x 30 days at one window every 10 minutes, 4.32 M windows)
// Devices reach the embedded broker over its in-process network (simulator/net/link-hub.ts), each
// with an MQTT connection of its own, so --pumps 10000 gives 10,000 connections without a socket
// each; with --tcp they dial it on loopback, and past 4,000 connections it then runs in a process
// of its own (inside this one a loopback connection costs two file descriptors). --broker takes
// any other broker (e.g. mosquitto), and --per-connection 10 connects the devices over 1,000
// gateway connections instead.
// With --windows 0 it only connects the fleet (boot, MQTT connect, birth) and measures that.
// First it times the two computations every window needs, in this thread alone: the pump
// model's samples and the firmware's process() (the floor under the fleet's cost per window;
// the rest is messaging, the broker and the collector).

import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Firmware, type FirmwareHost } from "../host/runtime/firmware.js";
import { MemoryStorage } from "../host/storage/storage.js";
import { encodeFirmwareConfig } from "../protocol/messages.js";
import { simulate } from "../simulator/fleet/fleet.js";
import { loadRelease } from "../host/runtime/images.js";
import { deviceConfig } from "../simulator/fleet/pump-group.js";
import { bearingOrders, drawPump } from "../simulator/physics/pump-params.js";
import { PumpModel } from "../simulator/physics/pump.js";
import { Random } from "../simulator/physics/random.js";
import { loadScenario } from "../simulator/scenario/scenario.js";

const CPU_PUMPS = 20;
const CPU_ROUNDS_WARMUP = 20;
const CPU_ROUNDS = 30;

const { values } = parseArgs({
  options: { scenario: { type: "string" }, pumps: { type: "string", default: "100,1000" }, windows: { type: "string", default: "12" }, broker: { type: "string" }, workers: { type: "string" }, "per-connection": { type: "string", default: "1" }, "broker-process": { type: "boolean" }, tcp: { type: "boolean" } },
});
const whole = values.scenario === undefined ? undefined : loadScenario(values.scenario);
const sizes = whole === undefined ? values.pumps.split(",").map(Number) : [whole.pumps];
const windowsPerPump = whole === undefined ? Number(values.windows) : Math.floor((whole.days * 86_400) / whole.interval_s);
const base = whole ?? loadScenario(new URL("../scenarios/default.json", import.meta.url).pathname);

console.log(whole === undefined
  ? `fleet bench: ${windowsPerPump} windows of ${base.window} samples per pump, ${values["per-connection"]} pump(s) per connection, one process, node ${process.version}`
  : `fleet bench: scenario ${values.scenario} as it is: ${whole.pumps} pumps, ${whole.days} days, ${windowsPerPump} windows of ${whole.window} samples per pump, ${whole.faults.length} kinds of fault, one process, node ${process.version}`);
await perWindowCosts();
console.log("pumps    windows   seconds   windows/s   stepping/s   connect s   end s   heap MB/device   rss MB/device   delivered   main busy");
for (const pumps of sizes) {
  const interval = 600;
  const scenario = whole ?? { ...base, pumps, faults: [], devices_per_connection: Number(values["per-connection"]), days: Math.max(windowsPerPump, 1) * interval / 86_400, interval_s: interval };
  global.gc?.();
  const before = process.memoryUsage();
  let connectedAt = 0;
  let steppedAt = 0;
  let loopAtConnect = performance.eventLoopUtilization();
  let peak = { heapUsed: 0, rss: 0 };
  const started = performance.now();
  const result = await simulate(scenario, {
    brokerUrl: values.broker,
    ...(values["broker-process"] === true ? { brokerProcess: true } : {}),
    ...(values.tcp === true ? { transport: "tcp" as const } : {}),
    workers: values.workers === undefined ? undefined : Number(values.workers),
    onProgress: () => {
      steppedAt = performance.now() - started;
      const m = process.memoryUsage();
      peak = { heapUsed: Math.max(peak.heapUsed, m.heapUsed), rss: Math.max(peak.rss, m.rss) };
    },
    onConnected: () => {
      connectedAt = performance.now() - started;
      loopAtConnect = performance.eventLoopUtilization();
      const m = process.memoryUsage();
      peak = { heapUsed: Math.max(peak.heapUsed, m.heapUsed), rss: Math.max(peak.rss, m.rss) };
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const windowSeconds = seconds - connectedAt / 1000;
  // The main thread (broker, collector, the fleet's stepping) while the windows ran: busy share.
  const mainBusy = performance.eventLoopUtilization(performance.eventLoopUtilization(), loopAtConnect).utilization;
  // Stepping: from the connected fleet to the last step's windows fed (what a long run sees);
  // the end: the last messages delivered and 1 connection per device closed.
  const steppingSeconds = (steppedAt - connectedAt) / 1000;
  const perDevice = (bytes: number): string => (bytes / pumps / 1048576).toFixed(2);
  console.log([
    String(pumps).padStart(5), String(result.windows).padStart(10), seconds.toFixed(1).padStart(9),
    (windowsPerPump > 0 ? (result.windows / windowSeconds).toFixed(0) : "-").padStart(11),
    (windowsPerPump > 0 ? (result.windows / steppingSeconds).toFixed(0) : "-").padStart(12), (connectedAt / 1000).toFixed(1).padStart(11),
    (seconds - steppedAt / 1000).toFixed(1).padStart(7),
    perDevice(peak.heapUsed - before.heapUsed).padStart(16), perDevice(peak.rss - before.rss).padStart(15),
    `${result.delivered}/${result.published}`.padStart(11), `${(mainBusy * 100).toFixed(0)} %`.padStart(11),
  ].join(" "));
}

/** Microseconds per window of PumpModel.sample and of Firmware.process, for CPU_PUMPS healthy
 *  pumps of the default scenario, after a warm-up, in this thread. */
async function perWindowCosts(): Promise<void> {
  const orders = base.bearing === undefined ? undefined : bearingOrders(base.bearing);
  const startMs = Date.parse(base.start);
  const firmware = await loadRelease();
  const host: FirmwareHost = { clockMs: () => 0, publish: () => true, log: () => {}, storage: new MemoryStorage() };
  const models: PumpModel[] = [];
  const devices: Firmware[] = [];
  for (let i = 0; i < CPU_PUMPS; i++) {
    const random = Random.forItem(base.seed, i);
    models.push(new PumpModel(drawPump(base.pump, random), random, [], orders));
    const device = await Firmware.instantiate(firmware, host);
    device.init(encodeFirmwareConfig(deviceConfig(base, i, models[i])));
    devices.push(device);
  }
  const window = new Float32Array(base.window);
  let sampleMs = 0;
  let processMs = 0;
  for (let round = 0; round < CPU_ROUNDS_WARMUP + CPU_ROUNDS; round++) {
    for (let i = 0; i < CPU_PUMPS; i++) {
      const timeMs = startMs + (round * CPU_PUMPS + i) * 600_000;
      const sampled = performance.now();
      models[i].sample(window, base.sample_rate_hz, timeMs);
      const processed = performance.now();
      devices[i].process(window, timeMs, base.sample_rate_hz);
      if (round >= CPU_ROUNDS_WARMUP) {
        sampleMs += processed - sampled;
        processMs += performance.now() - processed;
      }
    }
  }
  const windows = CPU_ROUNDS * CPU_PUMPS;
  const sampleUs = (sampleMs / windows) * 1000;
  const processUs = (processMs / windows) * 1000;
  console.log(`one thread: PumpModel.sample ${sampleUs.toFixed(0)} us/window, firmware process ${processUs.toFixed(0)} us/window: `
    + `at most ${(1e6 / (sampleUs + processUs)).toFixed(0)} windows/s per core before any messaging`);
}
