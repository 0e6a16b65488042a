// Loads the built firmware for tests: the release build through the production host runtime,
// with a recording host, and paths to both builds.

import fs from "node:fs";
import { compileFirmware, Firmware, type CompiledFirmware, type FirmwareHost } from "../../host/runtime/firmware.js";
import { MemoryStorage } from "../../host/storage/storage.js";

export const RELEASE_WASM = new URL("../../build/firmware.wasm", import.meta.url);
export const DEBUG_WASM = new URL("../../build/firmware.debug.wasm", import.meta.url);

export function releaseBytes(): Uint8Array {
  return new Uint8Array(fs.readFileSync(RELEASE_WASM));
}

let compiled: Promise<CompiledFirmware> | undefined;
export function releaseFirmware(): Promise<CompiledFirmware> {
  compiled ??= compileFirmware(releaseBytes());
  return compiled;
}

export interface Published {
  kind: number;
  bytes: Uint8Array;
}

/** A host that records what the firmware does, on a clock the test moves. */
export class RecordingHost implements FirmwareHost {
  nowMs = 0;
  refuse = false;
  readonly published: Published[] = [];
  readonly logs: { level: number; text: string }[] = [];
  storage = new MemoryStorage();

  clockMs(): number {
    return this.nowMs;
  }

  publish(kind: number, bytes: Uint8Array): boolean {
    if (this.refuse) return false;
    this.published.push({ kind, bytes });
    return true;
  }

  log(level: number, text: string): void {
    this.logs.push({ level, text });
  }
}

export async function bootRelease(host = new RecordingHost()): Promise<{ firmware: Firmware; host: RecordingHost }> {
  const firmware = await Firmware.instantiate(await releaseFirmware(), host);
  return { firmware, host };
}

/** Every record of a telemetry pack, in order, with its SenML unit ("" for a text value). */
export const TELEMETRY_UNITS: [string, string][] = [
  ["acc_rms", "m/s2"], ["acc_peak", "m/s2"], ["acc_p2p", "m/s2"], ["crest", "/"], ["kurtosis", "/"],
  ["skewness", "/"], ["vel_rms", "m/s"], ["iso_zone", ""], ["shaft_hz", "Hz"], ["v_1x", "m/s"],
  ["v_2x", "m/s"], ["v_3x", "m/s"], ["v_vp", "m/s"], ["bpfo", "/"], ["bpfi", "/"], ["bsf", "/"],
  ["bpfi_sb", "/"], ["bpfo_lp", "/"], ["bpfi_lp", "/"], ["bsf_lp", "/"], ["shaft_conf", "/"], ["env_s", "s"], ["band_lo", "Hz"], ["band_hi", "Hz"], ["hf_floor", "m/s2"], ["fault", ""],
  ["strength", "/"], ["severity", "/"], ["health", "/"], ["alarm", ""], ["health_trend", "/"],
];

/** TELEMETRY_UNITS with the records of the given findings after "health", as the firmware
 *  publishes them: "find_<kind>" (strength) and "conf_<kind>" (confidence) each. */
export function telemetryUnitsWith(findings: string[]): [string, string][] {
  const at = TELEMETRY_UNITS.findIndex(([name]) => name === "health") + 1;
  const added = findings.flatMap((kind): [string, string][] => [[`find_${kind}`, "/"], [`conf_${kind}`, "/"]]);
  return [...TELEMETRY_UNITS.slice(0, at), ...added, ...TELEMETRY_UNITS.slice(at)];
}

/** Host imports for a firmware test that records nothing: the debug harnesses' host. */
export function silentHostImports(): Record<string, (...args: never[]) => unknown> {
  return {
    clock_ms: () => 0n,
    log: () => {},
    publish: () => 0,
    panic: () => {},
    storage_read: () => -1,
    storage_write: () => 0,
  };
}
