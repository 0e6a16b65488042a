// The verdict on the real recordings (`impeller validate`): how the firmware's diagnoses compare
// with the labels. Labelled records (CWRU's, another rig's) as confusion tables (true label ×
// verdict) per sample rate and sensor, the measured shaft speed against the manifest's, and a few
// stated targets judged; runs to failure (FEMTO's, another rig's) as the first alarm against the
// failure, and the verdict against the fault where the manifest names it. Numbers only: it judges
// the targets and leaves the rest to the reader.

import { FAULTS } from "../../protocol/messages.js";
import {
  LABELS, median, MODES, replayRecordings, SENSORS,
  type LabelledRecord, type FailureRun, type Label, type Mode, type Sensor, type SnapshotPlan, type SnapshotTimes, type ValidateOptions,
} from "../replay/recordings.js";
import { summarise, type ReplayResult, type WindowResult } from "../replay/replay.js";

/** The diagnosis that is right for each label. */
export const RIGHT_FAULT: Record<Label, string> = { normal: "none", inner: "inner_race", outer: "outer_race", ball: "rolling_element" };

/** The right verdict for `label`, or null for a label the verdict does not know. */
export function rightFault(label: string): string | null {
  return (RIGHT_FAULT as Record<string, string>)[label] ?? null;
}
/** The verdict of a run that could not be replayed. */
export const ERROR_VERDICT = "error";
/** A measured shaft speed this close to the manifest's, in percent, counts as right. */
export const SPEED_TOLERANCE_PCT = 0.5;
/** The ball-fault target: more than this share of ball records right. */
export const BALL_RIGHT_SHARE_MIN = 0.25;
/** The published classic envelope benchmark on CWRU's 12 kHz drive-end data (Smith & Randall,
 *  MSSP 64–65, 2015): the share of each race's records clearly diagnosed. All records together
 *  must reach it (the ball's 25 % is the ball target above, which asks more than it). */
export const BENCHMARK_RIGHT_SHARE: Readonly<Record<"inner" | "outer", number>> = { inner: 1.0, outer: 0.89 };
/** The race-fault targets cover these fault sizes (inches). */
export const TARGET_SIZE_IN: readonly [number, number] = [0.007, 0.021];
/** The race-fault targets cover the drive end at these sample rates. */
export const TARGET_RATES_HZ: readonly number[] = [12000, 48000];

/** One labelled record replayed once (with or without the manifest's rpm). */
export interface RecordOutcome {
  /** The data set's name. */
  set: string;
  file: string;
  record: number | string;
  label: Label | string;
  fault_size_in: number | null;
  load_hp: number | null;
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
  /** Windows the firmware refused (samples not all finite): no diagnosis of theirs is counted. */
  refused: number;
  shaft_hz: number | null;
  /** |shaft_hz − rpm/60| / (rpm/60) in percent, for runs without rpm whose manifest has one and
   *  in which some window measured the speed. */
  speed_error_pct: number | null;
  /** A run without rpm whose manifest has one, in which no window measured the speed (each
   *  published the middle of the range): no error to give, and not within any. */
  speed_unmeasured: boolean;
  /** With the manifest's rpm: the windows in which the firmware doubted it (they publish seen_hz,
   *  the speed the signal shows instead, firmware/ANALYSIS.md §4), and that speed's median over
   *  them (null when none). */
  doubted_windows: number;
  seen_hz: number | null;
  error: string | null;
}

export interface ConfusionRow {
  label: Label | string;
  counts: Record<string, number>;
  total: number;
  /** Null for a label the verdict does not know what is right for. */
  right: number | null;
  /** Window by window: the records' windows, and those whose diagnosis is the label's. */
  windows: number;
  windows_right: number | null;
}

export interface ConfusionTable {
  mode: Mode;
  /** "12 kHz drive end", or "all records". */
  group: string;
  columns: string[];
  rows: ConfusionRow[];
  /** Inner-race records called outer_race and outer-race records called inner_race. */
  wrong_race: number;
  /** Windows of race records whose diagnosis is the other race. */
  wrong_race_windows: number;
}

export interface SpeedStats {
  group: string;
  /** The runs without rpm whose manifest has one; `unmeasured` of them measured no speed, and
   *  the median and largest error are over the others (NaN and −Infinity when none). */
  runs: number;
  unmeasured: number;
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

export interface FailureOutcome {
  /** The data set's name. */
  set: string;
  /** The run's name (FailureRun.run) and its bearing's. */
  run: string;
  bearing: string;
  /** Whether the run was replayed with a bearing geometry (the manifest's). */
  geometry: boolean;
  /** The fault the manifest says the bearing failed of, and whether the verdict in alarm (the
   *  whole run's when it never raised one) names it (null: no label, or one the verdict does not
   *  know what is right for). */
  label: string | null;
  right: boolean | null;
  /** The verdict of the windows from the first alarm on, and their windows by diagnosis (null:
   *  no alarm). */
  alarm_verdict: string | null;
  alarm_windows_by_fault: Record<string, number> | null;
  file: string;
  snapshots: number;
  /** The windows each snapshot was cut into: one of the snapshot's length, or for a snapshot
   *  longer than the firmware's largest window, consecutive windows of the validation's window
   *  (left_over samples at each snapshot's end unreplayed). */
  window: number;
  windows_per_snapshot: number;
  left_over: number;
  rpm: number | null;
  interval_s: number | null;
  uniform: boolean;
  out_of_order: SnapshotTimes["out_of_order"];
  /** The last snapshot's start plus its length, seconds from the first snapshot. */
  failure_s: number | null;
  verdict: string;
  windows_by_fault: Record<string, number>;
  /** summary.first_alarm_s: the first window whose alarm (the firmware's) is not "none", and
   *  its level. */
  first_alarm_s: number | null;
  first_alarm_level: string | null;
  /** summary.first_severe_s: the first run of persistent severity-2 windows. */
  first_severe_s: number | null;
  error: string | null;
}

export interface ValidationReport {
  data_dir: string;
  window: number;
  only: string | null;
  /** The data sets run (folder names). */
  sets: string[];
  /** The labelled records of every data set run (null: none holds any). */
  records: { runs: RecordOutcome[]; tables: ConfusionTable[]; speed: SpeedStats[] } | null;
  /** The runs to failure of every data set run (null: none holds any). */
  to_failure: FailureOutcome[] | null;
  targets: Target[];
  errors: string[];
  elapsed_s: number;
}

/** A group of records: sample rate and sensor, after the data set's name when the records come
 *  from several. */
export function groupName(rateHz: number, sensor: Sensor, set: string | null = null): string {
  return `${set === null ? "" : `${set}: `}${rateHz / 1000} kHz${sensor === "" ? "" : ` ${sensor.replace(/_/g, " ")}`}`;
}

/** Groups in reading order: drive end before fan end before any other sensor (by name), then by
 *  sample rate. */
function groupOrder(outcomes: readonly RecordOutcome[]): string[] {
  const keys = new Map<string, [number, string, number]>();
  const known = SENSORS as readonly string[];
  for (const o of outcomes) keys.set(o.group, [known.includes(o.sensor) ? known.indexOf(o.sensor) : known.length, o.sensor, o.sample_rate_hz]);
  return [...keys].sort(([, a], [, b]) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) || a[2] - b[2]).map(([group]) => group);
}

/** The table's columns: every fault the protocol names, then any other verdict seen ("error" last). */
export function faultColumns(outcomes: readonly RecordOutcome[]): string[] {
  const known: readonly string[] = FAULTS;
  const seen = [...new Set(outcomes.map((o) => o.verdict))].filter((v) => !known.includes(v) && v !== ERROR_VERDICT).sort();
  const columns = [...known, ...seen];
  if (outcomes.some((o) => o.verdict === ERROR_VERDICT)) columns.push(ERROR_VERDICT);
  return columns;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

export function isWrongRace(o: RecordOutcome): boolean {
  return (o.label === "inner" && o.verdict === "outer_race") || (o.label === "outer" && o.verdict === "inner_race");
}

export function confusionTable(outcomes: readonly RecordOutcome[], mode: Mode, group: string, columns: readonly string[]): ConfusionTable {
  const rows: ConfusionRow[] = [];
  const labels = [...new Set<string>([...LABELS, ...outcomes.map((o) => o.label)])];
  for (const label of labels) {
    const runs = outcomes.filter((o) => o.label === label);
    if (runs.length === 0) continue;
    const counts = Object.fromEntries(columns.map((c) => [c, 0]));
    for (const o of runs) counts[o.verdict] = (counts[o.verdict] ?? 0) + 1;
    const right = rightFault(label);
    rows.push({
      label, counts, total: runs.length, right: right === null ? null : counts[right] ?? 0,
      windows: sum(runs.map((o) => o.windows)), windows_right: right === null ? null : sum(runs.map((o) => o.windows_by_fault[right] ?? 0)),
    });
  }
  const otherRace = (o: RecordOutcome): number =>
    o.label === "inner" ? (o.windows_by_fault.outer_race ?? 0) : o.label === "outer" ? (o.windows_by_fault.inner_race ?? 0) : 0;
  return {
    mode, group, columns: [...columns], rows, wrong_race: outcomes.filter(isWrongRace).length,
    wrong_race_windows: sum(outcomes.map(otherRace)),
  };
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

/** The measured speed's error per group and over all, for the runs without rpm that have one to compare. */
export function speedStats(outcomes: readonly RecordOutcome[]): SpeedStats[] {
  const compared = outcomes.filter((o) => o.mode === "without_rpm" && (o.speed_error_pct !== null || o.speed_unmeasured));
  const stats = (group: string, runs: readonly RecordOutcome[]): SpeedStats => {
    const errors = runs.filter((o) => o.speed_error_pct !== null).map((o) => o.speed_error_pct as number);
    return {
      group, runs: runs.length, unmeasured: runs.length - errors.length, median_pct: median(errors), max_pct: Math.max(...errors),
      within: errors.filter((e) => e <= SPEED_TOLERANCE_PCT).length,
    };
  };
  if (compared.length === 0) return [];
  return [...groupOrder(compared).map((group) => stats(group, compared.filter((o) => o.group === group))), stats("all records", compared)];
}

function inTargetSizes(o: RecordOutcome): boolean {
  const tolerance = 1e-6;
  return o.fault_size_in !== null && o.fault_size_in >= TARGET_SIZE_IN[0] - tolerance && o.fault_size_in <= TARGET_SIZE_IN[1] + tolerance;
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
    const right = (o: RecordOutcome): boolean => o.verdict === rightFault(o.label);
    const race = (label: Label): RecordOutcome[] => runs.filter((o) =>
      o.label === label && o.sensor === "drive_end" && TARGET_RATES_HZ.includes(o.sample_rate_hz) && inTargetSizes(o));
    const inner = race("inner");
    add(`inner-race faults ${races}, right (all must be)`, inner, right, (count) => count === inner.length);
    add(`outer-race faults ${races}, right`, race("outer"), right, null,
      "not judged: the manifest does not say which outer-race records are at 12 o'clock");
    for (const label of ["inner", "outer"] as const) {
      const all = runs.filter((o) => o.label === label);
      const share = BENCHMARK_RIGHT_SHARE[label];
      add(`${label}-race faults, all records, right (at least the benchmark's ${Math.round(share * 100)} %)`, all, right,
        (count) => count >= share * all.length - 1e-9);
    }
    const ball = runs.filter((o) => o.label === "ball");
    add(`ball faults right (more than ${BALL_RIGHT_SHARE_MIN * 100} % must be)`, ball, right, (count) => count > BALL_RIGHT_SHARE_MIN * ball.length);
    const normal = runs.filter((o) => o.label === "normal");
    add("normal records called none (all must be)", normal, right, (count) => count === normal.length);
    const raceFaults = runs.filter((o) => o.label === "inner" || o.label === "outer");
    add("race faults called the other race, inner as outer_race or outer as inner_race (none may be)", raceFaults, isWrongRace, (count) => count === 0);
  }
  return targets;
}

function seenFaults(byFault: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(byFault).filter(([, n]) => n > 0));
}

/** A record's outcome; `named` puts its data set's name in its group (records of several sets). */
export function recordOutcome(record: LabelledRecord, mode: Mode, result: ReplayResult | { error: string }, named = false): RecordOutcome {
  const base = {
    set: record.set, file: record.file, record: record.record, label: record.label, fault_size_in: record.fault_size_in, load_hp: record.load_hp,
    sample_rate_hz: record.sample_rate_hz, sensor: record.sensor, group: groupName(record.sample_rate_hz, record.sensor, named ? record.set : null),
    mode, rpm: record.shaft_rpm,
  };
  if ("error" in result) {
    return { ...base, verdict: ERROR_VERDICT, windows: 0, windows_by_fault: {}, refused: 0, shaft_hz: null, speed_error_pct: null, speed_unmeasured: false, doubted_windows: 0, seen_hz: null, error: result.error };
  }
  // The speed the firmware settles on: the median over the windows that measured one
  // (shaft_conf above 0; a window that could not, as the first ones of a run at 48 kHz, says 0
  // and publishes the middle of the range), or over all when none did.
  const speedOf = (windows: readonly WindowResult[]): number[] =>
    windows.map((w) => w.features.shaft_hz).filter((hz): hz is number => hz !== undefined && Number.isFinite(hz));
  const measuredSpeeds = speedOf(result.windows.filter((w) => (w.features.shaft_conf ?? 0) > 0));
  const speeds = measuredSpeeds.length > 0 ? measuredSpeeds : speedOf(result.windows);
  const shaftHz = speeds.length > 0 ? median(speeds) : null;
  const nominalHz = record.shaft_rpm === null ? null : record.shaft_rpm / 60;
  const compared = mode === "without_rpm" && nominalHz !== null;
  const speedError = compared && measuredSpeeds.length > 0 && shaftHz !== null ? (Math.abs(shaftHz - nominalHz) / nominalHz) * 100 : null;
  const seen = result.windows.map((w) => w.features.seen_hz).filter((hz): hz is number => hz !== undefined && Number.isFinite(hz));
  return {
    ...base, verdict: result.summary.fault, windows: result.summary.windows, windows_by_fault: seenFaults(result.summary.windows_by_fault),
    refused: result.refused.length, shaft_hz: shaftHz, speed_error_pct: speedError, speed_unmeasured: compared && measuredSpeeds.length === 0,
    doubted_windows: seen.length, seen_hz: seen.length > 0 ? median(seen) : null, error: null,
  };
}

export function failureOutcome(run: FailureRun, times: SnapshotTimes, plan: SnapshotPlan, result: ReplayResult | { error: string }): FailureOutcome {
  const right = run.label === null ? null : rightFault(run.label);
  const base = {
    set: run.set, run: run.run, bearing: run.bearing, geometry: run.geometry !== null, label: run.label, file: run.file, snapshots: run.snapshots, ...plan, rpm: run.shaft_rpm, interval_s: times.interval_s,
    uniform: times.uniform, out_of_order: times.out_of_order,
    failure_s: (times.times_s.at(-1) ?? 0) + run.samples_per_snapshot / run.sample_rate_hz,
  };
  if ("error" in result) {
    return { ...base, verdict: ERROR_VERDICT, right: null, alarm_verdict: null, alarm_windows_by_fault: null, windows_by_fault: {}, first_alarm_s: null, first_alarm_level: null, first_severe_s: null, error: result.error };
  }
  const first = result.windows.findIndex((w) => w.alarm !== "none");
  const raised = first < 0 ? undefined : result.windows[first];
  // What the firmware told the operator once it raised the alarm: the verdict of the windows
  // from the first alarm on (of the whole run when it never raised one), judged against the fault
  // the bearing failed of. A run is mostly a sound bearing: the whole run's verdict says so.
  const alarmSummary = first < 0 ? null : summarise(result.windows.slice(first), 0);
  const judged = alarmSummary?.fault ?? result.summary.fault;
  return {
    ...base, verdict: result.summary.fault, right: right === null ? null : judged === right,
    alarm_verdict: alarmSummary?.fault ?? null, alarm_windows_by_fault: alarmSummary === null ? null : seenFaults(alarmSummary.windows_by_fault),
    windows_by_fault: seenFaults(result.summary.windows_by_fault), first_alarm_s: result.summary.first_alarm_s, first_alarm_level: raised?.alarm ?? null, first_severe_s: result.summary.first_severe_s, error: null,
  };
}

/** Every recording of the data folder replayed, and the verdict on each. */
export async function validate(options: ValidateOptions): Promise<ValidationReport> {
  const started = performance.now();
  const replayed = await replayRecordings(options);
  const named = new Set(replayed.records?.map((r) => r.record.set)).size > 1;
  const runs = replayed.records?.map((r) => recordOutcome(r.record, r.mode, r.result, named)) ?? null;
  const toFailure = replayed.runs?.map((r) => failureOutcome(r.run, r.times, r.plan, r.result)) ?? null;
  const errors = [...(runs ?? []), ...(toFailure ?? [])].flatMap((o) => (o.error === null ? [] : [o.error]));
  return {
    data_dir: replayed.dir, window: replayed.window, only: options.only ?? null, sets: replayed.sets,
    records: runs === null ? null : { runs, tables: confusionTables(runs), speed: speedStats(runs) },
    to_failure: toFailure, targets: runs === null ? [] : judgeTargets(runs), errors: [...new Set(errors)],
    elapsed_s: (performance.now() - started) / 1000,
  };
}
