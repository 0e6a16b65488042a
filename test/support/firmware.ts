// The release firmware for tests, compiled once per file, and what its telemetry holds.

import { FirmwareError, type CompiledFirmware } from "../../host/runtime/firmware.js";
import { loadRelease } from "../../host/runtime/images.js";

let compiled: Promise<CompiledFirmware> | undefined;
/** The release image, compiled once for the whole test file. */
export function releaseFirmware(): Promise<CompiledFirmware> {
  compiled ??= loadRelease();
  return compiled;
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

/** The firmware status a call failed with (a FirmwareError "status"), or undefined when it did
 *  not fail; any other error is thrown on. */
export function statusOf(run: () => unknown): number | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof FirmwareError && error.code === "status") return error.status;
    throw error;
  }
}
