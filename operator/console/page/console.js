// The console page: the fleet as the server pushes it (Server-Sent Events), sorted and filtered
// here; a pump's twin on request; commands and campaign actions posted back to the server,
// which alone talks to the broker.

import { spectrumChart, trendChart } from "./charts.js";
import { analyseInBrowser } from "./firmware-page.js";

const COLUMNS = [
  ["device", "pump"], ["tenant", "tenant"], ["online", "state"], ["firmware", "firmware"], ["health", "health index"],
  ["alarm", "alarm"], ["fault", "diagnosis"], ["findings", "findings"], ["rul", "remaining life"], ["advice", "advice"],
  ["velocity_mm_s", "velocity mm/s"], ["temperature_c", "temp °C"], ["windows", "windows"], ["time", "last window"],
];
const ALARM_RANK = { none: 0, alert: 1, danger: 2 };
const TWIN_REFRESH_MS = 1000;

const state = { fleet: null, sort: { key: "device", dir: 1 }, selected: null, twinAt: 0, twinLoading: false };
const $ = (selector) => document.querySelector(selector);

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function when(seconds) {
  return seconds === null ? "—" : new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ");
}

function fixed(value, digits) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(digits);
}

function sortValue(row, key) {
  if (key === "alarm") return ALARM_RANK[row.alarm] ?? 0;
  if (key === "rul") return row.rul_days === null ? null : row.rul_days[0];
  if (key === "findings") return row.findings.length;
  if (key === "online") return row.online === null ? null : row.online ? 1 : 0;
  return row[key];
}

function visibleRows() {
  const text = $("#filter").value.trim().toLowerCase();
  const level = $("#alarm-filter").value;
  const { key, dir } = state.sort;
  return state.fleet.pumps
    .filter((row) => level === "" || (ALARM_RANK[row.alarm] ?? 0) >= ALARM_RANK[level])
    .filter((row) => text === "" || [row.device, row.tenant, row.fault, row.alarm, row.advice, ...row.findings.map((f) => f.fault)].join(" ").toLowerCase().includes(text))
    .sort((a, b) => {
      const x = sortValue(a, key);
      const y = sortValue(b, key);
      if (x === y) return a.device.localeCompare(b.device);
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (typeof x === "string" ? x.localeCompare(y) : x - y) * dir;
    });
}

function healthCell(health) {
  if (health === null) return "—";
  // The firmware's health index: 0 healthy … 1 failed.
  const share = Math.max(0, Math.min(1, health));
  const grade = share >= 0.6 ? " bad" : share >= 0.35 ? " low" : "";
  return `<span class="health${grade}"><i style="width:${(share * 100).toFixed(0)}%"></i></span>${health.toFixed(2)}`;
}

function rowHtml(row) {
  const status = row.online === null ? "—" : `${row.online ? "online" : "offline"} #${row.session}`;
  const findings = row.findings.filter((f) => f.fault !== "none").map((f) => `${f.fault} ${f.strength.toFixed(1)}`).join(", ") || "—";
  const rul = row.rul_days === null ? "—" : `${row.rul_days[0].toFixed(0)}–${row.rul_days[1].toFixed(0)} d`;
  const advice = row.advice === "none" ? "—" : `${row.advice}${row.act_in_days !== null ? ` within ${row.act_in_days.toFixed(0)} d` : ""}`;
  const cells = {
    device: escape(row.device), tenant: escape(row.tenant), online: `<span class="${row.online ? "" : "offline"}">${status}</span>`,
    firmware: row.firmware ?? "—", health: healthCell(row.health), alarm: `<span class="alarm-${row.alarm}">${row.alarm}</span>`,
    fault: escape(row.fault), findings: escape(findings), rul, advice: escape(advice), velocity_mm_s: fixed(row.velocity_mm_s, 2),
    temperature_c: fixed(row.temperature_c, 1), windows: row.windows, time: when(row.time),
  };
  const numeric = new Set(["velocity_mm_s", "temperature_c", "windows"]);
  const isSelected = state.selected?.device === row.device && state.selected?.tenant === row.tenant;
  return `<tr data-device="${escape(row.device)}" data-tenant="${escape(row.tenant)}" data-alarm="${row.alarm}" data-health="${row.health ?? ""}"${isSelected ? ' class="selected"' : ""}>` +
    columns().map(([key]) => `<td class="${numeric.has(key) ? "num" : ""}" data-column="${key}">${cells[key]}</td>`).join("") + "</tr>";
}

function columns() {
  return COLUMNS.filter(([key]) => key !== "tenant" || state.fleet?.tenant === null);
}

function renderTable() {
  const head = $("#pumps thead tr");
  setHtml(head, columns().map(([key, title]) => {
    const sorted = state.sort.key === key ? ` class="sorted${state.sort.dir > 0 ? " up" : ""}"` : "";
    return `<th data-sort="${key}"${sorted}>${title}</th>`;
  }).join(""));
  const rows = visibleRows();
  setHtml($("#pumps tbody"), rows.map(rowHtml).join(""));
  $("#pump-count").textContent = `${rows.length} of ${state.fleet.pumps.length} pumps`;
}

function renderHeader() {
  const fleet = state.fleet;
  $("#title").textContent = fleet.title;
  const connection = $("#connection");
  const gone = fleet.run?.done ? "the run has ended: its broker is gone" : "broker not connected";
  connection.textContent = fleet.connected ? `broker connected${fleet.tenant !== null ? `, tenant ${fleet.tenant}` : ""}` : gone;
  connection.className = `badge ${fleet.connected ? "up" : "down"}`;
  const run = fleet.run;
  $("#run").textContent = run === null ? "" : run.done ? "simulation finished" : `simulation ${(100 * run.simulatedMs / Math.max(1, run.totalMs)).toFixed(0)} % (day ${(run.simulatedMs / 86400000).toFixed(1)})`;
  $("#run").dataset.done = run?.done ? "yes" : "no";
  const a = fleet.availability;
  const availability = $("#availability");
  availability.textContent = a === null || a.share === null ? "" : `availability ${(a.share * 100).toFixed(2)} % against ${(a.contract * 100).toFixed(1)} % contracted: ${a.met ? "met" : "NOT met"}`;
  availability.className = a?.met === false ? "alarm-danger" : "";
}

function renderFeed() {
  $("#alarms").innerHTML = state.fleet.feed.map((entry) =>
    `<li data-device="${escape(entry.device)}" data-kind="${entry.kind}" data-level="${entry.level}"><time>${when(entry.time)}</time>` +
    `<b>${escape(entry.device)}</b> <span class="alarm-${entry.level}">${escape(entry.text)}</span></li>`).join("") || '<li class="quiet">no alarm yet</li>';
}

/** Sets `node`'s HTML only when it changed: what is redrawn loses a click under way. */
function setHtml(node, html) {
  if (node.dataset.html === html) return;
  node.dataset.html = html;
  node.innerHTML = html;
}

/** Each campaign's element is kept across updates, its text and its buttons drawn apart: while
 *  a campaign runs its counts change several times a second, and a button drawn again with
 *  them was never there long enough to be clicked. A button is replaced only when the actions
 *  offered change. */
function renderCampaigns() {
  const list = state.fleet.campaigns;
  if (list.length === 0) return;
  const container = $("#campaign-list");
  const names = new Set(list.map((c) => c.name));
  for (const node of [...container.children]) if (!names.has(node.dataset.campaign ?? "") && !node.classList.contains("campaign-error")) node.remove();
  for (const c of list) {
    let node = [...container.querySelectorAll(":scope > .campaign")].find((n) => n.dataset.campaign === c.name);
    if (node === undefined) {
      node = document.createElement("div");
      node.className = "campaign";
      node.dataset.campaign = c.name;
      node.innerHTML = '<div class="campaign-body"></div><div class="campaign-actions"></div>';
      container.append(node);
    }
    node.dataset.state = c.state;
    node.dataset.waves = String(c.waves.length);
    const waves = c.waves.map((w) => `<div class="wave">wave ${w.wave} <progress max="${w.devices}" value="${w.confirmed}"></progress>` +
      `${w.confirmed}/${w.devices} confirmed${w.errors > 0 ? `, ${w.errors} failed` : ""}</div>`).join("");
    const counts = c.counts === null ? "" : Object.entries(c.counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(", ");
    const starts = c.state === "planned" ? (c.startRequested ? "starting…" : c.starts === null ? "starts when started here" : `starts ${escape(c.starts)}`) : "";
    setHtml(node.querySelector(".campaign-body"),
      `<b>${escape(c.name)}</b> <span class="campaign-state">${c.state}</span> ${starts} <span class="quiet">${c.targets > 0 ? `${c.targets} pumps` : "every pump heard from"}, ${c.waveCount} waves</span>` +
      `${waves}<div class="quiet">${escape(counts)}${c.reason !== null ? `; ${escape(c.reason)}` : ""}</div>`);
    setHtml(node.querySelector(".campaign-actions"),
      c.actions.map((action) => `<button type="button" data-campaign="${escape(c.name)}" data-action="${action}">${action}</button>`).join(""));
  }
}

function render() {
  renderHeader();
  renderTable();
  renderFeed();
  renderCampaigns();
  if (state.selected !== null && performance.now() - state.twinAt > TWIN_REFRESH_MS) void loadTwin();
}

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error);
  return answer;
}

async function loadTwin() {
  if (state.twinLoading || state.selected === null) return;
  state.twinLoading = true;
  state.twinAt = performance.now();
  try {
    const { tenant, device } = state.selected;
    const response = await fetch(`/api/pump?tenant=${encodeURIComponent(tenant)}&device=${encodeURIComponent(device)}`);
    if (response.ok) renderTwin(await response.json());
  } finally {
    state.twinLoading = false;
  }
}

function renderTwin(twin) {
  const row = twin.row;
  $("#twin").hidden = false;
  $("#twin").dataset.device = row.device;
  $("#twin-title").textContent = `${row.device}${state.fleet?.tenant === null ? ` (${row.tenant})` : ""}`;
  $("#twin-state").innerHTML = `${row.online ? "online" : "offline"}, session ${row.session ?? "—"}, firmware ${row.firmware ?? "—"}; health ${healthCell(row.health)}; ` +
    `alarm <span class="alarm-${row.alarm}">${row.alarm}</span>; ${escape(row.fault)}; ${row.windows} windows, the last at ${when(row.time)}`;
  const t = twin.trends;
  const charts = [["velocity RMS, mm/s", t.velocity_mm_s, "#2a6fb0"], ["kurtosis", t.kurtosis, "#7a4fb0"], ["envelope evidence BPFO", t.bpfo, "#b05a2a"],
    ["envelope evidence BPFI", t.bpfi, "#b02a5a"], ["envelope evidence BSF", t.bsf, "#8a8a2a"], ["health index (0 healthy, 1 failed)", t.health, "#2f7d3b"], ["temperature, °C", t.temperature_c, "#b0302a"]];
  $("#trends").replaceChildren(...charts.filter(([, values]) => values.some((v) => v !== null)).map(([title, values, color]) => trendChart(title, t.time, values, color)));
  $("#findings tbody").innerHTML = twin.findings.slice().reverse().map((f) =>
    `<tr><td>${when(f.time)}</td><td>${escape(f.fault)}</td><td class="num">${fixed(f.strength, 2)}</td><td class="alarm-${f.alarm}">${f.alarm}</td></tr>`).join("");
  const rul = row.rul_days === null ? "no remaining-life forecast" : `remaining life ${row.rul_days[0].toFixed(0)} to ${row.rul_days[1].toFixed(0)} days`;
  $("#advice").textContent = `Advice: ${row.advice === "none" ? "none" : `${row.advice}${row.act_in_days !== null ? ` within ${row.act_in_days.toFixed(0)} days` : ""}`}; ${rul}.`;
  $("#maintenance").innerHTML = twin.maintenance.map((m) => `<li>${m.kind === "maintenance" ? "done" : "advised"}: ${escape(m.action)}</li>`).join("") || '<li class="quiet">none recorded</li>';
  $("#replies").innerHTML = twin.replies.map((r) => `<li data-reply="${r.id}" data-ok="${r.ok}">command ${r.id}: ${r.ok ? "ok" : `refused (${r.error})`}</li>`).join("");
}

function select(tenant, device) {
  state.selected = { tenant, device };
  state.twinAt = 0;
  $("#waveform-status").textContent = "none requested yet";
  $("#spectra").replaceChildren();
  $("#browser-analysis").innerHTML = "";
  renderTable();
  void loadTwin();
}

async function command(body) {
  const result = $("#command-result");
  try {
    const answer = await post("/api/command", { ...state.selected, ...body });
    result.textContent = `${answer.cmd} sent to ${answer.device} (command ${answer.id})`;
    result.className = "";
    if (body.cmd === "waveform") $("#waveform-status").textContent = "waiting for the pump's waveform…";
  } catch (error) {
    result.textContent = error.message;
    result.className = "error";
  }
}

async function showWaveform() {
  const { tenant, device } = state.selected;
  const response = await fetch(`/api/waveform?tenant=${encodeURIComponent(tenant)}&device=${encodeURIComponent(device)}`);
  const { waveform, window: pumped } = await response.json();
  if (waveform === null) return;
  const raw = Uint8Array.from(atob(waveform.samples), (c) => c.charCodeAt(0));
  const samples = new Float32Array(raw.buffer);
  $("#waveform-status").textContent = `${samples.length} samples at ${waveform.rate_hz} Hz from ${when(waveform.t / 1000)}; analysed by firmware.wasm in this browser…`;
  const rpm = pumped?.shaft_hz ? pumped.shaft_hz * 60 : null;
  // The band the pump's diagnosis enveloped in this window, as its pack says (none: 0–0 Hz).
  const band = pumped?.band_hi > 0 ? [pumped.band_lo, pumped.band_hi] : null;
  const analysed = await analyseInBrowser(samples, waveform.rate_hz, waveform.t, waveform.units, rpm, band);
  const mine = analysed.figures;
  const shaft = pumped?.shaft_hz ?? mine.shaft_hz ?? 0;
  const marks = [1, 2, 3].map((k) => ({ hz: k * shaft, label: `${k}×` }));
  const { power, envelope } = analysed;
  const charts = [spectrumOrNote(power, (bins) => `power spectrum, (m/s²)² per bin of ${bins}`, Math.min(waveform.rate_hz / 2, 1000), marks, "#2a6fb0")];
  if (band === null) charts.push(note("no envelope spectrum: the pump enveloped no band in this window"));
  else charts.push(spectrumOrNote(envelope, (bins) => `squared envelope spectrum, band ${band[0].toFixed(0)}–${band[1].toFixed(0)} Hz, bins of ${bins}`, Math.min(waveform.rate_hz / 2, 500), marks, "#b05a2a"));
  $("#spectra").replaceChildren(...charts);
  // What was drawn, as the firmware gave it (for a reader of the page, and its tests).
  window.consoleSpectra = { power, envelope, configs: analysed.configs, samples, t: waveform.t };
  renderAnalysis(mine, pumped);
  $("#waveform-status").textContent = `${samples.length} samples at ${waveform.rate_hz} Hz from ${when(waveform.t / 1000)}, analysed by firmware.wasm in this browser`;
  $("#waveform-section").dataset.analysed = String(waveform.id);
}

/** A chart of a spectrum the firmware gave ({binHz, values}), titled by `title(bin width)`, or
 *  a note of the status it answered instead. */
function spectrumOrNote(spectrum, title, maxHz, marks, color) {
  if (spectrum.status !== undefined) return note(`no spectrum: firmware.wasm answered status ${spectrum.status}`);
  const chart = spectrumChart(title(`${spectrum.binHz.toPrecision(4)} Hz`), spectrum, maxHz, marks, color);
  chart.dataset.bins = String(spectrum.values.length);
  chart.dataset.binHz = String(spectrum.binHz);
  return chart;
}

function note(text) {
  const p = document.createElement("p");
  p.className = "quiet";
  p.textContent = text;
  return p;
}

function renderAnalysis(mine, pumped) {
  const names = [["acc_rms", "acceleration RMS, m/s²", 4], ["kurtosis", "kurtosis", 3], ["crest", "crest factor", 3], ["vel_rms", "velocity RMS, m/s", 5], ["shaft_hz", "running speed, Hz", 2], ["seen_hz", "speed the signal shows while it doubts the configured one, Hz", 2], ["fault", "diagnosis", 0]];
  const cell = (value, digits) => (value === undefined || value === null ? "—" : typeof value === "string" ? escape(value) : value.toFixed(digits));
  $("#browser-analysis").innerHTML = "<thead><tr><th>this window</th><th>firmware.wasm in the browser</th><th>the pump published</th></tr></thead><tbody>" +
    names.map(([name, title, digits]) => `<tr data-name="${name}"><td>${title}</td><td class="num" data-source="browser">${cell(mine[name], digits)}</td>` +
      `<td class="num" data-source="pump">${cell(pumped?.[name], digits)}</td></tr>`).join("") + "</tbody>";
}

function wire() {
  $("#filter").addEventListener("input", () => state.fleet && renderTable());
  $("#alarm-filter").addEventListener("change", () => state.fleet && renderTable());
  $("#pumps thead").addEventListener("click", (event) => {
    const key = event.target.closest("th")?.dataset.sort;
    if (key === undefined) return;
    state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : key === "device" ? 1 : -1 };
    renderTable();
  });
  $("#pumps tbody").addEventListener("click", (event) => {
    const row = event.target.closest("tr");
    if (row !== null) select(row.dataset.tenant, row.dataset.device);
  });
  $("#twin-close").addEventListener("click", () => { state.selected = null; $("#twin").hidden = true; renderTable(); });
  $("#request-waveform").addEventListener("click", () => void command({ cmd: "waveform" }));
  $("#record-maintenance").addEventListener("click", () => void command({ cmd: "maintenance", action: $("#maintenance-action").value }));
  $("#policy").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { cmd: "policy", token: $("#policy-token").value.trim() };
    if ($("#policy-waveform").value !== "") body.waveform = $("#policy-waveform").value;
    if ($("#policy-detail").value !== "") body.detail = $("#policy-detail").value;
    void command(body);
  });
  $("#campaign-list").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (button === null) return;
    // The last action's refusal, if any, under the campaigns; the next action clears it.
    let refusal = $("#campaign-list .campaign-error");
    if (refusal === null) {
      refusal = document.createElement("p");
      refusal.className = "campaign-error alarm-danger";
      $("#campaign-list").append(refusal);
    }
    refusal.textContent = "";
    try {
      await post("/api/campaign", { name: button.dataset.campaign, action: button.dataset.action });
    } catch (error) {
      refusal.textContent = error.message;
    }
  });
}

function connect() {
  const events = new EventSource("/events");
  events.addEventListener("fleet", (event) => {
    state.fleet = JSON.parse(event.data);
    render();
  });
  events.addEventListener("waveform", (event) => {
    if (state.selected?.device === JSON.parse(event.data).device) void showWaveform().catch((error) => { $("#waveform-status").textContent = error.message; });
  });
  events.addEventListener("reply", (event) => {
    if (state.selected?.device === JSON.parse(event.data).device) { state.twinAt = 0; void loadTwin(); }
  });
  events.addEventListener("error", () => { $("#connection").textContent = "console server unreachable"; $("#connection").className = "badge down"; });
}

wire();
connect();
