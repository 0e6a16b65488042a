// Reports of a finished run: the JSON summary CI keeps, and the HTML page people read — one
// self-contained file (inline CSS and SVG, no scripts, nothing fetched) with the fleet's
// figures, the expectations, the faults given against those detected, and per pump the trend
// of its features over simulated time with the fault's onset and failure marked.

import { timeOrdered, type TelemetryLog, type TimeOrdered } from "../../operator/telemetry-log.js";
import { percent, type PolicyOutcome } from "../fleet/service.js";
import { DETECTION_PERSISTENCE, type PumpSummary } from "../fleet/fleet.js";
import {
  decodeErrorCount, detections, evaluateExpectations, faultOutcomes, runEndMs,
  type DiagnosedPack, type Detection, type ExpectationResult, type FaultOutcome, type RunOutcome,
} from "./expectations.js";
import type { Scenario } from "../scenario/scenario.js";

const DAY_MS = 86_400_000;
/** Points per plotted series at most: a bucket's minimum and maximum for half as many buckets. */
const SERIES_POINTS_MAX = 500;
/** Cells of a diagnosis strip at most. */
const STRIP_CELLS_MAX = 400;
/** Pumps plotted at most: degraded ones first, then healthy ones that raised false alarms, then a sample. */
const PLOTTED_DEGRADED_MAX = 120;
const PLOTTED_FALSE_ALARM_MAX = 12;
const PLOTTED_HEALTHY_SAMPLE = 4;
/** Fleets up to this size get a diagnosis strip per pump in the overview; larger ones only for the plotted pumps. */
const FLEET_STRIP_PUMPS_MAX = 300;

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

export function findings(run: ReportInput): RunFindings {
  const expectations = evaluateExpectations(run);
  return { expectations, faults: faultOutcomes(run), detections: detections(run), passed: expectations.every((e) => e.passed) };
}

// ---------------------------------------------------------------------------------------------
// JSON summary

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const round = (value: number | null, digits = 3): number | null => (value === null ? null : Number(value.toFixed(digits)));

export function runSummary(run: ReportInput, found: RunFindings = findings(run)): Record<string, unknown> {
  const { scenario } = run;
  return {
    scenario: { name: scenario.name, seed: scenario.seed, start: scenario.start, days: scenario.days, pumps: scenario.pumps, interval_s: scenario.interval_s },
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

// ---------------------------------------------------------------------------------------------
// HTML report

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "#39" }[c]};`);
}
const h = escapeHtml;

/** Colours of the diagnoses, in the strips and the legend; the envelope lines share them. */
const FAULT_COLOURS: Record<string, string> = {
  none: "#cfe8c9", unknown: "#b9b9b9", outer_race: "#d62728", inner_race: "#ff7f0e", rolling_element: "#9467bd",
  cavitation: "#1f77b4", imbalance: "#8c564b", misalignment: "#e377c2", sensor_fault: "#17becf",
};
const OTHER_COLOUR = "#444444";
const colour = (fault: string): string => FAULT_COLOURS[fault] ?? OTHER_COLOUR;

const STATUS_TEXT: Record<FaultOutcome["status"], string> = {
  detected: "detected", late: "detected after failure", missed: "missed", developing: "developing, not yet detected", not_started: "not started",
};

/** A service scenario's runs, one per maintenance policy, for the side-by-side view. */
export interface ServiceRun {
  outcome: PolicyOutcome;
  pumps: readonly Pick<PumpSummary, "device" | "service">[];
}

export function htmlReport(run: ReportInput, found: RunFindings = findings(run), service: readonly ServiceRun[] = []): string {
  const { scenario } = run;
  const startMs = Date.parse(scenario.start);
  const endMs = runEndMs(scenario);
  const day = (ms: number | null): string => (ms === null ? "–" : ((ms - startMs) / DAY_MS).toFixed(1));
  const degraded = run.pumps.filter((p) => p.degradations.length > 0);
  const falseAlarms = found.detections.filter((d) => d.falseAlarm);
  const plotted = choosePlotted(run, falseAlarms);
  const x = { fromMs: startMs, toMs: Math.max(endMs, startMs + 1) };
  const passedCount = found.expectations.filter((e) => e.passed).length;
  const implicit = found.expectations.some((e) => e.implicit);
  const leads = found.faults.filter((f) => f.status === "detected").map((f) => f.leadDays!).sort((a, b) => a - b);
  const share = run.published > 0 ? run.delivered / run.published : 1;

  const cards: [string, string, string][] = [
    ["Pumps", String(run.pumps.length), `${degraded.length} given a fault, ${run.windows} windows analysed`],
    ["Faults detected", `${found.faults.filter((f) => f.status === "detected").length} / ${found.faults.length}`,
      `before failure; ${countBy(found.faults, "missed")} missed, ${countBy(found.faults, "late")} late, ${countBy(found.faults, "developing")} still developing`],
    ["Lead time", leads.length > 0 ? `${leads[0].toFixed(1)} d` : "–", leads.length > 0 ? `shortest; median ${leads[Math.floor(leads.length / 2)].toFixed(1)} d, longest ${leads.at(-1)!.toFixed(1)} d` : "no fault detected"],
    ["False alarms", String(falseAlarms.length), `on ${new Set(falseAlarms.map((a) => a.device)).size} pumps`],
    ["Delivered", `${(share * 100).toFixed(share === 1 ? 0 : 3)} %`, `${run.delivered} of ${run.published} messages, ${decodeErrorCount(run)} decode errors`],
    ["Duplicates · missing", `${run.duplicates} · ${run.gaps}`, `${run.resent} resent, ${run.reconnects} reconnections` +
      (run.outages.outages > 0 ? `, ${run.outages.outages} broker outages (${(run.outages.downMs / 60_000).toFixed(0)} min)` : "")],
  ];

  const parts: string[] = [];
  parts.push(`<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`);
  parts.push(`<title>impeller report: ${h(scenario.name)}</title><style>${STYLE}</style></head><body>`);
  parts.push(`<header><h1>${h(scenario.name)}</h1>`);
  parts.push(`<p class="meta">seed ${scenario.seed} · ${scenario.pumps} pumps · ${scenario.days} days from ${h(new Date(startMs).toISOString().slice(0, 16).replace("T", " "))} UTC · a ${scenario.window}-sample window every ${duration(scenario.interval_s)} at ${scenario.sample_rate_hz} Hz · simulated in ${(run.elapsedMs / 1000).toFixed(1)} s</p>`);
  parts.push(`<p class="verdict ${found.passed ? "pass" : "fail"}">${found.passed ? "PASS" : "FAIL"}: ${passedCount} of ${found.expectations.length} expectations met${implicit ? " (the scenario lists none: delivery and decoding checked)" : ""}</p></header>`);
  parts.push(`<section class="cards">${cards.map(([title, value, note]) => `<div class="card"><div class="title">${title}</div><div class="value">${h(value)}</div><div class="note">${h(note)}</div></div>`).join("")}</section>`);

  parts.push(`<section><h2>Expectations</h2><div class="scroll"><table><thead><tr><th></th><th>expectation</th><th class="num">measured</th><th>detail</th></tr></thead><tbody>`);
  for (const e of found.expectations) {
    parts.push(`<tr class="${e.passed ? "pass" : "fail"}"><td class="mark">${e.passed ? "✔" : "✘"}</td><td><code>${h(e.name)}</code>${e.implicit ? ' <span class="dim">(implicit)</span>' : ""}</td><td class="num">${measuredText(e)}</td><td>${h(e.detail)}</td></tr>`);
  }
  parts.push(`</tbody></table></div></section>`);

  if (service.length > 0) parts.push(serviceSection(service, day));

  if (run.campaigns !== undefined && run.campaigns.length > 0) {
    parts.push(`<section><h2>Campaigns</h2><div class="scroll"><table><thead><tr><th>campaign</th><th>state</th><th>waves (devices: confirmed / errors)</th><th>outcome</th><th class="num">seconds</th><th class="num">bytes per device ÷ image</th><th>why it stopped</th></tr></thead><tbody>`);
    for (const c of run.campaigns) {
      const waves = c.waves.map((w) => `${w.wave}: ${w.devices} (${w.confirmed} / ${w.errors})`).join(" · ");
      const counts = Object.entries(c.counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(", ");
      parts.push(`<tr class="${c.state === "completed" ? "pass" : "fail"}"><td><code>${h(c.name)}</code></td><td>${h(c.state)}</td><td>${h(waves)}</td><td>${h(counts)}</td>` +
        `<td class="num">${(c.durationMs / 1000).toFixed(1)}</td><td class="num">${c.bytes.perDevicePerImage.toFixed(3)}</td><td>${h(c.reason ?? "")}</td></tr>`);
    }
    parts.push(`</tbody></table></div></section>`);
  }

  parts.push(`<section><h2>Faults given and detected</h2>`);
  if (found.faults.length === 0) parts.push(`<p class="dim">The scenario gives no pump a fault.</p>`);
  else {
    parts.push(`<div class="scroll"><table><thead><tr><th>pump</th><th>fault</th><th class="num">onset (day)</th><th class="num">failure (day)</th><th class="num">detected (day)</th><th class="num">lead (days)</th><th>status</th></tr></thead><tbody>`);
    for (const f of found.faults) {
      parts.push(`<tr class="status-${f.status}"><td><a href="#${anchor(f.device)}">${h(f.device)}</a></td><td>${swatch(f.kind)}${h(f.kind)}</td><td class="num">${day(f.onsetMs)}</td><td class="num">${day(f.failureMs)}${f.failureMs > endMs ? " <span class=\"dim\">(after end)</span>" : ""}</td><td class="num">${day(f.detectedMs)}</td><td class="num">${f.leadDays === null ? "–" : f.leadDays.toFixed(1)}</td><td>${STATUS_TEXT[f.status]}</td></tr>`);
    }
    parts.push(`</tbody></table></div>`);
  }
  parts.push(`</section>`);

  parts.push(`<section><h2>False alarms</h2>`);
  if (falseAlarms.length === 0) parts.push(`<p class="dim">None: no pump was diagnosed with the same fault ${DETECTION_PERSISTENCE} windows in a row before a fault of its own had started.</p>`);
  else {
    parts.push(`<div class="scroll"><table><thead><tr><th>pump</th><th>diagnosis</th><th class="num">from (day)</th><th class="num">windows in a row</th></tr></thead><tbody>`);
    for (const a of falseAlarms) parts.push(`<tr><td><a href="#${anchor(a.device)}">${h(a.device)}</a></td><td>${swatch(a.kind)}${h(a.kind)}</td><td class="num">${day(a.startMs)}</td><td class="num">${a.windows}</td></tr>`);
    parts.push(`</tbody></table></div>`);
  }
  parts.push(`</section>`);

  const stripPumps = run.pumps.length <= FLEET_STRIP_PUMPS_MAX ? run.pumps : plotted.map((p) => p.pump);
  parts.push(`<section><h2>Diagnosis per window</h2><p class="legend">${legend()}</p>`);
  parts.push(`<div class="scroll">${fleetStrips(run, stripPumps, x)}</div>`);
  if (stripPumps.length < run.pumps.length) parts.push(`<p class="dim">${stripPumps.length} of ${run.pumps.length} pumps shown: those plotted below.</p>`);
  parts.push(`</section>`);

  const healthyShown = plotted.filter((p) => p.pump.degradations.length === 0).length;
  parts.push(`<section><h2>Pumps</h2><p class="dim">Plotted: ${plotted.length - healthyShown} of ${degraded.length} pumps given a fault and ${healthyShown} of ${run.pumps.length - degraded.length} healthy ones (those with false alarms first, then a sample). Each series is thinned to at most ${SERIES_POINTS_MAX} points, keeping each interval's extremes. Markers: <span class="m onset">P</span> onset, <span class="m failure">F</span> functional failure, <span class="m detect">D</span> detected.</p><div class="pumps">`);
  for (const { pump, why } of plotted) parts.push(pumpArticle(run, pump, why, found, x, day));
  parts.push(`</div></section>`);

  parts.push(`<footer>impeller simulate · ${new Date().toISOString().slice(0, 19).replace("T", " ")} UTC</footer></body></html>\n`);
  return parts.join("\n");
}

/** The maintenance policies side by side: availability against the SLA, failures avoided,
 *  warning lead times, false alarms, maintenance count and cost; then each pump. */
function serviceSection(service: readonly ServiceRun[], day: (ms: number | null) => string): string {
  const parts: string[] = [];
  const sla = service[0].outcome.sla;
  const money = (value: number): string => Math.round(value).toLocaleString("en-US");
  parts.push(`<section><h2>Service: maintenance policies side by side</h2><p class="dim">Each policy is a run of its own over the same seeded fleet (the same pumps, faults and times). The contract's SLA: ${percent(sla)} availability per pump. Lead time: from the firmware's first alarm to the fault's (would-be) functional failure.</p>`);
  parts.push(`<div class="scroll"><table><thead><tr><th>policy</th><th class="num">fleet availability</th><th class="num">pumps at SLA</th><th class="num">lowest</th><th class="num">failures</th><th class="num">avoided</th><th class="num">planned jobs</th><th class="num">on sound pumps</th><th class="num">downtime h</th><th class="num">false alarms</th><th class="num">per 100 pump-years</th><th class="num">median lead d</th><th class="num">… 30+ d faults</th><th class="num">unwarned</th><th class="num">cost planned</th><th class="num">unplanned</th><th class="num">downtime</th><th class="num">total</th></tr></thead><tbody>`);
  for (const { outcome: o } of service) {
    parts.push(`<tr class="${o.availability >= sla ? "pass" : "fail"}"><td><code>${h(o.policy)}</code></td><td class="num">${percent(o.availability)}</td><td class="num">${o.pumpsMeetingSla} / ${o.pumps}</td><td class="num">${percent(o.lowestAvailability)}</td>` +
      `<td class="num">${o.failures}</td><td class="num">${o.failuresAvoided}</td><td class="num">${o.plannedJobs}</td><td class="num">${o.needlessJobs}</td><td class="num">${o.downtimeHours.toFixed(0)}</td>` +
      `<td class="num">${o.falseAlarms}</td><td class="num">${o.falseAlarmsPer100PumpYears.toFixed(2)}</td><td class="num">${o.medianLeadDays === null ? "–" : o.medianLeadDays.toFixed(1)}</td><td class="num">${o.medianLeadDaysSlow === null ? "–" : o.medianLeadDaysSlow.toFixed(1)}</td><td class="num">${o.unwarned}</td>` +
      `<td class="num">${money(o.cost.planned)}</td><td class="num">${money(o.cost.unplanned)}</td><td class="num">${money(o.cost.downtime)}</td><td class="num"><b>${money(o.cost.total)}</b></td></tr>`);
  }
  parts.push(`</tbody></table></div>`);
  // Per pump: availability and work under each policy; pumps without work under any policy are summed up.
  const devices = service[0].pumps.map((p) => p.device);
  const byPolicy = service.map((run) => new Map(run.pumps.map((p) => [p.device, p.service])));
  const period = service[0].outcome.periodDays * DAY_MS;
  const busy = devices.filter((device) => byPolicy.some((m) => (m.get(device)?.jobs.length ?? 0) > 0 || (m.get(device)?.falseAlarms.length ?? 0) > 0));
  parts.push(`<h3>Per pump</h3><p class="dim">${busy.length} of ${devices.length} pumps had work or an alarm on a sound pump under some policy; the others ran the whole period at 100 %.</p>`);
  parts.push(`<div class="scroll"><table><thead><tr><th>pump</th>${service.map((r) => `<th class="num">${h(r.outcome.policy)}</th><th>work (day: reason → action)</th>`).join("")}</tr></thead><tbody>`);
  for (const device of busy) {
    const cells = byPolicy.map((m) => {
      const p = m.get(device);
      if (p === undefined) return `<td class="num">–</td><td></td>`;
      const availability = 1 - (p.plannedDownMs + p.unplannedDownMs) / period;
      const work = p.jobs.map((j) => `${day(j.startMs)}: ${j.reason} → ${j.action}${j.fixed.length > 0 ? ` (${j.fixed.join(", ")})` : ""}`);
      const alarms = p.falseAlarms.map((ms) => `${day(ms)}: alarm on a sound pump`);
      return `<td class="num ${availability >= service[0].outcome.sla ? "" : "bad"}">${percent(availability)}</td><td>${h([...work, ...alarms].join("; ")) || '<span class="dim">–</span>'}</td>`;
    });
    parts.push(`<tr><td><a href="#${anchor(device)}">${h(device)}</a></td>${cells.join("")}</tr>`);
  }
  parts.push(`</tbody></table></div>`);
  // Each fault's fate and warning under each policy.
  parts.push(`<h3>Faults: warning and fate</h3><div class="scroll"><table><thead><tr><th>pump</th><th>fault</th><th class="num">onset (day)</th><th class="num">P–F days</th>${service.map((r) => `<th>${h(r.outcome.policy)}: fate, lead d</th>`).join("")}</tr></thead><tbody>`);
  for (const device of devices) {
    const faults = byPolicy[0].get(device)?.faults ?? [];
    faults.forEach((f, k) => {
      const cells = byPolicy.map((m) => {
        const g = m.get(device)?.faults[k];
        if (g === undefined) return "<td>–</td>";
        const lead = g.alarmMs === null ? "no warning" : `${((g.failureMs - g.alarmMs) / DAY_MS).toFixed(1)}`;
        return `<td class="fate-${g.fate}">${g.fate}${g.fate === "open" && g.alarmMs === null ? "" : `, ${lead}`}</td>`;
      });
      parts.push(`<tr><td><a href="#${anchor(device)}">${h(device)}</a></td><td>${swatch(f.kind)}${h(f.kind)}</td><td class="num">${day(f.onsetMs)}</td><td class="num">${((f.failureMs - f.onsetMs) / DAY_MS).toFixed(1)}</td>${cells.join("")}</tr>`);
    });
  }
  parts.push(`</tbody></table></div></section>`);
  return parts.join("\n");
}

type Pump = ReportInput["pumps"][number];
interface TimeAxis { fromMs: number; toMs: number }

function choosePlotted(run: ReportInput, falseAlarms: Detection[]): { pump: Pump; why: string }[] {
  const degraded = run.pumps.filter((p) => p.degradations.length > 0).slice(0, PLOTTED_DEGRADED_MAX);
  const alarmed = new Set(falseAlarms.map((a) => a.device));
  const healthy = run.pumps.filter((p) => p.degradations.length === 0);
  const noisy = healthy.filter((p) => alarmed.has(p.device)).slice(0, PLOTTED_FALSE_ALARM_MAX);
  const quiet = healthy.filter((p) => !alarmed.has(p.device));
  const step = Math.max(1, Math.floor(quiet.length / PLOTTED_HEALTHY_SAMPLE));
  const sample = quiet.filter((_, i) => i % step === 0).slice(0, PLOTTED_HEALTHY_SAMPLE);
  return [
    ...degraded.map((pump) => ({ pump, why: "degraded" })),
    ...noisy.map((pump) => ({ pump, why: "healthy false-alarm" })),
    ...sample.map((pump) => ({ pump, why: "healthy" })),
  ];
}

function packsOf(run: ReportInput, device: string): TimeOrdered {
  return timeOrdered(run.collector.devices.get(device)?.telemetry ?? []);
}

function pumpArticle(run: ReportInput, pump: Pump, why: string, found: RunFindings, x: TimeAxis, day: (ms: number | null) => string): string {
  const packs = packsOf(run, pump.device);
  const faults = found.faults.filter((f) => f.device === pump.device);
  const alarms = found.detections.filter((d) => d.device === pump.device && d.falseAlarm);
  const series = (name: string, scale = 1): Point[] => Array.from({ length: packs.length }, (_, i) => [packs.time(i) * 1000, (packs.number(i, name) ?? NaN) * scale]);
  const lines = faults.map((f) => `${swatch(f.kind)}<b>${h(f.kind)}</b>: onset day ${day(f.onsetMs)}, failure day ${day(f.failureMs)}, ` +
    (f.detectedMs === null ? `<span class="bad">${STATUS_TEXT[f.status]}</span>` : `detected day ${day(f.detectedMs)} (lead ${f.leadDays!.toFixed(1)} d)`));
  for (const a of alarms) lines.push(`<span class="bad">false alarm</span>: ${swatch(a.kind)}${h(a.kind)} from day ${day(a.startMs)}, ${a.windows} windows`);
  if (lines.length === 0) lines.push(`<span class="dim">healthy, no false alarm</span>`);
  const markers: Marker[] = faults.flatMap((f) => {
    const list: Marker[] = [
      { ms: f.onsetMs, kind: "onset", label: "P", title: `${f.kind}: onset, day ${day(f.onsetMs)}` },
      { ms: f.failureMs, kind: "failure", label: "F", title: `${f.kind}: functional failure, day ${day(f.failureMs)}` },
    ];
    if (f.detectedMs !== null) list.push({ ms: f.detectedMs, kind: "detect", label: "D", title: `${f.kind}: detected, day ${day(f.detectedMs)}` });
    return list;
  });
  const panels: Panel[] = [
    { title: "velocity RMS, mm/s", lines: [{ name: "vel_rms", colour: "#1f5fa8", points: series("vel_rms", 1000) }] },
    { title: "kurtosis", lines: [{ name: "kurtosis", colour: "#2a8a3a", points: series("kurtosis") }] },
    { title: "envelope: bpfo · bpfi · bsf", lines: ["bpfo", "bpfi", "bsf"].map((name, i) => ({ name, colour: [colour("outer_race"), colour("inner_race"), colour("rolling_element")][i], points: series(name) })) },
    { title: "health index (0 healthy … 1 failed)", lines: [{ name: "health", colour: "#333", points: series("health") }], fixed: [0, 1] },
  ];
  return `<article class="pump ${why}" id="${anchor(pump.device)}"><h3>${h(pump.device)} <span class="dim">${Math.round(pump.rpm)} rpm · ${pump.delivered} of ${pump.windows} windows decoded</span></h3>` +
    `<p class="faults">${lines.join("<br>")}</p>${pumpPlot(panels, markers, diagnoses(packs), x)}</article>`;
}

type Point = [number, number];
interface Series { name: string; colour: string; points: Point[] }
interface Panel { title: string; lines: Series[]; fixed?: [number, number] }
interface Marker { ms: number; kind: "onset" | "failure" | "detect"; label: string; title: string }

const PLOT_W = 640;
const LEFT = 54;
const RIGHT = 20;
const PANEL_H = 74;
const PANEL_GAP = 18;
const STRIP_H = 14;
const AXIS_H = 18;

/** One figure per pump: the panels stacked on a shared time axis, the diagnosis strip under them. */
function pumpPlot(panels: Panel[], markers: Marker[], strip: Cell[], x: TimeAxis): string {
  const innerW = PLOT_W - LEFT - RIGHT;
  const px = (ms: number): number => LEFT + ((ms - x.fromMs) / (x.toMs - x.fromMs)) * innerW;
  const top = 22;
  const stripY = top + panels.length * (PANEL_H + PANEL_GAP);
  const height = stripY + STRIP_H + AXIS_H;
  const out: string[] = [`<svg class="plot" viewBox="0 0 ${PLOT_W} ${height}" role="img">`];
  panels.forEach((panel, i) => {
    const y0 = top + i * (PANEL_H + PANEL_GAP);
    const values = panel.lines.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
    const [low, high] = panel.fixed ?? [0, niceCeiling(values.length > 0 ? Math.max(...values) : 1)];
    const py = (v: number): number => y0 + PANEL_H - ((v - low) / (high - low || 1)) * PANEL_H;
    out.push(`<rect class="panel" x="${LEFT}" y="${y0}" width="${innerW}" height="${PANEL_H}"/>`);
    for (const v of [low, (low + high) / 2, high]) {
      out.push(`<line class="grid" x1="${LEFT}" x2="${LEFT + innerW}" y1="${f1(py(v))}" y2="${f1(py(v))}"/><text class="tick" x="${LEFT - 4}" y="${f1(py(v) + 3)}" text-anchor="end">${figure(v)}</text>`);
    }
    for (const s of panel.lines) {
      const d = pathOf(decimate(s.points), px, py);
      if (d !== "") out.push(`<path class="line" stroke="${s.colour}" d="${d}"><title>${h(s.name)}</title></path>`);
    }
    out.push(`<text class="ptitle" x="${LEFT}" y="${y0 - 5}">${h(panel.title)}</text>`);
  });
  for (const cell of strip) {
    out.push(`<rect x="${f1(px(cell.fromMs))}" y="${stripY}" width="${f1(Math.max(px(cell.toMs) - px(cell.fromMs), 0.6))}" height="${STRIP_H}" fill="${colour(cell.fault)}"><title>${h(cell.fault)}</title></rect>`);
  }
  out.push(`<rect class="frame" x="${LEFT}" y="${stripY}" width="${innerW}" height="${STRIP_H}"/><text class="tick" x="${LEFT - 4}" y="${stripY + 10}" text-anchor="end">diagnosis</text>`);
  for (const m of markers) {
    if (m.ms < x.fromMs || m.ms > x.toMs) continue;
    const mx = f1(px(m.ms));
    out.push(`<g><title>${h(m.title)}</title><line class="m-${m.kind}" x1="${mx}" x2="${mx}" y1="${top - 14}" y2="${stripY + STRIP_H}"/><text class="mlabel m-${m.kind}-t" x="${mx}" y="${top - 15}" text-anchor="middle">${m.label}</text></g>`);
  }
  out.push(timeTicks(x, px, stripY + STRIP_H));
  out.push(`</svg>`);
  return out.join("");
}

function fleetStrips(run: ReportInput, pumps: readonly Pump[], x: TimeAxis): string {
  const rowH = 11;
  const labelW = 64;
  const innerW = PLOT_W * 1.5 - labelW - RIGHT;
  const width = labelW + innerW + RIGHT;
  const px = (ms: number): number => labelW + ((ms - x.fromMs) / (x.toMs - x.fromMs)) * innerW;
  const height = pumps.length * (rowH + 2) + AXIS_H;
  const out: string[] = [`<svg class="fleet" viewBox="0 0 ${width} ${height}" role="img">`];
  pumps.forEach((pump, i) => {
    const y = i * (rowH + 2);
    out.push(`<text class="tick" x="${labelW - 4}" y="${y + rowH - 2}" text-anchor="end"><a href="#${anchor(pump.device)}">${h(pump.device)}</a></text>`);
    for (const cell of diagnoses(packsOf(run, pump.device))) {
      out.push(`<rect x="${f1(px(cell.fromMs))}" y="${y}" width="${f1(Math.max(px(cell.toMs) - px(cell.fromMs), 0.6))}" height="${rowH}" fill="${colour(cell.fault)}"/>`);
    }
    for (const d of pump.degradations) {
      if (d.onsetMs <= x.toMs) out.push(`<line class="m-onset" x1="${f1(px(d.onsetMs))}" x2="${f1(px(d.onsetMs))}" y1="${y}" y2="${y + rowH}"/>`);
      if (d.failureMs <= x.toMs) out.push(`<line class="m-failure" x1="${f1(px(d.failureMs))}" x2="${f1(px(d.failureMs))}" y1="${y}" y2="${y + rowH}"/>`);
    }
  });
  out.push(timeTicks(x, px, pumps.length * (rowH + 2)));
  out.push(`</svg>`);
  return out.join("");
}

interface Cell { fromMs: number; toMs: number; fault: string }

/** The diagnosis per window, as at most STRIP_CELLS_MAX cells (each the most frequent
 *  diagnosis of its stretch of time), adjacent equal cells merged. */
function diagnoses(packs: TimeOrdered): Cell[] {
  if (packs.length === 0) return [];
  const windowMs = packs.length > 1 ? (packs.time(packs.length - 1) - packs.time(0)) * 1000 / (packs.length - 1) : 60_000;
  const cells: Cell[] = [];
  const per = Math.ceil(packs.length / STRIP_CELLS_MAX);
  for (let i = 0; i < packs.length; i += per) {
    const end = Math.min(i + per, packs.length);
    const counts = new Map<string, number>();
    for (let j = i; j < end; j++) {
      const fault = packs.text(j, "fault") ?? "?";
      counts.set(fault, (counts.get(fault) ?? 0) + 1);
    }
    const fault = [...counts].sort((a, b) => b[1] - a[1])[0][0];
    const fromMs = packs.time(i) * 1000;
    const toMs = packs.time(end - 1) * 1000 + windowMs;
    const last = cells.at(-1);
    if (last !== undefined && last.fault === fault && fromMs - last.toMs < windowMs * 1.5) last.toMs = toMs;
    else cells.push({ fromMs, toMs, fault });
  }
  return cells;
}

/** At most SERIES_POINTS_MAX points: per stretch of time its lowest and highest point, in time order. */
export function decimate(points: readonly Point[]): Point[] {
  const finite = points.filter((p) => Number.isFinite(p[1]));
  if (finite.length <= SERIES_POINTS_MAX) return finite;
  const buckets = SERIES_POINTS_MAX / 2;
  const out: Point[] = [];
  for (let b = 0; b < buckets; b++) {
    const group = finite.slice(Math.floor((b * finite.length) / buckets), Math.floor(((b + 1) * finite.length) / buckets));
    if (group.length === 0) continue;
    let low = group[0];
    let high = group[0];
    for (const p of group) {
      if (p[1] < low[1]) low = p;
      if (p[1] > high[1]) high = p;
    }
    if (low === high) out.push(low);
    else out.push(...(low[0] <= high[0] ? [low, high] : [high, low]));
  }
  return out;
}

function pathOf(points: readonly Point[], px: (ms: number) => number, py: (v: number) => number): string {
  return points.map((p, i) => `${i === 0 ? "M" : "L"}${f1(px(p[0]))} ${f1(py(p[1]))}`).join("");
}

function timeTicks(x: TimeAxis, px: (ms: number) => number, y: number): string {
  const spanDays = (x.toMs - x.fromMs) / DAY_MS;
  const steps = [1 / 24, 3 / 24, 6 / 24, 12 / 24, 1, 2, 5, 7, 14, 30, 60, 90, 180, 365];
  const step = steps.find((s) => spanDays / s <= 12) ?? 365;
  const out: string[] = [];
  for (let t = 0; t <= spanDays + 1e-9; t += step) {
    const tx = f1(px(x.fromMs + t * DAY_MS));
    const label = step < 1 ? `${Math.round(t * 24)} h` : `day ${Math.round(t)}`;
    out.push(`<line class="axis" x1="${tx}" x2="${tx}" y1="${y}" y2="${y + 4}"/><text class="tick" x="${tx}" y="${y + 14}" text-anchor="middle">${label}</text>`);
  }
  return out.join("");
}

function legend(): string {
  return Object.keys(FAULT_COLOURS).map((fault) => `${swatch(fault)}${fault}`).join(" ") +
    ` <span class="m onset">P</span> onset <span class="m failure">F</span> failure`;
}

const swatch = (fault: string): string => `<span class="sw" style="background:${colour(fault)}"></span>`;
const anchor = (device: string): string => `pump-${encodeURIComponent(device).replace(/[^A-Za-z0-9_-]/g, "_")}`;
const f1 = (v: number): string => (Math.round(v * 10) / 10).toString();
const countBy = (faults: FaultOutcome[], status: FaultOutcome["status"]): number => faults.filter((f) => f.status === status).length;

function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= value) ?? 10) * magnitude;
}

function measuredText(e: ExpectationResult): string {
  if (e.measured === null) return "–";
  const share = e.expectation.kind === "delivery_min" || e.expectation.kind === "faults_detected";
  return share ? `${(e.measured * 100).toFixed(e.expectation.kind === "delivery_min" ? 3 : 1)} %` : String(Number(e.measured.toPrecision(4)));
}

function figure(value: number): string {
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) < 100) return String(Number(value.toPrecision(3)));
  const magnitude = Math.abs(value);
  return magnitude >= 100 ? value.toFixed(0) : magnitude >= 10 ? value.toFixed(1) : magnitude >= 0.1 ? value.toFixed(2) : value.toPrecision(2);
}

function duration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

const STYLE = `
:root { --fg: #1d2329; --dim: #66707a; --line: #dde2e6; --pass: #1e7b34; --fail: #b3261e; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0 auto; padding: 20px 28px 40px; max-width: 1400px; background: #fafbfc; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 4px; } .dim { color: var(--dim); font-weight: normal; } .meta { color: var(--dim); margin: 0 0 10px; }
.verdict { display: inline-block; font-weight: 600; padding: 6px 12px; border-radius: 4px; color: #fff; margin: 0; }
.verdict.pass { background: var(--pass); } .verdict.fail { background: var(--fail); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px; margin-top: 16px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .title { color: var(--dim); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 24px; font-weight: 600; } .card .note { color: var(--dim); font-size: 12px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); width: 100%; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f1f3f5; font-weight: 600; font-size: 13px; } .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.pass .mark { color: var(--pass); } tr.fail .mark { color: var(--fail); } tr.fail td { background: #fdf0ef; }
tr.status-missed td, tr.status-late td { background: #fdf0ef; } tr.status-developing td, tr.status-not_started td { color: var(--dim); }
.mark { font-weight: 700; width: 1.5em; } code { font-size: 13px; } .bad { color: var(--fail); font-weight: 600; } .fate-failed { color: var(--fail); } .fate-avoided { color: var(--pass); }
a { color: #1f5fa8; text-decoration: none; } a:hover { text-decoration: underline; }
.sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 2px; vertical-align: baseline; border: 1px solid rgba(0,0,0,.15); }
.legend { font-size: 13px; }
.m { display: inline-block; font-size: 11px; font-weight: 700; padding: 0 4px; border-radius: 3px; color: #fff; }
.m.onset { background: #e08a00; } .m.failure { background: #b3261e; } .m.detect { background: #1e7b34; }
.pumps { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 14px; }
.pump { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.pump.healthy, .pump.healthy.false-alarm { border-style: dashed; }
.faults { margin: 0 0 6px; font-size: 13px; min-height: 2.9em; }
svg { display: block; width: 100%; height: auto; font-family: system-ui, sans-serif; }
svg.fleet { max-width: 1200px; min-width: 640px; } svg.fleet .tick { font-size: 8.5px; } svg.fleet .m-failure { stroke: #111; stroke-dasharray: none; }
.scroll { overflow-x: auto; } td:first-child a { white-space: nowrap; }
svg .panel { fill: #fcfcfd; stroke: #c9d0d6; stroke-width: .6; } svg .frame { fill: none; stroke: #c9d0d6; stroke-width: .6; } svg .grid { stroke: #eceff1; stroke-width: .6; }
svg .line { fill: none; stroke-width: 1.1; stroke-linejoin: round; } svg .tick { font-size: 9px; fill: var(--dim); }
svg .ptitle { font-size: 10px; fill: var(--fg); font-weight: 600; } svg .axis { stroke: #9aa3ab; stroke-width: .6; }
svg .mlabel { font-size: 9px; font-weight: 700; }
svg .m-onset { stroke: #e08a00; stroke-width: 1.2; stroke-dasharray: 4 3; } svg .m-onset-t { fill: #e08a00; stroke: none; }
svg .m-failure { stroke: #b3261e; stroke-width: 1.4; } svg .m-failure-t { fill: #b3261e; stroke: none; }
svg .m-detect { stroke: #1e7b34; stroke-width: 1.2; stroke-dasharray: 1.5 2; } svg .m-detect-t { fill: #1e7b34; stroke: none; }
footer { margin-top: 30px; color: var(--dim); font-size: 12px; }
`;
