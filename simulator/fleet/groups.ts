// The fleet's groups of pumps as the fleet drives them: one PumpGroup in this thread, or one per
// worker thread (fleet-worker.ts) driven by messages. Either way a group runs its calls one after
// the other, so the fleet may hand it the next step before the last one has finished.

import os from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { LogSink } from "../../host/device/device.js";
import type { CompiledFirmware } from "../../host/runtime/firmware.js";
import { loadRelease, RELEASE_IMAGE } from "../../host/runtime/images.js";
import type { FleetWorkerData } from "./fleet-worker.js";
import { PumpGroup, type GroupPumpSummary, type SettleMark } from "./pump-group.js";

/** A worker thread is worth starting for at least this many pumps. */
const PUMPS_PER_WORKER_MIN = 50;
const WORKER_ENTRY = new URL("./fleet-worker-entry.mjs", import.meta.url);

/** What the fleet asks of a group of pumps, in this thread or in a worker. */
export interface Group {
  step(step: number): Promise<number>;
  /** Moves the group's clock on to `ms` between steps (while a campaign runs). */
  advance(ms: number): Promise<void>;
  /** Resolves once nothing is under way in the group (pump-group.ts, settled). */
  settle(): Promise<SettleMark>;
  finish(): Promise<GroupPumpSummary[]>;
  close(): Promise<void>;
}

/** What every group of a run is made of, but its pumps and the firmware it runs. */
export type GroupData = Omit<FleetWorkerData, "indices" | "firmwarePath" | "hubPort">;

/** Worker threads for a fleet: one per core for a fleet large enough to share out. */
export function defaultWorkers(pumps: number): number {
  return pumps < PUMPS_PER_WORKER_MIN * 2 ? 1 : Math.min(os.availableParallelism(), Math.floor(pumps / PUMPS_PER_WORKER_MIN));
}

/** The pumps at `indices` in `workers` groups: one in this thread (on `firmware`, else the release
 *  image; told every window fed), or one per worker thread, the pumps dealt out in turn. */
export async function startGroups(data: GroupData, indices: number[], workers: number, options: {
  firmware?: CompiledFirmware;
  log?: LogSink;
  hubPort?: () => FleetWorkerData["hubPort"];
  onWindow?: (device: string, timestampMs: number, samples: Float32Array) => void;
}): Promise<Group[]> {
  if (workers === 1) {
    const firmware = options.firmware ?? (await loadRelease());
    const group = await PumpGroup.create({ ...data, indices, firmware, log: options.log, hubPort: options.hubPort?.() });
    return [inThisThread(group, options.onWindow)];
  }
  const firmwarePath = fileURLToPath(RELEASE_IMAGE);
  const shares = Array.from({ length: workers }, (_, w) => indices.filter((_, i) => i % workers === w));
  return Promise.all(shares.map((share) => inWorker({ ...data, indices: share, firmwarePath, hubPort: options.hubPort?.() }, options.log)));
}

/** A PumpGroup in this thread, its calls one after the other. */
function inThisThread(group: PumpGroup, onWindow?: (device: string, timestampMs: number, samples: Float32Array) => void): Group {
  let last: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const next = last.then(work);
    last = next.catch(() => undefined);
    return next;
  };
  return {
    step: (step) => inTurn(() => group.step(step, onWindow)), advance: (ms) => inTurn(() => group.advance(ms)), settle: () => inTurn(() => group.settled()),
    finish: () => inTurn(() => group.finish()), close: () => inTurn(() => group.close()),
  };
}

/** A PumpGroup in a worker thread, driven by messages. */
async function inWorker(data: FleetWorkerData, log?: LogSink): Promise<Group> {
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
    advance: async (ms) => {
      worker.postMessage({ type: "advance", ms });
      await next();
    },
    settle: async () => {
      worker.postMessage({ type: "settle" });
      return (await next()).mark as SettleMark;
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
