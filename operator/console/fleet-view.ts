// What the console shows, made from what the collectors kept: a row per pump (its state,
// health, alarm, findings, remaining life and advice), the alarm feed (every change of a pump's
// alarm level, at the simulated time of the window that changed it, and its maintenance), the
// fleet's availability against the contract, and one pump's twin (trends and histories).
// Everything here is read from the wire; nothing is asked of a simulator.

import type { DeviceLedger } from "../collector.js";
import { formatVersion } from "../../protocol/state.js";
import type { ConsoleLink } from "./console-link.js";

export interface Finding { fault: string; strength: number; confidence: number }

export interface PumpRow {
  tenant: string;
  device: string;
  online: boolean | null;
  session: number | null;
  firmware: string | null;
  /** Unix seconds of its latest window; null before the first. */
  time: number | null;
  windows: number;
  health: number | null;
  alarm: string;
  fault: string;
  findings: Finding[];
  velocity_mm_s: number | null;
  temperature_c: number | null;
  /** Remaining life, days (low, high), while the firmware forecasts one. */
  rul_days: [number, number] | null;
  advice: string;
  /** Within how many days the advice should be acted on. */
  act_in_days: number | null;
}

export interface FeedEntry {
  /** Unix seconds of the window (simulated time in a simulation). */
  time: number;
  tenant: string;
  device: string;
  kind: "alarm" | "maintenance" | "advice";
  text: string;
  level: string;
}

export interface Availability {
  /** Windows received over windows expected since each pump's first (null: no pump yet). */
  share: number | null;
  contract: number;
  met: boolean | null;
}

const ALARM_ORDER = ["none", "alert", "danger"];
/** Entries the feed keeps, newest first. */
const FEED_MAX = 200;
/** Points per trend series sent to the page: longer histories are thinned evenly. */
const TREND_POINTS_MAX = 800;
const DAY_S = 86_400;

/** Where the last look left a pump's log and events, and what its log told so far. */
interface Scanned {
  rows: number;
  events: number;
  alarm: string;
  /** The shortest time between two windows (its measurement interval), first and last window, s. */
  spacing: number;
  first: number;
  last: number;
}

/** Each pump's latest figures, the feed and availability, kept up to date as packs arrive. */
export class FleetView {
  readonly feed: FeedEntry[] = [];
  private readonly scanned = new Map<string, Scanned>();

  constructor(private readonly link: ConsoleLink, readonly contract: number) {}

  /** Takes what arrived since the last look into the feed. */
  refresh(): void {
    for (const [tenant, collector] of this.link.collectors) {
      for (const [device, ledger] of collector.devices) this.scan(tenant, device, ledger);
    }
  }

  rows(): PumpRow[] {
    const rows: PumpRow[] = [];
    for (const [tenant, collector] of this.link.collectors) {
      for (const [device, ledger] of collector.devices) rows.push(pumpRow(tenant, device, ledger));
    }
    return rows.sort((a, b) => a.tenant.localeCompare(b.tenant) || a.device.localeCompare(b.device));
  }

  availability(): Availability {
    let received = 0;
    let expected = 0;
    for (const seen of this.scanned.values()) {
      if (seen.rows === 0) continue;
      received += seen.rows;
      expected += Math.max(seen.rows, seen.spacing > 0 ? Math.round((seen.last - seen.first) / seen.spacing) + 1 : seen.rows);
    }
    const share = expected === 0 ? null : received / expected;
    return { share, contract: this.contract, met: share === null ? null : share >= this.contract };
  }

  private scan(tenant: string, device: string, ledger: DeviceLedger): void {
    const key = `${tenant}/${device}`;
    let seen = this.scanned.get(key);
    if (seen === undefined) this.scanned.set(key, (seen = { rows: 0, events: 0, alarm: "none", spacing: 0, first: Infinity, last: -Infinity }));
    const log = ledger.telemetry;
    for (let row = seen.rows; row < log.length; row++) {
      const time = log.time(row);
      if (row > 0) {
        const step = Math.abs(time - log.time(row - 1));
        if (step > 0 && (seen.spacing === 0 || step < seen.spacing)) seen.spacing = step;
      }
      seen.first = Math.min(seen.first, time);
      seen.last = Math.max(seen.last, time);
      const alarm = log.textOf(row, "alarm");
      if (alarm === undefined || alarm === seen.alarm) continue;
      const rising = ALARM_ORDER.indexOf(alarm) > ALARM_ORDER.indexOf(seen.alarm);
      const fault = log.textOf(row, "fault") ?? "?";
      const health = log.numberOf(row, "health");
      this.push({
        time: log.time(row), tenant, device, kind: "alarm", level: alarm,
        text: `${rising ? "alarm" : "alarm eased"}: ${seen.alarm} → ${alarm}, ${fault}${health !== undefined ? `, health ${health.toFixed(2)}` : ""}`,
      });
      seen.alarm = alarm;
    }
    seen.rows = log.length;
    const time = log.length > 0 ? log.time(log.length - 1) : 0;
    for (let i = seen.events; i < ledger.events.length; i++) {
      const event = ledger.events[i] as { event?: string; action?: string; fault?: string };
      if (event.event === "maintenance") this.push({ time, tenant, device, kind: "maintenance", level: "none", text: `maintenance recorded: ${event.action}` });
      else if (event.event === "advice" && event.action !== undefined && event.action !== "none") {
        this.push({ time, tenant, device, kind: "advice", level: "alert", text: `advice: ${event.action}${event.fault !== undefined ? ` (${event.fault})` : ""}` });
      }
    }
    seen.events = ledger.events.length;
  }

  private push(entry: FeedEntry): void {
    this.feed.unshift(entry);
    if (this.feed.length > FEED_MAX) this.feed.pop();
  }
}

/** A pump's row from its ledger: its latest pack and its state. */
export function pumpRow(tenant: string, device: string, ledger: DeviceLedger): PumpRow {
  const pack = ledger.telemetry.at(-1);
  const value = (name: string): number | null => pack?.values.get(name) ?? null;
  const findings: Finding[] = [];
  for (const [name, strength] of pack?.values ?? []) {
    if (!name.startsWith("find_")) continue;
    const fault = name.slice(5);
    findings.push({ fault, strength, confidence: pack?.values.get(`conf_${fault}`) ?? 0 });
  }
  const rulLo = value("rul_lo");
  const rulHi = value("rul_hi");
  const actIn = value("act_in");
  const velocity = value("vel_rms");
  return {
    tenant, device,
    online: ledger.state?.online ?? null,
    session: ledger.state?.session ?? null,
    firmware: firmwareOf(ledger),
    time: pack?.time ?? null,
    windows: ledger.telemetry.length,
    health: value("health"),
    alarm: pack?.texts.get("alarm") ?? "none",
    fault: pack?.texts.get("fault") ?? "none",
    findings: findings.sort((a, b) => b.strength - a.strength),
    velocity_mm_s: velocity === null ? null : velocity * 1000,
    temperature_c: value("temp"),
    rul_days: rulLo !== null && rulHi !== null ? [rulLo / DAY_S, rulHi / DAY_S] : null,
    advice: pack?.texts.get("action") ?? "none",
    act_in_days: actIn === null ? null : actIn / DAY_S,
  };
}

/** The firmware version of the pump's latest birth (a death does not say it). */
function firmwareOf(ledger: DeviceLedger): string | null {
  let latest: { session: number; fw: number } | undefined;
  for (const state of ledger.states) {
    if (state.fw !== undefined && (latest === undefined || state.session >= latest.session)) latest = { session: state.session, fw: state.fw };
  }
  return latest === undefined ? null : formatVersion(latest.fw);
}

export interface Twin {
  row: PumpRow;
  /** Series over the pump's windows in order of time: Unix seconds and each figure (null: absent). */
  trends: Record<"time" | "velocity_mm_s" | "kurtosis" | "bpfo" | "bpfi" | "bsf" | "health" | "temperature_c", (number | null)[]>;
  /** Every change of the diagnosis, in order. */
  findings: { time: number; fault: string; strength: number | null; alarm: string }[];
  /** Maintenance recorded and advice given, in order of arrival. */
  maintenance: { action: string; kind: "maintenance" | "advice" }[];
  waveforms: number;
}

/** A pump's twin: its trends (thinned to TREND_POINTS_MAX), findings history and maintenance. */
export function twin(tenant: string, device: string, ledger: DeviceLedger, waveforms: number): Twin {
  const log = ledger.telemetry;
  const rows = log.byTime();
  const stride = Math.max(1, Math.ceil(rows.length / TREND_POINTS_MAX));
  const trends: Twin["trends"] = { time: [], velocity_mm_s: [], kurtosis: [], bpfo: [], bpfi: [], bsf: [], health: [], temperature_c: [] };
  const read = (row: number, name: string, scale = 1): number | null => {
    const v = log.numberOf(row, name);
    return v === undefined ? null : v * scale;
  };
  for (let i = 0; i < rows.length; i += stride) {
    const row = rows[Math.min(rows.length - 1, i + stride - 1)];
    trends.time.push(log.time(row));
    trends.velocity_mm_s.push(read(row, "vel_rms", 1000));
    trends.kurtosis.push(read(row, "kurtosis"));
    trends.bpfo.push(read(row, "bpfo"));
    trends.bpfi.push(read(row, "bpfi"));
    trends.bsf.push(read(row, "bsf"));
    trends.health.push(read(row, "health"));
    trends.temperature_c.push(read(row, "temp"));
  }
  const findings: Twin["findings"] = [];
  for (const row of rows) {
    const fault = log.textOf(row, "fault") ?? "?";
    const alarm = log.textOf(row, "alarm") ?? "none";
    const last = findings.at(-1);
    if (last !== undefined && last.fault === fault && last.alarm === alarm) continue;
    findings.push({ time: log.time(row), fault, strength: log.numberOf(row, "strength") ?? null, alarm });
  }
  const maintenance: Twin["maintenance"] = [];
  for (const event of ledger.events as { event?: string; action?: string }[]) {
    if ((event.event === "maintenance" || event.event === "advice") && typeof event.action === "string") {
      maintenance.push({ action: event.action, kind: event.event });
    }
  }
  return { row: pumpRow(tenant, device, ledger), trends, findings, maintenance, waveforms };
}
