// Scenario files: what fleet to simulate, for how long, how often it measures. Read from JSON
// and checked field by field, so a typo is an error that names the field, not a silent default.

import fs from "node:fs";
import { SUPPLY_MM_S_DEFAULT, type PumpRanges } from "../physics/pump-params.js";
import type { NetworkSpec } from "../net/network.js";
import { FAULT_KINDS, type FaultAssignment, type FaultKind } from "../physics/degradation.js";
import { isValidId } from "../../protocol/topics.js";
import { ACQUISITION_WINDOWS_MAX } from "../../protocol/messages.js";
import type { PumpType } from "../physics/pump-types.js";
import { parseService, parseServiceExpectation, SERVICE_EXPECTATION_KINDS, type ServiceExpectation, type ServiceSpec } from "./service-spec.js";
import { POWER_CUTS_MAX, type PowerCutSpec } from "../physics/power-cuts.js";

export interface Scenario {
  name: string;
  seed: number;
  tenant: string;
  /** ISO 8601 start of the simulated period. */
  start: string;
  days: number;
  pumps: number;
  /** Seconds between measurements of one pump. */
  interval_s: number;
  sample_rate_hz: number;
  window: number;
  /** Consecutive windows each measurement takes (1 when absent): an acquisition long enough for
   *  what one window cannot resolve, which the firmware streams across them (firmware/ANALYSIS.md
   *  §5, §6). */
  acquisition_windows: number;
  pump: PumpRanges;
  /** The pumps' bearing: [rolling elements, element diameter mm, pitch diameter mm, contact angle deg]. */
  bearing?: [number, number, number, number];
  /** Times the embedded broker is down: from `start_day` (days after the start) for `minutes`. */
  broker_outages: BrokerOutage[];
  /** Faults that develop in some pumps (physics/degradation.ts). */
  faults: FaultAssignment[];
  /** Latency for every pump, and partitions cutting some pumps off the broker for a while. */
  network?: NetworkSpec;
  /** What the run must show for `impeller simulate --ci` to pass (verdict/expectations.ts). */
  expectations: Expectation[];
  /** OTA campaigns run on the fleet (operator/campaign.ts); with any, every pump gets a flash and an update agent. */
  campaigns: CampaignSpec[];
  /** Pumps whose controller loses power for a while (physics/power-cuts.ts); none when absent. */
  power_cuts?: PowerCutSpec[];
  /** Devices that share one MQTT connection, as behind a gateway (host/link/shared-link.ts); 1 when absent. */
  devices_per_connection?: number;
  /** The service model (fleet/service.ts): the contract's SLA, the maintenance policies to compare, downtime and costs. */
  service?: ServiceSpec;
  /** Kinds of pump in the fleet, each with ranges and a bearing of its own (physics/pump-types.ts);
   *  pumps of no kind use "pump" and "bearing". */
  pump_types?: PumpType[];
}

/** The test images scripts/build-firmware.mjs builds into build/test-images/ (a campaign's
 *  "image" is one of these names, or the path of a .wasm file). */
export const CAMPAIGN_IMAGES = ["v0.2.0", "trap-at-init", "self-test-fails", "trap-on-window", "memory-on-window"];

export interface CampaignSpec {
  name: string;
  /** Days after the start; the fleet's measurements wait while the campaign runs. */
  start_day: number;
  image: string;
  /** Which pumps: all (absent), a count, "N%" of the fleet, or pump indices. */
  pumps?: FaultAssignment["pumps"];
  waves: number[];
  success_threshold: number;
  error_threshold: number;
  on_error: "abort" | "pause";
  /** Share of the fleet's pumps that lose power once at a random flash operation of their first update. */
  power_loss_share: number;
  /** Share of block requests the server leaves unanswered. */
  block_loss_share: number;
  /** Offers again to a device whose download failed, this many times. */
  retries: number;
  /** Simulated seconds a wave may take before its unfinished devices count as timed out. */
  wave_timeout_s: number;
}

/** One requirement on a run's outcome; verdict/expectations.ts says how each is measured. */
export type Expectation =
  | { kind: "bearing_alarm_lead_days"; min: number }
  | { kind: "faults_detected"; min_share: number }
  | { kind: "no_false_alarms" }
  | { kind: "false_alarms_max"; per_100_pump_years: number }
  | { kind: "delivery_min"; share: number }
  | { kind: "duplicates_max"; count: number }
  | { kind: "decode_errors_max"; count: number }
  | CampaignOutcomeExpectation
  | ServiceExpectation;

/** A campaign ended in `state`, started no wave after `max_wave`, and left every target on the
 *  new image (all confirmed) or the old one (none confirmed). */
export interface CampaignOutcomeExpectation {
  kind: "campaign_outcome";
  campaign: string;
  state: "completed" | "aborted" | "cancelled" | "paused";
  max_wave?: number;
  devices_on?: "new" | "old";
}

/** Each kind's one numeric field (none for no_false_alarms), with its range and whether it is an integer. */
const EXPECTATION_FIELDS: Record<Expectation["kind"], [string, number, number, boolean] | null> = {
  bearing_alarm_lead_days: ["min", 0, 3650, false],
  faults_detected: ["min_share", 0, 1, false],
  no_false_alarms: null,
  false_alarms_max: ["per_100_pump_years", 0, 1e9, false],
  delivery_min: ["share", 0, 1, false],
  duplicates_max: ["count", 0, Number.MAX_SAFE_INTEGER, true],
  decode_errors_max: ["count", 0, Number.MAX_SAFE_INTEGER, true],
  campaign_outcome: null, // several fields: campaignOutcome()
  availability: null, // several fields: parseServiceExpectation()
  median_lead_days: null,
  alarm_false_rate_max: null,
};
export const EXPECTATION_KINDS = Object.keys(EXPECTATION_FIELDS) as Expectation["kind"][];

export interface BrokerOutage {
  start_day: number;
  minutes: number;
}

export class ScenarioError extends Error {
  constructor(readonly source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = "ScenarioError";
  }
}

const RANGE_KEYS: (keyof PumpRanges)[] = [
  "rpm", "vanes", "slip", "load", "imbalance_g", "misalignment_g", "vane_pass_g", "noise_g", "supply_mm_s",
];
/** The ranges "pump" may leave out, and what they then are. */
const RANGE_DEFAULTS: Partial<PumpRanges> = { supply_mm_s: SUPPLY_MM_S_DEFAULT };
const TOP_KEYS = [
  "name", "seed", "tenant", "start", "days", "pumps", "interval_s", "sample_rate_hz", "window", "acquisition_windows", "pump", "bearing", "broker_outages",
  "faults", "expectations", "campaigns", "network", "power_cuts", "devices_per_connection", "service", "pump_types",
];

/** Which pumps something applies to: a count, "N%" of the fleet, or a list of indices. */
function isPumpChoice(chosen: unknown, pumps: number): boolean {
  return (typeof chosen === "number" && Number.isInteger(chosen) && chosen >= 0 && chosen <= pumps)
    || (typeof chosen === "string" && /^\d+(\.\d+)?%$/.test(chosen) && Number.parseFloat(chosen) <= 100)
    || (Array.isArray(chosen) && chosen.every((x) => Number.isInteger(x) && x >= 0 && x < pumps));
}

/** {"latency_ms"?, "partitions"?: [{"start_day", "minutes", "pumps"}]}: see simulator/net/network.ts. */
function networkSpec(source: string, value: unknown, pumps: number): NetworkSpec | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(source, `"network" must be an object`);
  const n = value as Record<string, unknown>;
  for (const key of Object.keys(n)) if (key !== "latency_ms" && key !== "partitions") fail(source, `unknown field "network.${key}" (known: latency_ms, partitions)`);
  const spec: NetworkSpec = {};
  if (n.latency_ms !== undefined) spec.latency_ms = number(source, n.latency_ms, "network.latency_ms", 0, 10_000);
  if (n.partitions !== undefined) {
    if (!Array.isArray(n.partitions)) fail(source, `"network.partitions" must be a list`);
    spec.partitions = n.partitions.map((p: unknown, i: number) => {
      const o = (typeof p === "object" && p !== null ? p : {}) as Record<string, unknown>;
      for (const key of Object.keys(o)) if (!["start_day", "minutes", "pumps"].includes(key)) fail(source, `unknown field "network.partitions[${i}].${key}"`);
      const chosen = o.pumps;
      if (!isPumpChoice(chosen, pumps)) fail(source, `"network.partitions[${i}].pumps" must be a count, "N%" of the fleet, or a list of pump indices below ${pumps}`);
      return {
        start_day: number(source, o.start_day, `network.partitions[${i}].start_day`, 0, 3650),
        minutes: number(source, o.minutes, `network.partitions[${i}].minutes`, 0.1, 3650 * 1440),
        pumps: chosen as number | string | number[],
      };
    });
  }
  return spec;
}
const POWER_CUT_KEYS = ["pumps", "day", "minutes"];

/** [{"pumps", "day": [low, high], "minutes": [low, high]}]: see simulator/physics/power-cuts.ts. */
function powerCuts(source: string, value: unknown, pumps: number): PowerCutSpec[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > POWER_CUTS_MAX) fail(source, `"power_cuts" must be a list of at most ${POWER_CUTS_MAX} {"pumps", "day", "minutes"}`);
  return value.map((c: unknown, i: number): PowerCutSpec => {
    if (typeof c !== "object" || c === null || Array.isArray(c)) fail(source, `"power_cuts[${i}]" must be an object like {"pumps": 2, "day": [1, 3], "minutes": [10, 60]}`);
    const o = c as Record<string, unknown>;
    for (const key of Object.keys(o)) if (!POWER_CUT_KEYS.includes(key)) fail(source, `unknown field "power_cuts[${i}].${key}" (known: ${POWER_CUT_KEYS.join(", ")})`);
    if (!isPumpChoice(o.pumps, pumps)) fail(source, `"power_cuts[${i}].pumps" must be a count, "N%" of the fleet, or a list of pump indices below ${pumps}`);
    const pair = (key: string, low: number, high: number): [number, number] => {
      const v = o[key];
      if (!Array.isArray(v) || v.length !== 2) fail(source, `"power_cuts[${i}].${key}" must be [low, high]`);
      const a = number(source, v[0], `power_cuts[${i}].${key}[0]`, low, high);
      return [a, number(source, v[1], `power_cuts[${i}].${key}[1]`, a, high)];
    };
    return { pumps: o.pumps as PowerCutSpec["pumps"], day: pair("day", 0, 3650), minutes: pair("minutes", 0.1, 3650 * 1440) };
  });
}

const CAMPAIGN_KEYS = [
  "name", "start_day", "image", "pumps", "waves", "success_threshold", "error_threshold", "on_error", "power_loss_share", "block_loss_share",
  "retries", "wave_timeout_s",
];
const FAULT_KEYS = ["kind", "pumps", "onset_day", "pf_days"];

function faultAssignment(source: string, value: unknown, i: number, pumps: number): FaultAssignment {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(source, `"faults[${i}]" must be an object`);
  const f = value as Record<string, unknown>;
  for (const key of Object.keys(f)) if (!FAULT_KEYS.includes(key)) fail(source, `unknown field "faults[${i}].${key}" (known: ${FAULT_KEYS.join(", ")})`);
  if (!FAULT_KINDS.includes(f.kind as FaultKind)) fail(source, `"faults[${i}].kind" must be one of ${FAULT_KINDS.join(", ")}`);
  const chosen = f.pumps;
  if (!isPumpChoice(chosen, pumps)) fail(source, `"faults[${i}].pumps" must be a count, "N%" of the fleet, or a list of pump indices below ${pumps}`);
  const pair = (key: string, low: number, high: number): [number, number] => {
    const v = f[key];
    if (!Array.isArray(v) || v.length !== 2) fail(source, `"faults[${i}].${key}" must be [low, high]`);
    const a = number(source, v[0], `faults[${i}].${key}[0]`, low, high);
    return [a, number(source, v[1], `faults[${i}].${key}[1]`, a, high)];
  };
  return { kind: f.kind as FaultKind, pumps: chosen as FaultAssignment["pumps"], onset_day: pair("onset_day", 0, 3650), pf_days: pair("pf_days", 0.01, 3650) };
}

function pumpsChoice(source: string, chosen: unknown, field: string, pumps: number): FaultAssignment["pumps"] {
  const valid = (typeof chosen === "number" && Number.isInteger(chosen) && chosen >= 0 && chosen <= pumps)
    || (typeof chosen === "string" && /^\d+(\.\d+)?%$/.test(chosen) && Number.parseFloat(chosen) <= 100)
    || (Array.isArray(chosen) && chosen.every((x) => Number.isInteger(x) && x >= 0 && x < pumps));
  if (!valid) fail(source, `"${field}" must be a count, "N%" of the fleet, or a list of pump indices below ${pumps}`);
  return chosen as FaultAssignment["pumps"];
}

function campaign(source: string, value: unknown, i: number, pumps: number, days: number): CampaignSpec {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(source, `"campaigns[${i}]" must be an object`);
  const c = value as Record<string, unknown>;
  const at = (key: string): string => `campaigns[${i}].${key}`;
  for (const key of Object.keys(c)) if (!CAMPAIGN_KEYS.includes(key)) fail(source, `unknown field "${at(key)}" (known: ${CAMPAIGN_KEYS.join(", ")})`);
  if (typeof c.name !== "string" || !isValidId(c.name)) fail(source, `"${at("name")}" must be an id of A-Z a-z 0-9 . _ : -`);
  if (typeof c.image !== "string" || c.image === "") fail(source, `"${at("image")}" must be one of ${CAMPAIGN_IMAGES.join(", ")} or the path of a .wasm file`);
  if (c.image.startsWith("hang-")) {
    fail(source, `"${at("image")}": ${c.image} would hang the whole simulation: the fleet runs its pumps' firmware inline, without the worker runtime's time budgets (test it with test/host/update.test.ts)`);
  }
  if (!Array.isArray(c.waves) || c.waves.length === 0 || c.waves.length > 16) fail(source, `"${at("waves")}" must be a list of 1 to 16 shares, e.g. [0.01, 0.1, 1]`);
  const waves = (c.waves as unknown[]).map((w, k) => number(source, w, `${at("waves")}[${k}]`, 1e-6, 1));
  waves.forEach((w, k) => { if (k > 0 && w <= waves[k - 1]) fail(source, `"${at("waves")}" must increase: ${waves.join(", ")}`); });
  if (waves.at(-1) !== 1) fail(source, `"${at("waves")}" must end with 1 (the whole target)`);
  const onError = c.on_error ?? "abort";
  if (onError !== "abort" && onError !== "pause") fail(source, `"${at("on_error")}" must be "abort" or "pause"`);
  return {
    name: c.name, image: c.image, waves, on_error: onError,
    start_day: number(source, c.start_day, at("start_day"), 0, days),
    ...(c.pumps !== undefined ? { pumps: pumpsChoice(source, c.pumps, at("pumps"), pumps) } : {}),
    success_threshold: number(source, c.success_threshold ?? 1, at("success_threshold"), 0, 1),
    error_threshold: number(source, c.error_threshold ?? 0, at("error_threshold"), 0, 1),
    power_loss_share: number(source, c.power_loss_share ?? 0, at("power_loss_share"), 0, 1),
    block_loss_share: number(source, c.block_loss_share ?? 0, at("block_loss_share"), 0, 0.9),
    retries: number(source, c.retries ?? 1, at("retries"), 0, 10, true),
    wave_timeout_s: number(source, c.wave_timeout_s ?? 300, at("wave_timeout_s"), 1, 86_400),
  };
}

const CAMPAIGN_OUTCOME_KEYS = ["kind", "campaign", "state", "max_wave", "devices_on"];
const CAMPAIGN_END_STATES = ["completed", "aborted", "cancelled", "paused"];

function campaignOutcome(source: string, e: Record<string, unknown>, i: number): CampaignOutcomeExpectation {
  for (const key of Object.keys(e)) {
    if (!CAMPAIGN_OUTCOME_KEYS.includes(key)) fail(source, `unknown field "expectations[${i}].${key}" (campaign_outcome takes ${CAMPAIGN_OUTCOME_KEYS.map((k) => `"${k}"`).join(", ")})`);
  }
  if (typeof e.campaign !== "string") fail(source, `"expectations[${i}]" (campaign_outcome) needs "campaign", a campaign's name`);
  if (!CAMPAIGN_END_STATES.includes(e.state as string)) fail(source, `"expectations[${i}].state" must be one of ${CAMPAIGN_END_STATES.join(", ")}`);
  if (e.devices_on !== undefined && e.devices_on !== "new" && e.devices_on !== "old") fail(source, `"expectations[${i}].devices_on" must be "new" or "old"`);
  return {
    kind: "campaign_outcome", campaign: e.campaign, state: e.state as CampaignOutcomeExpectation["state"],
    ...(e.max_wave !== undefined ? { max_wave: number(source, e.max_wave, `expectations[${i}].max_wave`, 0, 16, true) } : {}),
    ...(e.devices_on !== undefined ? { devices_on: e.devices_on as "new" | "old" } : {}),
  };
}

function expectation(source: string, value: unknown, i: number): Expectation {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(source, `"expectations[${i}]" must be an object like {"kind": "no_false_alarms"}`);
  const e = value as Record<string, unknown>;
  if (!EXPECTATION_KINDS.includes(e.kind as Expectation["kind"])) {
    fail(source, `"expectations[${i}].kind" must be one of ${EXPECTATION_KINDS.join(", ")}, not ${JSON.stringify(e.kind)}`);
  }
  const kind = e.kind as Expectation["kind"];
  if (kind === "campaign_outcome") return campaignOutcome(source, e, i);
  if (SERVICE_EXPECTATION_KINDS.includes(kind)) return parseServiceExpectation(e, `expectations[${i}]`, (field, message) => fail(source, `"${field}" ${message}`));
  const field = EXPECTATION_FIELDS[kind];
  const known = field === null ? ["kind"] : ["kind", field[0]];
  for (const key of Object.keys(e)) {
    if (!known.includes(key)) fail(source, `unknown field "expectations[${i}].${key}" (${kind} takes ${known.map((k) => `"${k}"`).join(", ")})`);
  }
  if (field === null) return { kind } as Expectation;
  const [name, low, high, integer] = field;
  if (e[name] === undefined) fail(source, `"expectations[${i}]" (${kind}) needs "${name}"`);
  return { kind, [name]: number(source, e[name], `expectations[${i}].${name}`, low, high, integer) } as Expectation;
}

function fail(source: string, message: string): never {
  throw new ScenarioError(source, message);
}

function number(source: string, value: unknown, field: string, low: number, high: number, integer = false): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < low || value > high || (integer && !Number.isInteger(value))) {
    fail(source, `"${field}" must be ${integer ? "an integer" : "a number"} from ${low} to ${high}, not ${JSON.stringify(value)}`);
  }
  return value;
}

function range(source: string, value: unknown, field: string): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) fail(source, `"${field}" must be [low, high]`);
  const low = number(source, value[0], `${field}[0]`, 0, 1e6);
  const high = number(source, value[1], `${field}[1]`, low, 1e6);
  return [low, high];
}

/** The ranges at `field` ("pump", or a pump type's "pump_types[i].pump" with `fallback` for
 *  what it leaves out). */
function pumpRanges(source: string, value: unknown, field: string, fallback?: PumpRanges): PumpRanges {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(source, `"${field}" must be an object of ranges`);
  for (const key of Object.keys(value)) {
    if (!RANGE_KEYS.includes(key as keyof PumpRanges)) fail(source, `unknown field "${field}.${key}" (known: ${RANGE_KEYS.join(", ")})`);
  }
  const given = value as Record<string, unknown>;
  const defaults = fallback ?? RANGE_DEFAULTS;
  return Object.fromEntries(RANGE_KEYS.map((key) => [key,
    given[key] === undefined && defaults[key] !== undefined ? defaults[key] : range(source, given[key], `${field}.${key}`)])) as unknown as PumpRanges;
}

function bearingOf(source: string, value: unknown, field: string): [number, number, number, number] {
  if (!Array.isArray(value) || value.length !== 4) fail(source, `"${field}" must be [n, d_mm, D_mm, angle_deg]`);
  const b = value as unknown[];
  const bearing: [number, number, number, number] = [
    number(source, b[0], `${field}[0] (rolling elements)`, 3, 64, true),
    number(source, b[1], `${field}[1] (element diameter mm)`, 0.1, 500),
    number(source, b[2], `${field}[2] (pitch diameter mm)`, 0.2, 2000),
    number(source, b[3], `${field}[3] (contact angle deg)`, 0, 60),
  ];
  if (bearing[1] >= bearing[2]) fail(source, `"${field}": the element diameter must be smaller than the pitch diameter`);
  return bearing;
}

const PUMP_TYPE_KEYS = ["name", "pumps", "pump", "bearing"];
const PUMP_TYPES_MAX = 64;

function pumpTypes(source: string, value: unknown, pumps: number, ranges: PumpRanges): PumpType[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length === 0 || value.length > PUMP_TYPES_MAX) fail(source, `"pump_types" must be a list of 1 to ${PUMP_TYPES_MAX} {"name", "pumps", "pump"?, "bearing"?}`);
  const names = new Set<string>();
  return value.map((t: unknown, i: number): PumpType => {
    const where = `pump_types[${i}]`;
    if (typeof t !== "object" || t === null || Array.isArray(t)) fail(source, `"${where}" must be an object like {"name": "4-pole split case", "pumps": "40%", "pump": {"rpm": [1450, 1500]}}`);
    const o = t as Record<string, unknown>;
    for (const key of Object.keys(o)) if (!PUMP_TYPE_KEYS.includes(key)) fail(source, `unknown field "${where}.${key}" (known: ${PUMP_TYPE_KEYS.join(", ")})`);
    if (typeof o.name !== "string" || o.name.length === 0 || o.name.length > 64) fail(source, `"${where}.name" must be a text of 1 to 64 characters`);
    if (names.has(o.name)) fail(source, `"${where}.name": "${o.name}" names two pump types`);
    names.add(o.name);
    if (!isPumpChoice(o.pumps, pumps)) fail(source, `"${where}.pumps" must be a count, "N%" of the fleet, or a list of pump indices below ${pumps}`);
    return {
      name: o.name, pumps: o.pumps as PumpType["pumps"],
      pump: o.pump === undefined ? ranges : pumpRanges(source, o.pump, `${where}.pump`, ranges),
      ...(o.bearing !== undefined ? { bearing: bearingOf(source, o.bearing, `${where}.bearing`) } : {}),
    };
  });
}

/** [{"start_day", "minutes"}]: times the embedded broker is down. */
function brokerOutages(source: string, value: unknown): BrokerOutage[] {
  const outages = value ?? [];
  if (!Array.isArray(outages)) fail(source, `"broker_outages" must be a list of {"start_day", "minutes"}`);
  return outages.map((outage: unknown, i: number): BrokerOutage => {
    const o = (typeof outage === "object" && outage !== null ? outage : {}) as Record<string, unknown>;
    for (const key of Object.keys(o)) if (key !== "start_day" && key !== "minutes") fail(source, `unknown field "broker_outages[${i}].${key}"`);
    return {
      start_day: number(source, o.start_day, `broker_outages[${i}].start_day`, 0, 3650),
      minutes: number(source, o.minutes, `broker_outages[${i}].minutes`, 0.1, 3650 * 1440),
    };
  });
}

/** Each campaign has a name of its own, and every campaign_outcome names one of them. */
function checkCampaignNames(source: string, campaigns: readonly CampaignSpec[], expectations: readonly Expectation[]): void {
  const names = campaigns.map((c) => c.name);
  names.forEach((name, i) => { if (names.indexOf(name) !== i) fail(source, `"campaigns[${i}].name": "${name}" names two campaigns`); });
  expectations.forEach((e, i) => {
    if (e.kind === "campaign_outcome" && !names.includes(e.campaign)) fail(source, `"expectations[${i}].campaign": no campaign is named "${e.campaign}"`);
  });
}

/** A service expectation needs a "service" section, and names one of its policies. */
function checkServiceExpectations(source: string, expectations: readonly Expectation[], service: ServiceSpec | undefined): void {
  expectations.forEach((e, i) => {
    if (SERVICE_EXPECTATION_KINDS.includes(e.kind) && service === undefined) fail(source, `"expectations[${i}]" (${e.kind}) needs a "service" section`);
    if ("policy" in e && e.policy !== undefined && service !== undefined && !service.policies.includes(e.policy)) {
      fail(source, `"expectations[${i}].policy": "${e.policy}" is not among service.policies (${service.policies.join(", ")})`);
    }
  });
}

export function parseScenario(data: unknown, source = "scenario"): Scenario {
  if (typeof data !== "object" || data === null || Array.isArray(data)) fail(source, "a scenario is a JSON object");
  const raw = data as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!TOP_KEYS.includes(key)) fail(source, `unknown field "${key}" (known: ${TOP_KEYS.join(", ")})`);
  }
  const ranges = pumpRanges(source, raw.pump, "pump");
  if (typeof raw.tenant !== "string" || !isValidId(raw.tenant)) fail(source, `"tenant" must be an id of A-Z a-z 0-9 . _ : -`);
  if (typeof raw.start !== "string" || Number.isNaN(Date.parse(raw.start))) fail(source, `"start" must be an ISO 8601 date`);
  const window = number(source, raw.window, "window", 16, 8192, true);
  const bearing = raw.bearing === undefined ? undefined : bearingOf(source, raw.bearing, "bearing");
  const broker_outages = brokerOutages(source, raw.broker_outages);
  const pumps = number(source, raw.pumps, "pumps", 1, 100_000, true);
  if (raw.faults !== undefined && !Array.isArray(raw.faults)) fail(source, `"faults" must be a list`);
  const faults = ((raw.faults ?? []) as unknown[]).map((f, i) => faultAssignment(source, f, i, pumps));
  if (raw.expectations !== undefined && !Array.isArray(raw.expectations)) fail(source, `"expectations" must be a list`);
  const expectations = ((raw.expectations ?? []) as unknown[]).map((e, i) => expectation(source, e, i));
  const days = number(source, raw.days, "days", 0, 3650);
  if (raw.campaigns !== undefined && !Array.isArray(raw.campaigns)) fail(source, `"campaigns" must be a list`);
  const campaigns = ((raw.campaigns ?? []) as unknown[]).map((c, i) => campaign(source, c, i, pumps, days));
  checkCampaignNames(source, campaigns, expectations);
  const network = networkSpec(source, raw.network, pumps);
  const power_cuts = powerCuts(source, raw.power_cuts, pumps);
  if (power_cuts.length > 0 && campaigns.length > 0) fail(source, `"power_cuts" and "campaigns" cannot be combined yet: campaigns cut power mid-update with "power_loss_share"`);
  const devices_per_connection = number(source, raw.devices_per_connection ?? 1, "devices_per_connection", 1, 10_000, true);
  if (devices_per_connection > 1 && (network?.partitions?.length ?? 0) > 0) {
    fail(source, `"devices_per_connection" above 1 cannot be combined with "network.partitions": a partition cuts pumps off, and a shared connection carries pumps on both sides`);
  }
  const service = raw.service === undefined ? undefined : parseService(raw.service, (field, message) => fail(source, `"${field}" ${message}`));
  checkServiceExpectations(source, expectations, service);
  if (service !== undefined && campaigns.length > 0) fail(source, `"service" and "campaigns" cannot be combined yet: an update would have to survive the maintenance runs`);
  const pump_types = pumpTypes(source, raw.pump_types, pumps, ranges);
  const interval_s = number(source, raw.interval_s, "interval_s", 1, 86_400);
  const sample_rate_hz = number(source, raw.sample_rate_hz, "sample_rate_hz", 100, 200_000);
  const acquisition_windows = number(source, raw.acquisition_windows ?? 1, "acquisition_windows", 1, ACQUISITION_WINDOWS_MAX, true);
  if ((acquisition_windows * window) / sample_rate_hz >= interval_s) {
    fail(source, `"acquisition_windows" × "window" lasts ${((acquisition_windows * window) / sample_rate_hz).toFixed(3)} s at "sample_rate_hz", not less than "interval_s" (${interval_s} s)`);
  }
  return {
    ...(network !== undefined ? { network } : {}),
    ...(service !== undefined ? { service } : {}),
    ...(pump_types.length > 0 ? { pump_types } : {}),
    power_cuts,
    devices_per_connection,
    faults,
    expectations,
    campaigns,
    broker_outages,
    bearing,
    name: typeof raw.name === "string" ? raw.name : "unnamed",
    seed: number(source, raw.seed, "seed", 0, 2 ** 32 - 1, true),
    tenant: raw.tenant,
    start: raw.start,
    days,
    pumps,
    interval_s,
    sample_rate_hz,
    window,
    acquisition_windows,
    pump: ranges,
  };
}

export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new ScenarioError(file, `cannot be read: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(file, `is not valid JSON: ${(error as Error).message}`);
  }
  return parseScenario(data, file);
}
