// What a finished run is judged by, computed once for every report: the expectations' verdicts
// (a service scenario's own judged across its policies' outcomes), each fault's outcome, and
// every detection with the false alarms among them.

import type { TelemetryLog } from "../../operator/telemetry-log.js";
import type { PumpSummary } from "../fleet/fleet.js";
import type { PolicyOutcome } from "../fleet/service.js";
import type { Scenario } from "../scenario/scenario.js";
import { SERVICE_EXPECTATION_KINDS, type ServiceExpectation } from "../scenario/service-spec.js";
import {
  detections, evaluateExpectations, faultOutcomes,
  type DiagnosedPack, type Detection, type ExpectationResult, type FaultOutcome, type RunOutcome,
} from "./expectations.js";
import { evaluateService } from "./service-verdict.js";

/** One window's decoded telemetry as the report reads it. */
export interface ReportPack extends DiagnosedPack {
  values: ReadonlyMap<string, number>;
}

/** The part of a SimulationResult the reports read (tests build it by hand). */
export interface ReportInput extends Omit<RunOutcome, "scenario" | "pumps" | "collector"> {
  scenario: RunOutcome["scenario"] & Pick<Scenario, "name" | "seed" | "window" | "sample_rate_hz">;
  pumps: readonly Pick<PumpSummary, "device" | "rpm" | "windows" | "delivered" | "degradations">[];
  collector: { devices: ReadonlyMap<string, { telemetry: TelemetryLog | readonly ReportPack[] }> };
  windows: number;
  gaps: number;
  resent: number;
  reconnects: number;
  outages: { outages: number; downMs: number };
  elapsedMs: number;
}

/** What both reports are made of, computed once. */
export interface RunFindings {
  expectations: ExpectationResult[];
  faults: FaultOutcome[];
  detections: Detection[];
  passed: boolean;
}

/** The findings of `run`. `outcomes`: a service scenario's policies, one run each, against
 *  which its service expectations are judged (the per-pump findings are `run`'s). */
export function findings(run: ReportInput, outcomes: readonly PolicyOutcome[] = []): RunFindings {
  const service = run.scenario.expectations.filter((e): e is ServiceExpectation => SERVICE_EXPECTATION_KINDS.includes(e.kind));
  const expectations = [...evaluateExpectations(run), ...(service.length > 0 ? evaluateService(service, outcomes) : [])];
  return { expectations, faults: faultOutcomes(run), detections: detections(run), passed: expectations.every((e) => e.passed) };
}
