// The firmware in this thread: plain WebAssembly, no loader. Checks a module against ABI v1
// and the host's memory cap before it runs, implements the host imports, moves samples and
// messages through linear memory, and turns every trap into a typed error instead of a crash.
// It runs as fast as the firmware can but cannot stop a firmware that loops forever: the
// supervised path (host/runtime/worker-runtime.ts) runs this same class inside a worker thread.

import { ABI_VERSION, abiProblems, MEMORY_PAGES_MAX_DEFAULT, memoryLimits, memoryProblem, PAGE_BYTES } from "./abi.js";
import { statusName } from "./status.js";
import type { DeviceStorage } from "../storage/storage.js";

export type FirmwareErrorCode =
  /** Refused at load: not a module, or not ABI v1. */
  | "abi_mismatch"
  /** Refused at load: no maximum memory, or one above the host's cap. */
  | "memory_limit"
  /** Faults: a trap; a trap with memory at its declared maximum; a call over its time budget. */
  | "trap" | "memory" | "hang"
  /** Called again after a fault without a reboot. */
  | "crashed"
  /** The firmware answered a negative status. */
  | "status"
  /** The host refused the input before it reached the firmware (e.g. larger than the inbox). */
  | "bad_input"
  /** The runtime around the firmware failed (a worker that would not start, a closed runtime). */
  | "runtime";

/** The faults the supervisor reboots the firmware for. */
export type FaultKind = "trap" | "memory" | "hang";
export const FAULT_KINDS: readonly FaultKind[] = ["trap", "memory", "hang"];

export function isFault(error: unknown): error is FirmwareError & { code: FaultKind } {
  return error instanceof FirmwareError && (FAULT_KINDS as readonly string[]).includes(error.code);
}

export class FirmwareError extends Error {
  readonly code: FirmwareErrorCode;
  /** The firmware's status code, for code "status". */
  readonly status?: number;

  constructor(code: FirmwareErrorCode, message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FirmwareError";
    this.code = code;
    if (status !== undefined) this.status = status;
  }
}

/** What the firmware asks of the device around it. */
export interface FirmwareHost {
  /** Monotonic milliseconds. */
  clockMs(): number;
  /** Takes one message; true once it is safely queued, false to refuse it. */
  publish(kind: number, bytes: Uint8Array): boolean;
  log(level: number, text: string): void;
  storage: DeviceStorage;
}

/** A module checked against the ABI, ready to instantiate any number of times. */
export interface CompiledFirmware {
  module: WebAssembly.Module;
  bytes: Uint8Array;
  /** The module's declared maximum memory, in pages (at most the host's cap). */
  memoryPagesMax: number;
}

export interface CompileOptions {
  /** The largest declared maximum memory accepted, in pages. Default MEMORY_PAGES_MAX_DEFAULT. */
  memoryPagesMax?: number;
}

interface Exports {
  memory: WebAssembly.Memory;
  abi_version(): number;
  fw_version(): number;
  inbox_buffer(): number;
  inbox_capacity(): number;
  init(len: number): number;
  sample_buffer(): number;
  sample_capacity(): number;
  process(count: number, timestampMs: bigint): number;
  handle_message(len: number): number;
  tick(nowMs: bigint): number;
  self_test(): number;
  /** Optional in ABI v1 (ABI_OPTIONAL_EXPORTS): absent from images built before them. */
  spectrum?(kind: number, ptr: number, capacity: number): number;
  spectrum_bin_hz?(): number;
}

/** The spectra the firmware gives of its last analysed window (firmware/ABI.md, "Spectra"): its
 *  Hann power spectrum in (m/s²)² per bin, and the squared-envelope spectrum of the band its
 *  diagnosis used. */
export type SpectrumKind = "power" | "envelope";
export const SPECTRUM_KINDS: Readonly<Record<SpectrumKind, number>> = { power: 0, envelope: 1 };

export interface WindowSpectrum {
  /** Bin k is at k × binHz. */
  binHz: number;
  values: Float32Array;
}

const STORAGE_ABSENT = -1;
const STORAGE_TOO_LARGE = -2;
const STORAGE_FAILED = -8;
const utf8 = new TextDecoder("utf-8", { fatal: false });

export async function compileFirmware(bytes: Uint8Array, options: CompileOptions = {}): Promise<CompiledFirmware> {
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (error) {
    throw new FirmwareError("abi_mismatch", `not a valid WebAssembly module: ${(error as Error).message}`, undefined, { cause: error });
  }
  const problems = abiProblems(bytes, module);
  if (problems.length > 0) {
    throw new FirmwareError("abi_mismatch", `the module does not implement firmware ABI v${ABI_VERSION}: it ${problems.join("; it ")}`);
  }
  const pagesMax = options.memoryPagesMax ?? MEMORY_PAGES_MAX_DEFAULT;
  const problem = memoryProblem(bytes, pagesMax);
  if (problem !== undefined) {
    throw new FirmwareError("memory_limit", `the module ${problem}: build it with --maximumMemory ${pagesMax} or less`);
  }
  const limits = memoryLimits(bytes);
  if (typeof limits === "string" || limits.maximumPages === undefined) throw new Error("memoryProblem passed a module without a bounded memory");
  return { module, bytes, memoryPagesMax: limits.maximumPages };
}

export class Firmware {
  /** Why the firmware stopped, once it has trapped; every later call throws. */
  crashReason: string | undefined;
  private panicText: string | undefined;
  private exports!: Exports;

  private constructor(private readonly host: FirmwareHost, private readonly memoryBytesMax: number) {}

  static async instantiate(compiled: CompiledFirmware, host: FirmwareHost): Promise<Firmware> {
    const firmware = new Firmware(host, compiled.memoryPagesMax * PAGE_BYTES);
    const instance = await WebAssembly.instantiate(compiled.module, { host: firmware.imports() });
    firmware.exports = instance.exports as unknown as Exports;
    const abi = firmware.call(() => firmware.exports.abi_version());
    if (abi !== ABI_VERSION) throw new FirmwareError("abi_mismatch", `firmware reports ABI v${abi}; this host implements v${ABI_VERSION}`);
    return firmware;
  }

  get version(): number {
    return this.call(() => this.exports.fw_version());
  }

  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  private bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer, ptr, len);
  }

  private imports(): Record<string, (...args: never[]) => unknown> {
    return {
      clock_ms: (): bigint => BigInt(Math.floor(this.host.clockMs())),
      log: (level: number, ptr: number, len: number): void => {
        this.host.log(level, utf8.decode(this.bytes(ptr, len)));
      },
      publish: (kind: number, ptr: number, len: number): number =>
        (this.host.publish(kind, this.bytes(ptr, len).slice()) ? 0 : 1),
      panic: (ptr: number, len: number): void => {
        this.panicText = utf8.decode(this.bytes(ptr, len));
      },
      storage_read: (key: number, ptr: number, capacity: number): number => {
        let record: Uint8Array | undefined;
        try {
          record = this.host.storage.read(key);
        } catch (error) {
          this.host.log(3, `storage read of record ${key} failed: ${(error as Error).message}`);
          return STORAGE_FAILED;
        }
        if (record === undefined) return STORAGE_ABSENT;
        if (record.length > capacity) return STORAGE_TOO_LARGE;
        this.bytes(ptr, record.length).set(record);
        return record.length;
      },
      storage_write: (key: number, ptr: number, len: number): number => {
        try {
          this.host.storage.write(key, this.bytes(ptr, len).slice());
          return 0;
        } catch (error) {
          this.host.log(3, `storage write of record ${key} failed: ${(error as Error).message}`);
          return STORAGE_FAILED;
        }
      },
    };
  }

  /** Runs one export; a trap marks the firmware crashed and becomes a FirmwareError: "memory"
   *  when its memory had grown to the declared maximum (it ran out), "trap" otherwise. */
  private call<T>(run: () => T): T {
    if (this.crashReason !== undefined) {
      throw new FirmwareError("crashed", `firmware crashed earlier (${this.crashReason}); reboot it`);
    }
    try {
      return run();
    } catch (error) {
      if (error instanceof FirmwareError) throw error;
      const trap = (error as Error).message;
      this.crashReason = this.panicText !== undefined ? `panic: ${this.panicText}` : `trap: ${trap}`;
      if (this.memoryBytes >= this.memoryBytesMax) {
        const pages = this.memoryBytesMax / PAGE_BYTES;
        this.crashReason = `memory exhausted at its ${pages}-page maximum (${this.crashReason})`;
        throw new FirmwareError("memory", `firmware ran out of memory: ${this.crashReason}`, undefined, { cause: error });
      }
      throw new FirmwareError("trap", `firmware trapped: ${this.crashReason}`, undefined, { cause: error });
    }
  }

  private check(status: number, what: string): number {
    if (status < 0) throw new FirmwareError("status", `${what} failed: ${statusName(status)} (${status})`, status);
    return status;
  }

  private writeInbox(message: Uint8Array): void {
    const capacity = this.call(() => this.exports.inbox_capacity());
    if (message.length === 0 || message.length > capacity) {
      throw new FirmwareError("bad_input", `message of ${message.length} bytes does not fit the firmware's ${capacity}-byte inbox`);
    }
    this.bytes(this.call(() => this.exports.inbox_buffer()), message.length).set(message);
  }

  /** Starts the firmware with a CBOR configuration (protocol/messages.ts). */
  init(config: Uint8Array): void {
    this.writeInbox(config);
    this.check(this.call(() => this.exports.init(config.length)), "init");
  }

  /** Feeds samples taken from `timestampMs` on at `sampleRateHz`, splitting them to fit the
   *  firmware's sample buffer. Returns the number of messages the firmware published. */
  process(samples: Float32Array, timestampMs: number, sampleRateHz: number): number {
    let published = 0;
    let offset = 0;
    while (offset < samples.length) {
      const capacity = this.call(() => this.exports.sample_capacity());
      if (capacity <= 0) throw new FirmwareError("status", "firmware offers no room for samples: is it initialised?", -1);
      const count = Math.min(capacity, samples.length - offset);
      const target = new Float32Array(this.exports.memory.buffer, this.call(() => this.exports.sample_buffer()), count);
      target.set(samples.subarray(offset, offset + count));
      const at = BigInt(Math.round(timestampMs + (offset * 1000) / sampleRateHz));
      published += this.check(this.call(() => this.exports.process(count, at)), "process");
      offset += count;
    }
    return published;
  }

  /** Hands a command to the firmware; returns its status (negative: the command failed,
   *  and the firmware has already published an error reply). */
  handleMessage(message: Uint8Array): number {
    this.writeInbox(message);
    return this.call(() => this.exports.handle_message(message.length));
  }

  tick(nowMs: number): void {
    this.check(this.call(() => this.exports.tick(BigInt(Math.floor(nowMs)))), "tick");
  }

  /** A spectrum of the last analysed window, computed by the firmware into memory it does not
   *  use: the larger of the free part of the sample buffer and the inbox. Throws
   *  FirmwareError "status" with -12 (no data) before a window is analysed, after a window whose
   *  sensor failed or a new configuration, and for "envelope" when no band was enveloped (no
   *  bearing configured, or no running speed); "abi_mismatch" for an image without the export. */
  spectrum(kind: SpectrumKind): WindowSpectrum {
    const { spectrum, spectrum_bin_hz: binHz } = this.exports;
    if (spectrum === undefined || binHz === undefined) {
      throw new FirmwareError("abi_mismatch", "this firmware image has no spectrum export (it predates it): update the firmware");
    }
    const samples = this.call(() => this.exports.sample_capacity());
    const inbox = this.call(() => this.exports.inbox_capacity()) >> 2;
    const ptr = samples >= inbox ? this.call(() => this.exports.sample_buffer()) : this.call(() => this.exports.inbox_buffer());
    const count = this.check(this.call(() => spectrum(SPECTRUM_KINDS[kind], ptr, Math.max(samples, inbox))), `spectrum ${kind}`);
    const values = new Float32Array(this.exports.memory.buffer, ptr, count).slice();
    return { binHz: this.call(() => binHz()), values };
  }

  selfTest(): number {
    return this.call(() => this.exports.self_test());
  }
}
