// `impeller simulate`: runs a scenario (the default one unless a file is named) on the embedded
// broker or any broker by URL, once per maintenance policy for a service scenario, prints what
// the independent subscriber decoded, and writes the HTML report; with --ci it judges the
// scenario's expectations and writes the JUnit XML and the JSON summary.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { MaintenancePolicy } from "../operator/maintenance.js";
import { brokerUrls, BROKER_URLS_MAX } from "../protocol/brokers.js";
import { writeCampaignReport } from "../operator/campaign.js";
import { simulate, type Progress, type SimulationOptions, type SimulationResult } from "../simulator/fleet/fleet.js";
import { fleetComposition } from "../simulator/physics/pump-types.js";
import { pumpsText, resizeFleet } from "../simulator/scenario/fleet-size.js";
import { loadScenario, parseScenario, type Scenario } from "../simulator/scenario/scenario.js";
import { decodeErrorCount } from "../simulator/verdict/expectations.js";
import { findings, type RunFindings } from "../simulator/verdict/findings.js";
import { junitXml } from "../simulator/verdict/junit.js";
import { htmlReport } from "../simulator/verdict/report-html.js";
import { formatPolicies } from "../simulator/verdict/service-verdict.js";
import { runSummary } from "../simulator/verdict/summary.js";
import { integerOption, numberOption, UsageError } from "./options.js";
import { consoleSettings } from "./console.js";
import { consoleBeside, PACE_MAX, type ConsoleBeside } from "./simulate-console.js";
import { makeDirectoryFor, writeReport } from "./output.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_SCENARIO = path.join(ROOT, "scenarios", "default.json");

/** The limits of simulate's options, as simulator/scenario/scenario.ts checks the scenario's own fields. */
const PUMPS_MAX = 100_000;
const DAYS_MAX = 3650;
const SEED_MAX = 2 ** 32 - 1;
const WORKERS_MAX = 256;
const MULTIPLEX_MAX = 10_000;

/** What `impeller simulate` was asked: the scenario with the options' overrides, how to run it,
 *  and where its outputs go. */
interface SimulateRequest {
  file: string;
  scenario: Scenario;
  values: ReturnType<typeof parseSimulateArgs>["values"];
  workers: number | undefined;
  shard: { index: number; count: number } | undefined;
  junitPath: string | undefined;
  summaryPath: string | undefined;
  reportPath: string;
  /** Simulated seconds per real second (--pace), or as fast as it goes. */
  pace: number | undefined;
}

export async function runSimulate(args: string[]): Promise<number> {
  const request = simulateRequest(args);
  const beside = request.values.console ? await consoleBeside(request.scenario, request.values, request.pace) : undefined;
  if (beside !== undefined) process.stderr.write(`Console: ${beside.server.url}\n`);
  const runs = await runPolicies(request, beside?.hooks);
  // The per-pump views follow the predictive run when there is one: the policy the firmware's advice drives.
  const result = runs.find((run) => run.service?.policy === "predictive") ?? runs[0];
  const outcomes = runs.flatMap((run) => (run.service !== undefined ? [run.service] : []));
  printRun(request.scenario, runs, result);
  const found = findings(result, outcomes);
  const written = writeOutputs(request, runs, result, found);
  const lines = [""];
  if (request.values.ci) {
    for (const e of found.expectations) lines.push(`${e.passed ? "PASS" : "FAIL"}  ${e.name}${e.implicit ? " (implicit)" : ""}: ${e.detail}`);
    const failed = found.expectations.filter((e) => !e.passed).length;
    lines.push(`Verdict: ${failed === 0 ? "PASS" : "FAIL"}, ${found.expectations.length - failed} of ${found.expectations.length} expectations met`);
  }
  lines.push(...written);
  process.stdout.write(`${lines.join("\n")}\n`);
  if (beside !== undefined) {
    process.stderr.write(`The run has ended; the console still serves at ${beside.server.url} until interrupted (Ctrl-C)\n`);
    await beside.serveOn();
  }
  // In CI mode the expectations are the verdict (delivery among them); otherwise the run must deliver everything intact.
  if (request.values.ci) return found.passed ? 0 : 1;
  return runs.every((run) => run.delivered === run.published && decodeErrorCount(run) === 0) ? 0 : 1;
}

function parseSimulateArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      pumps: { type: "string" },
      days: { type: "string" },
      seed: { type: "string" },
      broker: { type: "string" },
      collector: { type: "string" },
      identities: { type: "string" },
      workers: { type: "string" },
      shard: { type: "string" },
      multiplex: { type: "string" },
      tcp: { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      ci: { type: "boolean", default: false },
      report: { type: "string" },
      junit: { type: "string" },
      summary: { type: "string" },
      console: { type: "boolean", default: false },
      port: { type: "string" },
      pace: { type: "string" },
      contract: { type: "string" },
    },
  });
}

/** The options read and checked, the scenario loaded with their overrides, and every output's
 *  directory made: a path that cannot be written is found before the run, not after it. */
function simulateRequest(args: string[]): SimulateRequest {
  const { values, positionals } = parseSimulateArgs(args);
  if (positionals.length > 1) throw new UsageError("simulate takes at most one scenario file");
  const file = positionals[0] ?? DEFAULT_SCENARIO;
  const pumps = integerOption(values.pumps, "pumps", 1, PUMPS_MAX);
  const days = numberOption(values.days, "days", 0, DAYS_MAX);
  const seed = integerOption(values.seed, "seed", 0, SEED_MAX);
  const multiplex = integerOption(values.multiplex, "multiplex", 1, MULTIPLEX_MAX);
  const workers = integerOption(values.workers, "workers", 1, WORKERS_MAX);
  const pace = numberOption(values.pace, "pace", 0, PACE_MAX, true);
  for (const name of ["port", "pace", "contract"] as const) {
    if (values[name] !== undefined && !values.console) throw new UsageError(`--${name} is an option of the console: with --console`);
  }
  consoleSettings(values.port, values.contract); // checked before the run, not after it
  for (const option of ["broker", "collector"] as const) {
    const value = values[option];
    if (value !== undefined && brokerUrls(value) === null) {
      throw new UsageError(`--${option} needs a URL like mqtt://127.0.0.1:1883, or up to ${BROKER_URLS_MAX} separated by commas, not ${JSON.stringify(value)}`);
    }
  }
  if (values.collector !== undefined && values.broker === undefined && values.identities === undefined) {
    throw new UsageError("--collector needs --broker: the embedded broker has no other node to read from");
  }
  const shard = shardOption(values.shard, values.broker ?? values.identities);
  const base = loadScenario(file);
  // A fleet smaller than the scenario's: its pump counts scale down with it (simulator/scenario/fleet-size.ts).
  const resized = pumps === undefined ? { scenario: base, changes: [] } : resizeFleet(base, pumps);
  if (resized.changes.length > 0) process.stderr.write(`Scaled from ${pumpsText(base.pumps)} to ${pumpsText(resized.scenario.pumps)}, pumps per entry: ${resized.changes.join("; ")}\n`);
  const scenario: Scenario = parseScenario({
    ...resized.scenario,
    days: days ?? base.days,
    seed: seed ?? base.seed,
    devices_per_connection: multiplex ?? base.devices_per_connection,
  }, file);
  if (scenario.broker_outages.length > 0 && values.broker !== undefined) {
    throw new UsageError(`${file} has broker_outages, which need the embedded broker: not with --broker`);
  }
  if ((brokerUrls(values.broker ?? "")?.length ?? 1) > 1 && (scenario.network !== undefined || scenario.campaigns.length > 0)) {
    throw new UsageError(`${file} has ${scenario.network !== undefined ? "a network" : "campaigns"}, which need a single broker: not with a list of nodes in --broker`);
  }
  if (scenario.campaigns.length > 0 && (shard?.count ?? 1) > 1) throw new UsageError(`${file} has campaigns, which need the whole fleet in one run: not with --shard`);
  const reports = path.join("reports", reportName(scenario.name, file));
  const junitPath = values.junit ?? (values.ci ? path.join(reports, "junit.xml") : undefined);
  const summaryPath = values.summary ?? (values.ci ? path.join(reports, "summary.json") : undefined);
  const reportPath = values.report ?? path.join(reports, "report.html");
  for (const output of [junitPath, summaryPath, reportPath]) if (output !== undefined) makeDirectoryFor(output);
  return { file, scenario, values, workers, shard, junitPath, summaryPath, reportPath, pace };
}

/** The scenario's runs: one, or one per maintenance policy of a service scenario, over the
 *  same seeded fleet. */
async function runPolicies(request: SimulateRequest, beside: ConsoleBeside["hooks"] | undefined): Promise<SimulationResult[]> {
  const { scenario, values } = request;
  const policies: (MaintenancePolicy | undefined)[] = scenario.service?.policies ?? [undefined];
  const watch = withConsole(watchers(values.quiet), beside);
  const runs: SimulationResult[] = [];
  for (const policy of policies) {
    if (policy !== undefined && !values.quiet) process.stderr.write(`Maintenance policy: ${policy}\n`);
    runs.push(await simulate(scenario, {
      policy,
      brokerUrl: values.broker,
      collectorUrl: values.collector,
      identities: values.identities,
      workers: request.workers,
      ...(values.tcp ? { transport: "tcp" as const } : {}),
      shard: request.shard,
      ...watch,
    }));
  }
  return runs;
}

/** The terminal's watchers and the console's hooks together. */
function withConsole(watch: ReturnType<typeof watchers>, beside: ConsoleBeside["hooks"] | undefined): Partial<SimulationOptions> {
  if (beside === undefined) return watch;
  return {
    ...beside,
    onProgress: (progress) => {
      beside.onProgress?.(progress);
      watch.onProgress?.(progress);
    },
    onCampaign: (line, campaign) => {
      beside.onCampaign?.(line, campaign);
      watch.onCampaign?.(line, campaign);
    },
    log: watch.log,
  };
}

/** Pumps, and sequence numbers per pump, a line about missing messages names at most. */
const MISSING_PUMPS_LISTED = 5;
const MISSING_LISTED = 8;

/** What a run tells the terminal as it goes: progress, warnings from the pumps, and each
 *  campaign's live line (when its state or wave changes, else at most once a second). */
function watchers(quiet: boolean): Pick<SimulationOptions, "onProgress" | "log" | "onCampaign"> {
  const interactive = process.stderr.isTTY && !quiet;
  let lastPrinted = 0;
  let lastCampaign = "";
  let lastCampaignPrinted = 0;
  return {
    onProgress: quiet ? undefined : (progress) => {
      const now = performance.now();
      const done = progress.simulatedMs >= progress.totalMs;
      if (interactive) process.stderr.write(`\r${progressLine(progress)}${done ? "\n" : ""}`);
      else if (done || now - lastPrinted > 2000) {
        process.stderr.write(`${progressLine(progress)}\n`);
        lastPrinted = now;
      }
    },
    log: (device, level, text) => {
      if (level >= 2) process.stderr.write(`${device}: ${["debug", "info", "warn", "error"][level] ?? level}: ${text}\n`);
    },
    onCampaign: quiet ? undefined : (line, campaign) => {
      const now = performance.now();
      const key = `${campaign.plan.name} ${campaign.state} ${campaign.wave}`;
      if (key === lastCampaign && now - lastCampaignPrinted < 1000) return;
      lastCampaign = key;
      lastCampaignPrinted = now;
      process.stderr.write(`${line}\n`);
    },
  };
}

/** The run's summary on the terminal: the fleet, a service scenario's policies, the campaigns,
 *  power cuts and shared connections; and each run that did not deliver everything intact. */
function printRun(scenario: Scenario, runs: readonly SimulationResult[], result: SimulationResult): void {
  process.stdout.write(`${formatSummary(result)}\n`);
  const outcomes = runs.flatMap((run) => (run.service !== undefined ? [run.service] : []));
  if (outcomes.length > 0) process.stdout.write(`\n${formatPolicies(outcomes)}\n`);
  for (const c of result.campaigns) {
    const counts = Object.entries(c.counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(", ");
    process.stdout.write(`Campaign ${c.name}: ${c.state} in wave ${c.maxWave} of ${c.targets} devices (${counts}) in ${(c.durationMs / 1000).toFixed(1)} simulated s; ` +
      `${c.bytes.total} bytes on the wire, ${c.bytes.perDevicePerImage.toFixed(3)} × the image per device${c.reason !== null ? `; ${c.reason}` : ""}\n`);
  }
  if (result.campaigns.length > 0) process.stdout.write(`Power cuts during updates: ${result.powerCuts} (pumps powered on again from their flash)\n`);
  if ((scenario.power_cuts ?? []).length > 0) {
    const cut = result.pumps.filter((pump) => pump.scheduledPowerCuts > 0).length;
    process.stdout.write(`Power cuts: ${result.scheduledPowerCuts} on ${cut} pumps (booted again from their storage and outbox), ${result.missedWindows} windows missed while off\n`);
  }
  if ((scenario.devices_per_connection ?? 1) > 1) {
    process.stdout.write(`Connections: ${result.connections} for ${result.pumps.length} pumps (${scenario.devices_per_connection} per connection, through gateways)\n`);
  }
  for (const run of runs) {
    if (run.delivered !== run.published || decodeErrorCount(run) > 0) {
      process.stderr.write(`not every message arrived intact${run.service !== undefined ? ` (${run.service.policy})` : ""}: ${run.delivered} of ${run.published} decoded${missingNote(run)}\n`);
    }
  }
}

/** Where the missing messages are, the first few of each pump's (by sequence number): a gap
 *  amid what arrived, or only a count where the last ones are missing. */
function missingNote(run: SimulationResult): string {
  const gaps = run.collector.gaps();
  const notes = run.pumps.filter((pump) => pump.delivered < pump.windows).slice(0, MISSING_PUMPS_LISTED).map((pump) => {
    const missing = gaps.get(pump.device) ?? [];
    const listed = missing.slice(0, MISSING_LISTED).map((s) => `#${s}`).join(", ");
    return `${pump.device} ${pump.windows - pump.delivered} missing${listed !== "" ? ` (gaps at ${listed}${missing.length > MISSING_LISTED ? ", …" : ""})` : ""}`;
  });
  return notes.length === 0 ? "" : `; ${notes.join("; ")}`;
}

/** The JUnit XML and the JSON summary (when asked for), the HTML report, and each campaign's
 *  report beside it; returns a line for each file written. */
function writeOutputs(request: SimulateRequest, runs: readonly SimulationResult[], result: SimulationResult, found: RunFindings): string[] {
  const { scenario, file, junitPath, summaryPath, reportPath } = request;
  const outcomes = runs.flatMap((run) => (run.service !== undefined ? [run.service] : []));
  if (junitPath !== undefined) {
    writeReport(junitPath, junitXml({
      name: scenario.name, classname: `impeller.simulate.${reportName(scenario.name, file)}`, timeS: result.elapsedMs / 1000,
      properties: [["seed", scenario.seed], ["pumps", scenario.pumps], ["days", scenario.days], ["scenario", file]],
      results: found.expectations,
    }));
  }
  if (summaryPath !== undefined) writeReport(summaryPath, `${JSON.stringify({
    ...runSummary(result, found, { file, shard: request.shard ?? { index: 0, count: 1 } }),
    // A service scenario's policies side by side (the per-pump figures above are the predictive run's).
    ...(outcomes.length > 0 ? { service: outcomes } : {}),
  }, null, 2)}\n`);
  writeReport(reportPath, htmlReport(result, found, runs.flatMap((run) => (run.service !== undefined ? [{ outcome: run.service, pumps: run.pumps }] : []))));
  const campaignPaths = result.campaigns.map((c) => {
    const campaignFile = path.join(path.dirname(reportPath), `campaign-${c.name}.json`);
    writeCampaignReport(campaignFile, c);
    return campaignFile;
  });
  return [
    ...(junitPath !== undefined ? [`JUnit: ${junitPath}`] : []),
    ...(summaryPath !== undefined ? [`Summary: ${summaryPath}`] : []),
    `Report: ${reportPath}`,
    ...campaignPaths.map((path) => `Campaign report: ${path}`),
  ];
}

function shardOption(value: string | undefined, broker: string | undefined): { index: number; count: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || count < 1 || index >= count) throw new UsageError(`--shard needs K/N with 0 <= K < N, not ${JSON.stringify(value)}`);
  if (count > 1 && broker === undefined) throw new UsageError("--shard needs --broker: the shards of a fleet share one broker");
  return { index, count };
}

function progressLine(progress: Progress): string {
  const share = progress.totalMs > 0 ? progress.simulatedMs / progress.totalMs : 1;
  const width = 24;
  const filled = Math.round(share * width);
  const days = progress.simulatedMs / 86_400_000;
  const rate = progress.windows / Math.max(progress.elapsedMs / 1000, 1e-3);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  day ${days.toFixed(2)}  ${progress.windows} windows  ${rate.toFixed(0)} windows/s`;
}

function formatSummary(result: SimulationResult): string {
  const lines: string[] = [];
  const { scenario } = result;
  lines.push(`Scenario: ${scenario.name}`);
  lines.push(`Broker: ${result.brokerUrl}   seed ${scenario.seed}   ${scenario.pumps} pumps   ${scenario.days} days   ${scenario.acquisition_windows === 1 ? "one" : `${scenario.acquisition_windows} consecutive`} ${scenario.window}-sample window${scenario.acquisition_windows === 1 ? "" : "s"} every ${scenario.interval_s} s at ${scenario.sample_rate_hz} Hz`);
  lines.push(`Windows analysed by the firmware: ${result.windows}   messages published: ${result.published}   decoded by the subscriber: ${result.delivered}   decode errors: ${decodeErrorCount(result)}`);
  lines.push(`Delivery: ${result.duplicates} duplicates dropped, ${result.gaps} missing, ${result.resent} resent after reconnecting, ${result.reconnects} reconnections` +
    (result.outages.outages > 0 ? `   broker outages: ${result.outages.outages} (${(result.outages.downMs / 60_000).toFixed(0)} simulated minutes down)` : ""));
  if (scenario.pump_types !== undefined) {
    lines.push(`Fleet: ${fleetComposition(scenario).map(([name, n]) => `${n} × ${name === "" ? "the scenario's own pump" : name}`).join(", ")}`);
  }
  lines.push("");
  const types = scenario.pump_types !== undefined;
  const header = ["device", ...(types ? ["type"] : []), "rpm", "windows", "decoded", "dups", "acc_rms m/s2", "vel mm/s", "kurtosis", "temp °C", "health", "diagnoses (windows)"];
  const rows = result.pumps.map((pump) => [
    pump.device,
    ...(types ? [pump.type || "-"] : []),
    pump.rpm.toFixed(0),
    String(pump.windows),
    String(pump.delivered),
    String(pump.duplicates),
    (pump.last?.get("acc_rms") ?? NaN).toFixed(3),
    ((pump.last?.get("vel_rms") ?? NaN) * 1000).toFixed(2),
    (pump.last?.get("kurtosis") ?? NaN).toFixed(2),
    (pump.last?.get("temp") ?? NaN).toFixed(1),
    (pump.last?.get("health") ?? NaN).toFixed(2),
    [...pump.faults].sort((a, b) => b[1] - a[1]).map(([fault, n]) => `${fault} ${n}`).join(", "),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const last = header.length - 1;
  const format = (row: string[]): string => row.map((cell, column) => (column === 0 || column === last || (types && column === 1) ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join("  ");
  lines.push(format(header));
  for (const row of rows) lines.push(format(row));
  lines.push("");
  lines.push(`Last values per pump are from its most recent decoded SenML pack. Finished in ${(result.elapsedMs / 1000).toFixed(1)} s.`);
  return lines.join("\n");
}

/** The reports directory's name for a scenario: its name up to the first colon as a slug
 *  ("default: a plant of…" → "default"), else the file's name. */
export function reportName(name: string, file: string): string {
  const slug = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60);
  return (name === "unnamed" ? "" : slug(name.split(":")[0])) || slug(path.basename(file, ".json")) || "scenario";
}
