// The JSON summary CI keeps of a finished run: the scenario, the verdict, the counts, per pump
// its faults and detections, the expectations, and the campaigns without their per-device
// histories (each campaign's own report has them). It carries what `impeller merge` needs to judge
// a fleet run in shards as one (merge.ts): the scenario's file and expectations, which shard of how
// many this is, and per pump every fault's onset, failure and detection and every detection.

import { decodeErrorCount } from "./expectations.js";
import { findings, type ReportInput, type RunFindings } from "./findings.js";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const round = (value: number | null, digits = 3): number | null => (value === null ? null : Number(value.toFixed(digits)));

/** How the run was asked for: the scenario's file as named, and its shard (0 of 1: the whole fleet). */
export interface RunOrigin {
  file: string;
  shard: { index: number; count: number };
}

export function runSummary(run: ReportInput, found: RunFindings = findings(run), origin?: RunOrigin): Record<string, unknown> {
  const { scenario } = run;
  return {
    scenario: {
      name: scenario.name, seed: scenario.seed, start: scenario.start, days: scenario.days, pumps: scenario.pumps, interval_s: scenario.interval_s,
      window: scenario.window, sample_rate_hz: scenario.sample_rate_hz, ...(origin !== undefined ? { file: origin.file } : {}), expectations: scenario.expectations,
    },
    ...(origin !== undefined ? { shard: origin.shard } : {}),
    elapsed_s: run.elapsedMs / 1000,
    verdict: found.passed ? "pass" : "fail",
    counts: {
      windows: run.windows, published: run.published, delivered: run.delivered, duplicates: run.duplicates, gaps: run.gaps,
      resent: run.resent, reconnects: run.reconnects, decode_errors: decodeErrorCount(run),
      broker_outages: run.outages.outages, broker_down_minutes: run.outages.downMs / 60_000,
      faults_given: found.faults.length, faults_detected: found.faults.filter((f) => f.status === "detected").length,
      false_alarms: found.detections.filter((d) => d.falseAlarm).length,
    },
    pumps: run.pumps.map((pump) => ({
      device: pump.device, ...("type" in pump && pump.type !== "" ? { type: pump.type } : {}), rpm: Math.round(pump.rpm), windows: pump.windows, delivered: pump.delivered,
      faults: found.faults.filter((f) => f.device === pump.device).map((f) => ({
        kind: f.kind, onset: iso(f.onsetMs), failure: iso(f.failureMs), detected: iso(f.detectedMs), lead_days: round(f.leadDays), status: f.status,
      })),
      detections: found.detections.filter((d) => d.device === pump.device).map((d) => ({
        kind: d.kind, start: iso(d.startMs), windows: d.windows, false_alarm: d.falseAlarm,
      })),
    })),
    expectations: found.expectations.map((e) => ({ ...e.expectation, name: e.name, passed: e.passed, measured: e.measured, detail: e.detail, implicit: e.implicit })),
    // Campaigns without their per-device histories (the campaign's own JSON report has them).
    ...(run.campaigns !== undefined && run.campaigns.length > 0 ? {
      campaigns: run.campaigns.map((c) => ({
        name: c.name, state: c.state, reason: c.reason, max_wave: c.maxWave, targets: c.targets, counts: c.counts, duration_ms: c.durationMs, waves: c.waves, bytes: c.bytes,
        ...(c.rejected !== undefined && Object.keys(c.rejected).length > 0 ? { rejected: c.rejected } : {}),
      })),
    } : {}),
    // What the collector refused, by device and reason (a broken or hostile pump): dropped.
    ...(run.rejected !== undefined && run.rejected.total > 0 ? { rejected: run.rejected.toJSON() } : {}),
  };
}
