// The service model: how a pump is maintained, and what that costs in downtime and money.
// Three policies, each run over the same seeded fleet: run-to-failure (repair what breaks),
// fixed interval (overhaul every N days), predictive (act on the firmware's advice). A pump
// is down while it is repaired; the job fixes every fault that had begun (degradation.ts),
// and the firmware is told (its "maintenance" command) so it learns its baseline again.
//
// The planner reads what each pump publishes as the pump publishes it (alarm and advice
// events, and the telemetry's due time while it is advised): in the field it would read it
// from the collector minutes later, nothing against days of warning.

import type { Degradation } from "../physics/degradation.js";
import { countRejection, type DeviceRejections } from "../../operator/rejections.js";
import { decodeEvent, type MaintenanceAction } from "../../protocol/messages.js";
import { decodeSenml } from "../../protocol/senml.js";
import type { ExpectationResult } from "../verdict/expectations.js";

export const POLICIES = ["run_to_failure", "fixed_interval", "predictive"] as const;
export type MaintenancePolicy = (typeof POLICIES)[number];

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** A scenario's "service" section (scenarios/README.md). */
export interface ServiceSpec {
  /** The availability the contract guarantees each pump, e.g. 0.995. */
  sla: number;
  /** The policies to compare, each a run of its own over the same seeded fleet. */
  policies: MaintenancePolicy[];
  /** Fixed interval: days between overhauls of a pump (pumps staggered over the interval). */
  fixed_interval_days: number;
  /** Planned work happens in maintenance slots this many days apart (e.g. a weekly window). */
  slot_days: number;
  /** Days from advice until a crew and parts can be there. */
  response_days: number;
  /** Hours a pump is down for a planned job, and for a repair after a failure. */
  planned_downtime_h: number;
  unplanned_downtime_h: number;
  /** Cost of a planned job, of a failure's repair (secondary damage included), and of an hour down. */
  planned_cost: number;
  unplanned_cost: number;
  downtime_cost_per_h: number;
}

export const SERVICE_DEFAULTS: Omit<ServiceSpec, "sla" | "policies"> = {
  fixed_interval_days: 90, slot_days: 7, response_days: 2, planned_downtime_h: 8, unplanned_downtime_h: 72,
  planned_cost: 2_000, unplanned_cost: 15_000, downtime_cost_per_h: 500,
};

/** Checks a scenario's "service" section; `fail` throws with the field's name. */
export function parseService(raw: unknown, fail: (field: string, message: string) => never): ServiceSpec {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("service", "is an object");
  const record = raw as Record<string, unknown>;
  const known = ["sla", "policies", ...Object.keys(SERVICE_DEFAULTS)];
  for (const key of Object.keys(record)) if (!known.includes(key)) fail(`service.${key}`, `is not a field of service (${known.join(", ")})`);
  const number = (key: string, low: number, high: number, fallback?: number): number => {
    const value = record[key] ?? fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < low || value > high) fail(`service.${key}`, `is a number from ${low} to ${high}`);
    return value;
  };
  const policies = record.policies ?? [...POLICIES];
  if (!Array.isArray(policies) || policies.length === 0 || policies.some((p) => !(POLICIES as readonly unknown[]).includes(p))) {
    fail("service.policies", `is a non-empty list of ${POLICIES.join(", ")}`);
  }
  if (new Set(policies).size !== policies.length) fail("service.policies", "names each policy once");
  const d = SERVICE_DEFAULTS;
  return {
    sla: number("sla", 0, 1),
    policies: policies as MaintenancePolicy[],
    fixed_interval_days: number("fixed_interval_days", 1, 3650, d.fixed_interval_days),
    slot_days: number("slot_days", 0.5, 365, d.slot_days),
    response_days: number("response_days", 0, 365, d.response_days),
    planned_downtime_h: number("planned_downtime_h", 0, 8760, d.planned_downtime_h),
    unplanned_downtime_h: number("unplanned_downtime_h", 0, 8760, d.unplanned_downtime_h),
    planned_cost: number("planned_cost", 0, 1e12, d.planned_cost),
    unplanned_cost: number("unplanned_cost", 0, 1e12, d.unplanned_cost),
    downtime_cost_per_h: number("downtime_cost_per_h", 0, 1e12, d.downtime_cost_per_h),
  };
}

/** What a service scenario must show (checked across its policies' runs by evaluateService). */
export type ServiceExpectation =
  /** The policy's fleet availability is at least `min` and/or below `max`. */
  | { kind: "availability"; policy: MaintenancePolicy; min?: number; max?: number }
  /** The median warning lead time, for faults that develop over at least `pf_days_min` days. */
  | { kind: "median_lead_days"; policy: MaintenancePolicy; min: number; pf_days_min: number }
  /** Firmware alarms on pumps none of whose faults had begun, per 100 pump-years, in every policy's run. */
  | { kind: "alarm_false_rate_max"; per_100_pump_years: number };

export const SERVICE_EXPECTATION_KINDS: readonly string[] = ["availability", "median_lead_days", "alarm_false_rate_max"];

export function parseServiceExpectation(e: Record<string, unknown>, where: string, fail: (field: string, message: string) => never): ServiceExpectation {
  const fields: Record<string, string[]> = {
    availability: ["kind", "policy", "min", "max"], median_lead_days: ["kind", "policy", "min", "pf_days_min"], alarm_false_rate_max: ["kind", "per_100_pump_years"],
  };
  const kind = e.kind as ServiceExpectation["kind"];
  for (const key of Object.keys(e)) if (!fields[kind].includes(key)) fail(`${where}.${key}`, `is not a field of ${kind} (${fields[kind].join(", ")})`);
  const number = (key: string, low: number, high: number, fallback?: number): number => {
    const value = e[key] ?? fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < low || value > high) fail(`${where}.${key}`, `is a number from ${low} to ${high}`);
    return value;
  };
  if (kind === "alarm_false_rate_max") return { kind, per_100_pump_years: number("per_100_pump_years", 0, 1e9) };
  const policy = e.policy;
  if (!(POLICIES as readonly unknown[]).includes(policy)) fail(`${where}.policy`, `is one of ${POLICIES.join(", ")}`);
  if (kind === "median_lead_days") {
    return { kind, policy: policy as MaintenancePolicy, min: number("min", 0, 3650), pf_days_min: number("pf_days_min", 0, 3650, SLOW_FAULT_DAYS) };
  }
  if (e.min === undefined && e.max === undefined) fail(where, "(availability) needs \"min\", \"max\" or both");
  return {
    kind, policy: policy as MaintenancePolicy,
    ...(e.min !== undefined ? { min: number("min", 0, 1) } : {}),
    ...(e.max !== undefined ? { max: number("max", 0, 1) } : {}),
  };
}

/** What each fault's repair is called. */
export function actionFor(kind: string): MaintenanceAction {
  if (kind === "outer_race" || kind === "inner_race" || kind === "rolling_element") return "replace_bearing";
  if (kind === "imbalance") return "balance_impeller";
  if (kind === "misalignment") return "align_shaft";
  if (kind === "cavitation") return "check_suction";
  return "inspect";
}

export interface Job {
  /** Planned (advice or interval) or unplanned (a failure). */
  planned: boolean;
  reason: "advice" | "interval" | "failure";
  startMs: number;
  endMs: number;
  action: MaintenanceAction;
  /** The faults it fixed (none: the pump was sound, e.g. after a false alarm). */
  fixed: string[];
}

/** A fault that reached functional failure, or would have had a job not fixed it first. */
export interface FaultFate {
  kind: string;
  onsetMs: number;
  failureMs: number;
  /** The first alarm the firmware raised after the onset and before the failure; null: none. */
  alarmMs: number | null;
  /** Failed (unplanned stop), avoided (fixed before failure), or neither within the run. */
  fate: "failed" | "avoided" | "open";
}

export interface ServicePumpSummary {
  policy: MaintenancePolicy;
  jobs: Job[];
  faults: FaultFate[];
  /** Alarms raised (none → alert) while none of the pump's faults had begun. */
  falseAlarms: number[];
  alarms: number;
  plannedDownMs: number;
  unplannedDownMs: number;
  /** Measurements not taken because the pump was stopped. */
  windowsDown: number;
  /** Messages the planner read but could not decode (dropped; it keeps what it knew). */
  rejected: DeviceRejections;
}

/** The service of one pump under one policy, driven by the group at each measurement. */
export class PumpService {
  private readonly jobs: Job[] = [];
  private readonly fates = new Map<Degradation, FaultFate>();
  private readonly falseAlarms: number[] = [];
  private alarms = 0;
  private windowsDown = 0;
  private readonly rejected: DeviceRejections = { count: 0, reasons: {} };
  /** The job under way. */
  private job: Job | undefined;
  /** Whether the pump last reported an alarm, and the advice in force. */
  private alarmed = false;
  private adviceMs: number | null = null;
  private dueMs = Number.POSITIVE_INFINITY;
  private nextOverhaulMs: number;

  constructor(
    private readonly spec: ServiceSpec,
    readonly policy: MaintenancePolicy,
    private readonly faults: () => readonly Degradation[],
    private readonly repair: (timeMs: number) => Degradation[],
    private readonly startMs: number,
    /** 0 ≤ stagger < 1: where in the interval this pump's overhauls fall. */
    stagger: number,
    private readonly endMs: number,
  ) {
    for (const d of faults()) this.fates.set(d, { kind: d.kind, onsetMs: d.onsetMs, failureMs: d.failureMs, alarmMs: null, fate: "open" });
    // The pumps were overhauled at some time before the run: the next falls `stagger` of an interval in.
    this.nextOverhaulMs = startMs + stagger * spec.fixed_interval_days * DAY_MS;
  }

  /** The pump's messages, as it publishes them at `timeMs` (the window's time). Untrusted: one
   *  that does not decode is counted and dropped (telemetry is read only while advised). */
  observe(kind: string, bytes: Uint8Array, timeMs: number): void {
    if (kind === "event") {
      let event;
      try {
        event = decodeEvent(bytes);
      } catch (error) {
        countRejection(this.rejected, error);
        return;
      }
      if (event.event === "alarm") {
        const raised = !this.alarmed && event.level !== "none";
        this.alarmed = event.level !== "none";
        if (raised) this.onAlarm(timeMs);
        if (!this.alarmed) this.forgetAdvice();
      } else if (event.event === "advice") {
        if (event.action === "none") this.forgetAdvice();
        else {
          this.adviceMs ??= timeMs;
          if (event.by !== undefined) this.dueMs = Math.min(this.dueMs, event.by * 1000);
        }
      }
    } else if (kind === "telemetry" && this.adviceMs !== null) {
      // While advised, each window's due time: the advice tightens as the forecast does.
      try {
        const actIn = decodeSenml(bytes).find((r) => r.n?.endsWith("act_in"))?.v;
        if (actIn !== undefined && Number.isFinite(actIn)) this.dueMs = Math.min(this.dueMs, timeMs + actIn * 1000);
      } catch (error) {
        // a pack the collector will call malformed too; the planner keeps what it knew
        countRejection(this.rejected, error);
      }
    }
  }

  private onAlarm(timeMs: number): void {
    this.alarms += 1;
    const begun = this.faults().filter((d) => d.onsetMs <= timeMs);
    if (begun.length === 0) this.falseAlarms.push(timeMs);
    for (const d of begun) {
      const fate = this.fates.get(d);
      if (fate !== undefined && fate.alarmMs === null && timeMs < d.failureMs) fate.alarmMs = timeMs;
    }
  }

  private forgetAdvice(): void {
    this.adviceMs = null;
    this.dueMs = Number.POSITIVE_INFINITY;
  }

  /** When predictive work is booked: the last maintenance slot before the advice is due, no
   *  sooner than the crew can come; straight after that when no slot fits. */
  private bookedMs(): number | null {
    if (this.adviceMs === null) return null;
    const earliest = this.adviceMs + this.spec.response_days * DAY_MS;
    const slotMs = this.spec.slot_days * DAY_MS;
    const lastSlot = this.startMs + Math.floor((this.dueMs - this.startMs) / slotMs) * slotMs;
    return Number.isFinite(this.dueMs) && lastSlot >= earliest ? lastSlot : earliest;
  }

  /**
   * The pump at the measurement due at `timeMs`: whether it runs (is measured), and the work
   * finished since the last measurement, whose action the firmware must be told.
   */
  at(timeMs: number): { running: boolean; finished?: Job } {
    let finished = this.finishIfDone(timeMs);
    if (this.job === undefined) {
      let failed: Degradation | undefined;
      for (const d of this.faults()) if (d.failureMs <= timeMs && (failed === undefined || d.failureMs < failed.failureMs)) failed = d;
      if (failed !== undefined) {
        this.start(false, "failure", failed.failureMs, actionFor(failed.kind));
      } else if (this.policy === "fixed_interval" && timeMs >= this.nextOverhaulMs) {
        this.start(true, "interval", timeMs, "inspect");
        this.nextOverhaulMs += this.spec.fixed_interval_days * DAY_MS;
      } else if (this.policy === "predictive") {
        const booked = this.bookedMs();
        if (booked !== null && timeMs >= booked) this.start(true, "advice", timeMs, this.adviceAction());
      }
    }
    // A job that ended before this measurement (short work between two windows) is done.
    finished ??= this.finishIfDone(timeMs);
    const running = this.job === undefined;
    if (!running) this.windowsDown += 1;
    return finished === undefined ? { running } : { running, finished };
  }

  /** The job under way, if it has ended by `timeMs`: the pump is back, its alarm and advice gone. */
  private finishIfDone(timeMs: number): Job | undefined {
    const job = this.job;
    if (job === undefined || timeMs < job.endMs) return undefined;
    this.job = undefined;
    this.alarmed = false;
    this.forgetAdvice();
    return job;
  }

  /** The action for what the pump has: its first begun fault's repair, else an inspection. */
  private adviceAction(): MaintenanceAction {
    const begun = this.faults().find((d) => d.onsetMs <= (this.adviceMs ?? 0));
    return begun === undefined ? "inspect" : actionFor(begun.kind);
  }

  private start(planned: boolean, reason: Job["reason"], startMs: number, action: MaintenanceAction): void {
    const hours = planned ? this.spec.planned_downtime_h : this.spec.unplanned_downtime_h;
    const fixed = this.repair(startMs);
    for (const d of fixed) {
      const fate = this.fates.get(d);
      if (fate !== undefined) fate.fate = d.failureMs <= startMs ? "failed" : "avoided";
    }
    this.job = { planned, reason, startMs, endMs: startMs + hours * HOUR_MS, action, fixed: fixed.map((d) => d.kind) };
    this.jobs.push(this.job);
  }

  summary(): ServicePumpSummary {
    let plannedDownMs = 0;
    let unplannedDownMs = 0;
    for (const job of this.jobs) {
      const down = Math.max(0, Math.min(job.endMs, this.endMs) - job.startMs);
      if (job.planned) plannedDownMs += down;
      else unplannedDownMs += down;
    }
    return {
      policy: this.policy, jobs: [...this.jobs], faults: [...this.fates.values()], falseAlarms: [...this.falseAlarms],
      alarms: this.alarms, plannedDownMs, unplannedDownMs, windowsDown: this.windowsDown,
      rejected: { count: this.rejected.count, reasons: { ...this.rejected.reasons } },
    };
  }
}

/** A policy's outcome over the fleet. */
export interface PolicyOutcome {
  policy: MaintenancePolicy;
  pumps: number;
  periodDays: number;
  sla: number;
  /** Mean availability over the pumps, and the share of pumps at or above the SLA. */
  availability: number;
  pumpsMeetingSla: number;
  lowestAvailability: number;
  failures: number;
  failuresAvoided: number;
  plannedJobs: number;
  unplannedJobs: number;
  /** Planned jobs on pumps none of whose faults had begun. */
  needlessJobs: number;
  falseAlarms: number;
  falseAlarmsPer100PumpYears: number;
  /** Days from the first alarm to (would-be) failure, for every fault that failed or was avoided. */
  leadDays: number[];
  /** Each of those faults with its P–F interval in days and its lead (null: no alarm before failure). */
  leads: { kind: string; pfDays: number; leadDays: number | null; fate: "failed" | "avoided" }[];
  medianLeadDays: number | null;
  /** The same, for faults whose P–F interval is at least 30 days. */
  medianLeadDaysSlow: number | null;
  /** Faults that failed or were avoided without an alarm before their failure. */
  unwarned: number;
  downtimeHours: number;
  cost: { planned: number; unplanned: number; downtime: number; total: number };
}

const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export const SLOW_FAULT_DAYS = 30;

export function policyOutcome(spec: ServiceSpec, policy: MaintenancePolicy, pumps: readonly ServicePumpSummary[], periodMs: number): PolicyOutcome {
  const availabilities = pumps.map((p) => 1 - (p.plannedDownMs + p.unplannedDownMs) / periodMs);
  const faults = pumps.flatMap((p) => p.faults);
  const ended = faults.filter((f) => f.fate !== "open");
  const lead = (f: FaultFate): number | null => (f.alarmMs === null ? null : (f.failureMs - f.alarmMs) / DAY_MS);
  const leadDays = ended.map(lead).filter((d): d is number => d !== null);
  const slow = ended.filter((f) => f.failureMs - f.onsetMs >= SLOW_FAULT_DAYS * DAY_MS).map(lead).filter((d): d is number => d !== null);
  const jobs = pumps.flatMap((p) => p.jobs);
  const planned = jobs.filter((j) => j.planned);
  const unplanned = jobs.filter((j) => !j.planned);
  const downtimeHours = pumps.reduce((sum, p) => sum + p.plannedDownMs + p.unplannedDownMs, 0) / HOUR_MS;
  const falseAlarms = pumps.reduce((sum, p) => sum + p.falseAlarms.length, 0);
  const pumpYears = (pumps.length * periodMs) / (365 * DAY_MS);
  const cost = {
    planned: planned.length * spec.planned_cost,
    unplanned: unplanned.length * spec.unplanned_cost,
    downtime: downtimeHours * spec.downtime_cost_per_h,
    total: 0,
  };
  cost.total = cost.planned + cost.unplanned + cost.downtime;
  return {
    policy, pumps: pumps.length, periodDays: periodMs / DAY_MS, sla: spec.sla,
    availability: availabilities.reduce((a, b) => a + b, 0) / Math.max(1, availabilities.length),
    pumpsMeetingSla: availabilities.filter((a) => a >= spec.sla).length,
    lowestAvailability: Math.min(...availabilities, 1),
    failures: ended.filter((f) => f.fate === "failed").length,
    failuresAvoided: ended.filter((f) => f.fate === "avoided").length,
    plannedJobs: planned.length, unplannedJobs: unplanned.length,
    needlessJobs: planned.filter((j) => j.fixed.length === 0).length,
    falseAlarms, falseAlarmsPer100PumpYears: pumpYears > 0 ? (falseAlarms / pumpYears) * 100 : 0,
    leadDays, medianLeadDays: median(leadDays), medianLeadDaysSlow: median(slow),
    leads: ended.map((f) => ({ kind: f.kind, pfDays: (f.failureMs - f.onsetMs) / DAY_MS, leadDays: lead(f), fate: f.fate as "failed" | "avoided" })),
    unwarned: ended.filter((f) => f.alarmMs === null).length,
    downtimeHours, cost,
  };
}

/** A service scenario's expectations, judged on its policies' outcomes. */
export function evaluateService(expectations: readonly ServiceExpectation[], outcomes: readonly PolicyOutcome[]): ExpectationResult[] {
  return expectations.map((expectation) => {
    const name = [expectation.kind, ...Object.entries(expectation).filter(([k]) => k !== "kind").map(([k, v]) => `${k}=${v}`)].join(" ");
    const verdict = judgeService(expectation, outcomes);
    return { expectation, name, implicit: false, ...verdict };
  });
}

function judgeService(e: ServiceExpectation, outcomes: readonly PolicyOutcome[]): Pick<ExpectationResult, "passed" | "measured" | "detail"> {
  if (e.kind === "alarm_false_rate_max") {
    const worst = [...outcomes].sort((a, b) => b.falseAlarmsPer100PumpYears - a.falseAlarmsPer100PumpYears)[0];
    if (worst === undefined) return { passed: false, measured: null, detail: "no policy was run" };
    const rate = worst.falseAlarmsPer100PumpYears;
    const pumpYears = (worst.pumps * worst.periodDays) / 365;
    return {
      passed: rate <= e.per_100_pump_years, measured: rate,
      detail: `${worst.falseAlarms} alarm(s) on sound pumps in ${pumpYears.toFixed(1)} pump-years under ${worst.policy}: ${rate.toFixed(2)} per 100 pump-years (the most of any policy; limit ${e.per_100_pump_years})`,
    };
  }
  const outcome = outcomes.find((o) => o.policy === e.policy);
  if (outcome === undefined) return { passed: false, measured: null, detail: `${e.policy} was not run` };
  if (e.kind === "availability") {
    const a = outcome.availability;
    const passed = (e.min === undefined || a >= e.min) && (e.max === undefined || a < e.max);
    const limits = [e.min !== undefined ? `at least ${percent(e.min)}` : "", e.max !== undefined ? `below ${percent(e.max)}` : ""].filter(Boolean).join(" and ");
    return { passed, measured: a, detail: `${e.policy}: fleet availability ${percent(a)} (${outcome.pumpsMeetingSla} of ${outcome.pumps} pumps at the SLA ${percent(outcome.sla)}); expected ${limits}` };
  }
  const leads = outcome.leads.filter((l) => l.pfDays >= e.pf_days_min);
  if (leads.length === 0) return { passed: false, measured: null, detail: `${e.policy}: no fault developing over ${e.pf_days_min} days or more failed or was avoided in the run` };
  // A fault with no alarm before its failure counts as a lead of zero days.
  const m = median(leads.map((l) => l.leadDays ?? 0))!;
  return {
    passed: m >= e.min, measured: m,
    detail: `${e.policy}: median warning ${m.toFixed(1)} days over ${leads.length} fault(s) developing over ${e.pf_days_min}+ days (${leads.filter((l) => l.leadDays === null).length} without warning); expected at least ${e.min}`,
  };
}

export const percent = (share: number): string => `${(share * 100).toFixed(2)} %`;

/** The policies side by side, as a text table for the terminal. */
export function formatPolicies(outcomes: readonly PolicyOutcome[]): string {
  const header = ["policy", "availability", "at SLA", "lowest", "failures", "avoided", "planned", "needless", "down h", "false alarms", "median lead d", "cost"];
  const rows = outcomes.map((o) => [
    o.policy, percent(o.availability), `${o.pumpsMeetingSla}/${o.pumps}`, percent(o.lowestAvailability), String(o.failures), String(o.failuresAvoided),
    String(o.plannedJobs), String(o.needlessJobs), o.downtimeHours.toFixed(0), `${o.falseAlarms} (${o.falseAlarmsPer100PumpYears.toFixed(2)}/100 py)`,
    o.medianLeadDays === null ? "–" : `${o.medianLeadDays.toFixed(1)} (${o.medianLeadDaysSlow === null ? "–" : o.medianLeadDaysSlow.toFixed(1)} slow)`,
    Math.round(o.cost.total).toLocaleString("en-US"),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const format = (row: string[]): string => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join("  ");
  const sla = outcomes[0]?.sla;
  return [
    `Service: each policy over the same seeded fleet; SLA ${sla === undefined ? "–" : percent(sla)} availability per pump`,
    format(header), ...rows.map(format),
    "failures: unplanned stops; avoided: faults fixed before their failure; needless: planned jobs on sound pumps;",
    `false alarms: firmware alarms on pumps none of whose faults had begun; lead: first alarm to (would-be) failure, "slow" for faults developing over ${SLOW_FAULT_DAYS}+ days.`,
  ].join("\n");
}
