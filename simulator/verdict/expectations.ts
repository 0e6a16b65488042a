// Judges a finished run against its scenario's expectations: the ground truth (which pump got
// which fault, when it started and when it would fail) against what the independent collector
// decoded (each window's diagnosis), plus the delivery figures. CI mode, the JSON summary and
// the HTML report all read their verdicts and fault tables from here.

import type { Rejections } from "../../operator/rejections.js";
import { timeOrdered, type TelemetryLog } from "../../operator/telemetry-log.js";
import { SERVICE_EXPECTATION_KINDS } from "../scenario/service-spec.js";
import type { CampaignReport } from "../../operator/campaign.js";
import type { PumpSummary } from "../fleet/fleet.js";
import { detection, DETECTION_PERSISTENCE } from "./detection.js";
import type { Expectation, Scenario } from "../scenario/scenario.js";

const DAY_MS = 86_400_000;
const YEAR_DAYS = 365.25;
export const BEARING_FAULTS: readonly string[] = ["outer_race", "inner_race", "rolling_element"];
/** Diagnoses that are not an alarm of a fault. */
const NOT_A_FAULT: readonly (string | undefined)[] = [undefined, "none", "unknown"];
/** Without expectations in the scenario, a run is held to what plain `simulate` checks. */
export const IMPLICIT_EXPECTATIONS: readonly Expectation[] = [{ kind: "delivery_min", share: 1 }, { kind: "decode_errors_max", count: 0 }];

/** One window's decoded telemetry, as far as the judging needs it. */
export interface DiagnosedPack {
  /** Window start, seconds. */
  time: number;
  texts: ReadonlyMap<string, string>;
}

/** The part of a SimulationResult that the expectations read (tests build it by hand). */
export interface RunOutcome {
  scenario: Pick<Scenario, "start" | "days" | "pumps" | "interval_s" | "expectations">;
  published: number;
  delivered: number;
  duplicates: number;
  decodeErrors: readonly unknown[];
  /** Payloads the collector refused, by device (a run built by hand may leave this out). */
  rejected?: Rejections;
  pumps: readonly Pick<PumpSummary, "device" | "degradations">[];
  collector: { devices: ReadonlyMap<string, { telemetry: TelemetryLog | readonly DiagnosedPack[] }> };
  /** The campaigns' final reports (a run without campaigns may leave this out). */
  campaigns?: readonly (Pick<CampaignReport, "name" | "state" | "maxWave" | "targets" | "counts" | "reason" | "waves" | "durationMs" | "bytes"> & Partial<Pick<CampaignReport, "rejected">>)[];
}

/** How a given fault fared: detected before its failure, detected at or after it, never
 *  detected though it failed within the run, still developing undetected when the run
 *  ended, or not started before the end. */
export type FaultStatus = "detected" | "late" | "missed" | "developing" | "not_started";

export interface FaultOutcome {
  device: string;
  kind: string;
  onsetMs: number;
  failureMs: number;
  detectedMs: number | null;
  /** Days from detection to failure; null when not detected. */
  leadDays: number | null;
  status: FaultStatus;
}

/** DETECTION_PERSISTENCE or more consecutive windows of one pump with the same fault diagnosed. */
export interface Detection {
  device: string;
  kind: string;
  startMs: number;
  windows: number;
  /** No fault of the pump had started by then. */
  falseAlarm: boolean;
}

export interface ExpectationResult {
  expectation: Expectation;
  /** e.g. "bearing_alarm_lead_days min=7". */
  name: string;
  passed: boolean;
  /** The figure compared with the limit; null when there was nothing to measure. */
  measured: number | null;
  detail: string;
  /** Checked because the scenario lists no expectations. */
  implicit: boolean;
}

/** How many payloads the collector could not decode: every one is counted (rejected), while
 *  decodeErrors keeps only the first of them worded. */
export function decodeErrorCount(run: Pick<RunOutcome, "rejected" | "decodeErrors">): number {
  return run.rejected?.total ?? run.decodeErrors.length;
}

export function runEndMs(scenario: RunOutcome["scenario"]): number {
  const steps = Math.floor((scenario.days * 86_400) / scenario.interval_s);
  return Date.parse(scenario.start) + steps * scenario.interval_s * 1000;
}

export function expectationName(expectation: Expectation): string {
  const { kind, ...limits } = expectation;
  return [kind, ...Object.entries(limits).map(([key, value]) => `${key}=${value}`)].join(" ");
}

export function faultOutcomes(run: RunOutcome): FaultOutcome[] {
  const endMs = runEndMs(run.scenario);
  return run.pumps.flatMap((pump) => {
    const packs = pump.degradations.length === 0 ? undefined : timeOrdered(run.collector.devices.get(pump.device)?.telemetry ?? []);
    return pump.degradations.map((d): FaultOutcome => {
      const detectedMs = detection(packs!, d);
      const leadDays = detectedMs === null ? null : (d.failureMs - detectedMs) / DAY_MS;
      let status: FaultStatus;
      if (detectedMs !== null) status = detectedMs < d.failureMs ? "detected" : "late";
      else if (d.onsetMs >= endMs) status = "not_started";
      else status = d.failureMs <= endMs ? "missed" : "developing";
      return { device: pump.device, kind: d.kind, onsetMs: d.onsetMs, failureMs: d.failureMs, detectedMs, leadDays, status };
    });
  });
}

/** Every maximal run of DETECTION_PERSISTENCE or more windows with the same fault, per pump. */
export function detections(run: RunOutcome): Detection[] {
  const found: Detection[] = [];
  for (const pump of run.pumps) {
    const packs = timeOrdered(run.collector.devices.get(pump.device)?.telemetry ?? []);
    let start = 0;
    for (let i = 1; i <= packs.length; i++) {
      const kind = packs.text(start, "fault");
      if (i < packs.length && packs.text(i, "fault") === kind) continue;
      if (i - start >= DETECTION_PERSISTENCE && !NOT_A_FAULT.includes(kind)) {
        const startMs = packs.time(start) * 1000;
        const falseAlarm = !pump.degradations.some((d) => d.onsetMs <= startMs);
        found.push({ device: pump.device, kind: kind!, startMs, windows: i - start, falseAlarm });
      }
      start = i;
    }
  }
  return found;
}

export function evaluateExpectations(run: RunOutcome): ExpectationResult[] {
  const tally = { scenario: run.scenario, published: run.published, delivered: run.delivered, duplicates: run.duplicates, decodeErrors: decodeErrorCount(run), campaigns: run.campaigns };
  return judgeExpectations(tally, faultOutcomes(run), detections(run));
}

/** The fleet-wide figures an expectation reads besides the faults and detections: a run's own,
 *  or those of its shards' summaries added up (merge.ts). */
export interface RunTally extends Pick<RunOutcome, "scenario" | "published" | "delivered" | "duplicates" | "campaigns"> {
  decodeErrors: number;
}

/** The scenario's expectations judged from the run's figures, fault outcomes and detections. */
export function judgeExpectations(tally: RunTally, faults: FaultOutcome[], found: readonly Detection[]): ExpectationResult[] {
  const implicit = tally.scenario.expectations.length === 0;
  // A service scenario's own expectations compare its policies' runs (service-verdict.ts evaluateService).
  const list = implicit ? IMPLICIT_EXPECTATIONS : tally.scenario.expectations.filter((e) => !SERVICE_EXPECTATION_KINDS.includes(e.kind));
  const alarms = found.filter((d) => d.falseAlarm);
  return list.map((expectation) => ({
    expectation, name: expectationName(expectation), implicit, ...judge(expectation, tally, faults, alarms),
  }));
}

type Verdict = Pick<ExpectationResult, "passed" | "measured" | "detail">;

function judge(expectation: Expectation, run: RunTally, faults: FaultOutcome[], alarms: Detection[]): Verdict {
  switch (expectation.kind) {
    case "availability":
    case "median_lead_days":
    case "alarm_false_rate_max":
      throw new Error(`${expectation.kind} is judged across a service scenario's runs, not in one`);
    case "bearing_alarm_lead_days":
      return leadTimes(expectation.min, faults.filter((f) => BEARING_FAULTS.includes(f.kind)), runEndMs(run.scenario));
    case "faults_detected":
      return detectedShare(expectation.min_share, faults);
    case "no_false_alarms":
      return { passed: alarms.length === 0, measured: alarms.length, detail: falseAlarmText(alarms) };
    case "false_alarms_max": {
      const pumpYears = (run.scenario.pumps * run.scenario.days) / YEAR_DAYS;
      const rate = pumpYears > 0 ? (alarms.length / pumpYears) * 100 : 0;
      return {
        passed: rate <= expectation.per_100_pump_years, measured: rate,
        detail: `${rate.toFixed(2)} per 100 pump-years (${alarms.length} in ${pumpYears.toFixed(2)} pump-years; at most ${expectation.per_100_pump_years})${alarms.length > 0 ? `: ${falseAlarmText(alarms)}` : ""}`,
      };
    }
    case "delivery_min": {
      const share = run.published > 0 ? run.delivered / run.published : 1;
      return { passed: share >= expectation.share, measured: share, detail: `${run.delivered} of ${run.published} messages delivered (${percent(share, 3)}; at least ${percent(expectation.share, 3)})` };
    }
    case "duplicates_max":
      return { passed: run.duplicates <= expectation.count, measured: run.duplicates, detail: `${run.duplicates} duplicates dropped by the collector (at most ${expectation.count})` };
    case "decode_errors_max": {
      const errors = run.decodeErrors;
      return { passed: errors <= expectation.count, measured: errors, detail: `${errors} messages could not be decoded (at most ${expectation.count})` };
    }
    case "campaign_outcome":
      return campaignVerdict(expectation, run.campaigns?.find((c) => c.name === expectation.campaign));
  }
}

/** Measured: the targets on the image `devices_on` asks for (confirmed for "new", not for "old"). */
function campaignVerdict(expectation: Extract<Expectation, { kind: "campaign_outcome" }>, report: NonNullable<RunOutcome["campaigns"]>[number] | undefined): Verdict {
  if (report === undefined) return { passed: false, measured: null, detail: `campaign ${expectation.campaign} did not run` };
  const confirmed = report.counts.confirmed;
  const on = expectation.devices_on === "new" ? confirmed : expectation.devices_on === "old" ? report.targets - confirmed : null;
  const problems: string[] = [];
  if (report.state !== expectation.state) problems.push(`ended ${report.state}, not ${expectation.state}`);
  if (expectation.max_wave !== undefined && report.maxWave > expectation.max_wave) problems.push(`reached wave ${report.maxWave}, after ${expectation.max_wave}`);
  if (on !== null && on !== report.targets) problems.push(`${report.targets - on} of ${report.targets} devices not on the ${expectation.devices_on} image`);
  const counts = Object.entries(report.counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(", ");
  const detail = `campaign ${report.name}: ${report.state} in wave ${report.maxWave} of ${report.targets} devices (${counts})${report.reason !== null ? `: ${report.reason}` : ""}`;
  return { passed: problems.length === 0, measured: on ?? report.maxWave, detail: problems.length === 0 ? detail : `${problems.join("; ")}. ${detail}` };
}

/** Judged: bearing faults that started within the run. One still developing undetected is
 *  judged only once it can no longer be detected `minDays` before its failure. */
function leadTimes(minDays: number, bearing: FaultOutcome[], endMs: number): Verdict {
  const judged: FaultOutcome[] = [];
  const open: FaultOutcome[] = [];
  for (const f of bearing) {
    if (f.status === "not_started") continue;
    if (f.status === "developing" && (f.failureMs - endMs) / DAY_MS >= minDays) open.push(f);
    else judged.push(f);
  }
  const short = judged.filter((f) => f.leadDays === null || f.leadDays < minDays);
  const leads = judged.map((f) => f.leadDays ?? 0);
  const measured = leads.length > 0 ? Math.min(...leads) : null;
  const parts = [judged.length === 0
    ? "no bearing fault to judge"
    : `${judged.length - short.length} of ${judged.length} bearing faults detected at least ${minDays} days before failure; shortest lead ${measured!.toFixed(1)} days`];
  if (short.length > 0) parts.push(`too late: ${short.map(faultText).join(", ")}`);
  if (open.length > 0) parts.push(`not judged (undetected, failure still more than ${minDays} days after the end): ${open.map(faultText).join(", ")}`);
  return { passed: short.length === 0, measured, detail: parts.join("; ") };
}

/** Judged: faults detected, or failed within the run; one still developing undetected at the end is left out. */
function detectedShare(minShare: number, faults: FaultOutcome[]): Verdict {
  const judged = faults.filter((f) => f.status !== "not_started" && f.status !== "developing");
  const open = faults.filter((f) => f.status === "developing");
  const caught = judged.filter((f) => f.status === "detected");
  const share = judged.length > 0 ? caught.length / judged.length : null;
  const missed = judged.filter((f) => f.status !== "detected");
  const parts = [share === null
    ? "no fault to judge"
    : `${caught.length} of ${judged.length} faults detected before failure (${percent(share, 1)}; at least ${percent(minShare, 1)})`];
  if (missed.length > 0) parts.push(`missed: ${missed.map(faultText).join(", ")}`);
  if (open.length > 0) parts.push(`not judged (still developing undetected at the end): ${open.map(faultText).join(", ")}`);
  return { passed: share === null || share >= minShare, measured: share, detail: parts.join("; ") };
}

function faultText(f: FaultOutcome): string {
  const lead = f.leadDays === null ? "not detected" : `lead ${f.leadDays.toFixed(1)} days`;
  return `${f.device} ${f.kind} (${lead})`;
}

/** Lists are for people: past this many entries a list is cut. */
const LISTED_MAX = 10;

function falseAlarmText(alarms: Detection[]): string {
  if (alarms.length === 0) return "no false alarms";
  const listed = alarms.slice(0, LISTED_MAX).map((a) => `${a.device} ${a.kind} at ${new Date(a.startMs).toISOString()}`);
  if (alarms.length > LISTED_MAX) listed.push(`and ${alarms.length - LISTED_MAX} more`);
  return `${alarms.length} false alarm${alarms.length === 1 ? "" : "s"}: ${listed.join(", ")}`;
}

function percent(share: number, digits: number): string {
  return `${(share * 100).toFixed(digits)} %`;
}
