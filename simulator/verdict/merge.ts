// A fleet run in shards judged as one: the shards' summaries (summary.ts) checked to be the
// parts of one run, then their per-pump records put back in fleet order and the expectations
// judged again from them, as the whole run judges them, never averaged from the shards' verdicts.

import { Rejections, type DeviceRejections } from "../../operator/rejections.js";
import type { Degradation } from "../physics/degradation.js";
import type { Expectation, Scenario } from "../scenario/scenario.js";
import { judgeExpectations, type Detection, type FaultOutcome, type FaultStatus } from "./expectations.js";
import type { ReportInput, RunFindings } from "./findings.js";

const DAY_MS = 86_400_000;

/** A summary that cannot be merged with the others: `file` names it, the message says why. */
export class MergeError extends Error {
  readonly code = "merge_refused";
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`);
  }
}

/** One shard's summary.json as read, with the file it came from. */
export interface ShardSummary {
  file: string;
  summary: unknown;
}

interface FaultRecord { kind: string; onset: string; failure: string; detected: string | null; status: FaultStatus }
interface DetectionRecord { kind: string; start: string; windows: number; false_alarm: boolean }
interface PumpRecord { device: string; type?: string; rpm: number; windows: number; delivered: number; faults: FaultRecord[]; detections: DetectionRecord[] }
interface Summary {
  scenario: Pick<Scenario, "name" | "seed" | "start" | "days" | "pumps" | "interval_s" | "window" | "sample_rate_hz"> & { file: string; expectations: Expectation[] };
  shard: { index: number; count: number };
  elapsed_s: number;
  counts: Record<"windows" | "published" | "delivered" | "duplicates" | "gaps" | "resent" | "reconnects" | "decode_errors" | "broker_outages" | "broker_down_minutes", number>;
  pumps: PumpRecord[];
  rejected?: Record<string, DeviceRejections>;
  service?: unknown;
  campaigns?: unknown;
}

/** The merged run as the reports read it (no telemetry: the shards' own reports plot it) and
 *  its findings, judged from the per-pump records. */
export interface MergedRun {
  run: ReportInput;
  found: RunFindings;
  /** The scenario's file as the first shard named it. */
  file: string;
}

/** The scenario's fields that every shard must share (the seed is checked on its own). */
const SCENARIO_FIELDS = ["name", "start", "days", "pumps", "interval_s", "window", "sample_rate_hz", "expectations"] as const;

export function mergeSummaries(shards: readonly ShardSummary[]): MergedRun {
  if (shards.length === 0) throw new MergeError("merge", "no summary given");
  const read = shards.map(({ file, summary }) => ({ file, summary: checkedSummary(file, summary) }));
  const [first] = read;
  const count = first.summary.shard.count;
  const byIndex = new Map<number, (typeof read)[number]>();
  for (const { file, summary } of read) {
    const { scenario, shard } = summary;
    for (const field of SCENARIO_FIELDS) {
      const [mine, theirs] = [JSON.stringify(scenario[field]), JSON.stringify(first.summary.scenario[field])];
      if (mine !== theirs) throw new MergeError(file, `scenario ${field} ${mine}, not ${theirs} as in ${first.file}`);
    }
    if (scenario.seed !== first.summary.scenario.seed) throw new MergeError(file, `seed ${scenario.seed}, not ${first.summary.scenario.seed} as in ${first.file}`);
    if (shard.count !== count) throw new MergeError(file, `shard ${shard.index}/${shard.count}, not one of ${count} shards as in ${first.file}`);
    const twin = byIndex.get(shard.index);
    if (twin !== undefined) throw new MergeError(file, `shard ${shard.index}/${count} again (already in ${twin.file})`);
    const expected = Math.ceil((scenario.pumps - shard.index) / count);
    if (summary.pumps.length !== expected) throw new MergeError(file, `${summary.pumps.length} pumps, not the ${expected} of shard ${shard.index}/${count}`);
    byIndex.set(shard.index, { file, summary });
  }
  for (let index = 0; index < count; index++) {
    if (!byIndex.has(index)) throw new MergeError(`shard ${index}/${count}`, `missing (given: ${[...byIndex.values()].map((s) => s.file).join(", ")})`);
  }
  const ordered = Array.from({ length: count }, (_, index) => byIndex.get(index)!.summary);
  return { ...mergedRun(ordered), file: first.summary.scenario.file };
}

/** The shards' records as one run: pump i of the fleet is pump ⌊i/N⌋ of shard i mod N. */
function mergedRun(shards: readonly Summary[]): Omit<MergedRun, "file"> {
  const { scenario } = shards[0];
  const pumps = Array.from({ length: scenario.pumps }, (_, i) => shards[i % shards.length].pumps[Math.floor(i / shards.length)]);
  const sum = (key: keyof Summary["counts"]): number => shards.reduce((total, s) => total + s.counts[key], 0);
  const rejected = new Rejections();
  for (const s of shards) for (const [device, entry] of Object.entries(s.rejected ?? {})) rejected.devices.set(device, entry);
  rejected.total = sum("decode_errors");
  const faults = pumps.flatMap((pump) => pump.faults.map((f) => faultOutcome(pump.device, f)));
  const detections = pumps.flatMap((pump) => pump.detections.map((d): Detection => ({
    device: pump.device, kind: d.kind, startMs: Date.parse(d.start), windows: d.windows, falseAlarm: d.false_alarm,
  })));
  const tally = { scenario, published: sum("published"), delivered: sum("delivered"), duplicates: sum("duplicates"), decodeErrors: rejected.total, campaigns: [] };
  const expectations = judgeExpectations(tally, faults, detections);
  const run: ReportInput = {
    ...tally, decodeErrors: [], rejected,
    windows: sum("windows"), gaps: sum("gaps"), resent: sum("resent"), reconnects: sum("reconnects"),
    // The shards share one broker: each saw its outages.
    outages: { outages: Math.max(...shards.map((s) => s.counts.broker_outages)), downMs: Math.max(...shards.map((s) => s.counts.broker_down_minutes)) * 60_000 },
    // The shards ran side by side: the run took as long as the longest.
    elapsedMs: Math.max(...shards.map((s) => s.elapsed_s)) * 1000,
    pumps: pumps.map((pump) => ({
      device: pump.device, ...(pump.type !== undefined ? { type: pump.type } : {}), rpm: pump.rpm, windows: pump.windows, delivered: pump.delivered,
      degradations: pump.faults.map((f): Degradation => ({ kind: f.kind as Degradation["kind"], onsetMs: Date.parse(f.onset), failureMs: Date.parse(f.failure) })),
    })),
    collector: { devices: new Map() },
  };
  return { run, found: { expectations, faults, detections, passed: expectations.every((e) => e.passed) } };
}

/** As faultOutcomes computes it: the lead from the exact times, not the summary's rounded days. */
function faultOutcome(device: string, f: FaultRecord): FaultOutcome {
  const failureMs = Date.parse(f.failure);
  const detectedMs = f.detected === null ? null : Date.parse(f.detected);
  return {
    device, kind: f.kind, onsetMs: Date.parse(f.onset), failureMs, detectedMs,
    leadDays: detectedMs === null ? null : (failureMs - detectedMs) / DAY_MS, status: f.status,
  };
}

/** `value` as a shard's summary, or a MergeError that says what it lacks. */
function checkedSummary(file: string, value: unknown): Summary {
  const notOne = (what: string): MergeError => new MergeError(file, `not a summary of impeller simulate (${what})`);
  const s = value as Partial<Summary> | null;
  if (typeof s !== "object" || s === null || Array.isArray(s)) throw notOne("not a JSON object");
  if (typeof s.scenario !== "object" || s.scenario === null || typeof s.counts !== "object" || !Array.isArray(s.pumps)) throw notOne("no scenario, counts and pumps");
  if (!Array.isArray(s.scenario.expectations) || typeof s.shard?.count !== "number" || typeof s.shard.index !== "number" || typeof s.scenario.file !== "string") {
    throw notOne("no shard nor expectations: written before impeller merge was, run simulate again");
  }
  if (s.service !== undefined) throw new MergeError(file, "a service scenario's summary: its policies are judged together, in one run");
  if (s.pumps.some((p: Partial<PumpRecord>) => !Array.isArray(p.faults) || !Array.isArray(p.detections))) throw notOne("a pump without its faults and detections");
  return s as Summary;
}
