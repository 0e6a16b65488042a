// `impeller validate`: every real recording in the data folder through the release firmware,
// and how its diagnoses compare with the labels: CWRU bearing faults (with the manifest's shaft
// speed and without it, when the firmware measures the speed itself) as confusion tables, and
// the FEMTO runs to failure as the first alarm against the failure. Numbers only: it judges a
// few stated targets and leaves the rest to the reader.
//
// A manifest that cannot be read stops the command (ValidateError, exit 2); a recording that
// cannot be replayed (missing, truncated, refused) is one error line in the report, the other
// records still run, and the command exits 1.

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { compileFirmware, type CompiledFirmware } from "../../host/runtime/firmware.js";
import { FAULTS } from "../../protocol/messages.js";
import { RELEASE_IMAGE } from "../../host/runtime/images.js";
import { ALARM_SEVERITY, PERSISTENCE, readRecording, replay, ReplayError, type ReplayOptions, type ReplayResult } from "./replay.js";

export const DATA_DIR_DEFAULT = "../shared/data";
export const WINDOW_DEFAULT = 4096;
/** The firmware configuration's bounds on a window (protocol/messages.ts). */
export const WINDOW_MIN = 16;
export const WINDOW_MAX = 8192;
export const LABELS = ["normal", "inner", "outer", "ball"] as const;
export type Label = (typeof LABELS)[number];
export const SENSORS = ["drive_end", "fan_end"] as const;
export type Sensor = (typeof SENSORS)[number];
export const MODES = ["with_rpm", "without_rpm"] as const;
export type Mode = (typeof MODES)[number];

/** The diagnosis that is right for each label. */
export const RIGHT_FAULT: Record<Label, string> = { normal: "none", inner: "inner_race", outer: "outer_race", ball: "rolling_element" };
/** The verdict of a run that could not be replayed. */
export const ERROR_VERDICT = "error";
/** A measured shaft speed this close to the manifest's, in percent, counts as right. */
export const SPEED_TOLERANCE_PCT = 0.5;
/** The ball-fault target: more than this share of ball records right. */
export const BALL_RIGHT_SHARE_MIN = 0.25;
/** The race-fault targets cover these fault sizes (inches). */
export const TARGET_SIZE_IN: readonly [number, number] = [0.007, 0.021];
/** The race-fault targets cover the drive end at these sample rates. */
export const TARGET_RATES_HZ: readonly number[] = [12000, 48000];
/** Bounds on what a manifest may hold. */
export const RECORDS_MAX = 10_000;
export const SNAPSHOTS_MAX = 1_000_000;
/** Snapshot stamps this far (as a share of the interval) from a uniform grid make it uneven. */
const UNIFORM_TOLERANCE_SHARE = 0.01;

export class ValidateError extends Error {
  constructor(readonly code: "bad_argument" | "no_data" | "bad_manifest" | "no_firmware", message: string) {
    super(message);
    this.name = "ValidateError";
  }
}

export interface Bearing {
  rolling_elements: number;
  element_diameter_mm: number;
  pitch_diameter_mm: number;
  contact_angle_deg: number;
}

export interface CwruRecord {
  file: string;
  record: number;
  label: Label;
  fault_size_in: number;
  load_hp: number;
  shaft_rpm: number | null;
  sample_rate_hz: number;
  bearing: string;
  sensor: Sensor;
  /** Samples in the file, when the manifest says. */
  samples?: number;
}

export interface CwruManifest {
  bearings: Record<string, Bearing>;
  records: CwruRecord[];
}

export interface FemtoRun {
  file: string;
  bearing: string;
  shaft_rpm: number;
  sample_rate_hz: number;
  samples_per_snapshot: number;
  snapshots: number;
  snapshot_start_s: number[];
}

/** One CWRU record replayed once (with or without the manifest's rpm). */
export interface RecordOutcome {
  file: string;
  record: number;
  label: Label;
  fault_size_in: number;
  load_hp: number;
  sample_rate_hz: number;
  sensor: Sensor;
  group: string;
  mode: Mode;
  /** The manifest's shaft speed (null when it has none). */
  rpm: number | null;
  /** summary.fault, or "error" when the record could not be replayed. */
  verdict: string;
  windows: number;
  /** Windows per diagnosis, the diagnoses seen only. */
  windows_by_fault: Record<string, number>;
  /** Mean over windows of the telemetry's shaft_hz. */
  shaft_hz: number | null;
  /** |shaft_hz − rpm/60| / (rpm/60) in percent, for runs without rpm whose manifest has one. */
  speed_error_pct: number | null;
  error: string | null;
}

export interface ConfusionRow {
  label: Label;
  counts: Record<string, number>;
  total: number;
  right: number;
}

export interface ConfusionTable {
  mode: Mode;
  /** "12 kHz drive end", or "all records". */
  group: string;
  columns: string[];
  rows: ConfusionRow[];
  /** Inner-race records called outer_race and outer-race records called inner_race. */
  wrong_race: number;
}

export interface SpeedStats {
  group: string;
  runs: number;
  median_pct: number;
  max_pct: number;
  within: number;
}

export interface Target {
  mode: Mode;
  /** What is counted and what the target demands of it, e.g. "ball faults right (more than 25 % must be)". */
  name: string;
  /** "count": reported, not judged; "no data": no record of the kind ran. */
  status: "pass" | "fail" | "count" | "no data";
  count: number;
  total: number;
  note: string | null;
}

export interface SnapshotTimes {
  /** The start of each snapshot, seconds from the first. */
  times_s: number[];
  interval_s: number;
  uniform: boolean;
  /** Stamps out of order with the rest (clock glitches), and the time taken instead. */
  out_of_order: { index: number; stamp_s: number; taken_s: number }[];
}

export interface FemtoOutcome {
  bearing: string;
  file: string;
  snapshots: number;
  rpm: number;
  interval_s: number | null;
  uniform: boolean;
  out_of_order: SnapshotTimes["out_of_order"];
  /** The last snapshot's start plus its length, seconds from the first snapshot. */
  failure_s: number | null;
  verdict: string;
  windows_by_fault: Record<string, number>;
  /** summary.first_alarm_s: the first run of persistent severity-2 windows. */
  first_alarm_s: number | null;
  /** The first window whose alarm is not "none", and its level. */
  first_raised_s: number | null;
  first_raised_level: string | null;
  error: string | null;
}

export interface ValidationReport {
  data_dir: string;
  window: number;
  only: "cwru" | "femto" | null;
  cwru: { runs: RecordOutcome[]; tables: ConfusionTable[]; speed: SpeedStats[] } | null;
  femto: FemtoOutcome[] | null;
  targets: Target[];
  errors: string[];
  elapsed_s: number;
}

export interface ValidateOptions {
  dir: string;
  only?: "cwru" | "femto";
  window?: number;
  firmware?: CompiledFirmware;
}

// ---- manifests ----

function readManifest(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new ValidateError("no_data", `${file} is missing`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new ValidateError("bad_manifest", `${file} is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ValidateError("bad_manifest", `${file} is not a JSON object`);
  return parsed as Record<string, unknown>;
}

/** Field checks that name the manifest and the field in their message. */
function fields(file: string, where: string, value: unknown) {
  const fail = (text: string): never => { throw new ValidateError("bad_manifest", `${file}: ${where}${text}`); };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(" is not an object");
  const object = value as Record<string, unknown>;
  const number = (key: string, positive = false): number => {
    const v = object[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (positive && v === 0)) fail(`.${key} is not a ${positive ? "positive" : "non-negative"} number: ${JSON.stringify(v)}`);
    return v as number;
  };
  const text = (key: string): string => {
    const v = object[key];
    if (typeof v !== "string" || v === "") fail(`.${key} is not a non-empty string: ${JSON.stringify(v)}`);
    return v as string;
  };
  const oneOf = <T extends string>(key: string, choices: readonly T[]): T => {
    const v = object[key];
    if (!(choices as readonly unknown[]).includes(v)) fail(`.${key} is one of ${choices.join(", ")}, not ${JSON.stringify(v)}`);
    return v as T;
  };
  const list = (key: string, max: number): unknown[] => {
    const v = object[key];
    if (!Array.isArray(v) || v.length === 0 || v.length > max) fail(`.${key} is not a list of 1 to ${max} entries`);
    return v as unknown[];
  };
  return { object, number, text, oneOf, list, fail };
}

/** A file named in a manifest lies in the manifest's folder: no paths. */
function plainFile(name: string, check: ReturnType<typeof fields>): string {
  if (name !== path.basename(name) || name === "." || name === "..") check.fail(`.file is a file name in the manifest's folder, not ${JSON.stringify(name)}`);
  return name;
}

export function parseCwruManifest(file: string, value: Record<string, unknown>): CwruManifest {
  const top = fields(file, "", value);
  const bearingsValue = top.object.bearings;
  if (typeof bearingsValue !== "object" || bearingsValue === null || Array.isArray(bearingsValue)) top.fail("bearings is not an object of bearing geometries");
  const bearings: Record<string, Bearing> = {};
  for (const [name, geometry] of Object.entries(bearingsValue as Record<string, unknown>)) {
    const check = fields(file, `bearings.${name}`, geometry);
    bearings[name] = {
      rolling_elements: check.number("rolling_elements", true), element_diameter_mm: check.number("element_diameter_mm", true),
      pitch_diameter_mm: check.number("pitch_diameter_mm", true), contact_angle_deg: check.number("contact_angle_deg"),
    };
  }
  const records = top.list("records", RECORDS_MAX).map((entry, i): CwruRecord => {
    const check = fields(file, `records[${i}]`, entry);
    const bearing = check.text("bearing");
    if (bearings[bearing] === undefined) check.fail(`.bearing ${JSON.stringify(bearing)} is not in bearings (${Object.keys(bearings).join(", ")})`);
    const rpm = check.object.shaft_rpm === null ? null : check.number("shaft_rpm", true);
    const record: CwruRecord = {
      file: plainFile(check.text("file"), check), record: check.number("record"), label: check.oneOf("label", LABELS),
      fault_size_in: check.number("fault_size_in"), load_hp: check.number("load_hp"), shaft_rpm: rpm,
      sample_rate_hz: check.number("sample_rate_hz", true), bearing, sensor: check.oneOf("sensor", SENSORS),
    };
    if (check.object.samples !== undefined) record.samples = check.number("samples", true);
    return record;
  });
  return { bearings, records };
}

export function parseFemtoManifest(file: string, value: Record<string, unknown>): FemtoRun[] {
  const top = fields(file, "", value);
  return top.list("runs", RECORDS_MAX).map((entry, i): FemtoRun => {
    const check = fields(file, `runs[${i}]`, entry);
    const snapshots = check.number("snapshots", true);
    if (!Number.isInteger(snapshots) || snapshots > SNAPSHOTS_MAX) check.fail(`.snapshots is not a whole number up to ${SNAPSHOTS_MAX}`);
    const starts = check.list("snapshot_start_s", SNAPSHOTS_MAX);
    if (starts.length !== snapshots) check.fail(`.snapshot_start_s has ${starts.length} entries for ${snapshots} snapshots`);
    if (starts.some((s) => typeof s !== "number" || !Number.isFinite(s))) check.fail(".snapshot_start_s holds something other than numbers");
    return {
      file: plainFile(check.text("file"), check), bearing: check.text("bearing"), shaft_rpm: check.number("shaft_rpm", true),
      sample_rate_hz: check.number("sample_rate_hz", true), samples_per_snapshot: check.number("samples_per_snapshot", true),
      snapshots, snapshot_start_s: starts as number[],
    };
  });
}

// ---- pure summaries ----

export function groupName(rateHz: number, sensor: Sensor): string {
  return `${rateHz / 1000} kHz ${sensor.replace("_", " ")}`;
}

/** Groups in reading order: drive end before fan end, then by sample rate. */
function groupOrder(outcomes: readonly RecordOutcome[]): string[] {
  const keys = new Map<string, [number, number]>();
  for (const o of outcomes) keys.set(o.group, [SENSORS.indexOf(o.sensor), o.sample_rate_hz]);
  return [...keys].sort(([, a], [, b]) => a[0] - b[0] || a[1] - b[1]).map(([group]) => group);
}

/** The table's columns: every fault the protocol names, then any other verdict seen ("error" last). */
export function faultColumns(outcomes: readonly RecordOutcome[]): string[] {
  const known: readonly string[] = FAULTS;
  const seen = [...new Set(outcomes.map((o) => o.verdict))].filter((v) => !known.includes(v) && v !== ERROR_VERDICT).sort();
  const columns = [...known, ...seen];
  if (outcomes.some((o) => o.verdict === ERROR_VERDICT)) columns.push(ERROR_VERDICT);
  return columns;
}

export function isWrongRace(o: RecordOutcome): boolean {
  return (o.label === "inner" && o.verdict === "outer_race") || (o.label === "outer" && o.verdict === "inner_race");
}

export function confusionTable(outcomes: readonly RecordOutcome[], mode: Mode, group: string, columns: readonly string[]): ConfusionTable {
  const rows: ConfusionRow[] = [];
  for (const label of LABELS) {
    const runs = outcomes.filter((o) => o.label === label);
    if (runs.length === 0) continue;
    const counts = Object.fromEntries(columns.map((c) => [c, 0]));
    for (const o of runs) counts[o.verdict] = (counts[o.verdict] ?? 0) + 1;
    rows.push({ label, counts, total: runs.length, right: counts[RIGHT_FAULT[label]] ?? 0 });
  }
  return { mode, group, columns: [...columns], rows, wrong_race: outcomes.filter(isWrongRace).length };
}

/** Per mode, a table per group (sample rate × sensor end), then one of all records. */
export function confusionTables(outcomes: readonly RecordOutcome[]): ConfusionTable[] {
  const columns = faultColumns(outcomes);
  const tables: ConfusionTable[] = [];
  for (const mode of MODES) {
    const runs = outcomes.filter((o) => o.mode === mode);
    if (runs.length === 0) continue;
    for (const group of groupOrder(runs)) tables.push(confusionTable(runs.filter((o) => o.group === group), mode, group, columns));
    tables.push(confusionTable(runs, mode, "all records", columns));
  }
  return tables;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The measured speed's error per group and over all, for the runs without rpm that have one to compare. */
export function speedStats(outcomes: readonly RecordOutcome[]): SpeedStats[] {
  const measured = outcomes.filter((o) => o.mode === "without_rpm" && o.speed_error_pct !== null);
  const stats = (group: string, runs: readonly RecordOutcome[]): SpeedStats => {
    const errors = runs.map((o) => o.speed_error_pct as number);
    return { group, runs: runs.length, median_pct: median(errors), max_pct: Math.max(...errors), within: errors.filter((e) => e <= SPEED_TOLERANCE_PCT).length };
  };
  if (measured.length === 0) return [];
  return [...groupOrder(measured).map((group) => stats(group, measured.filter((o) => o.group === group))), stats("all records", measured)];
}

function inTargetSizes(o: RecordOutcome): boolean {
  const tolerance = 1e-6;
  return o.fault_size_in >= TARGET_SIZE_IN[0] - tolerance && o.fault_size_in <= TARGET_SIZE_IN[1] + tolerance;
}

export function judgeTargets(outcomes: readonly RecordOutcome[]): Target[] {
  const targets: Target[] = [];
  const races = `${TARGET_SIZE_IN[0]}–${TARGET_SIZE_IN[1]} in, drive end ${TARGET_RATES_HZ.map((r) => r / 1000).join(" and ")} kHz`;
  for (const mode of MODES) {
    const runs = outcomes.filter((o) => o.mode === mode);
    if (runs.length === 0) continue;
    const add = (name: string, list: readonly RecordOutcome[], holds: (o: RecordOutcome) => boolean, pass: ((count: number) => boolean) | null, note: string | null = null): void => {
      const count = list.filter(holds).length;
      const status = list.length === 0 ? "no data" : pass === null ? "count" : pass(count) ? "pass" : "fail";
      targets.push({ mode, name, status, count, total: list.length, note });
    };
    const right = (o: RecordOutcome): boolean => o.verdict === RIGHT_FAULT[o.label];
    const race = (label: Label): RecordOutcome[] => runs.filter((o) =>
      o.label === label && o.sensor === "drive_end" && TARGET_RATES_HZ.includes(o.sample_rate_hz) && inTargetSizes(o));
    const inner = race("inner");
    add(`inner-race faults ${races}, right (all must be)`, inner, right, (count) => count === inner.length);
    add(`outer-race faults ${races}, right`, race("outer"), right, null,
      "not judged: the manifest does not say which outer-race records are at 12 o'clock");
    const ball = runs.filter((o) => o.label === "ball");
    add(`ball faults right (more than ${BALL_RIGHT_SHARE_MIN * 100} % must be)`, ball, right, (count) => count > BALL_RIGHT_SHARE_MIN * ball.length);
    const normal = runs.filter((o) => o.label === "normal");
    add("normal records called none (all must be)", normal, right, (count) => count === normal.length);
    const raceFaults = runs.filter((o) => o.label === "inner" || o.label === "outer");
    add("race faults called the other race, inner as outer_race or outer as inner_race (none may be)", raceFaults, isWrongRace, (count) => count === 0);
  }
  return targets;
}

/** Indices of a longest strictly increasing subsequence (patience sorting). */
function increasingRun(values: readonly number[]): Set<number> {
  const tails: number[] = [];
  const previous = new Array<number>(values.length).fill(-1);
  for (let i = 0; i < values.length; i++) {
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (values[tails[middle]] < values[i]) low = middle + 1;
      else high = middle;
    }
    if (low > 0) previous[i] = tails[low - 1];
    tails[low] = i;
  }
  const kept = new Set<number>();
  for (let i = tails.at(-1) ?? -1; i >= 0; i = previous[i]) kept.add(i);
  return kept;
}

/** The times to feed a run's snapshots at: the manifest's stamps, with stamps out of order with
 *  the rest (clock glitches) taken from their neighbours, relative to the first. */
export function snapshotTimes(starts: readonly number[]): SnapshotTimes {
  if (starts.length === 0) throw new Error("snapshotTimes needs at least one stamp");
  const kept = increasingRun(starts);
  const keptIndices = [...kept].sort((a, b) => a - b);
  const gaps = keptIndices.slice(1).map((index, k) => (starts[index] - starts[keptIndices[k]]) / (index - keptIndices[k]));
  const interval = gaps.length > 0 ? median(gaps) : 0;
  const times = [...starts];
  const outOfOrder: SnapshotTimes["out_of_order"] = [];
  for (let i = 0, k = 0; i < starts.length; i++) {
    while (k < keptIndices.length && keptIndices[k] < i) k++;
    if (kept.has(i)) continue;
    const after = keptIndices[k];
    const before = keptIndices[k - 1];
    if (before !== undefined && after !== undefined) times[i] = starts[before] + ((starts[after] - starts[before]) * (i - before)) / (after - before);
    else if (before !== undefined) times[i] = starts[before] + interval * (i - before);
    else times[i] = starts[after] - interval * (after - i);
    outOfOrder.push({ index: i, stamp_s: starts[i], taken_s: times[i] });
  }
  const first = times[0];
  const relative = times.map((t) => t - first);
  for (const entry of outOfOrder) entry.taken_s -= first;
  const uniform = interval > 0 && relative.every((t, i) => Math.abs(t - i * interval) <= UNIFORM_TOLERANCE_SHARE * interval);
  return { times_s: relative, interval_s: interval, uniform, out_of_order: outOfOrder };
}

function seenFaults(byFault: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(byFault).filter(([, n]) => n > 0));
}

export function recordOutcome(record: CwruRecord, mode: Mode, result: ReplayResult | { error: string }): RecordOutcome {
  const base = {
    file: record.file, record: record.record, label: record.label, fault_size_in: record.fault_size_in, load_hp: record.load_hp,
    sample_rate_hz: record.sample_rate_hz, sensor: record.sensor, group: groupName(record.sample_rate_hz, record.sensor), mode, rpm: record.shaft_rpm,
  };
  if ("error" in result) {
    return { ...base, verdict: ERROR_VERDICT, windows: 0, windows_by_fault: {}, shaft_hz: null, speed_error_pct: null, error: result.error };
  }
  const speeds = result.windows.map((w) => w.features.shaft_hz).filter((hz): hz is number => hz !== undefined && Number.isFinite(hz));
  // The speed the firmware settles on: the median over the windows (the first windows of a run
  // measure over a shorter acquisition and can miss).
  const shaftHz = speeds.length > 0 ? median(speeds) : null;
  const nominalHz = record.shaft_rpm === null ? null : record.shaft_rpm / 60;
  const speedError = mode === "without_rpm" && shaftHz !== null && nominalHz !== null ? (Math.abs(shaftHz - nominalHz) / nominalHz) * 100 : null;
  return {
    ...base, verdict: result.summary.fault, windows: result.summary.windows, windows_by_fault: seenFaults(result.summary.windows_by_fault),
    shaft_hz: shaftHz, speed_error_pct: speedError, error: null,
  };
}

export function femtoOutcome(run: FemtoRun, times: SnapshotTimes, result: ReplayResult | { error: string }): FemtoOutcome {
  const base = {
    bearing: run.bearing, file: run.file, snapshots: run.snapshots, rpm: run.shaft_rpm, interval_s: times.interval_s,
    uniform: times.uniform, out_of_order: times.out_of_order,
    failure_s: (times.times_s.at(-1) ?? 0) + run.samples_per_snapshot / run.sample_rate_hz,
  };
  if ("error" in result) {
    return { ...base, verdict: ERROR_VERDICT, windows_by_fault: {}, first_alarm_s: null, first_raised_s: null, first_raised_level: null, error: result.error };
  }
  const raised = result.windows.find((w) => w.alarm !== "none");
  return {
    ...base, verdict: result.summary.fault, windows_by_fault: seenFaults(result.summary.windows_by_fault),
    first_alarm_s: result.summary.first_alarm_s, first_raised_s: raised?.time_s ?? null, first_raised_level: raised?.alarm ?? null, error: null,
  };
}

// ---- running ----

/** What went wrong with one recording, for its error line; anything else is a bug and throws. */
function errorText(error: unknown): string {
  if (error instanceof ReplayError || error instanceof ValidateError) return error.message;
  if (error instanceof WebAssembly.RuntimeError) return `the firmware trapped: ${error.message}`;
  throw error;
}

async function runCwru(dir: string, manifest: CwruManifest, window: number, firmware: CompiledFirmware): Promise<RecordOutcome[]> {
  const outcomes: RecordOutcome[] = [];
  // One after another: the whole set replays in one to two seconds on one core, about what two
  // worker threads would spend starting up and compiling the firmware each.
  for (const record of manifest.records) {
    const b = manifest.bearings[record.bearing];
    const geometry: [number, number, number, number] = [b.rolling_elements, b.element_diameter_mm, b.pitch_diameter_mm, b.contact_angle_deg];
    let samples: Float32Array | { error: string };
    try {
      samples = readRecording(path.join(dir, record.file));
      if (record.samples !== undefined && samples.length !== record.samples) {
        throw new ValidateError("bad_manifest", `${record.file} holds ${samples.length} samples, the manifest says ${record.samples}`);
      }
    } catch (error) {
      samples = { error: errorText(error) };
    }
    const modes: Mode[] = record.shaft_rpm === null ? ["without_rpm"] : ["with_rpm", "without_rpm"];
    for (const mode of modes) {
      const rpm = mode === "with_rpm" ? (record.shaft_rpm ?? undefined) : undefined;
      const result = samples instanceof Float32Array ? await replayRecord(record, mode, samples, { rateHz: record.sample_rate_hz, rpm, geometry, window, firmware }) : samples;
      outcomes.push(recordOutcome(record, mode, result));
    }
  }
  return outcomes;
}

async function replayRecord(record: CwruRecord, mode: Mode, samples: Float32Array, options: ReplayOptions): Promise<ReplayResult | { error: string }> {
  try {
    return await replay(samples, options);
  } catch (error) {
    return { error: `${record.file} (${mode.replace("_", " ")}): ${errorText(error)}` };
  }
}

async function runFemto(dir: string, runs: readonly FemtoRun[], firmware: CompiledFirmware): Promise<FemtoOutcome[]> {
  const outcomes: FemtoOutcome[] = [];
  for (const run of runs) {
    const times = snapshotTimes(run.snapshot_start_s);
    let result: ReplayResult | { error: string };
    try {
      const samples = readRecording(path.join(dir, run.file));
      const expected = run.snapshots * run.samples_per_snapshot;
      if (samples.length !== expected) {
        throw new ValidateError("bad_manifest", `${run.file} holds ${samples.length} samples, the manifest says ${run.snapshots} snapshots of ${run.samples_per_snapshot} (${expected})`);
      }
      result = await replay(samples, {
        rateHz: run.sample_rate_hz, rpm: run.shaft_rpm, window: run.samples_per_snapshot, firmware,
        ...(times.uniform ? { intervalS: times.interval_s } : { timesS: times.times_s }),
      });
    } catch (error) {
      const text = errorText(error);
      result = { error: text.includes(run.file) ? text : `${run.file}: ${text}` };
    }
    outcomes.push(femtoOutcome(run, times, result));
  }
  return outcomes;
}

async function loadFirmware(): Promise<CompiledFirmware> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(fs.readFileSync(RELEASE_IMAGE));
  } catch {
    throw new ValidateError("no_firmware", "build/firmware.wasm is missing: run npm run build first");
  }
  return compileFirmware(bytes);
}

export async function validate(options: ValidateOptions): Promise<ValidationReport> {
  const started = performance.now();
  const dir = options.dir;
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new ValidateError("no_data", `no data folder at ${dir}: name the folder that holds cwru/ and femto/ (default ${DATA_DIR_DEFAULT})`);
  }
  const window = options.window ?? WINDOW_DEFAULT;
  const firmware = options.firmware ?? (await loadFirmware());
  // Both manifests are read before anything runs, so a bad one fails at once.
  const cwruDir = path.join(dir, "cwru");
  const femtoDir = path.join(dir, "femto");
  const cwruFile = path.join(cwruDir, "manifest.json");
  const femtoFile = path.join(femtoDir, "manifest.json");
  const cwru = options.only === "femto" ? null : parseCwruManifest(cwruFile, readManifest(cwruFile));
  const femtoRuns = options.only === "cwru" ? null : parseFemtoManifest(femtoFile, readManifest(femtoFile));
  const runs = cwru === null ? null : await runCwru(cwruDir, cwru, window, firmware);
  const femto = femtoRuns === null ? null : await runFemto(femtoDir, femtoRuns, firmware);
  const errors = [...(runs ?? []), ...(femto ?? [])].flatMap((o) => (o.error === null ? [] : [o.error]));
  return {
    data_dir: dir, window, only: options.only ?? null,
    cwru: runs === null ? null : { runs, tables: confusionTables(runs), speed: speedStats(runs) },
    femto, targets: runs === null ? [] : judgeTargets(runs), errors: [...new Set(errors)],
    elapsed_s: (performance.now() - started) / 1000,
  };
}

// ---- text ----

const MODE_TITLES: Record<Mode, string> = {
  with_rpm: "with rpm (the manifest's shaft speed)",
  without_rpm: "without rpm (the firmware measures the shaft speed)",
};

const percent = (part: number, whole: number): string => (whole === 0 ? "-" : `${Math.round((part / whole) * 100)} %`);
const grouped = (value: number, digits = 0): string => value.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: digits });

export function formatTable(table: ConfusionTable): string[] {
  const widths = table.columns.map((c) => Math.max(c.length, 3));
  const header = ["label ".padEnd(8), ...table.columns.map((c, i) => c.padStart(widths[i])), "  right"].join(" ");
  const lines = [`  ${table.group}`, `    ${header}`];
  for (const row of table.rows) {
    const cells = table.columns.map((c, i) => String(row.counts[c] ?? 0).padStart(widths[i]));
    lines.push(`    ${[row.label.padEnd(8), ...cells, `  ${row.right}/${row.total} ${percent(row.right, row.total)}`].join(" ")}`);
  }
  lines.push(`    confident wrong race: ${table.wrong_race}`);
  return lines;
}

function faultCounts(byFault: Record<string, number>): string {
  const entries = Object.entries(byFault);
  return entries.length === 0 ? "no windows" : entries.map(([fault, n]) => `${fault} ${n}`).join(", ");
}

function formatRecords(runs: readonly RecordOutcome[]): string[] {
  const lines = ["Records (verdict, windows by diagnosis)"];
  for (const o of runs) {
    const what = `${o.record} ${o.label} ${o.fault_size_in.toFixed(3)} in ${o.load_hp} hp, ${o.group}, ${o.mode.replace("_", " ")}`;
    const speed = o.mode === "without_rpm" && o.shaft_hz !== null
      ? `; shaft ${o.shaft_hz.toFixed(2)} Hz${o.speed_error_pct === null ? "" : ` (${o.speed_error_pct.toFixed(2)} % off)`}` : "";
    lines.push(`  ${what}: ${o.error ?? `${o.verdict} (${faultCounts(o.windows_by_fault)})${speed}`}`);
  }
  return lines;
}

export function formatFemto(o: FemtoOutcome): string {
  if (o.error !== null) return `  ${o.bearing}: ${o.error}`;
  const failure = o.failure_s ?? 0;
  const at = (s: number | null): string => (s === null ? "never" : `at ${grouped(s, 1)} s of ${grouped(failure, 1)} s (${percent(s, failure)})`);
  const lines = [
    `  ${o.bearing}: first alarm ${at(o.first_alarm_s)}; alarm first raised${o.first_raised_level === null ? "" : ` (${o.first_raised_level})`} ${at(o.first_raised_s)}; verdict ${o.verdict} (${faultCounts(o.windows_by_fault)})`,
  ];
  const spacing = o.uniform ? `every ${grouped(o.interval_s ?? 0, 3)} s` : "at uneven times (fed as stamped)";
  lines.push(`    ${o.snapshots} snapshots ${spacing}, ${o.rpm} rpm`);
  if (o.out_of_order.length > 0) {
    const shown = o.out_of_order.slice(0, 5).map((g) => `#${g.index} stamped ${grouped(g.stamp_s, 1)} s, taken as ${grouped(g.taken_s, 1)} s`).join("; ");
    lines.push(`    ${o.out_of_order.length} stamp(s) out of order with the rest: ${shown}${o.out_of_order.length > 5 ? "; …" : ""}`);
  }
  return lines.join("\n");
}

function formatTarget(t: Target): string {
  const mark = { pass: "PASS", fail: "FAIL", count: "   -", "no data": "   ?" }[t.status];
  const note = t.note === null ? "" : `; ${t.note}`;
  return `    ${mark}  ${t.name}: ${t.count} of ${t.total} (${percent(t.count, t.total)})${note}`;
}

export function formatReport(report: ValidationReport, verbose = false): string {
  const lines: string[] = [];
  const counts = [
    report.cwru === null ? null : `${new Set(report.cwru.runs.map((o) => o.file)).size} CWRU records (${report.cwru.runs.length} runs)`,
    report.femto === null ? null : `${report.femto.length} FEMTO runs`,
  ].filter((c) => c !== null).join(", ");
  const window = report.cwru === null ? "" : `, CWRU window ${report.window}`;
  lines.push(`Validation of the release firmware on ${report.data_dir}: ${counts}${window}, in ${report.elapsed_s.toFixed(1)} s`);
  if (report.cwru !== null) {
    for (const mode of MODES) {
      const tables = report.cwru.tables.filter((t) => t.mode === mode);
      if (tables.length === 0) continue;
      lines.push("", `CWRU ${MODE_TITLES[mode]}: true label × verdict (summary.fault)`);
      for (const table of tables) lines.push(...formatTable(table));
    }
    if (report.cwru.speed.length > 0) {
      lines.push("", `Shaft speed measured without rpm (median shaft_hz over windows against the manifest's rpm/60)`);
      for (const s of report.cwru.speed) {
        lines.push(`  ${s.group.padEnd(18)} median ${s.median_pct.toFixed(2)} %, max ${s.max_pct.toFixed(2)} %, within ${SPEED_TOLERANCE_PCT} %: ${s.within} of ${s.runs}`);
      }
    }
    if (verbose) lines.push("", ...formatRecords(report.cwru.runs));
  }
  if (report.femto !== null) {
    lines.push("", "FEMTO runs to failure (manifest rpm, no bearing geometry)",
      `  first alarm: the first of ${PERSISTENCE} windows in a row of severity ${ALARM_SEVERITY} or more; alarm first raised: the first window whose alarm is not none`);
    for (const o of report.femto) lines.push(formatFemto(o));
  }
  if (report.targets.length > 0) {
    lines.push("", "Targets");
    for (const mode of MODES) {
      const targets = report.targets.filter((t) => t.mode === mode);
      if (targets.length === 0) continue;
      lines.push(`  ${mode.replace("_", " ")}`, ...targets.map(formatTarget));
    }
  }
  if (report.errors.length > 0) {
    lines.push("", `Errors (${report.errors.length}; the other records ran)`, ...report.errors.map((e) => `  ${e}`));
  }
  return `${lines.join("\n")}\n`;
}

// ---- command ----

export async function runValidate(args: string[], write: (text: string) => void = (text) => process.stdout.write(text), firmware?: CompiledFirmware): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false }, verbose: { type: "boolean", default: false }, only: { type: "string" }, window: { type: "string" } },
  });
  if (positionals.length > 1) throw new ValidateError("bad_argument", "validate takes at most one data folder");
  const only = values.only;
  if (only !== undefined && only !== "cwru" && only !== "femto") throw new ValidateError("bad_argument", `--only is cwru or femto, not ${JSON.stringify(only)}`);
  const window = values.window === undefined ? WINDOW_DEFAULT : Number(values.window);
  if (!Number.isInteger(window) || window < WINDOW_MIN || window > WINDOW_MAX) {
    throw new ValidateError("bad_argument", `--window needs a whole number of samples from ${WINDOW_MIN} to ${WINDOW_MAX}, not ${JSON.stringify(values.window)}`);
  }
  const dir = path.resolve(positionals[0] ?? DATA_DIR_DEFAULT);
  const report = await validate({ dir, only, window, firmware });
  write(values.json ? `${JSON.stringify(report)}\n` : formatReport(report, values.verbose));
  return report.errors.length > 0 ? 1 : 0;
}
