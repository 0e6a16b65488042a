// A scenario's "service" section (scenarios/README.md, "Service"): the contract's SLA, the
// maintenance policies to compare, the planner's slots and response time, downtime and costs;
// and the expectations a service scenario judges across its policies' runs. Checked field by
// field, so a typo is an error that names the field.

import { POLICIES, type MaintenancePolicy, type PlannerSpec } from "../../operator/maintenance.js";

/** Faults that develop over at least this many days are "slow": the warning they allow is the
 *  one a service contract counts on. */
export const SLOW_FAULT_DAYS = 30;

/** A scenario's "service" section (scenarios/README.md). */
export interface ServiceSpec extends PlannerSpec {
  /** The availability the contract guarantees each pump, e.g. 0.995. */
  sla: number;
  /** The policies to compare, each a run of its own over the same seeded fleet. */
  policies: MaintenancePolicy[];
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
