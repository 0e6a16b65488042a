// The verdict on the real recordings as text for the terminal: the confusion tables, the
// measured speed, the runs to failure's first alarms, the targets and the errors.

import { SEVERE, PERSISTENCE } from "../replay/replay.js";
import { MODES, type Mode } from "../replay/recordings.js";
import { SPEED_TOLERANCE_PCT, type ConfusionTable, type FailureOutcome, type RecordOutcome, type Target, type ValidationReport } from "./validation.js";

const MODE_TITLES: Record<Mode, string> = {
  with_rpm: "with rpm (the manifest's shaft speed)",
  without_rpm: "without rpm (the firmware measures the shaft speed)",
};

const percent = (part: number, whole: number): string => (whole === 0 ? "-" : `${Math.round((part / whole) * 100)} %`);
const grouped = (value: number, digits = 0): string => value.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: digits });

export function formatTable(table: ConfusionTable): string[] {
  const widths = table.columns.map((c) => Math.max(c.length, 3));
  const header = ["label ".padEnd(8), ...table.columns.map((c, i) => c.padStart(widths[i])), "  right     ", "  windows right"].join(" ");
  const lines = [`  ${table.group}`, `    ${header}`];
  for (const row of table.rows) {
    const cells = table.columns.map((c, i) => String(row.counts[c] ?? 0).padStart(widths[i]));
    // A label the verdict does not know what is right for: counted, not judged.
    const records = row.right === null ? `-/${row.total}` : `${row.right}/${row.total} ${percent(row.right, row.total)}`;
    const windows = row.windows_right === null ? `-/${row.windows}` : `${row.windows_right}/${row.windows} ${percent(row.windows_right, row.windows)}`;
    lines.push(`    ${[row.label.padEnd(8), ...cells, `  ${records.padEnd(12)}`, `  ${windows}`].join(" ")}`);
  }
  lines.push(`    confident wrong race: ${table.wrong_race} (windows called the other race: ${table.wrong_race_windows})`);
  return lines;
}

function faultCounts(byFault: Record<string, number>): string {
  const entries = Object.entries(byFault);
  return entries.length === 0 ? "no windows" : entries.map(([fault, n]) => `${fault} ${n}`).join(", ");
}

function formatRecords(runs: readonly RecordOutcome[]): string[] {
  const lines = ["Records (verdict, windows by diagnosis)"];
  for (const o of runs) {
    const size = o.fault_size_in === null ? "" : ` ${o.fault_size_in.toFixed(3)} in`;
    const load = o.load_hp === null ? "" : ` ${o.load_hp} hp`;
    const what = `${o.record} ${o.label}${size}${load}, ${o.group}, ${o.mode.replace("_", " ")}`;
    const speed = o.mode === "without_rpm" && o.shaft_hz !== null
      ? `; shaft ${o.shaft_hz.toFixed(2)} Hz${o.speed_error_pct === null ? "" : ` (${o.speed_error_pct.toFixed(2)} % off)`}` : "";
    const refused = o.refused > 0 ? `; ${o.refused} window${o.refused === 1 ? "" : "s"} refused (samples not all finite)` : "";
    const doubted = o.doubted_windows > 0 && o.seen_hz !== null ? `; ${doubtedText(o)}` : "";
    lines.push(`  ${what}: ${o.error ?? `${o.verdict} (${faultCounts(o.windows_by_fault)})${speed}${doubted}${refused}`}`);
  }
  return lines;
}

/** How many windows doubted the manifest's rpm, and the speed the signal shows instead. */
function doubtedText(o: RecordOutcome): string {
  return `stated ${o.rpm} rpm doubted in ${o.doubted_windows} of ${o.windows} windows, the signal shows ${o.seen_hz!.toFixed(2)} Hz (${Math.round(o.seen_hz! * 60)} rpm)`;
}

/** The records whose stated speed the firmware doubted in a third of their windows or more: a
 *  manifest's rpm that may not be the record's (its defects then read as abnormal, no finding). */
export function formatDoubted(runs: readonly RecordOutcome[]): string[] {
  const doubted = runs.filter((o) => o.mode === "with_rpm" && o.seen_hz !== null && o.doubted_windows >= o.windows / 3);
  if (doubted.length === 0) return [];
  return ["", "Stated speeds the firmware doubts (in a third of the windows or more; no defect is named where it does)",
    ...doubted.map((o) => `  ${o.record} ${o.label}, ${o.group}: ${doubtedText(o)}`)];
}

/** A run to failure; `named` puts its data set's name before it (runs of several sets). */
export function formatRun(o: FailureOutcome, named = false): string {
  const name = `${named ? `${o.set}: ` : ""}${o.run}`;
  if (o.error !== null) return `  ${name}: ${o.error}`;
  const failure = o.failure_s ?? 0;
  const at = (s: number | null): string => (s === null ? "never" : `at ${grouped(s, 1)} s of ${grouped(failure, 1)} s (${percent(s, failure)})`);
  const inAlarm = o.alarm_verdict === null ? "" : `; in alarm ${o.alarm_verdict} (${faultCounts(o.alarm_windows_by_fault ?? {})})`;
  const label = o.label === null ? "" : `; failed of ${o.label}: ${o.right === null ? "not judged" : o.right ? "right" : "wrong"}`;
  const lines = [
    `  ${name}: first alarm${o.first_alarm_level === null ? "" : ` (${o.first_alarm_level})`} ${at(o.first_alarm_s)}; first severe ${at(o.first_severe_s)}; verdict ${o.verdict} (${faultCounts(o.windows_by_fault)})${inAlarm}${label}`,
  ];
  const spacing = o.uniform ? `every ${grouped(o.interval_s ?? 0, 3)} s` : "at uneven times (fed as stamped)";
  const cut = o.windows_per_snapshot === 1 ? ""
    : `, each cut into ${o.windows_per_snapshot} consecutive windows of ${grouped(o.window, 0)} samples${o.left_over > 0 ? ` (its last ${grouped(o.left_over, 0)} not replayed)` : ""}`;
  lines.push(`    ${o.snapshots} snapshots ${spacing}${cut}, ${o.rpm === null ? "no speed stated (measured)" : `${o.rpm} rpm`}, ${o.geometry ? "the manifest's bearing geometry" : "no bearing geometry"}`);
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
  const records = report.records;
  const counts = [
    records === null ? null : `${new Set(records.runs.map((o) => `${o.set}/${o.file}/${o.record}`)).size} labelled records (${records.runs.length} runs)`,
    report.to_failure === null ? null : `${report.to_failure.length} runs to failure`,
  ].filter((c) => c !== null).join(", ");
  const window = records === null ? "" : `, window ${report.window}`;
  lines.push(`Validation of the release firmware on ${report.data_dir} (${report.sets.join(", ")}): ${counts}${window}, in ${report.elapsed_s.toFixed(1)} s`);
  if (records !== null) {
    const sets = [...new Set(records.runs.map((o) => o.set))].join(", ");
    for (const mode of MODES) {
      const tables = records.tables.filter((t) => t.mode === mode);
      if (tables.length === 0) continue;
      lines.push("", `Labelled records (${sets}) ${MODE_TITLES[mode]}: true label × verdict (summary.fault); windows right: the windows whose own diagnosis is the label's`);
      for (const table of tables) lines.push(...formatTable(table));
    }
    if (records.speed.length > 0) {
      lines.push("", `Shaft speed measured without rpm (median shaft_hz over the windows that measured one, against the manifest's rpm/60)`);
      for (const s of records.speed) {
        const errors = s.unmeasured < s.runs ? `median ${s.median_pct.toFixed(2)} %, max ${s.max_pct.toFixed(2)} %, ` : "";
        const unmeasured = s.unmeasured > 0 ? `; no speed measured in ${s.unmeasured}` : "";
        lines.push(`  ${s.group.padEnd(18)} ${errors}within ${SPEED_TOLERANCE_PCT} %: ${s.within} of ${s.runs}${unmeasured}`);
      }
    }
    lines.push(...formatDoubted(records.runs));
    if (verbose) lines.push("", ...formatRecords(records.runs));
  }
  if (report.to_failure !== null) {
    const sets = [...new Set(report.to_failure.map((o) => o.set))];
    lines.push("", `Runs to failure (${sets.join(", ")}; the manifest's rpm, and its bearing geometry where it gives one)`,
      `  first alarm: the first window whose alarm (the firmware's: evidence that stayed up and grew) is raised; ` +
      `first severe: the first of ${PERSISTENCE} windows in a row of severity ${SEVERE} or more (ISO zone C, or a severe bearing finding), which needs no growth`);
    for (const o of report.to_failure) lines.push(formatRun(o, sets.length > 1));
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
