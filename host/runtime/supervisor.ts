// The reboot policy around a firmware runtime: every call goes through here, one at a time; a
// fault (trap, memory exhausted, hang) reboots the firmware with its configuration before the
// next call runs, and is reported once the reboot has been tried. A firmware that keeps
// faulting is not rebooted for ever: `faultsMax` faults within `faultWindowMs` of the device's
// clock and the supervisor gives up, reports the device failed and refuses further calls until
// someone resets it (an operator, or the update agent with another image). The mechanism of
// running and stopping firmware is the runtime's (host/runtime/runtime.ts); this file is only policy.

import { FirmwareError, isFault, type FaultKind } from "./firmware.js";
import type { FirmwareRuntime, RuntimeCall } from "./runtime.js";

/** Faults within the window that make the device failed: 5 in 10 minutes (systemd's
 *  StartLimitBurst idea). A firmware that traps on every boot fails within 5 attempts. */
export const FAULTS_MAX_DEFAULT = 5;
export const FAULT_WINDOW_MS_DEFAULT = 10 * 60_000;

export interface FaultReport {
  kind: FaultKind;
  reason: string;
  /** The call that faulted ("boot" for a fault in init or in a reboot). */
  call: RuntimeCall;
  /** Milliseconds from the call's start to its failure (for a hang: when it was stopped). */
  elapsedMs: number;
  /** Whether the firmware runs again: false for the fault that made the device failed. */
  rebooted: boolean;
}

export interface FailureReport {
  faults: number;
  windowMs: number;
  reason: string;
}

export interface SupervisorOptions {
  runtime: FirmwareRuntime;
  /** The CBOR configuration every boot starts with. */
  config: () => Uint8Array;
  /** The device's clock, milliseconds: the fault window is measured on it. */
  clock: () => number;
  faultsMax?: number;
  faultWindowMs?: number;
  /** Told about each fault after its reboot was tried, in order. */
  onFault: (fault: FaultReport) => void;
  /** Told once when the supervisor gives up. */
  onFailed: (failure: FailureReport) => void;
}

export type SupervisorState = "stopped" | "running" | "failed";

export class Supervisor {
  state: SupervisorState = "stopped";
  /** The running firmware's version (from its last successful boot). */
  version = 0;
  private readonly faultTimes: number[] = [];
  private readonly faultsMax: number;
  private readonly faultWindowMs: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SupervisorOptions) {
    this.faultsMax = options.faultsMax ?? FAULTS_MAX_DEFAULT;
    this.faultWindowMs = options.faultWindowMs ?? FAULT_WINDOW_MS_DEFAULT;
    if (!Number.isInteger(this.faultsMax) || this.faultsMax < 1) throw new RangeError(`faultsMax ${this.faultsMax} is not a positive integer`);
    if (!(this.faultWindowMs >= 0)) throw new RangeError(`faultWindowMs ${this.faultWindowMs} is not a non-negative number`);
  }

  get runtime(): FirmwareRuntime {
    return this.options.runtime;
  }

  /** The first boot. A refused configuration (FirmwareError "status") throws; a fault is
   *  handled like any other, so the device may come out of this failed rather than running. */
  boot(): Promise<void> {
    return this.serial(() => this.bootOnce());
  }

  /** A reboot asked for (the firmware's "reboot" command). */
  reboot(): Promise<void> {
    return this.serial(async () => {
      if (this.state === "failed") return;
      await this.bootOnce();
    });
  }

  /** Forgets the fault history and boots again, whatever the state: an operator's decision. */
  reset(): Promise<void> {
    return this.serial(async () => {
      this.faultTimes.length = 0;
      await this.bootOnce();
    });
  }

  /**
   * Runs one call on the running firmware. Resolves to its value, or to undefined when the
   * firmware is not running (failed) or the call faulted (the fault is then handled: reboot
   * or failure, and reported). FirmwareError "status" and "bad_input" are the caller's.
   */
  run<T>(call: RuntimeCall, body: (runtime: FirmwareRuntime) => Promise<T>): Promise<T | undefined> {
    return this.serial(async () => {
      if (this.state !== "running") return undefined;
      const started = performance.now();
      try {
        return await body(this.options.runtime);
      } catch (error) {
        if (!isFault(error)) throw error;
        await this.recover(error, call, performance.now() - started);
        return undefined;
      }
    });
  }

  private serial<T>(body: () => Promise<T>): Promise<T> {
    const result = this.queue.then(body);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async bootOnce(): Promise<void> {
    const started = performance.now();
    try {
      this.version = await this.options.runtime.boot(this.options.config());
      this.state = "running";
    } catch (error) {
      if (!isFault(error)) throw error;
      await this.recover(error, "boot", performance.now() - started);
    }
  }

  /** Counts the fault and reboots until a boot succeeds or the fault limit is reached. */
  private async recover(first: FirmwareError & { code: FaultKind }, firstCall: RuntimeCall, firstElapsedMs: number): Promise<void> {
    let fault = first;
    let call = firstCall;
    let elapsedMs = firstElapsedMs;
    this.state = "stopped";
    for (;;) {
      const now = this.options.clock();
      this.faultTimes.push(now);
      while (this.faultTimes.length > 0 && this.faultTimes[0] < now - this.faultWindowMs) this.faultTimes.shift();
      const report = { kind: fault.code, reason: fault.message, call, elapsedMs };
      if (this.faultTimes.length >= this.faultsMax) {
        this.options.onFault({ ...report, rebooted: false });
        this.fail(`${this.faultTimes.length} faults within ${this.faultWindowMs / 1000} s, the last: ${fault.message}`);
        return;
      }
      const started = performance.now();
      try {
        this.version = await this.options.runtime.boot(this.options.config());
        this.state = "running";
        this.options.onFault({ ...report, rebooted: true });
        return;
      } catch (error) {
        this.options.onFault({ ...report, rebooted: true });
        if (!isFault(error)) {
          this.fail(`the reboot after a ${fault.code} fault failed: ${(error as Error).message}`);
          return;
        }
        fault = error;
        call = "boot";
        elapsedMs = performance.now() - started;
      }
    }
  }

  private fail(reason: string): void {
    this.state = "failed";
    this.options.onFailed({ faults: this.faultTimes.length, windowMs: this.faultWindowMs, reason });
  }
}
