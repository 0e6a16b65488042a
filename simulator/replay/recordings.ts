// The real recordings `impeller validate` replays: the data sets of the data folder (each a
// folder with a manifest.json: labelled records, as CWRU's, or runs to failure, as FEMTO's, or
// both), read and checked field by field, and each recording replayed through the release
// firmware (a labelled record with the manifest's shaft speed and without it, a run to failure
// snapshot by snapshot). What the diagnoses are worth is the verdict's
// (simulator/verdict/validation.ts).
//
// A manifest that cannot be read stops the run (ValidateError); a recording that cannot be
// replayed (missing, truncated, refused) is an error in its place, and the others still run.

import fs from "node:fs";
import path from "node:path";
import { compileFirmware, type CompiledFirmware } from "../../host/runtime/firmware.js";
import { RELEASE_IMAGE } from "../../host/runtime/images.js";
import { readRecording, replay, ReplayError, type ReplayOptions, type ReplayResult } from "./replay.js";
import type { AccelerationUnits } from "../../protocol/messages.js";

export const DATA_DIR_DEFAULT = "../shared/data";
export const WINDOW_DEFAULT = 4096;
/** The firmware configuration's bounds on a window (protocol/messages.ts). */
export const WINDOW_MIN = 16;
export const WINDOW_MAX = 8192;
/** The labels the verdict knows what is right for (CWRU's), in the order their rows are reported;
 *  another rig's manifest may name others (a cage fault, a combined one: any non-empty name),
 *  whose rows follow, counted but not judged. */
export const LABELS = ["normal", "inner", "outer", "ball"] as const;
export type Label = (typeof LABELS)[number];
/** The sensors CWRU's records name, in the order their groups are reported; another rig's
 *  manifest may name its own (any non-empty name), reported after them. */
export const SENSORS = ["drive_end", "fan_end"] as const;
export type Sensor = string;
export const MODES = ["with_rpm", "without_rpm"] as const;
export type Mode = (typeof MODES)[number];
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

export interface LabelledRecord {
  /** The data set's name: its folder's. */
  set: string;
  file: string;
  /** The record's name: the manifest's number or text (another rig's may name its records, e.g.
   *  "OR@6 270 lbs"), else its place in the manifest, from 1. */
  record: number | string;
  label: Label | string;
  /** The seeded fault's size and the load, when the manifest gives them (another rig's may not). */
  fault_size_in: number | null;
  load_hp: number | null;
  shaft_rpm: number | null;
  sample_rate_hz: number;
  bearing: string;
  sensor: Sensor;
  /** Samples in the file, when the manifest says. */
  samples?: number;
  /** The samples' units: the record's own `units`, else the manifest's, else g. */
  units: AccelerationUnits;
}

export interface RecordsManifest {
  bearings: Record<string, Bearing>;
  records: LabelledRecord[];
}

export interface FailureRun {
  /** The data set's name: its folder's. */
  set: string;
  /** The samples' units, as a labelled record's. */
  units: AccelerationUnits;
  file: string;
  /** The run's name: its `run` where the manifest gives one; else its `bearing` where that names
   *  no geometry (FEMTO's: Bearing1_1, the test bearing's name); else its file's name without
   *  its extension (a geometry's name is the same for every run of that bearing type). */
  run: string;
  /** The run's bearing: a key of the manifest's `bearings`, or its name alone (FEMTO's). */
  bearing: string;
  /** The bearing's geometry, when `bearing` names one in the manifest's `bearings` (FEMTO's
   *  manifest gives none: the firmware then names no bearing fault, and trends its evidence). */
  geometry: Bearing | null;
  /** The fault the bearing failed of, when the manifest says (a label as a record's). */
  label: string | null;
  /** The manifest's speed; null where it states none (the firmware then measures it). */
  shaft_rpm: number | null;
  sample_rate_hz: number;
  samples_per_snapshot: number;
  snapshots: number;
  snapshot_start_s: number[];
}

export interface SnapshotTimes {
  /** The start of each snapshot, seconds from the first. */
  times_s: number[];
  interval_s: number;
  uniform: boolean;
  /** Stamps out of order with the rest (clock glitches), and the time taken instead. */
  out_of_order: { index: number; stamp_s: number; taken_s: number }[];
}

export interface ValidateOptions {
  dir: string;
  /** One data set, by its folder's name. */
  only?: string;
  window?: number;
  firmware?: CompiledFirmware;
}

/** One labelled record replayed once, with or without the manifest's rpm. */
export interface RecordReplay {
  record: LabelledRecord;
  mode: Mode;
  result: ReplayResult | { error: string };
}

/** One run to failure replayed snapshot by snapshot, at the times its stamps give. */
export interface FailureReplay {
  run: FailureRun;
  times: SnapshotTimes;
  /** The windows each snapshot was cut into (snapshotWindows). */
  plan: SnapshotPlan;
  result: ReplayResult | { error: string };
}

/** How a run's snapshots become windows: a snapshot the firmware can take whole is one window;
 *  a longer one (other rigs record 1–2 s at a time: 20,480 or 32,768 samples) is cut into
 *  consecutive windows of the validation's window, which follow one another without a gap, as
 *  a sensor streaming them would give them (the envelope streams across them, ANALYSIS.md §5).
 *  What is left past the last whole window of a snapshot is not replayed. */
export interface SnapshotPlan {
  window: number;
  windows_per_snapshot: number;
  /** Samples at the end of each snapshot that fill no whole window. */
  left_over: number;
}

export function snapshotPlan(samplesPerSnapshot: number, window: number): SnapshotPlan {
  if (samplesPerSnapshot <= WINDOW_MAX) return { window: samplesPerSnapshot, windows_per_snapshot: 1, left_over: 0 };
  return cutSnapshot(samplesPerSnapshot, window);
}

/** A snapshot of `samplesPerSnapshot` cut into as many consecutive windows of `window` as fit. */
export function cutSnapshot(samplesPerSnapshot: number, window: number): SnapshotPlan {
  const perSnapshot = Math.floor(samplesPerSnapshot / window);
  return { window, windows_per_snapshot: perSnapshot, left_over: samplesPerSnapshot - perSnapshot * window };
}

/** The run's samples as the plan's windows, and each window's start (seconds from the first
 *  snapshot): snapshot i's window k starts k windows after the snapshot's own start. */
export function snapshotWindows(samples: Float32Array, rateHz: number, startsS: readonly number[], plan: SnapshotPlan): { samples: Float32Array; timesS: number[] } {
  const perSnapshot = plan.window * plan.windows_per_snapshot + plan.left_over;
  const snapshots = Math.min(startsS.length, Math.floor(samples.length / perSnapshot));
  const kept = plan.window * plan.windows_per_snapshot;
  const out = new Float32Array(snapshots * kept);
  const timesS: number[] = [];
  for (let i = 0; i < snapshots; i++) {
    out.set(samples.subarray(i * perSnapshot, i * perSnapshot + kept), i * kept);
    for (let k = 0; k < plan.windows_per_snapshot; k++) timesS.push(startsS[i] + (k * plan.window) / rateHz);
  }
  return { samples: out, timesS };
}

/** What was replayed: every labelled record and every run to failure of the data sets run (null:
 *  no data set run holds any). */
export interface Replayed {
  dir: string;
  window: number;
  /** The data sets run, by name. */
  sets: string[];
  records: RecordReplay[] | null;
  runs: FailureReplay[] | null;
}

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

/** The names other data sets give CWRU's four labels (a baseline or a healthy bearing, an inner
 *  or outer ring, a roller element, the short IR / OR / B; any case, with or without spaces,
 *  hyphens or underscores, and with "fault", "defect" or "damage" after them: OuterRaceFault,
 *  "IR fault"), so that another rig's manifest is judged as CWRU's is. */
const LABEL_NAMES: Record<Label, readonly string[]> = {
  normal: ["normal", "healthy", "baseline", "none", "no fault", "fault free", "good"],
  inner: ["inner", "inner race", "inner ring", "ir", "bpfi"],
  outer: ["outer", "outer race", "outer ring", "or", "bpfo"],
  ball: ["ball", "roller", "rolling element", "roller element", "element", "b", "bsf"],
};

/** A name as LABEL_NAMES compares it: lower case, without separators. */
function labelKey(name: string): string {
  return name.trim().toLowerCase().replace(/[\s_-]+/g, "");
}

/** A manifest's label as one of LABELS where it names one, else as given. */
export function canonicalLabel(label: string): string {
  const key = labelKey(label);
  const bare = key.replace(/(fault|defect|damage)s?$/, "");
  for (const canonical of LABELS) {
    if (LABEL_NAMES[canonical].some((name) => labelKey(name) === key || (bare !== "" && labelKey(name) === bare))) return canonical;
  }
  return label;
}

export const UNITS = ["g", "m/s2"] as const;

/** An object's `units` (g or m/s2), or `fallback` when it names none. */
function unitsOf(check: ReturnType<typeof fields>, fallback: AccelerationUnits): AccelerationUnits {
  const given = check.object.units;
  if (given === undefined) return fallback;
  // The ways m/s² is written (m/s^2, m/s², m s-2), and g in either case.
  const spelled = typeof given === "string" ? UNIT_SPELLINGS[given.trim().toLowerCase().replace(/\s+/g, " ")] : undefined;
  return spelled ?? check.oneOf("units", UNITS);
}
const UNIT_SPELLINGS: Record<string, AccelerationUnits> = { "g": "g", "m/s2": "m/s2", "m/s^2": "m/s2", "m/s²": "m/s2", "m s-2": "m/s2", "m·s-2": "m/s2", "m·s⁻²": "m/s2" };

/** A file named in a manifest lies in the manifest's folder or below it: a relative path that
 *  never climbs out of it. */
function plainFile(name: string, check: ReturnType<typeof fields>): string {
  // Folders below it are the data set's own (a folder per fault, say), written with / or a backslash.
  const parts = name.split(/[\\/]/);
  if (path.isAbsolute(name) || /^[a-zA-Z]:/.test(name) || parts.some((part) => part === "" || part === "." || part === "..")) {
    check.fail(`.file is a file in the manifest's folder or one below it, not ${JSON.stringify(name)}`);
  }
  return parts.join("/");
}

/** The manifest's `bearings`: geometries by name (none where each record or run gives its own
 *  in place); a manifest of one bearing may give it alone as `bearing` (CWRU's gives its drive
 *  end's there too), named by its `name` or "bearing". */
function parseBearings(file: string, top: ReturnType<typeof fields>): Record<string, Bearing> {
  let bearingsValue = top.object.bearings;
  const single = top.object.bearing;
  if (bearingsValue === undefined && typeof single === "object" && single !== null && !Array.isArray(single)) {
    const name = (single as Record<string, unknown>).name;
    bearingsValue = { [typeof name === "string" && name !== "" ? name : "bearing"]: single };
  }
  if (bearingsValue === undefined) return {};
  if (typeof bearingsValue !== "object" || bearingsValue === null || Array.isArray(bearingsValue)) top.fail("bearings is not an object of bearing geometries");
  const bearings: Record<string, Bearing> = {};
  for (const [name, geometry] of Object.entries(bearingsValue as Record<string, unknown>)) bearings[name] = parseBearing(file, `bearings.${name}`, geometry);
  return bearings;
}

const MM_PER_INCH = 25.4;

/** One bearing: its geometry (its diameters in mm, or both in inches as the data sheets of
 *  American rigs give them), or its `defect_orders` alone. */
function parseBearing(file: string, where: string, value: unknown): Bearing {
  const check = fields(file, where, value);
  const o = check.object;
  const inches = o.element_diameter_in !== undefined || o.pitch_diameter_in !== undefined;
  if (inches && (o.element_diameter_mm !== undefined || o.pitch_diameter_mm !== undefined)) check.fail(" gives diameters in both mm and inches");
  const given = inches || o.rolling_elements !== undefined || o.element_diameter_mm !== undefined || o.pitch_diameter_mm !== undefined;
  if (!given && o.defect_orders !== undefined) return geometryFromManifestOrders(fields(file, `${where}.defect_orders`, o.defect_orders));
  const unit = inches ? "in" : "mm";
  const scale = inches ? MM_PER_INCH : 1;
  return {
    rolling_elements: check.number("rolling_elements", true), element_diameter_mm: check.number(`element_diameter_${unit}`, true) * scale,
    pitch_diameter_mm: check.number(`pitch_diameter_${unit}`, true) * scale, contact_angle_deg: check.number("contact_angle_deg"),
  };
}

/** A record's or a run's `bearing`: the name of one of the manifest's `bearings`, or a bearing
 *  given in place (kept in `bearings` under its `name`, else under `where`). */
function bearingOf(file: string, where: string, check: ReturnType<typeof fields>, bearings: Record<string, Bearing>): string {
  const value = check.object.bearing;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return check.text("bearing");
  const name = (value as Record<string, unknown>).name;
  const key = typeof name === "string" && name !== "" ? name : where;
  bearings[key] = parseBearing(file, `${where}.bearing`, value);
  return key;
}

/** The pitch diameter given to a geometry found from its defect orders: the orders fix only the
 *  ratio of the diameters (and the firmware reads only the ratio), so any pitch would do. */
const PITCH_FROM_ORDERS_MM = 100;
/** How far from a whole number of elements the orders may put it: a manifest rounds its orders
 *  (CWRU's to four decimals: 9.0000 and 7.9999), and a count a tenth off is no rounding. */
const ELEMENTS_ROUNDING = 0.1;
/** How far above 1 the orders' rounding may put cos φ: four decimals of a BSF near 2 are 3e-5
 *  of it; a thousandth is rounding to two or three. */
const COS_ROUNDING = 1e-3;

/** Defect orders: multiples of the shaft's speed. */
export interface DefectOrders {
  bpfo?: number;
  bpfi?: number;
  ftf?: number;
  bsf?: number;
}

/** A manifest's `defect_orders` (`bpfo`, `bpfi`, `ftf`, `bsf`, any case) as a geometry. */
function geometryFromManifestOrders(check: ReturnType<typeof fields>): Bearing {
  const order = (name: keyof DefectOrders): number | undefined => {
    const key = Object.keys(check.object).find((k) => k.toLowerCase() === name);
    return key === undefined ? undefined : check.number(key, true);
  };
  const orders: DefectOrders = { bpfo: order("bpfo"), bpfi: order("bpfi"), ftf: order("ftf"), bsf: order("bsf") };
  try {
    return geometryFromOrders(orders);
  } catch (error) {
    return check.fail(` ${(error as Error).message}`);
  }
}

/** A bearing given by its defect orders alone (another rig's manifest, or `analyze --orders`),
 *  turned back into the geometry the firmware takes. With r = (d/D) cos φ the orders are
 *  BPFO = n/2 (1 − r), BPFI = n/2 (1 + r), FTF = (1 − r)/2 and BSF = D/(2d) (1 − r²): r and n
 *  follow from two of the first three (n = BPFO + BPFI is then a whole number), d/D from BSF
 *  (cos φ = r D/d), and with no BSF the contact angle is taken as 0. The geometry gives back the
 *  orders it was found from (BSF within its rounding where cos φ rounds to 1). Throws, saying
 *  why, when they are no bearing's. */
export function geometryFromOrders(orders: DefectOrders): Bearing {
  const { bpfo, bpfi, ftf, bsf } = orders;
  for (const [name, value] of Object.entries(orders)) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new Error(`${name} is not a positive number: ${value}`);
  }
  let r: number;
  let n: number;
  if (bpfo !== undefined && bpfi !== undefined) {
    n = bpfo + bpfi;
    r = (bpfi - bpfo) / n;
  } else if (ftf !== undefined && ftf < 0.5 && (bpfo !== undefined || bpfi !== undefined)) {
    r = 1 - 2 * ftf;
    n = bpfo !== undefined ? (2 * bpfo) / (1 - r) : (2 * bpfi!) / (1 + r);
  } else {
    throw new Error("gives neither rolling_elements, element_diameter_mm and pitch_diameter_mm nor two of bpfo, bpfi and ftf");
  }
  const elements = Math.round(n);
  if (Math.abs(n - elements) > ELEMENTS_ROUNDING || !(r > 0 && r < 1)) {
    throw new Error(`are no rolling-element bearing's: they give ${n.toFixed(3)} elements and (d/D) cos φ = ${r.toFixed(4)}`);
  }
  let ratio = r;
  let angle = 0;
  if (bsf !== undefined) {
    ratio = (1 - r * r) / (2 * bsf);
    const cos = r / ratio;
    // cos φ a rounding above 1 is a contact angle of 0.
    if (!(ratio > 0 && ratio < 1) || cos > 1 + COS_ROUNDING) throw new Error(`bsf ${bsf} does not fit the others: it gives d/D = ${ratio.toFixed(4)} and cos φ = ${cos.toFixed(4)}`);
    if (cos >= 1) ratio = r;
    else angle = (Math.acos(cos) * 180) / Math.PI;
  }
  return { rolling_elements: elements, element_diameter_mm: ratio * PITCH_FROM_ORDERS_MM, pitch_diameter_mm: PITCH_FROM_ORDERS_MM, contact_angle_deg: angle };
}

/** The fields of `keys` the manifest gives once for all its records or runs (one rig's one sample
 *  rate, say), which each takes where it gives none of its own. */
function sharedFields(top: ReturnType<typeof fields>, keys: readonly string[]): Record<string, unknown> {
  const shared: Record<string, unknown> = {};
  for (const key of keys) if (top.object[key] !== undefined) shared[key] = top.object[key];
  return shared;
}

/** A record or run with the manifest's shared fields where it gives none of its own (checked as
 *  its own: an entry that is no object is refused as before). */
function withShared(entry: unknown, shared: Record<string, unknown>): unknown {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return entry;
  const own = entry as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...own };
  for (const [key, value] of Object.entries(shared)) if (own[key] === undefined) merged[key] = value;
  return merged;
}

/** A record's name: its `record`, a number or a non-empty text, else its place from 1. */
function recordName(check: ReturnType<typeof fields>, i: number): number | string {
  return statedName(check, "record") ?? i + 1;
}

/** The name an entry's `key` gives it, a number or a non-empty text; null where it gives none. */
function statedName(check: ReturnType<typeof fields>, key: string): number | string | null {
  const v = check.object[key];
  if (v === undefined || v === null) return null;
  return typeof v === "string" ? check.text(key) : check.number(key);
}

/** A manifest's labelled records (its `records`), of the data set `set`. */
export function parseRecordsManifest(file: string, value: Record<string, unknown>, set = "cwru"): RecordsManifest {
  const top = fields(file, "", value);
  // The manifest's bearings (none where every record gives its own in place).
  const bearings = parseBearings(file, top);
  const names = Object.keys(bearings);
  const units = unitsOf(top, "g");
  const shared = sharedFields(top, ["sample_rate_hz", "shaft_rpm", "sensor"]);
  const records = top.list("records", RECORDS_MAX).map((entry, i): LabelledRecord => {
    const check = fields(file, `records[${i}]`, withShared(entry, shared));
    // A record may leave its bearing out where the manifest has one.
    if (check.object.bearing === undefined && names.length === 0) check.fail(".bearing is missing, and the manifest gives no bearings: each record needs a geometry or defect orders");
    const bearing = check.object.bearing === undefined && names.length === 1 ? names[0] : bearingOf(file, `records[${i}]`, check, bearings);
    if (!Object.hasOwn(bearings, bearing)) check.fail(`.bearing ${JSON.stringify(bearing)} is not in bearings (${names.join(", ")})`);
    const rpm = check.object.shaft_rpm === undefined || check.object.shaft_rpm === null ? null : check.number("shaft_rpm", true);
    const optional = (key: string): number | null => (check.object[key] === undefined || check.object[key] === null ? null : check.number(key));
    const record: LabelledRecord = {
      set, file: plainFile(check.text("file"), check), record: recordName(check, i), label: canonicalLabel(check.text("label")),
      fault_size_in: optional("fault_size_in"), load_hp: optional("load_hp"), shaft_rpm: rpm,
      sample_rate_hz: check.number("sample_rate_hz", true), bearing,
      sensor: check.object.sensor === undefined ? "" : check.text("sensor"), units: unitsOf(check, units),
    };
    if (check.object.samples !== undefined) record.samples = check.number("samples", true);
    return record;
  });
  return { bearings, records };
}

/** A manifest's runs to failure (its `runs`), of the data set `set`. A run's snapshots start at
 *  the times `snapshot_start_s` lists, or every `snapshot_interval_s` from 0; a run whose
 *  `bearing` names one of the manifest's `bearings` is replayed with that geometry, and a run
 *  may say which fault its bearing failed of (`label`). */
export function parseRunsManifest(file: string, value: Record<string, unknown>, set = "femto"): FailureRun[] {
  const top = fields(file, "", value);
  const units = unitsOf(top, "g");
  const bearings = parseBearings(file, top);
  const shared = sharedFields(top, ["sample_rate_hz", "shaft_rpm", "samples_per_snapshot", "snapshot_interval_s"]);
  return top.list("runs", RECORDS_MAX).map((entry, i): FailureRun => {
    const check = fields(file, `runs[${i}]`, withShared(entry, shared));
    const snapshots = check.number("snapshots", true);
    if (!Number.isInteger(snapshots) || snapshots > SNAPSHOTS_MAX) check.fail(`.snapshots is not a whole number up to ${SNAPSHOTS_MAX}`);
    let starts: number[];
    if (check.object.snapshot_start_s === undefined && check.object.snapshot_interval_s !== undefined) {
      const interval = check.number("snapshot_interval_s", true);
      starts = Array.from({ length: snapshots }, (_, k) => k * interval);
    } else {
      const listed = check.list("snapshot_start_s", SNAPSHOTS_MAX);
      if (listed.length !== snapshots) check.fail(`.snapshot_start_s has ${listed.length} entries for ${snapshots} snapshots`);
      if (listed.some((s) => typeof s !== "number" || !Number.isFinite(s))) check.fail(".snapshot_start_s holds something other than numbers");
      starts = listed as number[];
    }
    const bearing = bearingOf(file, `runs[${i}]`, check, bearings);
    const runFile = plainFile(check.text("file"), check);
    const geometry = Object.hasOwn(bearings, bearing) ? bearings[bearing] : null;
    const stated = statedName(check, "run");
    const name = stated !== null ? String(stated) : geometry === null ? bearing : path.parse(runFile).name;
    return {
      set, units: unitsOf(check, units), run: name,
      file: runFile, bearing, geometry,
      label: check.object.label === undefined ? null : canonicalLabel(check.text("label")),
      shaft_rpm: check.object.shaft_rpm === undefined || check.object.shaft_rpm === null ? null : check.number("shaft_rpm", true),
      sample_rate_hz: check.number("sample_rate_hz", true), samples_per_snapshot: check.number("samples_per_snapshot", true),
      snapshots, snapshot_start_s: starts,
    };
  });
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
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

/** What went wrong with one recording, for its error line; anything else is a bug and throws. */
function errorText(error: unknown): string {
  if (error instanceof ReplayError || error instanceof ValidateError) return error.message;
  if (error instanceof WebAssembly.RuntimeError) return `the firmware trapped: ${error.message}`;
  throw error;
}

/** A bearing's geometry as the replay configures it. */
export function geometryOf(b: Bearing): [number, number, number, number] {
  return [b.rolling_elements, b.element_diameter_mm, b.pitch_diameter_mm, b.contact_angle_deg];
}

async function replayRecords(dir: string, manifest: RecordsManifest, window: number, firmware: CompiledFirmware): Promise<RecordReplay[]> {
  const replays: RecordReplay[] = [];
  // One after another: the whole set replays in one to two seconds on one core, about what two
  // worker threads would spend starting up and compiling the firmware each.
  for (const record of manifest.records) {
    const geometry = geometryOf(manifest.bearings[record.bearing]);
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
      const result = samples instanceof Float32Array ? await replayRecord(record, mode, samples, { rateHz: record.sample_rate_hz, rpm, geometry, window, units: record.units, firmware }) : samples;
      replays.push({ record, mode, result });
    }
  }
  return replays;
}

async function replayRecord(record: LabelledRecord, mode: Mode, samples: Float32Array, options: ReplayOptions): Promise<ReplayResult | { error: string }> {
  try {
    return await replay(samples, options);
  } catch (error) {
    return { error: `${record.file} (${mode.replace("_", " ")}): ${errorText(error)}` };
  }
}

async function replayRuns(dir: string, runs: readonly FailureRun[], window: number, firmware: CompiledFirmware): Promise<FailureReplay[]> {
  const replays: FailureReplay[] = [];
  for (const run of runs) {
    const times = snapshotTimes(run.snapshot_start_s);
    const plan = snapshotPlan(run.samples_per_snapshot, window);
    let result: ReplayResult | { error: string };
    try {
      const samples = readRecording(path.join(dir, run.file));
      const expected = run.snapshots * run.samples_per_snapshot;
      if (samples.length !== expected) {
        throw new ValidateError("bad_manifest", `${run.file} holds ${samples.length} samples, the manifest says ${run.snapshots} snapshots of ${run.samples_per_snapshot} (${expected})`);
      }
      const windows = snapshotWindows(samples, run.sample_rate_hz, times.times_s, plan);
      result = await replay(windows.samples, {
        rateHz: run.sample_rate_hz, rpm: run.shaft_rpm ?? undefined, window: plan.window, units: run.units, firmware,
        ...(run.geometry === null ? {} : { geometry: geometryOf(run.geometry) }),
        ...(times.uniform && plan.windows_per_snapshot === 1 ? { intervalS: times.interval_s } : { timesS: windows.timesS }),
        // A snapshot is one measurement: the trend takes one value of each (its last window's).
        acquisitionWindows: plan.windows_per_snapshot,
      });
    } catch (error) {
      const text = errorText(error);
      result = { error: text.includes(run.file) ? text : `${run.file}: ${text}` };
    }
    replays.push({ run, times, plan, result });
  }
  return replays;
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

/** A data set: a folder with a manifest.json, named after the folder. */
export interface DataSet {
  name: string;
  dir: string;
  manifest: string;
}

export const MANIFEST = "manifest.json";

/** The data sets of `dir`: the folder itself when it holds a manifest.json, or else each folder
 *  in it that holds one (../shared/data: cwru/ and femto/), in name order. */
export function dataSets(dir: string): DataSet[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new ValidateError("no_data", `no data folder at ${dir}: name a folder with a ${MANIFEST}, or one whose folders have one (default ${DATA_DIR_DEFAULT})`);
  }
  const own = path.join(dir, MANIFEST);
  if (fs.existsSync(own)) return [{ name: path.basename(dir), dir, manifest: own }];
  const sets = fs.readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, MANIFEST)))
    .map((entry) => entry.name).sort()
    .map((name) => ({ name, dir: path.join(dir, name), manifest: path.join(dir, name, MANIFEST) }));
  if (sets.length === 0) {
    throw new ValidateError("no_data", `${dir} holds no ${MANIFEST}, nor any folder with one: name the folder that holds the data sets (default ${DATA_DIR_DEFAULT})`);
  }
  return sets;
}

/** Every recording of the data folder through the release firmware: every data set in it, or the
 *  one `only` names. A manifest with `records` holds labelled records, one with `runs` runs to
 *  failure (one may hold both; one with neither is refused). The manifests are read before
 *  anything runs, so a bad one fails at once. */
export async function replayRecordings(options: ValidateOptions): Promise<Replayed> {
  const dir = options.dir;
  let sets = dataSets(dir);
  if (options.only !== undefined) {
    const named = sets.filter((set) => set.name === options.only);
    if (named.length === 0) {
      throw new ValidateError("bad_argument", `--only ${JSON.stringify(options.only)} names no data set of ${dir} (${sets.map((set) => set.name).join(", ")})`);
    }
    sets = named;
  }
  const window = options.window ?? WINDOW_DEFAULT;
  const parsed = sets.map((set) => {
    const manifest = readManifest(set.manifest);
    if (manifest.records === undefined && manifest.runs === undefined) {
      throw new ValidateError("bad_manifest", `${set.manifest} holds neither records (labelled recordings) nor runs (runs to failure)`);
    }
    return {
      set,
      records: manifest.records === undefined ? null : parseRecordsManifest(set.manifest, manifest, set.name),
      runs: manifest.runs === undefined ? null : parseRunsManifest(set.manifest, manifest, set.name),
    };
  });
  const firmware = options.firmware ?? (await loadFirmware());
  const records: RecordReplay[] = [];
  const runs: FailureReplay[] = [];
  for (const { set, records: manifest } of parsed) if (manifest !== null) records.push(...(await replayRecords(set.dir, manifest, window, firmware)));
  for (const { set, runs: list } of parsed) if (list !== null) runs.push(...(await replayRuns(set.dir, list, window, firmware)));
  return {
    dir, window, sets: sets.map((set) => set.name),
    records: parsed.some((p) => p.records !== null) ? records : null,
    runs: parsed.some((p) => p.runs !== null) ? runs : null,
  };
}
