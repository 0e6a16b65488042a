// `impeller validate`: the confusion tables, speed figures and targets from made-up replay
// results (exact counts), the snapshot times of a FEMTO run, and the command end to end on a
// small data folder made from the fixtures, with its failure paths. Which diagnosis the
// firmware gives is not asserted here (test/firmware/analysis-data.test.ts holds the analysis to it).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAULTS } from "../../protocol/messages.js";
import { readRecording, replay, summarise, ReplayError, type ReplayResult, type WindowResult } from "../../simulator/replay/replay.js";
import { confusionTables, faultColumns, failureOutcome, judgeTargets, recordOutcome, speedStats, validate, type RecordOutcome, type ValidationReport } from "../../simulator/verdict/validation.js";
import { formatDoubted, formatTable } from "../../simulator/verdict/validation-text.js";
import { runValidate } from "../../cli/validate.js";
import { canonicalLabel, snapshotPlan, snapshotTimes, snapshotWindows, ValidateError, type LabelledRecord, type FailureRun, type Label, type Mode, type Sensor } from "../../simulator/replay/recordings.js";
import { releaseFirmware } from "../support/firmware.js";

const FIXTURES = new URL("../fixtures/", import.meta.url);

function outcome(label: Label, verdict: string, mode: Mode = "with_rpm", rate = 12000, sensor: Sensor = "drive_end", extra: Partial<RecordOutcome> = {}): RecordOutcome {
  const group = `${rate / 1000} kHz ${sensor.replace("_", " ")}`;
  return {
    set: "cwru", file: `${label}-${verdict}.f32`, record: 1, label, fault_size_in: label === "normal" ? 0 : 0.007, load_hp: 0, sample_rate_hz: rate, sensor, group,
    mode, rpm: 1800, verdict, windows: 10, windows_by_fault: { [verdict]: 10 }, refused: 0, shaft_hz: null, speed_error_pct: null, speed_unmeasured: false, doubted_windows: 0, seen_hz: null, error: null, ...extra,
  };
}

describe("confusion tables from replay results", () => {
  const outcomes = [
    outcome("normal", "none"),
    outcome("inner", "inner_race"), outcome("inner", "outer_race"), outcome("inner", "unknown"),
    outcome("outer", "outer_race"), outcome("outer", "inner_race"),
    outcome("ball", "rolling_element"), outcome("ball", "none"),
    outcome("outer", "outer_race", "with_rpm", 48000), outcome("ball", "cage_fault", "with_rpm", 48000),
    outcome("inner", "inner_race", "with_rpm", 12000, "fan_end"),
    outcome("normal", "imbalance", "without_rpm"), outcome("inner", "error", "without_rpm", 12000, "drive_end", { error: "x.f32: gone" }),
  ];

  it("has every protocol fault as a column, then faults seen beyond them, then error last", () => {
    expect(faultColumns(outcomes)).toEqual([...FAULTS, "cage_fault", "error"]);
    expect(faultColumns([outcome("normal", "none")])).toEqual([...FAULTS]);
  });

  it("groups by sample rate and sensor end, drive end first, then one table of all records, per mode", () => {
    const tables = confusionTables(outcomes);
    expect(tables.map((t) => `${t.mode} ${t.group}`)).toEqual([
      "with_rpm 12 kHz drive end", "with_rpm 48 kHz drive end", "with_rpm 12 kHz fan end", "with_rpm all records",
      "without_rpm 12 kHz drive end", "without_rpm all records",
    ]);
  });

  it("counts each label's verdicts, the right ones, and the confident wrong races", () => {
    const [drive12, drive48, fan12, all] = confusionTables(outcomes);
    expect(drive12.rows.map((r) => [r.label, r.right, r.total])).toEqual([["normal", 1, 1], ["inner", 1, 3], ["outer", 1, 2], ["ball", 1, 2]]);
    expect(drive12.rows[1].counts).toMatchObject({ inner_race: 1, outer_race: 1, unknown: 1, none: 0, cage_fault: 0 });
    expect(drive12.wrong_race).toBe(2);
    expect(drive48.rows.map((r) => [r.label, r.right, r.total])).toEqual([["outer", 1, 1], ["ball", 0, 1]]);
    expect(drive48.rows[1].counts.cage_fault).toBe(1);
    expect(fan12.rows.map((r) => [r.label, r.right, r.total])).toEqual([["inner", 1, 1]]);
    expect(all.rows.map((r) => [r.label, r.right, r.total])).toEqual([["normal", 1, 1], ["inner", 2, 4], ["outer", 2, 3], ["ball", 1, 3]]);
    expect(all.wrong_race).toBe(2);
    // Window by window (10 windows a record, all of its verdict): the windows whose own
    // diagnosis is the label's, and the race records' windows called the other race.
    expect(drive12.rows.map((r) => [r.label, r.windows_right, r.windows])).toEqual([["normal", 10, 10], ["inner", 10, 30], ["outer", 10, 20], ["ball", 10, 20]]);
    expect(drive12.wrong_race_windows).toBe(20);
    const mixed = confusionTables([outcome("outer", "outer_race", "with_rpm", 12000, "drive_end", { windows: 12, windows_by_fault: { outer_race: 7, inner_race: 2, unknown: 3 } })])[0];
    expect(mixed.rows.map((r) => [r.label, r.right, r.windows_right, r.windows])).toEqual([["outer", 1, 7, 12]]);
    expect([mixed.wrong_race, mixed.wrong_race_windows]).toEqual([0, 2]);
    const without = confusionTables(outcomes).at(-1)!;
    expect(without.rows.map((r) => [r.label, r.counts.imbalance, r.counts.error])).toEqual([["normal", 1, 0], ["inner", 0, 1]]);
  });

  it("prints a table as label rows under fault columns, with the share right", () => {
    const table = confusionTables([outcome("inner", "inner_race"), outcome("inner", "unknown"), outcome("normal", "none")])[0];
    const lines = formatTable(table);
    expect(lines[0]).toBe("  12 kHz drive end");
    expect(lines[1].split(/\s+/).filter(Boolean)).toEqual(["label", ...FAULTS, "right", "windows", "right"]);
    expect(lines[2].split(/\s+/).filter(Boolean)).toEqual(["normal", "1", "0", "0", "0", "0", "0", "0", "0", "0", "1/1", "100", "%", "10/10", "100", "%"]);
    expect(lines[3].split(/\s+/).filter(Boolean)).toEqual(["inner", "0", "0", "0", "0", "1", "0", "0", "1", "0", "1/2", "50", "%", "10/20", "50", "%"]);
    expect(lines[4]).toBe("    confident wrong race: 0 (windows called the other race: 0)");
  });
});

describe("speed measured without rpm", () => {
  it("gives per group and over all the median and largest error and how many are within 0.5 %", () => {
    const stats = speedStats([
      outcome("inner", "none", "without_rpm", 12000, "drive_end", { speed_error_pct: 0.1 }),
      outcome("inner", "none", "without_rpm", 12000, "drive_end", { speed_error_pct: 0.4 }),
      outcome("inner", "none", "without_rpm", 12000, "drive_end", { speed_error_pct: 3 }),
      outcome("outer", "none", "without_rpm", 12000, "fan_end", { speed_error_pct: 0.6 }),
      outcome("outer", "none", "without_rpm", 12000, "fan_end", { speed_error_pct: null }), // the manifest has no rpm
      outcome("outer", "none", "with_rpm", 12000, "fan_end", { speed_error_pct: null }),
      outcome("ball", "none", "without_rpm", 48000, "drive_end", { speed_unmeasured: true }), // no window measured one
    ]);
    expect(stats).toEqual([
      { group: "12 kHz drive end", runs: 3, unmeasured: 0, median_pct: 0.4, max_pct: 3, within: 2 },
      { group: "48 kHz drive end", runs: 1, unmeasured: 1, median_pct: NaN, max_pct: -Infinity, within: 0 },
      { group: "12 kHz fan end", runs: 1, unmeasured: 0, median_pct: 0.6, max_pct: 0.6, within: 0 },
      { group: "all records", runs: 5, unmeasured: 1, median_pct: 0.5, max_pct: 3, within: 2 },
    ]);
  });

  it("takes the median of the windows' shaft_hz against rpm/60", () => {
    const record: LabelledRecord = {
      set: "cwru", file: "r.f32", record: 7, label: "inner", fault_size_in: 0.014, load_hp: 1, shaft_rpm: 1800, sample_rate_hz: 48000, bearing: "6205", sensor: "drive_end", units: "g",
    };
    // The windows that measured a speed (shaft_conf above 0) give it; one that did not published
    // the middle of the range, and counts for nothing.
    const windows = [[29.7, 1], [30.1, 0.9], [36.6, 1], [35, 0]].map(([hz, conf], index) => ({ index, features: { shaft_hz: hz, shaft_conf: conf } }) as unknown as WindowResult);
    const result = { summary: { fault: "inner_race", windows: 4, windows_by_fault: { none: 0, inner_race: 4 } }, windows, refused: [] } as unknown as ReplayResult;
    const without = recordOutcome(record, "without_rpm", result);
    expect(without.shaft_hz).toBeCloseTo(30.1, 12);
    expect(without.speed_error_pct).toBeCloseTo((0.1 / 30) * 100, 10);
    expect(without.speed_unmeasured).toBe(false);
    // None measured: the middle of the range is no measurement, and has no error.
    const unmeasured = recordOutcome(record, "without_rpm", { ...result, windows: windows.slice(3) } as unknown as ReplayResult);
    expect(unmeasured).toMatchObject({ shaft_hz: 35, speed_error_pct: null, speed_unmeasured: true });
    expect(recordOutcome(record, "with_rpm", { ...result, windows: windows.slice(3) } as unknown as ReplayResult).speed_unmeasured).toBe(false);
    expect(without.group).toBe("48 kHz drive end");
    expect(without.windows_by_fault).toEqual({ inner_race: 4 });
    expect(recordOutcome(record, "with_rpm", result).speed_error_pct).toBeNull();
    expect(recordOutcome({ ...record, shaft_rpm: null }, "without_rpm", result).speed_error_pct).toBeNull();
    expect(recordOutcome(record, "with_rpm", { error: "r.f32: gone" })).toMatchObject({ verdict: "error", error: "r.f32: gone", windows: 0 });
  });

  it("counts the windows that doubted the stated speed and takes the median of the speed they show", () => {
    const record: LabelledRecord = {
      set: "cwru", file: "r.f32", record: 7, label: "inner", fault_size_in: 0.014, load_hp: 1, shaft_rpm: 1800, sample_rate_hz: 48000, bearing: "6205", sensor: "drive_end", units: "g",
    };
    const features = [{ shaft_hz: 30 }, { shaft_hz: 30, seen_hz: 26.2 }, { shaft_hz: 30, seen_hz: 26.8 }, { shaft_hz: 30, seen_hz: 26.4 }];
    const windows = features.map((f, index) => ({ index, features: f }) as unknown as WindowResult);
    const result = { summary: { fault: "unknown", windows: 4, windows_by_fault: { unknown: 4 } }, windows, refused: [] } as unknown as ReplayResult;
    expect(recordOutcome(record, "with_rpm", result)).toMatchObject({ doubted_windows: 3, seen_hz: 26.4 });
    const none = { ...result, windows: windows.slice(0, 1) } as unknown as ReplayResult;
    expect(recordOutcome(record, "with_rpm", none)).toMatchObject({ doubted_windows: 0, seen_hz: null });
  });
});

describe("stated speeds the firmware doubts", () => {
  it("lists the records with the rpm whose windows doubted it in a third or more, with the speed the signal shows", () => {
    const doubted = (windows: number, speed: number) => ({ doubted_windows: windows, seen_hz: speed });
    const lines = formatDoubted([
      outcome("inner", "unknown", "with_rpm", 48000, "drive_end", doubted(4, 54.57)),
      outcome("outer", "outer_race", "with_rpm", 12000, "drive_end", doubted(3, 59.9)), // 3 of 10: under a third
      outcome("outer", "outer_race", "without_rpm", 12000, "drive_end", doubted(10, 30)), // no rpm, no doubt of it
    ]);
    expect(lines).toEqual([
      "",
      "Stated speeds the firmware doubts (in a third of the windows or more; no defect is named where it does)",
      "  1 inner, 48 kHz drive end: stated 1800 rpm doubted in 4 of 10 windows, the signal shows 54.57 Hz (3274 rpm)",
    ]);
    expect(formatDoubted([outcome("inner", "inner_race")])).toEqual([]);
  });
});

describe("targets", () => {
  const big = { fault_size_in: 0.028 };
  const outcomes = [
    outcome("inner", "inner_race"), outcome("inner", "inner_race", "with_rpm", 48000), outcome("inner", "unknown", "with_rpm", 12000, "drive_end", big),
    outcome("inner", "outer_race", "with_rpm", 12000, "fan_end"), // fan end: not in the race targets, but a wrong race
    outcome("outer", "outer_race"), outcome("outer", "none"), outcome("outer", "unknown", "with_rpm", 48000),
    outcome("ball", "rolling_element"), outcome("ball", "none"), outcome("ball", "unknown"),
    outcome("normal", "none"), outcome("normal", "none", "with_rpm", 48000),
    outcome("inner", "unknown", "without_rpm"), outcome("ball", "none", "without_rpm"), outcome("normal", "cavitation", "without_rpm"),
  ];
  const targets = judgeTargets(outcomes);

  it("judges the drive-end inner races of 0.007-0.021 in, and counts the outer races without judging them", () => {
    expect(targets.filter((t) => t.mode === "with_rpm").map((t) => [t.status, t.count, t.total])).toEqual([
      ["pass", 2, 2], // inner-race faults right
      ["count", 1, 3], // outer-race faults right
      ["fail", 2, 4], // inner races of every size, rate and end: 50 %, under the benchmark's 100 %
      ["fail", 1, 3], // outer races, all records: 33 %, under the benchmark's 89 %
      ["pass", 1, 3], // ball: 1 of 3 is more than 25 %
      ["pass", 2, 2], // normal called none
      ["fail", 1, 7], // wrong race
    ]);
  });

  it("judges the runs without rpm apart", () => {
    expect(targets.filter((t) => t.mode === "without_rpm").map((t) => [t.status, t.count, t.total])).toEqual([
      ["fail", 0, 1], ["no data", 0, 0], ["fail", 0, 1], ["no data", 0, 0], ["fail", 0, 1], ["fail", 0, 1], ["pass", 0, 1],
    ]);
  });
});

describe("FEMTO snapshot times", () => {
  it("takes evenly stamped snapshots at their interval", () => {
    expect(snapshotTimes([100, 110, 120, 130])).toEqual({ times_s: [0, 10, 20, 30], interval_s: 10, uniform: true, out_of_order: [] });
  });

  it("takes stamps out of order with the rest (a clock glitch) from their neighbours", () => {
    const times = snapshotTimes([0, 10, 20, 86347.8, 86347.8, 50, 60]);
    expect(times.uniform).toBe(true);
    expect(times.interval_s).toBe(10);
    expect(times.times_s).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(times.out_of_order).toEqual([{ index: 3, stamp_s: 86347.8, taken_s: 30 }, { index: 4, stamp_s: 86347.8, taken_s: 40 }]);
  });

  it("keeps uneven stamps that are in order, as stamped", () => {
    const times = snapshotTimes([0, 10, 20, 27930, 27940]);
    expect(times).toEqual({ times_s: [0, 10, 20, 27930, 27940], interval_s: 10, uniform: false, out_of_order: [] });
  });

  it("has replay feed snapshots at the given times, and refuses times that do not increase", async () => {
    const samples = readRecording(new URL("femto-Bearing1_1-horizontal-first10-last10.f32", FIXTURES).pathname).subarray(0, 4 * 2560);
    const options = { rateHz: 25600, rpm: 1800, window: 2560, firmware: await releaseFirmware() };
    const result = await replay(samples, { ...options, timesS: [0, 10, 27930, 27940] });
    expect(result.windows.map((w) => w.time_s)).toEqual([0, 10, 27930, 27940]);
    expect(result.summary.duration_s).toBeCloseTo(27940.1, 9);
    await expect(replay(samples, { ...options, timesS: [0, 10, 10, 20] })).rejects.toThrow(ReplayError);
    await expect(replay(samples, { ...options, timesS: [0, 10] })).rejects.toThrow("2 snapshot times for 4 windows");
  });

  it("reports the failure as the last snapshot's start plus its length, and the first window in alarm", () => {
    const run: FailureRun = { set: "femto", units: "g", file: "f.f32", run: "B", bearing: "B", geometry: null, label: null, shaft_rpm: 1800, sample_rate_hz: 25600, samples_per_snapshot: 2560, snapshots: 3, snapshot_start_s: [0, 10, 20] };
    const windows = ["none", "alert", "danger"].map((alarm, index) => ({ index, time_s: index * 10, alarm, fault: "unknown", findings: [] }) as unknown as WindowResult);
    const result = { summary: { fault: "unknown", windows: 3, windows_by_fault: { unknown: 3 }, first_alarm_s: 10, first_severe_s: null }, windows } as unknown as ReplayResult;
    expect(failureOutcome(run, snapshotTimes(run.snapshot_start_s), snapshotPlan(2560, 4096), result)).toMatchObject({
      window: 2560, windows_per_snapshot: 1, left_over: 0, failure_s: 20.1, first_alarm_s: 10, first_alarm_level: "alert", first_severe_s: null, verdict: "unknown", interval_s: 10, uniform: true,
    });
  });
});

describe("another data set's names for CWRU's labels", () => {
  it("judges them as CWRU's four, in any case and with spaces, hyphens or underscores; others stay as given", () => {
    expect(["Normal", "healthy", "BASELINE", "none"].map(canonicalLabel)).toEqual(["normal", "normal", "normal", "normal"]);
    expect(["inner", "Inner Race", "inner_ring", "IR", "bpfi"].map(canonicalLabel)).toEqual(["inner", "inner", "inner", "inner", "inner"]);
    expect(["outer", "outer-race", "Outer Ring", "OR", "BPFO"].map(canonicalLabel)).toEqual(["outer", "outer", "outer", "outer", "outer"]);
    expect(["ball", "roller", "rolling_element", "roller element", "B"].map(canonicalLabel)).toEqual(["ball", "ball", "ball", "ball", "ball"]);
    expect(["cage", "inner+outer", "Inner and outer", "spall"].map(canonicalLabel)).toEqual(["cage", "inner+outer", "Inner and outer", "spall"]);
    // Written together, or with the word fault, defect or damage after it.
    expect(["OuterRaceFault", "IR fault", "inner_race_faults", "Ball_Fault", "rolling-element defect", "outer ring damage", "No fault", "fault-free"].map(canonicalLabel))
      .toEqual(["outer", "inner", "inner", "ball", "ball", "outer", "normal", "normal"]);
    expect(["cage fault", "fault", "Inner and outer fault"].map(canonicalLabel)).toEqual(["cage fault", "fault", "Inner and outer fault"]);
  });
});

describe("a run to failure's verdict in alarm", () => {
  const starts = Array.from({ length: 13 }, (_, i) => i * 10);
  const run: FailureRun = { set: "life", units: "g", file: "f.f32", run: "B", bearing: "B", geometry: null, label: "outer", shaft_rpm: 1800, sample_rate_hz: 25600, samples_per_snapshot: 2560, snapshots: 13, snapshot_start_s: starts };
  const sound = (n: number, value: string): string[] => Array.from({ length: n }, () => value);
  const result = (alarms: string[], faults: string[]): ReplayResult => {
    const windows = alarms.map((alarm, index) => ({ index, time_s: index * 10, alarm, fault: faults[index], findings: [] }) as unknown as WindowResult);
    return { summary: summarise(windows, 130), windows } as unknown as ReplayResult;
  };

  it("is the verdict of the windows from the first alarm on, judged against the fault the bearing failed of", () => {
    // A sound bearing for most of the run: the whole run's verdict is none; in alarm, the outer race.
    const outcome = failureOutcome(run, snapshotTimes(run.snapshot_start_s), snapshotPlan(2560, 4096),
      result([...sound(10, "none"), "alert", "alert", "danger"], [...sound(10, "none"), "outer_race", "unknown", "outer_race"]));
    expect(outcome).toMatchObject({ verdict: "none", alarm_verdict: "outer_race", alarm_windows_by_fault: { outer_race: 2, unknown: 1 }, right: true });
    expect(failureOutcome({ ...run, label: "inner" }, snapshotTimes(run.snapshot_start_s), snapshotPlan(2560, 4096),
      result([...sound(10, "none"), "alert", "alert", "danger"], [...sound(10, "none"), "outer_race", "unknown", "outer_race"])).right).toBe(false);
  });

  it("is the whole run's when it never raised an alarm", () => {
    const outcome = failureOutcome(run, snapshotTimes(run.snapshot_start_s), snapshotPlan(2560, 4096),
      result(sound(13, "none"), [...sound(8, "none"), ...sound(5, "outer_race")]));
    expect(outcome).toMatchObject({ verdict: "outer_race", alarm_verdict: null, alarm_windows_by_fault: null, right: true });
  });
});

describe("snapshots longer than the firmware's largest window", () => {
  it("takes a snapshot the firmware can take whole as one window, of its length", () => {
    expect(snapshotPlan(2560, 4096)).toEqual({ window: 2560, windows_per_snapshot: 1, left_over: 0 });
    expect(snapshotPlan(8192, 4096)).toEqual({ window: 8192, windows_per_snapshot: 1, left_over: 0 });
  });

  it("cuts a longer one into consecutive windows of the validation's window, the rest left over", () => {
    expect(snapshotPlan(8193, 4096)).toEqual({ window: 4096, windows_per_snapshot: 2, left_over: 1 });
    expect(snapshotPlan(20480, 4096)).toEqual({ window: 4096, windows_per_snapshot: 5, left_over: 0 });
    expect(snapshotPlan(32768, 2560)).toEqual({ window: 2560, windows_per_snapshot: 12, left_over: 2048 });
  });

  it("gives each window its samples and its start: the snapshot's, plus the windows before it in the snapshot", () => {
    const samples = Float32Array.from({ length: 20 }, (_, i) => i);
    const plan = { window: 4, windows_per_snapshot: 2, left_over: 2 };
    const windows = snapshotWindows(samples, 1000, [0, 60], plan);
    expect([...windows.samples]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(windows.timesS).toEqual([0, 0.004, 60, 60.004]);
    // One whole window a snapshot: the samples as they are.
    expect(snapshotWindows(samples, 1000, [0, 10], { window: 10, windows_per_snapshot: 1, left_over: 0 })).toEqual({ samples, timesS: [0, 10] });
  });
});

describe("impeller validate on a small data folder", () => {
  let dir: string;
  const cwruRecords = [
    { file: "cwru-97-normal-12k.f32", record: 97, label: "normal", fault_size_in: 0, load_hp: 0, shaft_rpm: 1796, sample_rate_hz: 12000, samples: 20480, bearing: "6205", sensor: "drive_end" },
    { file: "cwru-105-inner-12k.f32", record: 105, label: "inner", fault_size_in: 0.007, load_hp: 0, shaft_rpm: 1797, sample_rate_hz: 12000, samples: 20480, bearing: "6205", sensor: "drive_end" },
  ];
  const bearings = { "6205": { rolling_elements: 9, element_diameter_mm: 7.94, pitch_diameter_mm: 39.04, contact_angle_deg: 0 } };
  const starts = [...Array.from({ length: 10 }, (_, i) => i * 10), ...Array.from({ length: 10 }, (_, i) => 27930 + i * 10)];
  const femtoRun = { file: "femto-Bearing1_1-horizontal.f32", bearing: "Bearing1_1", shaft_rpm: 1800, sample_rate_hz: 25600, samples_per_snapshot: 2560, snapshots: 20, snapshot_start_s: starts };

  function writeData(target: string, records: object[] = cwruRecords): void {
    fs.mkdirSync(path.join(target, "cwru"), { recursive: true });
    fs.mkdirSync(path.join(target, "femto"), { recursive: true });
    fs.writeFileSync(path.join(target, "cwru", "manifest.json"), JSON.stringify({ bearings, records }));
    fs.writeFileSync(path.join(target, "femto", "manifest.json"), JSON.stringify({ runs: [femtoRun] }));
    fs.copyFileSync(new URL("cwru-97-normal-12k-excerpt.f32", FIXTURES), path.join(target, "cwru", "cwru-97-normal-12k.f32"));
    fs.copyFileSync(new URL("cwru-105-inner-12k-excerpt.f32", FIXTURES), path.join(target, "cwru", "cwru-105-inner-12k.f32"));
    fs.copyFileSync(new URL("femto-Bearing1_1-horizontal-first10-last10.f32", FIXTURES), path.join(target, "femto", femtoRun.file));
  }

  async function run(args: string[]): Promise<{ code: number; text: string }> {
    let text = "";
    const code = await runValidate(args, (chunk) => { text += chunk; }, await releaseFirmware());
    return { code, text };
  }

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-validate-"));
    writeData(path.join(dir, "data"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs each record with and without rpm and each FEMTO run, and reports them as JSON", async () => {
    const { code, text } = await run([path.join(dir, "data"), "--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(text) as ValidationReport;
    expect(report.errors).toEqual([]);
    expect(report.window).toBe(4096);
    expect(report.records!.runs.map((o) => `${o.record} ${o.mode}`)).toEqual(["97 with_rpm", "97 without_rpm", "105 with_rpm", "105 without_rpm"]);
    for (const o of report.records!.runs) {
      expect(o.windows).toBe(5); // 20480 samples, windows of 4096
      expect(Object.values(o.windows_by_fault).reduce((a, b) => a + b, 0)).toBe(5);
      expect(typeof o.verdict).toBe("string");
      expect(o.shaft_hz).toBeGreaterThan(0);
      expect(o.speed_error_pct === null).toBe(o.mode === "with_rpm");
    }
    expect(report.records!.tables.map((t) => `${t.mode} ${t.group}`)).toEqual([
      "with_rpm 12 kHz drive end", "with_rpm all records", "without_rpm 12 kHz drive end", "without_rpm all records",
    ]);
    expect(report.records!.tables[0].rows.map((r) => [r.label, r.total])).toEqual([["normal", 1], ["inner", 1]]);
    expect(report.records!.speed.map((s) => [s.group, s.runs])).toEqual([["12 kHz drive end", 2], ["all records", 2]]);
    expect(report.targets.map((t) => [t.mode, t.total])).toEqual([
      ["with_rpm", 1], ["with_rpm", 0], ["with_rpm", 1], ["with_rpm", 0], ["with_rpm", 0], ["with_rpm", 1], ["with_rpm", 1],
      ["without_rpm", 1], ["without_rpm", 0], ["without_rpm", 1], ["without_rpm", 0], ["without_rpm", 0], ["without_rpm", 1], ["without_rpm", 1],
    ]);
    const [femto] = report.to_failure!;
    expect(femto).toMatchObject({ bearing: "Bearing1_1", snapshots: 20, uniform: false, interval_s: 10, out_of_order: [], failure_s: 28020.1, error: null });
    expect(Object.values(femto.windows_by_fault).reduce((a, b) => a + b, 0)).toBe(20);
  });

  it("replays a run whose snapshots are longer than the largest window as consecutive windows within each", async () => {
    // The fixture's 20 snapshots of 2560 as 4 of 12,800 samples a minute apart (0.5 s at 25.6 kHz):
    // three windows of 4096 each, 512 samples left over.
    const longDir = path.join(dir, "long");
    writeData(longDir);
    const longRun = { ...femtoRun, samples_per_snapshot: 12800, snapshots: 4, snapshot_start_s: [0, 60, 120, 180] };
    fs.writeFileSync(path.join(longDir, "femto", "manifest.json"), JSON.stringify({ runs: [longRun] }));
    const report = JSON.parse((await run([longDir, "--json", "--only", "femto"])).text) as ValidationReport;
    const [femto] = report.to_failure!;
    expect(femto).toMatchObject({ snapshots: 4, window: 4096, windows_per_snapshot: 3, left_over: 512, uniform: true, interval_s: 60, error: null });
    expect(femto.failure_s).toBeCloseTo(180.5, 9);
    expect(Object.values(femto.windows_by_fault).reduce((a, b) => a + b, 0)).toBe(12);
    const { text } = await run([longDir, "--only", "femto"]);
    expect(text).toContain("    4 snapshots every 60 s, each cut into 3 consecutive windows of 4,096 samples (its last 512 not replayed), 1800 rpm");
    // Before, the firmware refused a window of 12,800 samples and the run was an error.
    expect(report.errors).toEqual([]);
  });

  it("prints the tables, the FEMTO runs, the targets and, with --verbose, every record's verdict", async () => {
    const json = JSON.parse((await run([path.join(dir, "data"), "--json"])).text) as ValidationReport;
    const { code, text } = await run([path.join(dir, "data"), "--verbose"]);
    expect(code).toBe(0);
    expect(text).toContain("Labelled records (cwru) with rpm (the manifest's shaft speed)");
    expect(text).toContain("Labelled records (cwru) without rpm (the firmware measures the shaft speed)");
    expect(text).toMatch(/^ {2}12 kHz drive end$/m);
    expect(text).toMatch(/^ {2}Bearing1_1: first alarm( \((alert|danger)\))? (never|at [\d,.]+ s of 28,020\.1 s); first severe (never|at [\d,.]+ s of 28,020\.1 s)/m);
    expect(text).toContain("Targets");
    for (const o of json.records!.runs) {
      expect(text).toContain(`  ${o.record} ${o.label} ${o.fault_size_in!.toFixed(3)} in 0 hp, 12 kHz drive end, ${o.mode.replace("_", " ")}: ${o.verdict} (`);
    }
    expect((await run([path.join(dir, "data")])).text).not.toContain("Records (verdict");
  });

  it("runs one data set with --only", async () => {
    const report = JSON.parse((await run([path.join(dir, "data"), "--json", "--only", "femto"])).text) as ValidationReport;
    expect(report.records).toBeNull();
    expect(report.targets).toEqual([]);
    expect(report.to_failure).toHaveLength(1);
    expect(JSON.parse((await run([path.join(dir, "data"), "--json", "--only", "cwru"])).text).to_failure).toBeNull();
  });

  it("stops with a clear error when the data folder is missing", async () => {
    const missing = path.join(dir, "nowhere");
    await expect(run([missing])).rejects.toThrow(new ValidateError("no_data", `no data folder at ${missing}: name a folder with a manifest.json, or one whose folders have one (default ../shared/data)`));
  });

  it("takes another rig's manifest: a sensor of its own name, no record numbers, fault sizes or loads", async () => {
    const other = path.join(dir, "other-rig");
    writeData(other, cwruRecords.map(({ record: _record, fault_size_in: _size, load_hp: _load, ...rest }) => ({ ...rest, sensor: "bearing_housing" })));
    const report = JSON.parse((await run([other, "--json", "--only", "cwru"])).text) as ValidationReport;
    expect(report.errors).toEqual([]);
    expect(report.records!.runs.map((o) => `${o.record} ${o.label} ${o.group} ${o.fault_size_in} ${o.load_hp}`)).toEqual([
      "1 normal 12 kHz bearing housing null null", "1 normal 12 kHz bearing housing null null",
      "2 inner 12 kHz bearing housing null null", "2 inner 12 kHz bearing housing null null",
    ]);
    expect(report.records!.tables.map((t) => `${t.mode} ${t.group}`)).toEqual([
      "with_rpm 12 kHz bearing housing", "with_rpm all records", "without_rpm 12 kHz bearing housing", "without_rpm all records",
    ]);
    // The drive-end targets have no records of theirs; the others judge all records.
    expect(report.targets.filter((t) => t.mode === "with_rpm").map((t) => t.total)).toEqual([0, 0, 1, 0, 0, 1, 1]);
    const text = (await run([other, "--verbose", "--only", "cwru"])).text;
    expect(text).toContain("  2 inner, 12 kHz bearing housing, with rpm: ");
    expect(text).toMatch(/^ {2}12 kHz bearing housing$/m);
  });

  it("runs the data sets the folder holds: another rig's may have no femto/ (or no cwru/), and one with neither stops", async () => {
    const cwruOnly = path.join(dir, "cwru-only");
    writeData(cwruOnly);
    fs.rmSync(path.join(cwruOnly, "femto"), { recursive: true });
    const report = JSON.parse((await run([cwruOnly, "--json"])).text) as ValidationReport;
    expect(report.to_failure).toBeNull();
    expect(report.records!.runs).toHaveLength(4);
    const femtoOnly = path.join(dir, "femto-only");
    writeData(femtoOnly);
    fs.rmSync(path.join(femtoOnly, "cwru"), { recursive: true });
    const femto = JSON.parse((await run([femtoOnly, "--json"])).text) as ValidationReport;
    expect([femto.records, femto.to_failure!.length]).toEqual([null, 1]);
    const empty = path.join(dir, "empty");
    fs.mkdirSync(empty);
    await expect(run([empty])).rejects.toThrow(new ValidateError("no_data", `${empty} holds no manifest.json, nor any folder with one: name the folder that holds the data sets (default ../shared/data)`));
  });

  it("finds data sets by any folder name, or takes the folder named as one, and runs one by name with --only", async () => {
    // Two rigs' records in folders of their own names, beside a run-to-failure set: each record's
    // group names its set, as records of several sets are.
    const rigs = path.join(dir, "rigs");
    writeData(rigs);
    fs.renameSync(path.join(rigs, "cwru"), path.join(rigs, "rig-b"));
    fs.renameSync(path.join(rigs, "femto"), path.join(rigs, "rig-c-life"));
    fs.mkdirSync(path.join(rigs, "rig-a"));
    fs.copyFileSync(new URL("cwru-105-inner-12k-excerpt.f32", FIXTURES), path.join(rigs, "rig-a", "inner.f32"));
    fs.writeFileSync(path.join(rigs, "rig-a", "manifest.json"), JSON.stringify({ bearings, records: [{ ...cwruRecords[1], file: "inner.f32", sensor: "housing" }] }));
    fs.mkdirSync(path.join(rigs, "notes")); // a folder without a manifest is no data set
    const report = JSON.parse((await run([rigs, "--json"])).text) as ValidationReport;
    expect(report.errors).toEqual([]);
    expect(report.sets).toEqual(["rig-a", "rig-b", "rig-c-life"]);
    expect(report.records!.runs.map((o) => `${o.set} ${o.record} ${o.group}`)).toEqual([
      "rig-a 105 rig-a: 12 kHz housing", "rig-a 105 rig-a: 12 kHz housing",
      "rig-b 97 rig-b: 12 kHz drive end", "rig-b 97 rig-b: 12 kHz drive end", "rig-b 105 rig-b: 12 kHz drive end", "rig-b 105 rig-b: 12 kHz drive end",
    ]);
    expect(report.records!.tables.filter((t) => t.mode === "with_rpm").map((t) => t.group)).toEqual(["rig-b: 12 kHz drive end", "rig-a: 12 kHz housing", "all records"]);
    expect(report.to_failure!.map((o) => `${o.set} ${o.bearing}`)).toEqual(["rig-c-life Bearing1_1"]);
    const text = (await run([rigs])).text;
    expect(text).toContain("(rig-a, rig-b, rig-c-life): 3 labelled records (6 runs), 1 runs to failure, window 4096");
    expect(text).toContain("Labelled records (rig-a, rig-b) with rpm");
    // One set by its folder's name; the folder of one set named itself.
    const only = JSON.parse((await run([rigs, "--json", "--only", "rig-a"])).text) as ValidationReport;
    expect([only.sets, only.records!.runs.length, only.to_failure]).toEqual([["rig-a"], 2, null]);
    const itself = JSON.parse((await run([path.join(rigs, "rig-a"), "--json"])).text) as ValidationReport;
    expect([itself.sets, itself.records!.runs.map((o) => o.group)]).toEqual([["rig-a"], ["12 kHz housing", "12 kHz housing"]]);
    await expect(run([rigs, "--only", "rig-z"])).rejects.toThrow(`--only "rig-z" names no data set of ${rigs} (rig-a, rig-b, rig-c-life)`);
    await expect(run([rigs, "--only", ""])).rejects.toThrow("--only names a data set");
  });

  it("takes a manifest of one bearing given alone, records without a bearing, sensor or speed", async () => {
    const minimal = path.join(dir, "minimal");
    fs.mkdirSync(minimal, { recursive: true });
    fs.copyFileSync(new URL("cwru-105-inner-12k-excerpt.f32", FIXTURES), path.join(minimal, "a.f32"));
    const manifest = { bearing: { name: "6205", ...bearings["6205"] }, records: [{ file: "a.f32", label: "Inner Race", sample_rate_hz: 12000 }] };
    fs.writeFileSync(path.join(minimal, "manifest.json"), JSON.stringify(manifest));
    const report = JSON.parse((await run([minimal, "--json"])).text) as ValidationReport;
    expect(report.errors).toEqual([]);
    expect(report.records!.runs.map((o) => [o.label, o.mode, o.group, o.rpm, o.sensor])).toEqual([["inner", "without_rpm", "12 kHz", null, ""]]);
    // Two bearings and a record that names neither: refused, naming them.
    fs.writeFileSync(path.join(minimal, "manifest.json"), JSON.stringify({ bearings: { ...bearings, "6203": bearings["6205"] }, records: manifest.records }));
    await expect(run([minimal])).rejects.toThrow("records[0].bearing is not a non-empty string: undefined");
  });

  it("reads records from folders below the manifest's, and no file outside it", async () => {
    const nested = path.join(dir, "nested");
    fs.mkdirSync(path.join(nested, "inner race"), { recursive: true });
    fs.copyFileSync(new URL("cwru-105-inner-12k-excerpt.f32", FIXTURES), path.join(nested, "inner race", "a.f32"));
    const write = (file: string): void => fs.writeFileSync(path.join(nested, "manifest.json"), JSON.stringify({ bearings, records: [{ file, label: "inner", sample_rate_hz: 12000 }] }));
    for (const file of ["inner race/a.f32", "inner race\\a.f32"]) {
      write(file);
      const report = JSON.parse((await run([nested, "--json"])).text) as ValidationReport;
      expect([report.errors, report.records!.runs.map((o) => [o.file, o.verdict])]).toEqual([[], [["inner race/a.f32", "inner_race"]]]);
    }
    for (const file of ["../a.f32", "inner race/../../a.f32", "/tmp/a.f32", "C:\\data\\a.f32", "inner race//a.f32", "inner race/"]) {
      write(file);
      await expect(run([nested])).rejects.toThrow(`records[0].file is a file in the manifest's folder or one below it, not ${JSON.stringify(file)}`);
    }
  });

  it("takes a sample rate, speed and sensor given once for all records or runs, each record's own first", async () => {
    const shared = path.join(dir, "shared-fields");
    fs.mkdirSync(shared, { recursive: true });
    fs.copyFileSync(new URL("cwru-105-inner-12k-excerpt.f32", FIXTURES), path.join(shared, "a.f32"));
    const records = [{ file: "a.f32", label: "inner" }, { file: "a.f32", label: "inner", shaft_rpm: 1700, sensor: "fan end" }];
    const runs = [{ file: "a.f32", bearing: "6205", snapshots: 5 }];
    fs.writeFileSync(path.join(shared, "manifest.json"), JSON.stringify({
      bearings, sample_rate_hz: 12000, shaft_rpm: 1797, sensor: "housing", samples_per_snapshot: 4096, snapshot_interval_s: 60, records, runs,
    }));
    const report = JSON.parse((await run([shared, "--json"])).text) as ValidationReport;
    expect(report.errors).toEqual([]);
    expect(report.records!.runs.map((o) => [o.mode, o.rpm, o.sample_rate_hz, o.sensor])).toEqual([
      ["with_rpm", 1797, 12000, "housing"], ["without_rpm", 1797, 12000, "housing"],
      ["with_rpm", 1700, 12000, "fan end"], ["without_rpm", 1700, 12000, "fan end"],
    ]);
    expect(report.to_failure!.map((o) => [o.run, o.rpm, o.snapshots, o.interval_s, o.failure_s])).toEqual([["a", 1797, 5, 60, 240 + 4096 / 12000]]);
    // Two records of one file are two records.
    expect((await run([shared])).text).toContain("(shared-fields): 2 labelled records (4 runs), 1 runs to failure");
    // Given nowhere: refused, naming the record.
    fs.writeFileSync(path.join(shared, "manifest.json"), JSON.stringify({ bearings, records }));
    await expect(run([shared])).rejects.toThrow("records[0].sample_rate_hz is not a positive number: undefined");
  });

  it("takes records named by text and a bearing given by its defect orders alone: the same diagnoses as by its geometry", async () => {
    const named = path.join(dir, "named");
    fs.mkdirSync(named, { recursive: true });
    fs.copyFileSync(new URL("cwru-105-inner-12k-excerpt.f32", FIXTURES), path.join(named, "a.f32"));
    const record = { file: "a.f32", label: "inner race", shaft_rpm: 1797, sample_rate_hz: 12000 };
    const write = (bearing: object, name: unknown = "IR 0.007 in, 0 hp"): void =>
      fs.writeFileSync(path.join(named, "manifest.json"), JSON.stringify({ bearing, records: [{ ...record, record: name }] }));
    const verdicts = async (): Promise<string[]> => {
      const report = JSON.parse((await run([named, "--json"])).text) as ValidationReport;
      expect(report.errors).toEqual([]);
      return report.records!.runs.map((o) => `${o.record} ${o.mode} ${o.verdict} ${JSON.stringify(o.windows_by_fault)}`);
    };
    write(bearings["6205"]);
    const byGeometry = await verdicts();
    expect(byGeometry.map((v) => v.split(" ").slice(0, 7).join(" "))).toEqual(["IR 0.007 in, 0 hp with_rpm inner_race", "IR 0.007 in, 0 hp without_rpm inner_race"]);
    // CWRU's own orders for the SKF 6205, to four decimals as its manifest gives them.
    write({ defect_orders: { bpfi: 5.4152, bpfo: 3.5848, ftf: 0.39828, bsf: 2.3567 } });
    expect(await verdicts()).toEqual(byGeometry);
    write({ defect_orders: { BPFO: 3.5848, FTF: 0.39828 } });
    expect(await verdicts()).toEqual(byGeometry);
    // Orders no bearing has, and too few of them: refused, naming the field.
    const manifest = path.join(named, "manifest.json");
    write({ defect_orders: { bpfo: 3.5, bpfi: 5.0 } });
    await expect(run([named])).rejects.toThrow(`${manifest}: bearings.bearing.defect_orders are no rolling-element bearing's: they give 8.500 elements`);
    write({ defect_orders: { bpfo: 3.5848, bsf: 2.3567 } });
    await expect(run([named])).rejects.toThrow(`${manifest}: bearings.bearing.defect_orders gives neither rolling_elements, element_diameter_mm and pitch_diameter_mm nor two of bpfo, bpfi and ftf`);
    write({ defect_orders: { bpfi: 5.4152, bpfo: 3.5848, bsf: 5 } });
    await expect(run([named])).rejects.toThrow(`${manifest}: bearings.bearing.defect_orders bsf 5 does not fit the others`);
    write(bearings["6205"], "");
    await expect(run([named])).rejects.toThrow(`${manifest}: records[0].record is not a non-empty string: ""`);
    // A dropout written as NaN in the second window: that window is refused, the others judged.
    const samples = readRecording(path.join(named, "a.f32"));
    samples[4096 + 100] = NaN;
    fs.writeFileSync(path.join(named, "a.f32"), new Uint8Array(samples.buffer));
    write(bearings["6205"]);
    const report = JSON.parse((await run([named, "--json"])).text) as ValidationReport;
    expect(report.records!.runs.map((o) => [o.verdict, o.windows, o.refused])).toEqual([["inner_race", 4, 1], ["inner_race", 4, 1]]);
    expect((await run([named, "--verbose"])).text).toContain("IR 0.007 in, 0 hp inner, 12 kHz, with rpm: inner_race (inner_race 4); 1 window refused (samples not all finite)");
  });

  it("takes a bearing given in place by a record or a run, as a geometry or as defect orders, and names a record with none", async () => {
    const inPlace = path.join(dir, "in-place");
    fs.mkdirSync(inPlace, { recursive: true });
    fs.copyFileSync(new URL("cwru-105-inner-12k-excerpt.f32", FIXTURES), path.join(inPlace, "a.f32"));
    const record = { file: "a.f32", label: "inner", shaft_rpm: 1797, sample_rate_hz: 12000 };
    const run_ = { file: "a.f32", label: "inner", shaft_rpm: 1797, sample_rate_hz: 12000, samples_per_snapshot: 4096, snapshots: 5, snapshot_interval_s: 60 };
    const orders = { name: "by orders", defect_orders: { bpfi: 5.4152, bpfo: 3.5848, ftf: 0.39828, bsf: 2.3567 } };
    const inches = { rolling_elements: 9, element_diameter_in: 7.94 / 25.4, pitch_diameter_in: 39.04 / 25.4, contact_angle_deg: 0 };
    fs.writeFileSync(path.join(inPlace, "manifest.json"), JSON.stringify({
      records: [{ ...record, bearing: bearings["6205"] }, { ...record, bearing: orders }, { ...record, bearing: inches }],
      runs: [{ ...run_, bearing: bearings["6205"] }],
    }));
    const report = JSON.parse((await run([inPlace, "--json"])).text) as ValidationReport;
    expect(report.errors).toEqual([]);
    const verdicts = report.records!.runs.map((o) => `${o.record} ${o.mode} ${o.verdict} ${JSON.stringify(o.windows_by_fault)}`);
    expect(verdicts.slice(0, 2).map((v) => v.split(" ").slice(0, 3).join(" "))).toEqual(["1 with_rpm inner_race", "1 without_rpm inner_race"]);
    // The same geometry given as orders, and in inches: the same diagnoses, window for window.
    expect(verdicts.slice(2, 4).map((v) => v.slice(2))).toEqual(verdicts.slice(0, 2).map((v) => v.slice(2)));
    expect(verdicts.slice(4).map((v) => v.slice(2))).toEqual(verdicts.slice(0, 2).map((v) => v.slice(2)));
    expect(report.to_failure!.map((o) => [o.geometry, o.verdict])).toEqual([[true, "inner_race"]]);
    fs.writeFileSync(path.join(inPlace, "manifest.json"), JSON.stringify({ records: [record] }));
    await expect(run([inPlace])).rejects.toThrow(`${path.join(inPlace, "manifest.json")}: records[0].bearing is missing, and the manifest gives no bearings: each record needs a geometry or defect orders`);
    fs.writeFileSync(path.join(inPlace, "manifest.json"), JSON.stringify({ records: [{ ...record, bearing: { rolling_elements: 9 } }] }));
    await expect(run([inPlace])).rejects.toThrow(`${path.join(inPlace, "manifest.json")}: records[0].bearing.element_diameter_mm is not a positive number: undefined`);
    fs.writeFileSync(path.join(inPlace, "manifest.json"), JSON.stringify({ records: [{ ...record, bearing: { ...inches, pitch_diameter_in: undefined } }] }));
    await expect(run([inPlace])).rejects.toThrow(`${path.join(inPlace, "manifest.json")}: records[0].bearing.pitch_diameter_in is not a positive number: undefined`);
    fs.writeFileSync(path.join(inPlace, "manifest.json"), JSON.stringify({ records: [{ ...record, bearing: { ...inches, pitch_diameter_mm: 39.04 } }] }));
    await expect(run([inPlace])).rejects.toThrow(`${path.join(inPlace, "manifest.json")}: records[0].bearing gives diameters in both mm and inches`);
  });

  it("replays a run with the manifest's bearing geometry and judges its verdict against the fault it names", async () => {
    // CWRU 105's excerpt as a run of five snapshots of 4096 samples a minute apart, stamped by
    // an interval instead of a list: with the 6205's geometry the firmware can name the inner
    // race, which it cannot without one.
    const life = path.join(dir, "life");
    fs.mkdirSync(life, { recursive: true });
    fs.copyFileSync(new URL("cwru-105-inner-12k-excerpt.f32", FIXTURES), path.join(life, "inner.f32"));
    const inner = { file: "inner.f32", bearing: "6205", label: "inner", shaft_rpm: 1797, sample_rate_hz: 12000, samples_per_snapshot: 4096, snapshots: 5, snapshot_interval_s: 60 };
    fs.writeFileSync(path.join(life, "manifest.json"), JSON.stringify({ bearings, runs: [inner, { ...inner, bearing: "unnamed", label: "spalling" }, { ...inner, bearing: "unnamed", run: "B7", label: "outer" }] }));
    const report = JSON.parse((await run([life, "--json"])).text) as ValidationReport;
    const [withGeometry, without, wrong] = report.to_failure!;
    // Each run by its own name: its `run`, else a bearing's name that is no geometry, else its
    // file's (every run of one bearing type names the same geometry).
    expect(report.to_failure!.map((o) => [o.run, o.bearing])).toEqual([["inner", "6205"], ["unnamed", "unnamed"], ["B7", "unnamed"]]);
    expect(withGeometry).toMatchObject({ set: "life", geometry: true, label: "inner", interval_s: 60, uniform: true, failure_s: 240 + 4096 / 12000 });
    const samples = readRecording(path.join(life, "inner.f32"));
    const direct = await replay(samples, { rateHz: 12000, rpm: 1797, window: 4096, intervalS: 60, geometry: [9, 7.94, 39.04, 0], firmware: await releaseFirmware() });
    expect(direct.summary.windows_by_fault.inner_race).toBe(5);
    expect(withGeometry).toMatchObject({ verdict: "inner_race", right: true, windows_by_fault: { inner_race: 5 }, alarm_verdict: null });
    expect(without).toMatchObject({ geometry: false, label: "spalling", right: null, verdict: "unknown", windows_by_fault: { unknown: 5 } });
    expect(wrong).toMatchObject({ label: "outer", right: false, verdict: "unknown" });
    const text = (await run([life])).text;
    expect(text).toContain(`  inner: first alarm`);
    expect(text).toContain(`  B7: first alarm`);
    expect(text).toContain("verdict inner_race (inner_race 5); failed of inner: right");
    expect(text).toContain("failed of spalling: not judged");
    expect(text).toContain("verdict unknown (unknown 5); failed of outer: wrong");
    // A run that states no speed: the firmware measures it, and the report says so.
    const { shaft_rpm: _rpm, ...unstated } = inner;
    fs.writeFileSync(path.join(life, "manifest.json"), JSON.stringify({ bearings, runs: [unstated] }));
    const measured = JSON.parse((await run([life, "--json"])).text) as ValidationReport;
    expect(measured.to_failure!.map((o) => [o.rpm, o.geometry, o.error])).toEqual([[null, true, null]]);
    expect((await run([life])).text).toContain("5 snapshots every 60 s, no speed stated (measured), the manifest's bearing geometry");
    expect(text).toContain("    5 snapshots every 60 s, 1797 rpm, the manifest's bearing geometry");
    expect(text).toContain("    5 snapshots every 60 s, 1797 rpm, no bearing geometry");
  });

  it("reads a record in m/s² as such when the manifest says so: the same diagnoses as the record in g", async () => {
    const metric = path.join(dir, "metric");
    writeData(metric, [cwruRecords[1], { ...cwruRecords[1], file: "cwru-105-inner-12k-m-s2.f32", record: 1105, units: "m/s2" },
      { ...cwruRecords[1], file: "cwru-105-inner-12k-m-s2.f32", record: 2105, units: "M/S^2" }, { ...cwruRecords[1], file: "cwru-105-inner-12k-m-s2.f32", record: 3105, units: "m/s²" }]);
    const g = readRecording(path.join(metric, "cwru", "cwru-105-inner-12k.f32"));
    const inMetres = g.map((x) => x * 9.80665);
    fs.writeFileSync(path.join(metric, "cwru", "cwru-105-inner-12k-m-s2.f32"), new Uint8Array(inMetres.buffer));
    const report = JSON.parse((await run([metric, "--json", "--only", "cwru"])).text) as ValidationReport;
    const [inG, inMs2] = [report.records!.runs.filter((o) => o.record === 105), report.records!.runs.filter((o) => o.record === 1105)];
    expect(inMs2.map((o) => [o.mode, o.verdict, o.windows_by_fault])).toEqual(inG.map((o) => [o.mode, o.verdict, o.windows_by_fault]));
    // m/s² as it is also written: the same.
    for (const record of [2105, 3105]) {
      expect(report.records!.runs.filter((o) => o.record === record).map((o) => [o.mode, o.verdict, o.windows_by_fault])).toEqual(inG.map((o) => [o.mode, o.verdict, o.windows_by_fault]));
    }
    // The units reach the firmware: the acceleration it measures is the g record's, not 9.8 times it.
    const options = { rateHz: 12000, window: 4096, rpm: 1797, firmware: await releaseFirmware() };
    const [fromG, fromMs2, misread] = await Promise.all([
      replay(g, options), replay(inMetres, { ...options, units: "m/s2" }), replay(inMetres, options),
    ]);
    const rms = (r: ReplayResult): number[] => r.windows.map((w) => w.features.acc_rms);
    for (const [i, value] of rms(fromMs2).entries()) expect(value / rms(fromG)[i]).toBeCloseTo(1, 5);
    for (const [i, value] of rms(misread).entries()) expect(value / rms(fromG)[i]).toBeCloseTo(9.80665, 4);
    // A unit the firmware does not take stops the run, naming the field.
    writeData(metric, [{ ...cwruRecords[1], units: "mm/s" }]);
    await expect(validate({ dir: metric, firmware: await releaseFirmware() })).rejects.toThrow('records[0].units is one of g, m/s2, not "mm/s"');
  });

  it("counts another rig's labels in rows of their own, after CWRU's, and judges nothing of them", async () => {
    const other = path.join(dir, "other-labels");
    writeData(other, [{ ...cwruRecords[0], label: "Healthy" }, { ...cwruRecords[1], label: "cage" }]);
    const report = JSON.parse((await run([other, "--json"])).text) as ValidationReport;
    const table = report.records!.tables.find((t) => t.mode === "with_rpm" && t.group === "all records")!;
    expect(table.rows.map((r) => [r.label, r.total, r.right, r.windows, r.windows_right])).toEqual([["normal", 1, table.rows[0].right, 5, table.rows[0].windows_right], ["cage", 1, null, 5, null]]);
    expect(table.rows[0].right).not.toBeNull();
    // No target counts it: the inner-race targets have no record.
    expect(report.targets.filter((t) => t.name.startsWith("inner-race")).map((t) => t.total)).toEqual([0, 0, 0, 0]);
    const { text } = await run([other]);
    expect(text).toMatch(/^ {4}cage .* -\/1 +-\/5$/m);
  });

  it("stops with an error naming the manifest and the field when a manifest is malformed", async () => {
    const broken = path.join(dir, "broken");
    writeData(broken, [{ ...cwruRecords[0], label: "" }]);
    const manifest = path.join(broken, "cwru", "manifest.json");
    await expect(validate({ dir: broken, firmware: await releaseFirmware() })).rejects.toThrow(`${manifest}: records[0].label is not a non-empty string: ""`);
    fs.writeFileSync(manifest, "{ not json");
    await expect(validate({ dir: broken, firmware: await releaseFirmware() })).rejects.toThrow(`${manifest} is not JSON`);
    fs.writeFileSync(manifest, JSON.stringify({ bearings }));
    await expect(validate({ dir: broken, firmware: await releaseFirmware() })).rejects.toThrow(`${manifest} holds neither records (labelled recordings) nor runs (runs to failure)`);
    // A data set --only names that the folder does not hold: the ones it does.
    fs.rmSync(path.join(broken, "femto", "manifest.json"));
    await expect(validate({ dir: broken, only: "femto", firmware: await releaseFirmware() })).rejects.toThrow(`--only "femto" names no data set of ${broken} (cwru)`);
  });

  it("reports a missing recording as an error line naming it, runs the others, and exits 1", async () => {
    const partial = path.join(dir, "partial");
    writeData(partial);
    fs.rmSync(path.join(partial, "cwru", "cwru-97-normal-12k.f32"));
    const { code, text } = await run([partial, "--json"]);
    expect(code).toBe(1);
    const report = JSON.parse(text) as ValidationReport;
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toContain(`cannot read ${path.join(partial, "cwru", "cwru-97-normal-12k.f32")}`);
    expect(report.records!.runs.map((o) => [o.record, o.verdict === "error"])).toEqual([[97, true], [97, true], [105, false], [105, false]]);
    expect(report.to_failure![0].error).toBeNull();
    expect((await run([partial])).text).toMatch(/^Errors \(1; the other records ran\)\n {2}cannot read .*cwru-97-normal-12k\.f32/m);
  });
});

describe("a record's verdict", () => {
  const windows = (counts: Record<string, number>): WindowResult[] => Object.entries(counts)
    .flatMap(([fault, n]) => Array.from({ length: n }, () => fault))
    .map((fault, index) => ({ index, time_s: index, fault, severity: 0, findings: [] }) as unknown as WindowResult);

  it("is the named fault of at least a third of the windows, however many others were abnormal without a pattern", () => {
    expect(summarise(windows({ outer_race: 23, unknown: 37 }), 60).fault).toBe("outer_race");
    expect(summarise(windows({ outer_race: 20, inner_race: 4, unknown: 36 }), 60).fault).toBe("outer_race");
  });

  it("is unknown when no named fault holds a third and a quarter were abnormal, else none", () => {
    expect(summarise(windows({ outer_race: 19, unknown: 41 }), 60).fault).toBe("unknown");
    expect(summarise(windows({ outer_race: 5, unknown: 10, none: 45 }), 60).fault).toBe("unknown");
    expect(summarise(windows({ outer_race: 5, unknown: 9, none: 46 }), 60).fault).toBe("none");
  });
});
