// The service model: how a pump is maintained, and what that costs in downtime and money.
// Three policies, each run over the same seeded fleet: run-to-failure (repair what breaks),
// fixed interval (overhaul every N days), predictive (act on the firmware's advice). The
// planner (operator/maintenance.ts) decides when planned work is due from what the pump
// publishes; the pump fails when its fault does; a job keeps the pump down, fixes every fault
// that had begun (physics/degradation.ts), and the firmware is told (its "maintenance" command) so it
// learns its baseline again. What each alarm was worth (a fault's warning, or a false alarm) is
// counted here against the ground truth.
//
// The planner reads what each pump publishes as the pump publishes it: in the field it would
// read it from the collector minutes later, nothing against days of warning.

import { MaintenancePlanner, type MaintenancePolicy, type PlannedReason } from "../../operator/maintenance.js";
import type { DeviceRejections } from "../../operator/rejections.js";
import type { MaintenanceAction } from "../../protocol/messages.js";
import type { Degradation } from "../physics/degradation.js";
import { SLOW_FAULT_DAYS, type ServiceSpec } from "../scenario/service-spec.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

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
  private readonly planner: MaintenancePlanner;
  /** The job under way. */
  private job: Job | undefined;

  constructor(
    private readonly spec: ServiceSpec,
    readonly policy: MaintenancePolicy,
    private readonly faults: () => readonly Degradation[],
    private readonly repair: (timeMs: number) => Degradation[],
    startMs: number,
    /** 0 ≤ stagger < 1: where in the interval this pump's overhauls fall. */
    stagger: number,
    private readonly endMs: number,
  ) {
    for (const d of faults()) this.fates.set(d, { kind: d.kind, onsetMs: d.onsetMs, failureMs: d.failureMs, alarmMs: null, fate: "open" });
    this.planner = new MaintenancePlanner(spec, policy, startMs, stagger);
  }

  /** The pump's messages, as it publishes them at `timeMs` (the window's time): the planner's
   *  to read; an alarm it raises is counted against the pump's faults. */
  observe(kind: string, bytes: Uint8Array, timeMs: number): void {
    if (this.planner.observe(kind, bytes, timeMs)) this.onAlarm(timeMs);
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

  /**
   * The pump at the measurement due at `timeMs`: whether it runs (is measured), and the work
   * finished since the last measurement, whose action the firmware must be told.
   */
  at(timeMs: number): { running: boolean; finished?: Job } {
    let finished = this.finishIfDone(timeMs);
    if (this.job === undefined) {
      let failed: Degradation | undefined;
      for (const d of this.faults()) if (d.failureMs <= timeMs && (failed === undefined || d.failureMs < failed.failureMs)) failed = d;
      const planned = failed === undefined ? this.planner.due(timeMs) : undefined;
      if (failed !== undefined) this.start(false, "failure", failed.failureMs, actionFor(failed.kind));
      else if (planned !== undefined) this.start(true, planned, timeMs, this.plannedAction(planned));
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
    this.planner.workDone();
    return job;
  }

  /** An overhaul inspects; advised work is for what the pump has: its first fault begun by the
   *  advice, else an inspection. */
  private plannedAction(reason: PlannedReason): MaintenanceAction {
    if (reason === "interval") return "inspect";
    const begun = this.faults().find((d) => d.onsetMs <= (this.planner.advisedMs ?? 0));
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
    const rejected = this.planner.rejected;
    return {
      policy: this.policy, jobs: [...this.jobs], faults: [...this.fates.values()], falseAlarms: [...this.falseAlarms],
      alarms: this.alarms, plannedDownMs, unplannedDownMs, windowsDown: this.windowsDown,
      rejected: { count: rejected.count, reasons: { ...rejected.reasons } },
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

export const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

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
