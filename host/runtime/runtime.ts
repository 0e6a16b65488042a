// One asynchronous interface to a running firmware, whichever way it runs: InlineRuntime calls
// the module in this thread (fast; cannot stop a firmware that never returns), WorkerRuntime
// (host/runtime/worker-runtime.ts) runs it in a worker thread under a time budget per call. The device
// and its supervisor speak only this interface.

import { Firmware, FirmwareError, type CompiledFirmware, type FirmwareHost } from "./firmware.js";

export type Isolation = "worker" | "inline";

/** The calls the host makes into the firmware; each has its own time budget in a worker. */
export type RuntimeCall = "boot" | "process" | "handleMessage" | "tick" | "selfTest" | "version";

/**
 * A firmware behind one asynchronous interface. A fault (FirmwareError "trap", "memory" or
 * "hang") leaves the runtime without a running instance until the next boot(); any other call
 * until then throws FirmwareError "crashed". Negative statuses throw FirmwareError "status".
 */
export interface FirmwareRuntime {
  readonly isolation: Isolation;
  /** Starts a new instance of the module (in a fresh worker if the last one was stopped) and
   *  runs init with the CBOR configuration; resolves to the firmware's version. */
  boot(config: Uint8Array): Promise<number>;
  /** Feeds samples; the number of messages the firmware published. */
  process(samples: Float32Array, timestampMs: number, sampleRateHz: number): Promise<number>;
  /** Hands over a command; the firmware's status (it has already replied). */
  handleMessage(message: Uint8Array): Promise<number>;
  tick(nowMs: number): Promise<void>;
  selfTest(): Promise<number>;
  version(): Promise<number>;
  /** Stops the instance (and its worker); further calls throw FirmwareError "runtime". */
  close(): Promise<void>;
}

/** The firmware in this thread: every call runs to completion before it returns. */
export class InlineRuntime implements FirmwareRuntime {
  readonly isolation = "inline";
  private firmware: Firmware | undefined;
  private closed = false;

  constructor(private readonly compiled: CompiledFirmware, private readonly host: FirmwareHost) {}

  private running(): Firmware {
    if (this.closed) throw new FirmwareError("runtime", "the firmware runtime is closed");
    if (this.firmware === undefined) throw new FirmwareError("crashed", "the firmware is not running; boot it");
    return this.firmware;
  }

  async boot(config: Uint8Array): Promise<number> {
    if (this.closed) throw new FirmwareError("runtime", "the firmware runtime is closed");
    this.firmware = undefined;
    const firmware = await Firmware.instantiate(this.compiled, this.host);
    this.firmware = firmware;
    firmware.init(config);
    return firmware.version;
  }

  async process(samples: Float32Array, timestampMs: number, sampleRateHz: number): Promise<number> {
    return this.running().process(samples, timestampMs, sampleRateHz);
  }

  async handleMessage(message: Uint8Array): Promise<number> {
    return this.running().handleMessage(message);
  }

  async tick(nowMs: number): Promise<void> {
    this.running().tick(nowMs);
  }

  async selfTest(): Promise<number> {
    return this.running().selfTest();
  }

  async version(): Promise<number> {
    return this.running().version;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.firmware = undefined;
  }
}
