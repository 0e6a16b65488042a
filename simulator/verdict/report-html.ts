// The HTML report people read of a finished run: one self-contained file (inline CSS and SVG,
// no scripts, nothing fetched) with the fleet's figures, the expectations, a service scenario's
// policies side by side, the campaigns, the faults given against those detected, the false
// alarms, and per pump the trend of its features with the fault's onset and failure marked.

import type { PumpSummary } from "../fleet/fleet.js";
import type { PolicyOutcome } from "../fleet/service.js";
import { DETECTION_PERSISTENCE } from "./detection.js";
import { decodeErrorCount, runEndMs, type Detection, type ExpectationResult, type FaultOutcome } from "./expectations.js";
import { findings, type ReportInput, type RunFindings } from "./findings.js";
import {
  anchor, colour, DAY_MS, diagnoses, fleetStrips, h, legend, packsOf, pumpPlot, SERIES_POINTS_MAX, swatch,
  type Marker, type Panel, type Point, type Pump, type TimeAxis,
} from "./report-plots.js";
import { STYLE } from "./report-style.js";
import { percent } from "./service-verdict.js";

/** Pumps plotted at most: degraded ones first, then healthy ones that raised false alarms, then a sample. */
const PLOTTED_DEGRADED_MAX = 120;
const PLOTTED_FALSE_ALARM_MAX = 12;
const PLOTTED_HEALTHY_SAMPLE = 4;
/** Fleets up to this size get a diagnosis strip per pump in the overview; larger ones only for the plotted pumps. */
const FLEET_STRIP_PUMPS_MAX = 300;

const STATUS_TEXT: Record<FaultOutcome["status"], string> = {
  detected: "detected", late: "detected after failure", missed: "missed", developing: "developing, not yet detected", not_started: "not started",
};

/** A service scenario's runs, one per maintenance policy, for the side-by-side view. */
export interface ServiceRun {
  outcome: PolicyOutcome;
  pumps: readonly Pick<PumpSummary, "device" | "service">[];
}

/** What every section of a report reads: the run, its findings, and its time axis. */
interface Page {
  run: ReportInput;
  found: RunFindings;
  startMs: number;
  endMs: number;
  x: TimeAxis;
  /** A time as days from the start, one decimal ("–" for none). */
  day: (ms: number | null) => string;
  falseAlarms: Detection[];
}

export function htmlReport(run: ReportInput, found: RunFindings = findings(run), service: readonly ServiceRun[] = []): string {
  const startMs = Date.parse(run.scenario.start);
  const endMs = runEndMs(run.scenario);
  const page: Page = {
    run, found, startMs, endMs, x: { fromMs: startMs, toMs: Math.max(endMs, startMs + 1) },
    day: (ms) => (ms === null ? "–" : ((ms - startMs) / DAY_MS).toFixed(1)),
    falseAlarms: found.detections.filter((d) => d.falseAlarm),
  };
  const plotted = choosePlotted(run, page.falseAlarms);
  return [
    headOf(page),
    expectationsSection(found.expectations),
    ...(service.length > 0 ? [serviceSection(service, page.day)] : []),
    ...(run.campaigns !== undefined && run.campaigns.length > 0 ? [campaignsSection(run.campaigns)] : []),
    faultsSection(page),
    falseAlarmsSection(page),
    // A run merged from its shards' summaries has no telemetry: each shard's own report plots its pumps.
    ...(run.collector.devices.size > 0
      ? [stripsSection(run, plotted, page.x), pumpsSection(page, plotted)]
      : [`<section><h2>Pumps</h2><p class="dim">Merged from the shards' summaries, which carry no telemetry: each shard's own report has its pumps' diagnosis strips and trend plots.</p></section>`]),
    `<footer>impeller simulate · ${new Date().toISOString().slice(0, 19).replace("T", " ")} UTC</footer></body></html>\n`,
  ].join("\n");
}

/** The page's head, the scenario, the verdict, and the fleet's figures as cards. */
function headOf({ run, found, startMs, falseAlarms }: Page): string {
  const { scenario } = run;
  const degraded = run.pumps.filter((p) => p.degradations.length > 0);
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
  return [
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>impeller report: ${h(scenario.name)}</title><style>${STYLE}</style></head><body>`,
    `<header><h1>${h(scenario.name)}</h1>`,
    `<p class="meta">seed ${scenario.seed} · ${scenario.pumps} pumps · ${scenario.days} days from ${h(new Date(startMs).toISOString().slice(0, 16).replace("T", " "))} UTC · a ${scenario.window}-sample window every ${duration(scenario.interval_s)} at ${scenario.sample_rate_hz} Hz · simulated in ${(run.elapsedMs / 1000).toFixed(1)} s</p>`,
    `<p class="verdict ${found.passed ? "pass" : "fail"}">${found.passed ? "PASS" : "FAIL"}: ${passedCount} of ${found.expectations.length} expectations met${implicit ? " (the scenario lists none: delivery and decoding checked)" : ""}</p></header>`,
    `<section class="cards">${cards.map(([title, value, note]) => `<div class="card"><div class="title">${title}</div><div class="value">${h(value)}</div><div class="note">${h(note)}</div></div>`).join("")}</section>`,
  ].join("\n");
}

function expectationsSection(expectations: readonly ExpectationResult[]): string {
  const parts = [`<section><h2>Expectations</h2><div class="scroll"><table><thead><tr><th></th><th>expectation</th><th class="num">measured</th><th>detail</th></tr></thead><tbody>`];
  for (const e of expectations) {
    parts.push(`<tr class="${e.passed ? "pass" : "fail"}"><td class="mark">${e.passed ? "✔" : "✘"}</td><td><code>${h(e.name)}</code>${e.implicit ? ' <span class="dim">(implicit)</span>' : ""}</td><td class="num">${measuredText(e)}</td><td>${h(e.detail)}</td></tr>`);
  }
  parts.push(`</tbody></table></div></section>`);
  return parts.join("\n");
}

function campaignsSection(campaigns: NonNullable<ReportInput["campaigns"]>): string {
  const parts = [`<section><h2>Campaigns</h2><div class="scroll"><table><thead><tr><th>campaign</th><th>state</th><th>waves (devices: confirmed / errors)</th><th>outcome</th><th class="num">simulated seconds</th><th class="num">bytes per device ÷ image</th><th>why it stopped</th></tr></thead><tbody>`];
  for (const c of campaigns) {
    const waves = c.waves.map((w) => `${w.wave}: ${w.devices} (${w.confirmed} / ${w.errors})`).join(" · ");
    const counts = Object.entries(c.counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(", ");
    parts.push(`<tr class="${c.state === "completed" ? "pass" : "fail"}"><td><code>${h(c.name)}</code></td><td>${h(c.state)}</td><td>${h(waves)}</td><td>${h(counts)}</td>` +
      `<td class="num">${(c.durationMs / 1000).toFixed(1)}</td><td class="num">${c.bytes.perDevicePerImage.toFixed(3)}</td><td>${h(c.reason ?? "")}</td></tr>`);
  }
  parts.push(`</tbody></table></div></section>`);
  return parts.join("\n");
}

function faultsSection({ found, endMs, day }: Page): string {
  const parts = [`<section><h2>Faults given and detected</h2>`];
  if (found.faults.length === 0) parts.push(`<p class="dim">The scenario gives no pump a fault.</p>`);
  else {
    parts.push(`<div class="scroll"><table><thead><tr><th>pump</th><th>fault</th><th class="num">onset (day)</th><th class="num">failure (day)</th><th class="num">detected (day)</th><th class="num">lead (days)</th><th>status</th></tr></thead><tbody>`);
    for (const f of found.faults) {
      parts.push(`<tr class="status-${f.status}"><td><a href="#${anchor(f.device)}">${h(f.device)}</a></td><td>${swatch(f.kind)}${h(f.kind)}</td><td class="num">${day(f.onsetMs)}</td><td class="num">${day(f.failureMs)}${f.failureMs > endMs ? " <span class=\"dim\">(after end)</span>" : ""}</td><td class="num">${day(f.detectedMs)}</td><td class="num">${f.leadDays === null ? "–" : f.leadDays.toFixed(1)}</td><td>${STATUS_TEXT[f.status]}</td></tr>`);
    }
    parts.push(`</tbody></table></div>`);
  }
  parts.push(`</section>`);
  return parts.join("\n");
}

function falseAlarmsSection({ falseAlarms, day }: Page): string {
  const parts = [`<section><h2>False alarms</h2>`];
  if (falseAlarms.length === 0) parts.push(`<p class="dim">None: no pump was diagnosed with the same fault ${DETECTION_PERSISTENCE} windows in a row before a fault of its own had started.</p>`);
  else {
    parts.push(`<div class="scroll"><table><thead><tr><th>pump</th><th>diagnosis</th><th class="num">from (day)</th><th class="num">windows in a row</th></tr></thead><tbody>`);
    for (const a of falseAlarms) parts.push(`<tr><td><a href="#${anchor(a.device)}">${h(a.device)}</a></td><td>${swatch(a.kind)}${h(a.kind)}</td><td class="num">${day(a.startMs)}</td><td class="num">${a.windows}</td></tr>`);
    parts.push(`</tbody></table></div>`);
  }
  parts.push(`</section>`);
  return parts.join("\n");
}

/** Every pump's diagnosis per window; a large fleet's only for the pumps plotted. */
function stripsSection(run: ReportInput, plotted: readonly { pump: Pump }[], x: TimeAxis): string {
  const stripPumps = run.pumps.length <= FLEET_STRIP_PUMPS_MAX ? run.pumps : plotted.map((p) => p.pump);
  const parts = [`<section><h2>Diagnosis per window</h2><p class="legend">${legend()}</p>`, `<div class="scroll">${fleetStrips(run, stripPumps, x)}</div>`];
  if (stripPumps.length < run.pumps.length) parts.push(`<p class="dim">${stripPumps.length} of ${run.pumps.length} pumps shown: those plotted below.</p>`);
  parts.push(`</section>`);
  return parts.join("\n");
}

function pumpsSection({ run, found, x, day }: Page, plotted: readonly { pump: Pump; why: string }[]): string {
  const degraded = run.pumps.filter((p) => p.degradations.length > 0).length;
  const healthyShown = plotted.filter((p) => p.pump.degradations.length === 0).length;
  const parts = [`<section><h2>Pumps</h2><p class="dim">Plotted: ${plotted.length - healthyShown} of ${degraded} pumps given a fault and ${healthyShown} of ${run.pumps.length - degraded} healthy ones (those with false alarms first, then a sample). Each series is thinned to at most ${SERIES_POINTS_MAX} points, keeping each interval's extremes. Markers: <span class="m onset">P</span> onset, <span class="m failure">F</span> functional failure, <span class="m detect">D</span> detected.</p><div class="pumps">`];
  for (const { pump, why } of plotted) parts.push(pumpArticle(run, pump, why, found, x, day));
  parts.push(`</div></section>`);
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

const countBy = (faults: FaultOutcome[], status: FaultOutcome["status"]): number => faults.filter((f) => f.status === status).length;

function measuredText(e: ExpectationResult): string {
  if (e.measured === null) return "–";
  const share = e.expectation.kind === "delivery_min" || e.expectation.kind === "faults_detected";
  return share ? `${(e.measured * 100).toFixed(e.expectation.kind === "delivery_min" ? 3 : 1)} %` : String(Number(e.measured.toPrecision(4)));
}

function duration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
