// What the main thread and a firmware worker say to each other (host/runtime/worker-runtime.ts and
// host/runtime/firmware-worker.ts). Calls go to the worker by postMessage; the firmware's imports come
// back synchronously: the worker writes a request into a SharedArrayBuffer, rings the main
// thread with a postMessage and blocks in Atomics.wait until the main thread has answered in
// the same buffer. One request is outstanding at a time, so the buffer needs no queue.

import type { FirmwareErrorCode } from "./firmware.js";
import { STORAGE_RECORD_BYTES_MAX } from "../storage/storage.js";

/** Shared buffer layout: four int32 (state, op or answer, argument, payload length), a float64
 *  (the clock's answer), then the payload, large enough for a storage record or a message. */
export const RPC_STATE = 0;
export const RPC_OP = 1;
export const RPC_ARGUMENT = 2;
export const RPC_LENGTH = 3;
export const RPC_CLOCK_OFFSET = 16;
export const RPC_DATA_OFFSET = 32;
export const RPC_DATA_BYTES = STORAGE_RECORD_BYTES_MAX;
export const RPC_BUFFER_BYTES = RPC_DATA_OFFSET + RPC_DATA_BYTES;

/** RPC_STATE values: the worker waits while it is WAITING. */
export const RPC_WAITING = 0;
export const RPC_ANSWERED = 1;

export const OP_CLOCK = 1;
export const OP_PUBLISH = 2;
export const OP_STORAGE_READ = 3;
export const OP_STORAGE_WRITE = 4;

export interface WorkerData {
  module: WebAssembly.Module;
  bytes: Uint8Array;
  memoryPagesMax: number;
  shared: SharedArrayBuffer;
}

export type CallRequest =
  | { id: number; op: "boot"; config: Uint8Array }
  | { id: number; op: "process"; samples: Float32Array; timestampMs: number; sampleRateHz: number }
  | { id: number; op: "handleMessage"; message: Uint8Array }
  | { id: number; op: "tick"; nowMs: number }
  | { id: number; op: "selfTest" }
  | { id: number; op: "version" };

export type WorkerMessage =
  | { type: "ready" }
  | { type: "rpc" }
  | { type: "log"; level: number; text: string }
  | { type: "done"; id: number; value: number }
  | { type: "failed"; id: number; code: FirmwareErrorCode; message: string; status?: number };
