// The impeller command line. `impeller simulate` runs a scenario (the default one unless a
// file is named) on the embedded broker or any broker by URL and prints what was decoded.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BLE_USAGE, runBle } from "./ble.js";
import { simulate, type Progress, type SimulationResult } from "../simulator/fleet/fleet.js";
import { fleetComposition } from "../simulator/physics/pump-types.js";
import { formatPolicies } from "../simulator/verdict/service-verdict.js";
import type { MaintenancePolicy } from "../operator/maintenance.js";
import { loadScenario, parseScenario, ScenarioError, type Scenario } from "../simulator/scenario/scenario.js";
import { BEARINGS, readRecording, replay, ReplayError, type ReplayResult } from "../simulator/replay/replay.js";
import { findings } from "../simulator/verdict/findings.js";
import { htmlReport } from "../simulator/verdict/report-html.js";
import { runSummary } from "../simulator/verdict/summary.js";
import { junitXml } from "../simulator/verdict/junit.js";
import { writeCampaignReport } from "../operator/campaign.js";
import { runInspect, runKeygen, runSign, SuitUsageError } from "./suit.js";
import { ProvisionError } from "../operator/provision.js";
import { runProvision } from "./provision.js";
import { IdentityError } from "../host/link/identity.js";
import { DATA_DIR_DEFAULT, ValidateError, WINDOW_DEFAULT } from "../simulator/replay/recordings.js";
import { runValidate } from "./validate.js";
import { integerOption, numberOption, UsageError } from "./options.js";
import { pumpsText, resizeFleet } from "../simulator/scenario/fleet-size.js";
import { CONFIG_RANGES } from "../protocol/messages.js";
import { decodeErrorCount } from "../simulator/verdict/expectations.js";
import { ProtocolError } from "../protocol/errors.js";

export { UsageError };

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_SCENARIO = path.join(ROOT, "scenarios", "default.json");

const HELP = `impeller: firmware runtime and fleet simulator for connected pumps

Usage: impeller <command> [options]

Commands:
  simulate [SCENARIO]   Run a fleet scenario (default: scenarios/default.json) against
                        the embedded MQTT broker and print the decoded telemetry.
      --pumps N           number of pumps (overrides the scenario; below its own, its pump
                          counts scale down with the fleet: scenarios/README.md)
      --days D            simulated days (overrides the scenario)
      --seed S            random seed (overrides the scenario)
      --broker URL        use this MQTT broker (mqtt://host:port) instead of the embedded one
      --identities DIR    every pump and the collector connect over TLS with their own
                          certificate from DIR (impeller provision), to the broker in DIR
                          (mosquitto -c DIR/mosquitto.conf) unless --broker names another
      --workers N         worker threads for the pumps (default: one per core for 100+ pumps)
      --shard K/N         run only pumps with index % N == K (several processes, one broker)
      --multiplex N       N pumps share one MQTT connection, as behind a gateway (overrides
                          the scenario's devices_per_connection; default 1)
      --tcp               pumps reach the embedded broker over loopback TCP instead of its
                          in-process network (each pump its own MQTT connection either way)
      --quiet             no progress line
      --report PATH       the HTML report (default reports/NAME/report.html, NAME from the
                          scenario's name up to its first colon); always written
      --ci                judge the scenario's expectations (scenarios/README.md), write the
                          JUnit XML and the JSON summary, exit 1 if an expectation fails
      --junit PATH        JUnit XML (default with --ci: reports/NAME/junit.xml)
      --summary PATH      JSON summary (default with --ci: reports/NAME/summary.json)
  analyze FILE          Replay a recording (raw float32 little-endian, in g) through the
                        release firmware, window by window, and print its diagnoses.
      --rate HZ           sample rate (required)
      --rpm RPM           shaft speed (measured from the spectrum when absent)
      --bearing NAME      bearing geometry by name: ${Object.keys(BEARINGS).join(", ")}
      --geometry n,d,D,a  or as rolling elements, element and pitch diameter (mm), angle (deg)
      --window N          samples per window (default 4096)
      --interval S        the windows are snapshots taken S seconds apart (e.g. FEMTO: 10)
      --vanes N           impeller vanes, for the vane-pass line
      --iso-group G       ISO 10816-3 machine group, 1 or 2 (default 2)
      --foundation F      rigid (default) or flexible
      --json              one JSON object: {summary, windows}
  validate [DIR]        Replay every real recording in DIR (default ${DATA_DIR_DEFAULT}, beside the
                        checkout: DIR/cwru and DIR/femto with their manifest.json) through the
                        release firmware: CWRU confusion tables (true label × verdict) per
                        sample rate and sensor end, with the manifest's rpm and without it
                        (the firmware measures the speed; its error is reported), FEMTO first
                        alarms against the failure, and pass/fail for the stated targets.
                        Exit 1 when a recording could not be replayed (the others still run).
      --only cwru|femto   one data set only
      --window N          samples per CWRU window (default ${WINDOW_DEFAULT}; FEMTO: one per snapshot)
      --verbose           also each record's verdict and windows by diagnosis
      --json              one JSON object: the whole report, records included
  ble scan [--timeout S]  List the pumps in Bluetooth LE range (commissioning, diagnostics).
  ble status ADDRESS    Read a pump's state over Bluetooth LE.
  ble send ADDRESS --cmd NAME [--args JSON] [--id N] [--seq N]
                        Send a pump a command over Bluetooth LE and print its reply.
  ble commission ADDRESS [--tenant T] [--device ID] [--broker URL] [--owner FILE] [--seq N]
                        Commission a pump over Bluetooth LE: its identity, the broker it
                        reports to, its owner's policy (impeller ble --help says more).
  ble serve [--device ID] [--broker URL] [--state DIR] [--adapter NAME] [--duration S]
                        Run a pump on this host's release firmware that the ble commands
                        find and commission (BlueZ on the system bus).
  keygen --out DIR [--alg eddsa|es256] [--force]
                        Make a firmware signing key: DIR/signing-key.pem (PKCS#8, secret)
                        and DIR/signing-key.pub.pem (SPKI, for the devices).
  sign IMAGE --seq N --key KEY.pem --vendor V --class C --out ENVELOPE
                        Sign a firmware image into a SUIT envelope (COSE_Sign1, ES256 or
                        EdDSA by the key). V and C are UUIDs, or names made into UUIDv5:
                        a vendor domain (DNS namespace), a model name (vendor's namespace).
      --device ID         only for this device (UUID, or a name: UUIDv5 in the class's namespace)
      --uri URI           where the device fetches the image (default: the block download)
      --description TEXT  --version TEXT   text carried severable in the envelope
  inspect ENVELOPE [--key PUB.pem]... [--image IMAGE]
                        Print a SUIT envelope in diagnostic notation; with --key verify its
                        digest and signature, with --image the image's digest and size.
                        Exit 0 only when everything asked for verifies.
  provision --tenant T --devices N --out DIR
                        Make a fleet's identities and the broker's configuration: a CA
                        (DIR/ca.pem; ca.key stays private), a certificate per device in
                        DIR/devices/<id>/ (CN = device id, pump-0001…), collector.T and
                        operator.T in DIR/clients/, the broker's certificate, and
                        DIR/mosquitto.conf with an ACL (TLS, client certificates required,
                        each device only its own topics). Run again with another tenant
                        to add it to the same CA and broker (device ids unique across them).
      --waveform W        owner policy: raw waveforms on_request (default) or never
      --detail D          owner policy: full (default) or summary telemetry
                        The owner's token and policy go to DIR/owner/T.json (0600); devices
                        store the policy at their first boot, and only the token changes it.
      --port P            the broker's TLS port (default 8883)
      --host H            the name or IP clients connect to (default 127.0.0.1)
      --bind A            the address the listener binds to (default: all)
      --first K           the first device is index K (pump-000(K+1)); default 0
      --days D            validity of the issued certificates (default 825)
  help                  Show this text.

Examples:
  impeller simulate
  impeller simulate scenarios/default.json --pumps 20 --days 3 --seed 7
  impeller simulate --broker mqtt://127.0.0.1:1883
  impeller simulate scenarios/outage.json --ci
  impeller analyze recording.f32 --rate 12000 --rpm 1797 --bearing 6205
  impeller validate ../shared/data --only cwru --verbose
  impeller provision --tenant acme --devices 30 --out fleet && mosquitto -c fleet/mosquitto.conf
`;

/** The limits of simulate's options, as scenario.ts checks the scenario's own fields. */
const PUMPS_MAX = 100_000;
const DAYS_MAX = 3650;
const SEED_MAX = 2 ** 32 - 1;
const WORKERS_MAX = 256;
const MULTIPLEX_MAX = 10_000;
/** analyze --interval: at most a year between snapshots. */
const INTERVAL_S_MAX = 365 * 86_400;

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
  lines.push(`Broker: ${result.brokerUrl}   seed ${scenario.seed}   ${scenario.pumps} pumps   ${scenario.days} days   one ${scenario.window}-sample window every ${scenario.interval_s} s at ${scenario.sample_rate_hz} Hz`);
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

async function runSimulate(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      pumps: { type: "string" },
      days: { type: "string" },
      seed: { type: "string" },
      broker: { type: "string" },
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
    },
  });
  if (positionals.length > 1) throw new UsageError("simulate takes at most one scenario file");
  const file = positionals[0] ?? DEFAULT_SCENARIO;
  const pumps = integerOption(values.pumps, "pumps", 1, PUMPS_MAX);
  const days = numberOption(values.days, "days", 0, DAYS_MAX);
  const seed = integerOption(values.seed, "seed", 0, SEED_MAX);
  const multiplex = integerOption(values.multiplex, "multiplex", 1, MULTIPLEX_MAX);
  const workers = integerOption(values.workers, "workers", 1, WORKERS_MAX);
  if (values.broker !== undefined && !/^mqtts?:\/\/[^/]+$/.test(values.broker)) {
    throw new UsageError(`--broker needs a URL like mqtt://127.0.0.1:1883, not ${JSON.stringify(values.broker)}`);
  }
  const shard = shardOption(values.shard, values.broker ?? values.identities);
  const base = loadScenario(file);
  // A fleet smaller than the scenario's: its pump counts scale down with it (fleet-size.ts).
  const resized = pumps === undefined ? { scenario: base, changes: [] } : resizeFleet(base, pumps);
  if (resized.changes.length > 0) process.stderr.write(`Scaled from ${pumpsText(base.pumps)} to ${pumpsText(resized.scenario.pumps)}, pumps per entry: ${resized.changes.join("; ")}\n`);
  const overridden: Scenario = parseScenario({
    ...resized.scenario,
    days: days ?? base.days,
    seed: seed ?? base.seed,
    devices_per_connection: multiplex ?? base.devices_per_connection,
  }, file);
  if (overridden.broker_outages.length > 0 && values.broker !== undefined) {
    throw new UsageError(`${file} has broker_outages, which need the embedded broker: not with --broker`);
  }
  if (overridden.campaigns.length > 0 && (shard?.count ?? 1) > 1) throw new UsageError(`${file} has campaigns, which need the whole fleet in one run: not with --shard`);
  const reports = path.join("reports", reportName(overridden.name, file));
  const junitPath = values.junit ?? (values.ci ? path.join(reports, "junit.xml") : undefined);
  const summaryPath = values.summary ?? (values.ci ? path.join(reports, "summary.json") : undefined);
  const reportPath = values.report ?? path.join(reports, "report.html");
  // A path that cannot be written is found before the run, not after it.
  for (const output of [junitPath, summaryPath, reportPath]) if (output !== undefined) makeDirectoryFor(output);
  const interactive = process.stderr.isTTY && !values.quiet;
  let lastPrinted = 0;
  let lastCampaign = "";
  let lastCampaignPrinted = 0;
  // A service scenario runs once per maintenance policy, over the same seeded fleet.
  const policies: (MaintenancePolicy | undefined)[] = overridden.service?.policies ?? [undefined];
  const runs: SimulationResult[] = [];
  for (const policy of policies) {
    if (policy !== undefined && !values.quiet) process.stderr.write(`Maintenance policy: ${policy}\n`);
    runs.push(await simulate(overridden, {
    policy,
    brokerUrl: values.broker,
    identities: values.identities,
    workers,
    ...(values.tcp ? { transport: "tcp" as const } : {}),
    shard,
    onProgress: values.quiet ? undefined : (progress) => {
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
    // A campaign's live line: when its state or wave changes, else at most once a second.
    onCampaign: values.quiet ? undefined : (line, campaign) => {
      const now = performance.now();
      const key = `${campaign.plan.name} ${campaign.state} ${campaign.wave}`;
      if (key === lastCampaign && now - lastCampaignPrinted < 1000) return;
      lastCampaign = key;
      lastCampaignPrinted = now;
      process.stderr.write(`${line}\n`);
    },
    }));
  }
  // The per-pump views follow the predictive run when there is one: the policy the firmware's advice drives.
  const result = runs.find((run) => run.service?.policy === "predictive") ?? runs[0];
  process.stdout.write(`${formatSummary(result)}\n`);
  const outcomes = runs.flatMap((run) => (run.service !== undefined ? [run.service] : []));
  if (outcomes.length > 0) process.stdout.write(`\n${formatPolicies(outcomes)}\n`);
  for (const c of result.campaigns) {
    const counts = Object.entries(c.counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(", ");
    process.stdout.write(`Campaign ${c.name}: ${c.state} in wave ${c.maxWave} of ${c.targets} devices (${counts}) in ${(c.durationMs / 1000).toFixed(1)} s; ` +
      `${c.bytes.total} bytes on the wire, ${c.bytes.perDevicePerImage.toFixed(3)} × the image per device${c.reason !== null ? `; ${c.reason}` : ""}\n`);
  }
  if (result.campaigns.length > 0) process.stdout.write(`Power cuts during updates: ${result.powerCuts} (pumps powered on again from their flash)\n`);
  if ((overridden.power_cuts ?? []).length > 0) {
    const cut = result.pumps.filter((pump) => pump.scheduledPowerCuts > 0).length;
    process.stdout.write(`Power cuts: ${result.scheduledPowerCuts} on ${cut} pumps (booted again from their storage and outbox), ${result.missedWindows} windows missed while off\n`);
  }
  if ((overridden.devices_per_connection ?? 1) > 1) {
    process.stdout.write(`Connections: ${result.connections} for ${result.pumps.length} pumps (${overridden.devices_per_connection} per connection, through gateways)\n`);
  }
  const complete = runs.every((run) => run.delivered === run.published && decodeErrorCount(run) === 0);
  for (const run of runs) {
    if (run.delivered !== run.published || decodeErrorCount(run) > 0) {
      process.stderr.write(`not every message arrived intact${run.service !== undefined ? ` (${run.service.policy})` : ""}: ${run.delivered} of ${run.published} decoded\n`);
    }
  }
  const found = findings(result, outcomes);
  if (junitPath !== undefined) {
    writeReport(junitPath, junitXml({
      name: overridden.name, classname: `impeller.simulate.${reportName(overridden.name, file)}`, timeS: result.elapsedMs / 1000,
      properties: [["seed", overridden.seed], ["pumps", overridden.pumps], ["days", overridden.days], ["scenario", file]],
      results: found.expectations,
    }));
  }
  if (summaryPath !== undefined) writeReport(summaryPath, `${JSON.stringify({
    ...runSummary(result, found),
    // A service scenario's policies side by side (the per-pump figures above are the predictive run's).
    ...(outcomes.length > 0 ? { service: outcomes } : {}),
  }, null, 2)}\n`);
  writeReport(reportPath, htmlReport(result, found, runs.flatMap((run) => (run.service !== undefined ? [{ outcome: run.service, pumps: run.pumps }] : []))));
  const campaignPaths = result.campaigns.map((c) => {
    const file = path.join(path.dirname(reportPath), `campaign-${c.name}.json`);
    writeCampaignReport(file, c);
    return file;
  });
  const lines = [""];
  if (values.ci) {
    for (const e of found.expectations) lines.push(`${e.passed ? "PASS" : "FAIL"}  ${e.name}${e.implicit ? " (implicit)" : ""}: ${e.detail}`);
    const failed = found.expectations.filter((e) => !e.passed).length;
    lines.push(`Verdict: ${failed === 0 ? "PASS" : "FAIL"}, ${found.expectations.length - failed} of ${found.expectations.length} expectations met`);
  }
  if (junitPath !== undefined) lines.push(`JUnit: ${junitPath}`);
  if (summaryPath !== undefined) lines.push(`Summary: ${summaryPath}`);
  lines.push(`Report: ${reportPath}`);
  for (const file of campaignPaths) lines.push(`Campaign report: ${file}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  // In CI mode the expectations are the verdict (delivery among them); otherwise the run must deliver everything intact.
  if (values.ci) return found.passed ? 0 : 1;
  return complete ? 0 : 1;
}

/** The reports directory's name for a scenario: its name up to the first colon as a slug
 *  ("default: a plant of…" → "default"), else the file's name. */
function reportName(name: string, file: string): string {
  const slug = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60);
  return (name === "unnamed" ? "" : slug(name.split(":")[0])) || slug(path.basename(file, ".json")) || "scenario";
}

function writeReport(file: string, text: string): void {
  makeDirectoryFor(file);
  try {
    fs.writeFileSync(file, text);
  } catch (error) {
    throw new UsageError(`cannot write ${file}: ${(error as Error).message}`);
  }
}

function makeDirectoryFor(file: string): void {
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  } catch (error) {
    // mkdir says EEXIST, or ENOTDIR, when a file stands where a directory of the path should be.
    const code = (error as { code?: string }).code;
    const why = code === "EEXIST" || code === "ENOTDIR" ? `a file stands in the way of the directory ${path.dirname(file)}` : (error as Error).message;
    throw new UsageError(`cannot write ${file}: ${why}`);
  }
}

function geometryOption(bearing: string | undefined, geometry: string | undefined): [number, number, number, number] | undefined {
  if (bearing !== undefined && geometry !== undefined) throw new UsageError("give --bearing or --geometry, not both");
  if (bearing !== undefined) {
    const known = BEARINGS[bearing];
    if (known === undefined) throw new UsageError(`unknown bearing ${JSON.stringify(bearing)}; known: ${Object.keys(BEARINGS).join(", ")}`);
    return known;
  }
  if (geometry === undefined) return undefined;
  const parts = geometry.split(",").map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isFinite(part))) {
    throw new UsageError(`--geometry needs four numbers n,d_mm,D_mm,angle_deg, not ${JSON.stringify(geometry)}`);
  }
  return parts as [number, number, number, number];
}

const seconds = (value: number | null): string => (value === null ? "none" : `${value.toFixed(1)} s`);

function formatReplay(result: ReplayResult): string {
  const lines = ["window  time s     fault                 strength  severity  health  vel mm/s  zone  kurtosis  rms m/s2  alarm   RUL h          action (within h)    findings (strength, confidence)"];
  const hours = (h: number): string => (h >= 100 ? h.toFixed(0) : h.toFixed(2));
  for (const w of result.windows) {
    lines.push([
      String(w.index).padStart(6), w.time_s.toFixed(2).padStart(9), (w.sensor === null ? w.fault : `${w.fault} ${w.sensor}`).padEnd(21), w.strength.toFixed(2).padStart(8),
      String(w.severity).padStart(9), w.health.toFixed(2).padStart(7), ((w.features.vel_rms ?? 0) * 1000).toFixed(3).padStart(9),
      w.iso_zone.padStart(5), (w.features.kurtosis ?? 0).toFixed(2).padStart(9), (w.features.acc_rms ?? 0).toFixed(3).padStart(9),
      " " + w.alarm.padEnd(7), (w.rul_hours === null ? "-" : `${hours(w.rul_hours[0])}..${hours(w.rul_hours[1])}`).padEnd(14),
      (w.action === "none" ? "-" : `${w.action} (${hours(w.act_in_hours ?? 0)})`).padEnd(20),
      w.findings.map((f) => `${f.kind} ${f.strength.toFixed(2)} ${f.confidence.toFixed(4)}`).join(", ") || "-",
    ].join(" "));
  }
  const s = result.summary;
  const counts = Object.entries(s.windows_by_fault).filter(([, n]) => n > 0).map(([fault, n]) => `${fault} ${n}`).join(", ");
  lines.push("");
  lines.push(`Summary: ${s.fault}   ${s.windows} windows (${counts})   first persistent abnormality: ${seconds(s.first_persistent_abnormal_s)}   first alarm (severity >= 2): ${seconds(s.first_alarm_s)}   of ${s.duration_s.toFixed(1)} s`);
  if (s.findings.length > 0) {
    lines.push(`Findings in a third of the windows or more: ${s.findings.map((f) => `${f.kind} (${f.windows} windows, median strength ${f.strength.toFixed(2)})`).join(", ")}`);
  }
  const raised = (level: string): number | null => result.windows.find((w) => w.alarm === level)?.time_s ?? null;
  lines.push(`Trend: alert raised at ${seconds(raised("alert"))}, danger at ${seconds(raised("danger"))}`);
  return lines.join("\n");
}

async function runAnalyze(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      rate: { type: "string" }, rpm: { type: "string" }, bearing: { type: "string" }, geometry: { type: "string" },
      window: { type: "string" }, interval: { type: "string" }, vanes: { type: "string" },
      "iso-group": { type: "string" }, foundation: { type: "string" }, json: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError("analyze takes one recording file");
  // Each maps to a firmware configuration field (rate_hz, rpm, window, vanes, iso_group) and its range.
  const rateHz = numberOption(values.rate, "rate", ...CONFIG_RANGES.rate_hz);
  if (rateHz === undefined) throw new UsageError("analyze needs --rate HZ");
  const isoGroup = integerOption(values["iso-group"], "iso-group", ...CONFIG_RANGES.iso_group);
  if (values.foundation !== undefined && values.foundation !== "rigid" && values.foundation !== "flexible") {
    throw new UsageError("--foundation is rigid or flexible");
  }
  const options = {
    rateHz,
    rpm: numberOption(values.rpm, "rpm", 0, CONFIG_RANGES.rpm[1], true),
    geometry: geometryOption(values.bearing, values.geometry),
    window: integerOption(values.window, "window", ...CONFIG_RANGES.window) ?? 4096,
    intervalS: numberOption(values.interval, "interval", 0, INTERVAL_S_MAX, true),
    vanes: integerOption(values.vanes, "vanes", ...CONFIG_RANGES.vanes),
    isoGroup: isoGroup as 1 | 2 | undefined,
    foundation: values.foundation as "rigid" | "flexible" | undefined,
  };
  const result = await replay(readRecording(positionals[0]), options);
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${formatReplay(result)}\n`);
  return 0;
}

const COMMANDS = ["simulate", "analyze", "validate", "ble", "keygen", "sign", "inspect", "provision"];

/** One command's part of the help: its lines from HELP, from its first line to the next command's. */
export function commandUsage(command: string): string {
  const lines = HELP.split("\n");
  const from = lines.findIndex((line) => line.startsWith(`  ${command} `));
  const isCommand = (line: string): boolean => /^  [a-z]/.test(line);
  const block: string[] = [];
  for (let i = from; i < lines.length && lines[i] !== ""; i++) {
    if (i > from && isCommand(lines[i]) && !lines[i].startsWith(`  ${command} `)) break;
    block.push(lines[i]);
  }
  return `Usage: impeller ${command} [options]\n\n${block.join("\n")}\n`;
}

/** Whether the arguments ask for help (before any "--", after which everything is a file name). */
function asksHelp(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

/** An error of the system (a file, a socket) rather than of the program: one line says what. */
function systemErrorLine(error: unknown): string | undefined {
  const e = error as { code?: unknown; syscall?: unknown; address?: unknown; port?: unknown; message?: string; errors?: unknown[] };
  if (typeof e?.code !== "string" || !/^E[A-Z]+$/.test(e.code)) return undefined;
  if (e.syscall === "connect" || e.errors !== undefined) {
    const first = (e.errors?.[0] ?? e) as { address?: unknown; port?: unknown };
    const where = first.address !== undefined ? `${String(first.address)}:${String(first.port)}` : "the broker";
    return `cannot connect to ${where} (${e.code}): is the broker running and the address right?`;
  }
  return e.message ?? e.code;
}

/** "--days -1" as "--days=-1": parseArgs would take the "-1" for an option and answer that the
 *  value is ambiguous, where the user meant a (negative) number that the option's check names. */
function joinNegativeValues(args: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (/^--[a-z][a-z-]*$/.test(args[i]) && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(`${args[i]}=${next}`);
      i++;
    } else {
      joined.push(args[i]);
    }
  }
  return joined;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = joinNegativeValues(argv);
  if (command !== undefined && COMMANDS.includes(command) && asksHelp(rest)) {
    process.stdout.write(command === "ble" ? BLE_USAGE : commandUsage(command));
    return 0;
  }
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(HELP);
        return 0;
      case "simulate":
        return await runSimulate(rest);
      case "ble":
        return await runBle(rest);
      case "analyze":
        return await runAnalyze(rest);
      case "validate":
        return await runValidate(rest);
      case "keygen":
        return runKeygen(rest);
      case "sign":
        return runSign(rest);
      case "inspect":
        return runInspect(rest);
      case "provision":
        return await runProvision(rest);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}; see impeller --help`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof SuitUsageError || error instanceof ProvisionError || error instanceof IdentityError || error instanceof ScenarioError || error instanceof ReplayError || error instanceof ValidateError || error instanceof ProtocolError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`impeller: ${(error as Error).message.replaceAll("\n", " ")}\n`);
      return 2;
    }
    const line = systemErrorLine(error);
    if (line === undefined) throw error;
    process.stderr.write(`impeller: ${line}\n`);
    return 1;
  }
}
