// The supervised way to run firmware: the instance lives in a worker thread, every call has a
// time budget, and a call that overruns it terminates the worker (V8 interrupts the wasm loop)
// and fails with FirmwareError "hang"; the next boot() starts a fresh worker. Traps come back
// as FirmwareError "trap" or "memory" from the worker, which stays usable for the next boot.
//
// The firmware's imports are answered here, on the main thread, synchronously for the worker
// (host/runtime/worker-protocol.ts): the device's outbox, storage and clock stay in one place, owned
// by one thread, whatever happens to workers. A worker killed in the middle of a publish has
// either had its message appended (and fsynced) or not; nothing of the outbox is in it.

import { Worker } from "node:worker_threads";
import { FirmwareError, type CompiledFirmware, type FirmwareErrorCode, type FirmwareHost } from "./firmware.js";
import type { FirmwareRuntime, RuntimeCall } from "./runtime.js";
import {
  OP_CLOCK, OP_PUBLISH, OP_STORAGE_READ, OP_STORAGE_WRITE, RPC_ANSWERED, RPC_ARGUMENT, RPC_BUFFER_BYTES, RPC_CLOCK_OFFSET,
  RPC_DATA_OFFSET, RPC_LENGTH, RPC_OP, RPC_STATE, type CallRequest, type WorkerData, type WorkerMessage,
} from "./worker-protocol.js";

export const BUDGET_MS_DEFAULT = 1000;
/** boot instantiates the module and runs init: the firmware sizes its buffers there. */
export const BOOT_BUDGET_MS_DEFAULT = 2000;
/** Starting a worker (loading this code in a new thread) is not the firmware's time. */
export const WORKER_START_TIMEOUT_MS_DEFAULT = 30_000;

const WORKER_ENTRY = new URL("./firmware-worker-entry.mjs", import.meta.url);
const STORAGE_ABSENT = -1;
const STORAGE_FAILED = -8;

export interface WorkerRuntimeOptions {
  /** Time budget of a call, milliseconds. Default BUDGET_MS_DEFAULT. */
  budgetMs?: number;
  /** Budgets of particular calls; boot defaults to BOOT_BUDGET_MS_DEFAULT. */
  budgetsMs?: Partial<Record<RuntimeCall, number>>;
  workerStartTimeoutMs?: number;
}

type CallBody = CallRequest extends infer C ? (C extends { id: number } ? Omit<C, "id"> : never) : never;

interface Pending {
  resolve: (value: number) => void;
  reject: (error: Error) => void;
}

/** One worker and the state of its conversation with the main thread. */
interface Live {
  worker: Worker;
  control: Int32Array;
  clockCell: Float64Array;
  payload: Uint8Array;
  pending: Map<number, Pending>;
  stopped: boolean;
}

export class WorkerRuntime implements FirmwareRuntime {
  readonly isolation = "worker";
  /** Workers started, the first included: one more after every hang. */
  workersStarted = 0;
  private live: Live | undefined;
  private nextId = 1;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly compiled: CompiledFirmware,
    private readonly host: FirmwareHost,
    private readonly options: WorkerRuntimeOptions = {},
  ) {
    for (const [name, value] of Object.entries({ budgetMs: options.budgetMs, ...options.budgetsMs })) {
      if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new RangeError(`time budget ${name} ${value} is not a positive number of milliseconds`);
    }
  }

  budgetOf(call: RuntimeCall): number {
    return this.options.budgetsMs?.[call] ?? (call === "boot" ? BOOT_BUDGET_MS_DEFAULT : (this.options.budgetMs ?? BUDGET_MS_DEFAULT));
  }

  boot(config: Uint8Array): Promise<number> {
    return this.call("boot", { op: "boot", config });
  }

  process(samples: Float32Array, timestampMs: number, sampleRateHz: number): Promise<number> {
    return this.call("process", { op: "process", samples, timestampMs, sampleRateHz });
  }

  handleMessage(message: Uint8Array): Promise<number> {
    return this.call("handleMessage", { op: "handleMessage", message });
  }

  async tick(nowMs: number): Promise<void> {
    await this.call("tick", { op: "tick", nowMs });
  }

  selfTest(): Promise<number> {
    return this.call("selfTest", { op: "selfTest" });
  }

  version(): Promise<number> {
    return this.call("version", { op: "version" });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.stop("the firmware runtime was closed");
  }

  /** Calls run one at a time, in order: the firmware is single-threaded and so is its budget. */
  private call(name: RuntimeCall, body: CallBody): Promise<number> {
    const result = this.queue.then(() => this.dispatch(name, body));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async dispatch(name: RuntimeCall, body: CallBody): Promise<number> {
    if (this.closed) throw new FirmwareError("runtime", "the firmware runtime is closed");
    if (this.live === undefined) {
      if (name !== "boot") throw new FirmwareError("crashed", "the firmware is not running (its worker was stopped); boot it");
      this.live = await this.start();
    }
    const live = this.live;
    const budgetMs = this.budgetOf(name);
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        live.pending.delete(id);
        const error = new FirmwareError("hang", `firmware ${name} did not return within its ${budgetMs} ms budget; its worker was stopped`);
        this.stop(error.message).then(() => reject(error), () => reject(error));
      }, budgetMs);
      live.pending.set(id, {
        resolve: (value) => { clearTimeout(timer); resolve(value); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      });
      live.worker.postMessage({ id, ...body } as CallRequest);
    });
  }

  private start(): Promise<Live> {
    const shared = new SharedArrayBuffer(RPC_BUFFER_BYTES);
    const workerData: WorkerData = {
      module: this.compiled.module, bytes: this.compiled.bytes, memoryPagesMax: this.compiled.memoryPagesMax, shared,
    };
    const worker = new Worker(WORKER_ENTRY, { workerData, stdout: false, stderr: false });
    worker.unref(); // an idle firmware does not keep the process alive; pending calls have timers that do
    const live: Live = {
      worker,
      control: new Int32Array(shared, 0, 4),
      clockCell: new Float64Array(shared, RPC_CLOCK_OFFSET, 1),
      payload: new Uint8Array(shared, RPC_DATA_OFFSET),
      pending: new Map(),
      stopped: false,
    };
    this.workersStarted += 1;
    const timeoutMs = this.options.workerStartTimeoutMs ?? WORKER_START_TIMEOUT_MS_DEFAULT;
    return new Promise<Live>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        void worker.terminate();
        reject(new FirmwareError("runtime", `the firmware worker did not start within ${timeoutMs} ms`));
      }, timeoutMs);
      worker.on("message", (message: WorkerMessage) => {
        if (message.type === "ready") {
          ready = true;
          clearTimeout(timer);
          resolve(live);
        } else {
          this.onMessage(live, message);
        }
      });
      worker.on("error", (error) => {
        clearTimeout(timer);
        if (!ready) reject(new FirmwareError("runtime", `the firmware worker failed to start: ${error.message}`, undefined, { cause: error }));
        this.lost(live, `the firmware worker failed: ${error.message}`);
      });
      worker.on("exit", (code) => {
        clearTimeout(timer);
        if (!ready) reject(new FirmwareError("runtime", `the firmware worker exited with code ${code} before it started`));
        this.lost(live, `the firmware worker exited with code ${code}`);
      });
    });
  }

  /** A worker that died by itself: its calls fail as traps (the firmware is gone either way). */
  private lost(live: Live, reason: string): void {
    if (live.stopped) return;
    live.stopped = true;
    if (this.live === live) this.live = undefined;
    for (const pending of live.pending.values()) pending.reject(new FirmwareError("trap", reason));
    live.pending.clear();
  }

  /** Stops the current worker on purpose (a hang, or close): terminate interrupts running wasm. */
  private async stop(reason: string): Promise<void> {
    const live = this.live;
    if (live === undefined) return;
    this.live = undefined;
    live.stopped = true;
    for (const pending of live.pending.values()) pending.reject(new FirmwareError("runtime", reason));
    live.pending.clear();
    await live.worker.terminate();
  }

  private onMessage(live: Live, message: WorkerMessage): void {
    if (live.stopped) return; // a stopped worker's last words
    switch (message.type) {
      case "rpc": this.answer(live); break;
      case "log": this.host.log(message.level, message.text); break;
      case "done": this.settle(live, message.id, (pending) => pending.resolve(message.value)); break;
      case "failed": {
        const error = new FirmwareError(message.code as FirmwareErrorCode, message.message, message.status);
        this.settle(live, message.id, (pending) => pending.reject(error));
        break;
      }
    }
  }

  private settle(live: Live, id: number, how: (pending: Pending) => void): void {
    const pending = live.pending.get(id);
    if (pending === undefined) return;
    live.pending.delete(id);
    how(pending);
  }

  /** Answers the worker's one outstanding import call and wakes it. */
  private answer(live: Live): void {
    const { control, payload } = live;
    const op = control[RPC_OP];
    const argument = control[RPC_ARGUMENT];
    const length = control[RPC_LENGTH];
    let answer: number;
    try {
      answer = this.serve(live, op, argument, payload.slice(0, length));
    } catch (error) {
      this.host.log(3, `firmware import ${op} failed on the host: ${(error as Error).message}`);
      answer = op === OP_PUBLISH ? 1 : STORAGE_FAILED;
    }
    control[RPC_OP] = answer;
    Atomics.store(control, RPC_STATE, RPC_ANSWERED);
    Atomics.notify(control, RPC_STATE);
  }

  private serve(live: Live, op: number, argument: number, body: Uint8Array): number {
    switch (op) {
      case OP_CLOCK:
        live.clockCell[0] = this.host.clockMs();
        return 0;
      case OP_PUBLISH:
        return this.host.publish(argument, body) ? 0 : 1;
      case OP_STORAGE_READ: {
        const record = this.host.storage.read(argument);
        if (record === undefined) return STORAGE_ABSENT;
        if (record.length > live.payload.length) return STORAGE_FAILED;
        live.payload.set(record);
        return record.length;
      }
      case OP_STORAGE_WRITE:
        this.host.storage.write(argument, body);
        return 0;
      default:
        throw new Error(`unknown import request ${op}`);
    }
  }
}
