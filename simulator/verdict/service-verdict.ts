// A service scenario's verdict: its expectations judged on its policies' outcomes (one run per
// maintenance policy over the same seeded fleet), and the policies side by side for the terminal.

import { median, type PolicyOutcome } from "../fleet/service.js";
import { SLOW_FAULT_DAYS, type ServiceExpectation } from "../scenario/service-spec.js";
import type { ExpectationResult } from "./expectations.js";

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
