// The firmware worker thread: runs host/runtime/firmware.ts's Firmware on calls from the main thread
// (host/runtime/worker-runtime.ts) and implements its imports by synchronous requests to the main
// thread, which owns the device's storage, outbox and clock (host/runtime/worker-protocol.ts). The
// main thread stops this thread when a call overruns its budget; nothing here needs to know.

import { parentPort, workerData } from "node:worker_threads";
import { Firmware, FirmwareError, type FirmwareHost } from "./firmware.js";
import {
  OP_CLOCK, OP_PUBLISH, OP_STORAGE_READ, OP_STORAGE_WRITE, RPC_ANSWERED, RPC_ARGUMENT, RPC_CLOCK_OFFSET, RPC_DATA_OFFSET,
  RPC_LENGTH, RPC_OP, RPC_STATE, RPC_WAITING, type CallRequest, type WorkerData, type WorkerMessage,
} from "./worker-protocol.js";

const port = parentPort!;
const data = workerData as WorkerData;
const control = new Int32Array(data.shared, 0, 4);
const clockCell = new Float64Array(data.shared, RPC_CLOCK_OFFSET, 1);
const payload = new Uint8Array(data.shared, RPC_DATA_OFFSET);

function post(message: WorkerMessage): void {
  port.postMessage(message);
}

/** One synchronous request to the main thread; its answer. */
function request(op: number, argument: number, body?: Uint8Array): number {
  if (body !== undefined) payload.set(body);
  control[RPC_OP] = op;
  control[RPC_ARGUMENT] = argument;
  control[RPC_LENGTH] = body?.length ?? 0;
  Atomics.store(control, RPC_STATE, RPC_WAITING);
  post({ type: "rpc" });
  Atomics.wait(control, RPC_STATE, RPC_WAITING);
  if (Atomics.load(control, RPC_STATE) !== RPC_ANSWERED) throw new Error("the main thread did not answer");
  return control[RPC_OP];
}

const host: FirmwareHost = {
  clockMs: () => {
    request(OP_CLOCK, 0);
    return clockCell[0];
  },
  publish: (kind, bytes) => bytes.length <= payload.length && request(OP_PUBLISH, kind, bytes) === 0,
  log: (level, text) => post({ type: "log", level, text }),
  storage: {
    read: (key) => {
      const length = request(OP_STORAGE_READ, key);
      if (length === -1) return undefined; // absent
      if (length < 0) throw new Error(`the host could not read storage record ${key}`); // the firmware is told -8
      return payload.slice(0, length);
    },
    write: (key, bytes) => {
      if (bytes.length > payload.length) throw new RangeError(`storage record of ${bytes.length} bytes is too large`);
      if (request(OP_STORAGE_WRITE, key, bytes) !== 0) throw new Error(`the host could not write storage record ${key}`);
    },
  },
};

const compiled = { module: data.module, bytes: data.bytes, memoryPagesMax: data.memoryPagesMax };
let firmware: Firmware | undefined;

function running(): Firmware {
  if (firmware === undefined) throw new FirmwareError("crashed", "the firmware is not running; boot it");
  return firmware;
}

async function run(call: CallRequest): Promise<number> {
  switch (call.op) {
    case "boot": {
      firmware = undefined;
      const fresh = await Firmware.instantiate(compiled, host);
      firmware = fresh;
      fresh.init(call.config);
      return fresh.version;
    }
    case "process": return running().process(call.samples, call.timestampMs, call.sampleRateHz);
    case "handleMessage": return running().handleMessage(call.message);
    case "tick": running().tick(call.nowMs); return 0;
    case "selfTest": return running().selfTest();
    case "version": return running().version;
  }
}

port.on("message", (call: CallRequest) => {
  run(call).then(
    (value) => post({ type: "done", id: call.id, value }),
    (error: unknown) => {
      if (error instanceof FirmwareError) {
        post({ type: "failed", id: call.id, code: error.code, message: error.message, ...(error.status !== undefined ? { status: error.status } : {}) });
      } else {
        post({ type: "failed", id: call.id, code: "runtime", message: `the firmware worker failed: ${(error as Error).message}` });
      }
    },
  );
});

post({ type: "ready" });
