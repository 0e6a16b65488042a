// Replays a recording through the release firmware, window by window, exactly as a device
// runs it (host shim, ABI, SenML out), and gathers what it published: how a firmware
// developer checks a build against real data. Used by `impeller analyze`.

import fs from "node:fs";
import { Device } from "../../host/device/device.js";
import type { CompiledFirmware } from "../../host/runtime/firmware.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import { decodeEvent, FAULTS, ACQUISITION_WINDOWS_MAX, type Fault, type AccelerationUnits, type FirmwareConfig, type MaintenanceAction, type SensorFault } from "../../protocol/messages.js";
import { ProtocolError } from "../../protocol/errors.js";
import { decodeSenml, resolveSenml } from "../../protocol/senml.js";
import { loadRelease } from "../../host/runtime/images.js";

export { FAULTS, type Fault };

/** Bearings known by name: [rolling elements, element diameter mm, pitch diameter mm, contact angle deg]. */
export const BEARINGS: Record<string, [number, number, number, number]> = {
  "6205": [9, 7.94, 39.04, 0], // SKF 6205-2RS JEM, the CWRU drive end
  "6203": [8, 6.7462, 28.4988, 0], // SKF 6203-2RS JEM, the CWRU fan end
};

export class ReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplayError";
  }
}

export interface ReplayOptions {
  rateHz: number;
  rpm?: number;
  /** The range the speed is sought in when no rpm is given (the firmware's default: 600–3600). */
  rpmRange?: [number, number];
  geometry?: [number, number, number, number];
  window: number;
  /** Seconds between snapshots; undefined for one continuous recording. */
  intervalS?: number;
  /** The start of each snapshot in seconds, for snapshots taken at uneven times (increasing,
   *  one per window at least); overrides intervalS. */
  timesS?: readonly number[];
  vanes?: number;
  isoGroup?: 1 | 2;
  foundation?: "rigid" | "flexible";
  /** The recording's units (the firmware's configuration): g unless told. */
  units?: AccelerationUnits;
  /** The consecutive windows each measurement takes (the firmware's `windows`: its trend takes
   *  one value a measurement): a snapshot's windows, at most the firmware's 64 (a longer
   *  snapshot gives the trend a value every 64 windows). 1 unless told. */
  acquisitionWindows?: number;
  firmware?: CompiledFirmware;
}

export type Alarm = "none" | "alert" | "danger";

export interface WindowResult {
  index: number;
  time_s: number;
  fault: Fault;
  /** What is wrong with the sensor of a "sensor_fault" window; null for a sound sensor. */
  sensor: SensorFault | null;
  strength: number;
  severity: number;
  health: number;
  iso_zone: string;
  /** The alarm level after this window (persistence and hysteresis in the firmware). */
  alarm: Alarm;
  /** Remaining useful life [low, high] in hours, or null while there is no forecast. */
  rul_hours: [number, number] | null;
  /** The firmware's advice while in alarm: what to do ("none" out of alarm), and within how
   *  many hours of this window (null without an action). */
  action: "none" | MaintenanceAction;
  act_in_hours: number | null;
  /** Every finding of the window (several faults can stand at once); `fault` is the most severe. */
  findings: Finding[];
  features: Record<string, number>;
}

/** One finding: its kind, strength and confidence (1 − its false-finding probability). */
export interface Finding {
  kind: Fault;
  strength: number;
  confidence: number;
}

/** A finding over a whole recording: in how many windows it stood, and its median strength. */
export interface SummaryFinding {
  kind: Fault;
  windows: number;
  share: number;
  strength: number;
}

export interface ReplayResult {
  summary: {
    fault: Fault;
    windows: number;
    windows_by_fault: Record<Fault, number>;
    /** Start of the first run of PERSISTENCE consecutive abnormal windows, seconds. */
    first_persistent_abnormal_s: number | null;
    /** The first window the firmware's alarm is raised in (its trend: evidence that has stayed
     *  up and grown, firmware/ANALYSIS.md §8), seconds; null when it never is. */
    first_alarm_s: number | null;
    /** Start of the first run of PERSISTENCE consecutive windows of severity 2 or more (ISO
     *  zone C or D, or a severe bearing defect): the pump's condition, which needs no growth, so
     *  a pump steady in zone C is severe from its first windows without ever being in alarm. */
    first_severe_s: number | null;
    duration_s: number;
    /** Every kind found in at least VERDICT_SHARE of the windows, the most frequent first (the
     *  fault's own finding among them when it is one); the fault stays the verdict. */
    findings: SummaryFinding[];
  };
  windows: WindowResult[];
  /** The windows the firmware refused (their samples not all finite), by index: they have no
   *  diagnosis, and the summary is of the others. */
  refused: number[];
}

/** Consecutive abnormal windows that make an abnormality persistent in the summary. */
export const PERSISTENCE = 3;
/** A fault class must hold this share of windows to be the summary's verdict. "unknown" (abnormal,
 *  no pattern) is no class: a window without a finding is no evidence against the finding of
 *  another, which noise makes in one window of a thousand (firmware/ANALYSIS.md §6). */
export const VERDICT_SHARE = 1 / 3;
/** Without such a class, this share of abnormal windows makes the verdict "unknown". */
export const ABNORMAL_SHARE = 1 / 4;

/** Bytes a recording's head is read as text over: 16 samples. */
const TEXT_HEAD_BYTES = 64;

/** What a file is when its head says it is no raw float32 (a MATLAB file, a WAV file, text such
 *  as CSV), else null. Raw float32 samples whose first 64 bytes are all printable ASCII would be
 *  16 floats each of whose 4 bytes falls in 0x20–0x7e (and 0x09, 0x0a, 0x0d): about (98/256)^64,
 *  1e-27, for samples whose bytes were uniform; real samples are further off still (a sample of
 *  a few g has the byte 0x3f or 0x40 on top, but its low bytes scatter). */
function containerOf(bytes: Uint8Array): string | null {
  const head = Buffer.from(bytes.subarray(0, TEXT_HEAD_BYTES)).toString("latin1");
  if (head.startsWith("MATLAB")) return "a MATLAB .mat file";
  if (head.startsWith("\x89HDF")) return "an HDF5 file (a MATLAB v7.3 .mat?)";
  if (head.startsWith("RIFF") && head.slice(8, 12) === "WAVE") return "a WAV file";
  if (head.startsWith("PK\x03\x04")) return "a zip archive (a .npz?)";
  if (head.startsWith("\x93NUMPY")) return "a NumPy .npy file";
  if (bytes.length >= TEXT_HEAD_BYTES && /^[\t\n\r\x20-\x7e]+$/.test(head)) return "text (CSV or a list of numbers?)";
  return null;
}

export function readRecording(file: string): Float32Array {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new ReplayError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const container = containerOf(bytes);
  if (container !== null) throw new ReplayError(`${file} is ${container}, not raw float32 samples: export its one channel as raw little-endian float32`);
  if (bytes.length % 4 !== 0) throw new ReplayError(`${file} is ${bytes.length} bytes, not a whole number of float32 samples`);
  const samples = new Float32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getFloat32(i * 4, true);
  return samples;
}

export async function replay(samples: Float32Array, options: ReplayOptions): Promise<ReplayResult> {
  if (samples.length < options.window) {
    throw new ReplayError(`the recording has ${samples.length} samples, fewer than one window of ${options.window}`);
  }
  const count = Math.floor(samples.length / options.window);
  const times = options.timesS;
  if (times !== undefined) {
    if (times.length < count) throw new ReplayError(`${times.length} snapshot times for ${count} windows`);
    for (let i = 1; i < count; i++) {
      if (!(times[i] > times[i - 1])) throw new ReplayError(`snapshot times must increase: ${times[i - 1]} s then ${times[i]} s at window ${i}`);
    }
  }
  const firmware = options.firmware ?? (await loadRelease());
  const config: FirmwareConfig & Record<string, unknown> = {
    device: "replay", rate_hz: options.rateHz, window: options.window, units: options.units ?? "g", max_message: 2048,
  };
  if (options.rpm !== undefined) config.rpm = options.rpm;
  if (options.rpmRange !== undefined) config.rpm_range = options.rpmRange;
  if (options.geometry !== undefined) config.bearing = options.geometry;
  if (options.vanes !== undefined) config.vanes = options.vanes;
  if (options.isoGroup !== undefined) config.iso_group = options.isoGroup;
  if (options.foundation !== undefined) config.foundation = options.foundation;
  if (options.acquisitionWindows !== undefined && options.acquisitionWindows > 1) config.windows = Math.min(options.acquisitionWindows, ACQUISITION_WINDOWS_MAX);
  let nowMs = 0;
  const logs: string[] = [];
  let device: Device;
  try {
    device = await Device.boot({
      tenant: "replay", config, firmware, storage: new MemoryStorage(), clock: () => nowMs, isolation: "inline",
      log: (_device, level, text) => { if (level >= 2) logs.push(text); },
    });
  } catch (error) {
    if (error instanceof ProtocolError) throw new ReplayError(`the configuration was refused: ${error.message}`);
    throw new ReplayError(`the firmware refused the configuration: ${(error as Error).message}`);
  }
  const windows: WindowResult[] = [];
  const refused: number[] = [];
  const windowS = options.window / options.rateHz;
  for (let index = 0; index < count; index++) {
    const timeS = times !== undefined ? times[index] : options.intervalS !== undefined ? index * options.intervalS : index * windowS;
    nowMs = Math.round(timeS * 1000);
    const window = samples.subarray(index * options.window, (index + 1) * options.window);
    const finite = window.every(Number.isFinite);
    const analysed = windows.length;
    await device.feed(window, nowMs);
    for (const entry of [...device.outbox.pending()]) {
      if (entry.kind === "telemetry") windows.push(toWindow(index, timeS, entry.body));
      else if (entry.kind === "event") {
        const event = decodeEvent(entry.body);
        // Samples that are not all finite (a dropout written as NaN) are refused, the window with
        // them, as in the field; the replay goes on with the next. Any other error ends it.
        if (event.event === "error" && !(event.what === "samples" && !finite)) {
          throw new ReplayError(`window ${index}: the firmware reported error ${String(event.code)} (${String(event.what)})`);
        }
      }
      device.outbox.acknowledge(entry.sequence);
    }
    if (!finite && windows.length === analysed) refused.push(index);
  }
  if (windows.length === 0 && refused.length > 0) {
    throw new ReplayError(`every window was refused: none has only finite samples (${refused.length} windows)`);
  }
  const durationS = times !== undefined ? times[count - 1] + windowS : count * (options.intervalS ?? windowS);
  return { summary: summarise(windows, durationS), windows, refused };
}

function toWindow(index: number, timeS: number, body: Uint8Array): WindowResult {
  const features: Record<string, number> = {};
  let fault: Fault = "unknown";
  let zone = "?";
  let alarm: Alarm = "none";
  let action: WindowResult["action"] = "none";
  const found = new Map<string, Finding>();
  let sensor: SensorFault | null = null;
  for (const record of resolveSenml(decodeSenml(body))) {
    const name = record.name.slice(record.name.indexOf(":") + 1);
    if (record.value !== undefined && (name.startsWith("find_") || name.startsWith("conf_"))) {
      const kind = name.slice(5) as Fault;
      const finding = found.get(kind) ?? { kind, strength: 0, confidence: 0 };
      if (name.startsWith("find_")) finding.strength = record.value;
      else finding.confidence = record.value;
      found.set(kind, finding);
      continue;
    }
    if (record.value !== undefined) features[name] = record.value;
    if (name === "fault" && record.stringValue !== undefined) fault = record.stringValue as Fault;
    if (name === "iso_zone" && record.stringValue !== undefined) zone = record.stringValue;
    if (name === "alarm" && record.stringValue !== undefined) alarm = record.stringValue as Alarm;
    if (name === "action" && record.stringValue !== undefined) action = record.stringValue as MaintenanceAction;
    if (name === "sensor" && record.stringValue !== undefined) sensor = record.stringValue as SensorFault;
  }
  const { strength = 0, severity = 0, health = 0 } = features;
  // The firmware forecasts in seconds (SenML's unit); people read hours.
  const rul_hours: [number, number] | null = features.rul_lo !== undefined && features.rul_hi !== undefined
    ? [features.rul_lo / 3600, features.rul_hi / 3600] : null;
  const act_in_hours = features.act_in !== undefined ? features.act_in / 3600 : null;
  for (const key of ["strength", "severity", "health", "rul_lo", "rul_hi", "act_in"]) delete features[key];
  return {
    index, time_s: timeS, fault, strength, severity, health, iso_zone: zone, alarm, rul_hours, action, act_in_hours,
    sensor, findings: [...found.values()], features,
  };
}

/** The verdict `windows` windows make, counted by diagnosis in `byFault`: the named class of the
 *  most windows when it holds VERDICT_SHARE of them; else "unknown" when ABNORMAL_SHARE of them
 *  are not "none", else "none". */
export function verdictOf(byFault: Readonly<Record<string, number>>, windows: number): Fault {
  let verdict: Fault = "none";
  let most = 0;
  for (const fault of FAULTS) {
    if (fault === "none" || fault === "unknown") continue;
    if ((byFault[fault] ?? 0) > most) {
      most = byFault[fault];
      verdict = fault;
    }
  }
  if (most < VERDICT_SHARE * windows) {
    const abnormal = windows - (byFault.none ?? 0);
    verdict = abnormal >= ABNORMAL_SHARE * windows ? "unknown" : "none";
  }
  return verdict;
}

export function summarise(windows: WindowResult[], durationS: number): ReplayResult["summary"] {
  const byFault = Object.fromEntries(FAULTS.map((fault) => [fault, 0])) as Record<Fault, number>;
  // A fault name newer than FAULTS is counted too, not lost as NaN.
  for (const window of windows) byFault[window.fault] = (byFault[window.fault] ?? 0) + 1;
  const verdict = verdictOf(byFault, windows.length);
  const byKind = new Map<Fault, number[]>();
  for (const window of windows) {
    for (const finding of window.findings) {
      const strengths = byKind.get(finding.kind) ?? [];
      strengths.push(finding.strength);
      byKind.set(finding.kind, strengths);
    }
  }
  const findings: SummaryFinding[] = [...byKind.entries()]
    .filter(([, strengths]) => strengths.length >= VERDICT_SHARE * windows.length)
    .map(([kind, strengths]) => ({
      kind, windows: strengths.length, share: strengths.length / windows.length,
      strength: [...strengths].sort((a, b) => a - b)[strengths.length >> 1],
    }))
    .sort((a, b) => b.windows - a.windows);
  return {
    fault: verdict, windows: windows.length, windows_by_fault: byFault,
    first_persistent_abnormal_s: firstPersistent(windows, (w) => w.fault !== "none"),
    first_alarm_s: windows.find((w) => w.alarm !== "none")?.time_s ?? null,
    first_severe_s: firstPersistent(windows, (w) => w.severity >= SEVERE),
    duration_s: durationS, findings,
  };
}

/** The severity from which a window is severe: ISO zone C (unsatisfactory for long-term
 *  operation) or a severe bearing finding. */
export const SEVERE = 2;

function firstPersistent(windows: WindowResult[], holds: (window: WindowResult) => boolean): number | null {
  let run = 0;
  for (let i = 0; i < windows.length; i++) {
    run = holds(windows[i]) ? run + 1 : 0;
    if (run === PERSISTENCE) return windows[i - PERSISTENCE + 1].time_s;
  }
  return null;
}
