// `impeller analyze`: a recording (raw float32 little endian, in g) replayed through the release
// firmware window by window (simulator/replay/replay.ts), and each window's diagnosis printed, or
// the whole result as JSON.

import { parseArgs } from "node:util";
import { CONFIG_RANGES } from "../protocol/messages.js";
import { BEARINGS, readRecording, replay, type ReplayOptions, type ReplayResult } from "../simulator/replay/replay.js";
import { cutSnapshot, geometryFromOrders, geometryOf, median, snapshotWindows, type DefectOrders } from "../simulator/replay/recordings.js";
import { integerOption, numberOption, UsageError } from "./options.js";

/** analyze --interval: at most a year between snapshots. */
const INTERVAL_S_MAX = 365 * 86_400;
/** analyze --snapshot: at most a minute at 100 kHz in one snapshot. */
const SNAPSHOT_SAMPLES_MAX = 6_000_000;

function geometryOption(bearing: string | undefined, geometry: string | undefined, orders: string | undefined): [number, number, number, number] | undefined {
  if ([bearing, geometry, orders].filter((given) => given !== undefined).length > 1) throw new UsageError("give one of --bearing, --geometry and --orders");
  if (bearing !== undefined) {
    const known = BEARINGS[bearing];
    if (known === undefined) throw new UsageError(`unknown bearing ${JSON.stringify(bearing)}; known: ${Object.keys(BEARINGS).join(", ")}`);
    return known;
  }
  if (orders !== undefined) return geometryOf(ordersOption(orders));
  if (geometry === undefined) return undefined;
  const parts = geometry.split(",").map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isFinite(part))) {
    throw new UsageError(`--geometry needs four numbers n,d_mm,D_mm,angle_deg, not ${JSON.stringify(geometry)}`);
  }
  return parts as [number, number, number, number];
}

const ORDER_NAMES: readonly (keyof DefectOrders)[] = ["bpfo", "bpfi", "ftf", "bsf"];

/** --orders bpfo=3.585,bpfi=5.415[,ftf=…][,bsf=…]: the bearing by its defect orders (multiples of
 *  the shaft's speed), as a data sheet gives them. */
function ordersOption(text: string): ReturnType<typeof geometryFromOrders> {
  const orders: DefectOrders = {};
  for (const part of text.split(",")) {
    const [name, value, ...rest] = part.split("=");
    const key = name.trim().toLowerCase() as keyof DefectOrders;
    if (rest.length > 0 || value === undefined || !ORDER_NAMES.includes(key) || orders[key] !== undefined || value.trim() === "") {
      throw new UsageError(`--orders takes name=value pairs of bpfo, bpfi, ftf and bsf, each once, not ${JSON.stringify(part)}`);
    }
    orders[key] = Number(value);
  }
  try {
    return geometryFromOrders(orders);
  } catch (error) {
    throw new UsageError(`--orders ${(error as Error).message}`);
  }
}

/** Refused windows named in the text summary; the JSON lists them all. */
const REFUSED_SHOWN = 10;

const seconds = (value: number | null): string => (value === null ? "none" : `${value.toFixed(1)} s`);

/** Why a bearing's impacts read `unknown` when no bearing geometry was given: the defect rates
 *  the firmware looks for are its geometry's (ANALYSIS.md §5), so without one it names none. */
export const NO_GEOMETRY_NOTE = "No bearing geometry given (--bearing, --geometry or --orders): no bearing defect can be named, so a bearing's impacts show only as unknown (kurtosis, crest factor or ISO zone abnormal)";

function formatReplay(result: ReplayResult, geometryGiven: boolean): string {
  const lines = ["window  time s     fault                 strength  severity  health  vel mm/s  zone  kurtosis  rms m/s2  alarm   RUL h          action (within h)    findings (strength, confidence)"];
  const hours = (h: number): string => (h >= 100 ? h.toFixed(0) : h.toFixed(2));
  for (const w of result.windows) {
    lines.push([
      String(w.index).padStart(6), w.time_s.toFixed(2).padStart(9), (w.sensor === null ? w.fault : `${w.fault} ${w.sensor}`).padEnd(21), w.strength.toFixed(2).padStart(8),
      String(w.severity).padStart(9), w.health.toFixed(2).padStart(7), ((w.features.vel_rms ?? 0) * 1000).toFixed(3).padStart(9),
      w.iso_zone.padStart(5), (w.features.kurtosis ?? 0).toFixed(2).padStart(9), (w.features.acc_rms ?? 0).toFixed(3).padStart(9),
      " " + w.alarm.padEnd(7), (w.rul_hours === null ? "-" : `${hours(w.rul_hours[0])}..${hours(w.rul_hours[1])}`).padEnd(14),
      (w.action === "none" ? "-" : `${w.action} (${hours(w.act_in_hours ?? 0)})`).padEnd(20),
      w.findings.map((f) => `${f.kind} ${f.strength.toFixed(2)} ${f.confidence.toFixed(4)}`).join(", ") || "-",
    ].join(" "));
  }
  const s = result.summary;
  const counts = Object.entries(s.windows_by_fault).filter(([, n]) => n > 0).map(([fault, n]) => `${fault} ${n}`).join(", ");
  lines.push("");
  lines.push(`Summary: ${s.fault}   ${s.windows} windows (${counts})   first persistent abnormality: ${seconds(s.first_persistent_abnormal_s)}   first alarm: ${seconds(s.first_alarm_s)}   first severe (severity >= 2): ${seconds(s.first_severe_s)}   of ${s.duration_s.toFixed(1)} s`);
  if (s.findings.length > 0) {
    lines.push(`Findings in a third of the windows or more: ${s.findings.map((f) => `${f.kind} (${f.windows} windows, median strength ${f.strength.toFixed(2)})`).join(", ")}`);
  }
  if (result.refused.length > 0) {
    const shown = result.refused.slice(0, REFUSED_SHOWN).join(", ");
    lines.push(`Refused by the firmware (samples not all finite): ${result.refused.length} window${result.refused.length === 1 ? "" : "s"} (${shown}${result.refused.length > REFUSED_SHOWN ? ", …" : ""}); the summary is of the others`);
  }
  const doubt = doubtedSpeedLine(result);
  if (doubt !== null) lines.push(doubt);
  const raised = (level: string): number | null => result.windows.find((w) => w.alarm === level)?.time_s ?? null;
  lines.push(`Trend: alert raised at ${seconds(raised("alert"))}, danger at ${seconds(raised("danger"))}`);
  if (!geometryGiven) lines.push(NO_GEOMETRY_NOTE);
  return lines.join("\n");
}

/** The line that says the configured speed was doubted (null when no window doubted it): in how
 *  many windows, and the speed the signal shows instead (the windows' `seen_hz`, firmware
 *  ANALYSIS.md §4), its median and the median of how sure. */
function doubtedSpeedLine(result: ReplayResult): string | null {
  const seen = result.windows.filter((w) => w.features.seen_hz !== undefined);
  if (seen.length === 0) return null;
  const hz = median(seen.map((w) => w.features.seen_hz));
  const confidence = median(seen.map((w) => w.features.seen_conf ?? 0));
  return `Speed: the configured speed is in doubt in ${seen.length} of ${result.windows.length} windows (the signal shows a clear family outside its range that no speed in it explains), and no bearing defect is named in them; the signal shows ${hz.toFixed(2)} Hz, ${Math.round(hz * 60)} rpm (median, confidence ${confidence.toFixed(2)}): give that --rpm if it is this machine's shaft, or leave --rpm out`;
}

/** --rpm-range MIN,MAX: where the speed is sought when no rpm is given. */
function rpmRangeOption(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map((part) => (part.trim() === "" ? NaN : Number(part)));
  if (parts.length !== 2 || parts.some((part) => !Number.isFinite(part) || part <= 0 || part > CONFIG_RANGES.rpm[1]) || !(parts[1] > parts[0])) {
    throw new UsageError(`--rpm-range needs MIN,MAX rpm, 0 < MIN < MAX <= ${CONFIG_RANGES.rpm[1]}, not ${JSON.stringify(value)}`);
  }
  return parts as [number, number];
}

/** --snapshot N: the recording is snapshots of N samples, --interval seconds apart, each cut into
 *  consecutive windows (the samples past its last whole window left out), which the firmware
 *  takes as following one another within the snapshot. */
async function replaySnapshots(samples: Float32Array, snapshot: number, options: ReplayOptions & { intervalS?: number }): Promise<ReplayResult> {
  const interval = options.intervalS;
  if (interval === undefined) throw new UsageError("--snapshot needs --interval, the seconds from one snapshot's start to the next");
  if (samples.length % snapshot !== 0) throw new UsageError(`the recording holds ${samples.length} samples, not a whole number of snapshots of ${snapshot}`);
  const plan = cutSnapshot(snapshot, options.window);
  if ((plan.windows_per_snapshot * plan.window) / options.rateHz > interval) throw new UsageError(`a snapshot's windows last longer than --interval ${interval} s`);
  const starts = Array.from({ length: samples.length / snapshot }, (_, i) => i * interval);
  const windows = snapshotWindows(samples, options.rateHz, starts, plan);
  // A snapshot is one measurement: the trend takes one value of each (its last window's).
  return replay(windows.samples, { ...options, intervalS: undefined, timesS: windows.timesS, acquisitionWindows: plan.windows_per_snapshot });
}

export async function runAnalyze(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      rate: { type: "string" }, rpm: { type: "string" }, "rpm-range": { type: "string" }, bearing: { type: "string" }, geometry: { type: "string" }, orders: { type: "string" },
      window: { type: "string" }, interval: { type: "string" }, snapshot: { type: "string" }, vanes: { type: "string" }, units: { type: "string" },
      "iso-group": { type: "string" }, foundation: { type: "string" }, json: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError("analyze takes one recording file");
  // Each maps to a firmware configuration field (rate_hz, rpm, window, vanes, iso_group) and its range.
  const rateHz = numberOption(values.rate, "rate", ...CONFIG_RANGES.rate_hz);
  if (rateHz === undefined) throw new UsageError("analyze needs --rate HZ");
  const isoGroup = integerOption(values["iso-group"], "iso-group", ...CONFIG_RANGES.iso_group);
  if (values.foundation !== undefined && values.foundation !== "rigid" && values.foundation !== "flexible") {
    throw new UsageError("--foundation is rigid or flexible");
  }
  if (values.units !== undefined && values.units !== "g" && values.units !== "m/s2") throw new UsageError("--units is g or m/s2");
  const options = {
    rateHz,
    units: values.units as "g" | "m/s2" | undefined,
    rpm: numberOption(values.rpm, "rpm", 0, CONFIG_RANGES.rpm[1], true),
    rpmRange: rpmRangeOption(values["rpm-range"]),
    geometry: geometryOption(values.bearing, values.geometry, values.orders),
    window: integerOption(values.window, "window", ...CONFIG_RANGES.window) ?? 4096,
    intervalS: numberOption(values.interval, "interval", 0, INTERVAL_S_MAX, true),
    vanes: integerOption(values.vanes, "vanes", ...CONFIG_RANGES.vanes),
    isoGroup: isoGroup as 1 | 2 | undefined,
    foundation: values.foundation as "rigid" | "flexible" | undefined,
  };
  const samples = readRecording(positionals[0]);
  const snapshot = integerOption(values.snapshot, "snapshot", options.window, SNAPSHOT_SAMPLES_MAX);
  const result = snapshot === undefined ? await replay(samples, options) : await replaySnapshots(samples, snapshot, options);
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${formatReplay(result, options.geometry !== undefined)}\n`);
  return 0;
}
