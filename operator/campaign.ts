// An OTA campaign, the operator's policy in the manner of hawkBit rollouts and AWS IoT Jobs:
// a signed image offered to a list of devices in waves (e.g. 1 % → 10 % → 100 %), the next wave
// started only when a share of the current one confirmed the image (success threshold), the
// campaign paused or aborted on its own when too many devices of a wave fail (error threshold),
// pause/resume/cancel by the operator, and every device's action history as it reported it.
// It talks to devices only as an operator would, through an UpdateServer (offers out, block
// requests answered, update statuses observed); it knows nothing about slots or flash.

import fs from "node:fs";
import type { UpdateStatus } from "../protocol/messages.js";
import { WALL_TIMERS, type TimerHandle, type Timers } from "../protocol/timers.js";
import type { DeviceRejections } from "./rejections.js";
import type { UpdateServer } from "./update-server.js";

export type CampaignState = "scheduled" | "running" | "paused" | "aborted" | "cancelled" | "completed";
/** Where a device stands in the campaign: not offered yet, updating, or how it ended. */
export type DeviceOutcome = "pending" | "updating" | "confirmed" | "reverted" | "rejected" | "failed" | "timeout";

const ERRORS: readonly DeviceOutcome[] = ["reverted", "rejected", "failed", "timeout"];
/** Update states that end an attempt. */
const TERMINAL = new Set(["confirmed", "reverted", "rejected", "failed"]);
/** Update states that show an attempt got past its offer. */
const STARTED = new Set(["downloading", "verifying", "installing", "trial", "confirmed", "reverted", "failed"]);
/** How often (ms of its clock) the campaign looks at what the devices reported. */
const WATCH_MS = 50;
export const WAVE_TIMEOUT_MS_DEFAULT = 300_000;
export const SETTLE_TIMEOUT_MS_DEFAULT = 60_000;
export const STALL_MS_DEFAULT = 20_000;
/** Waves in a campaign, at most. */
export const WAVES_MAX = 16;

export interface CampaignPlan {
  name: string;
  /** Target devices, in the order waves take them. */
  devices: string[];
  image: Uint8Array;
  envelope: Uint8Array;
  /** Cumulative shares of the targets (0 < w ≤ 1, increasing; the last is 1). */
  waves: number[];
  /** Share of a wave that must confirm for the next wave to start. */
  successThreshold: number;
  /** Share of a wave that failed (reverted, rejected, failed, timed out) that stops the campaign. */
  errorThreshold: number;
  onError: "abort" | "pause";
  /** Offers again a device whose download failed (resumes from its flash), this many times. */
  retries?: number;
  blockBytes?: number;
  /** Ms without news from an updating device before it is offered the image again (counts
   *  as a retry): a device that lost power before its download was recorded in flash forgets
   *  the offer. An offer of what a device is already downloading is ignored by its agent. */
  stallMs?: number;
  /** Ms a wave may take; devices not done by then count as timed out. */
  waveTimeoutMs?: number;
  /** Ms to wait, once the campaign stopped, for devices already updating to end. */
  settleTimeoutMs?: number;
}

export interface HistoryEntry {
  /** Ms since the campaign started, on its clock. */
  atMs: number;
  state: string;
  progress?: number;
  reason?: string;
}

export interface DeviceRecord {
  device: string;
  wave: number;
  outcome: DeviceOutcome;
  offers: number;
  history: HistoryEntry[];
}

export interface WaveReport {
  wave: number;
  share: number;
  devices: number;
  confirmed: number;
  errors: number;
  startedMs: number;
  endedMs: number | null;
}

export interface CampaignReport {
  name: string;
  state: CampaignState;
  /** Why it stopped, when it did not complete. */
  reason: string | null;
  /** The last wave started (1-based; 0: none). */
  maxWave: number;
  waves: WaveReport[];
  targets: number;
  counts: Record<DeviceOutcome, number>;
  durationMs: number;
  bytes: { image: number; envelope: number; offers: number; blockCommands: number; blockData: number; uplink: number; total: number; perDevicePerImage: number };
  devices: DeviceRecord[];
  /** Payloads the operator's side refused (update messages, births), by device: dropped. */
  rejected: Record<string, DeviceRejections>;
}

export class CampaignError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "CampaignError";
  }
}

/** Checks a plan's policy: waves increasing to 1, thresholds within 0 … 1. */
export function checkPlan(plan: CampaignPlan): void {
  const { waves } = plan;
  if (waves.length === 0 || waves.length > WAVES_MAX) throw new CampaignError("campaign_waves", `a campaign has 1 to ${WAVES_MAX} waves, not ${waves.length}`);
  waves.forEach((share, i) => {
    if (!(share > 0 && share <= 1) || (i > 0 && share <= waves[i - 1])) throw new CampaignError("campaign_waves", `waves must increase within (0, 1]: ${waves.join(", ")}`);
  });
  if (waves.at(-1) !== 1) throw new CampaignError("campaign_waves", `the last wave must be 1 (the whole target), not ${waves.at(-1)}`);
  for (const [name, value] of [["success threshold", plan.successThreshold], ["error threshold", plan.errorThreshold]] as const) {
    if (!(value >= 0 && value <= 1)) throw new CampaignError("campaign_threshold", `the ${name} must be within 0 … 1, not ${value}`);
  }
  if (plan.devices.length === 0) throw new CampaignError("campaign_devices", `campaign ${plan.name} targets no device`);
  if (new Set(plan.devices).size !== plan.devices.length) throw new CampaignError("campaign_devices", "a device is targeted twice");
}

/** Devices in wave `w` (0-based) of `targets`: cumulative shares, rounded up, at least one more per wave. */
export function waveEnds(targets: number, waves: number[]): number[] {
  const ends: number[] = [];
  for (const share of waves) ends.push(Math.min(targets, Math.max(Math.ceil(share * targets - 1e-9), (ends.at(-1) ?? 0) + 1)));
  return ends;
}

export class Campaign {
  state: CampaignState = "scheduled";
  reason: string | null = null;
  /** The current wave, 0-based (−1 before the first). */
  wave = -1;
  readonly records = new Map<string, DeviceRecord>();
  private readonly ends: number[];
  private readonly waveReports: WaveReport[] = [];
  private readonly seen = new Map<string, number>();
  /** The clock's time of the last offer or status of each device. */
  private readonly heard = new Map<string, number>();
  private startedAt = 0;
  private endedAt = 0;
  private waveStartedAt = 0;
  private offersBytes = 0;
  private resumeRequested = false;
  private timer: TimerHandle | undefined;
  /** Offers sent on a device's reconnection, not yet out. */
  private offering = 0;
  private done: Promise<CampaignReport> | undefined;
  private finish: ((report: CampaignReport) => void) | undefined;
  private settleUntil = 0;
  private watching = false;

  /** `clock`: what the campaign's times and waits run on: wall time, or the simulator's virtual clock. */
  constructor(
    readonly plan: CampaignPlan,
    private readonly server: UpdateServer,
    private readonly onProgress?: (line: string, campaign: Campaign) => void,
    private readonly clock: Timers = WALL_TIMERS,
  ) {
    checkPlan(plan);
    this.ends = waveEnds(plan.devices.length, plan.waves);
    for (const device of plan.devices) this.records.set(device, { device, wave: -1, outcome: "pending", offers: 0, history: [] });
  }

  /** Starts the first wave; resolves with the final report once the campaign ended and the
   *  devices it reached are done (or the settle timeout passed). */
  run(): Promise<CampaignReport> {
    if (this.done !== undefined) return this.done;
    this.server.serve({ campaign: this.plan.name, image: this.plan.image, envelope: this.plan.envelope, blockBytes: this.plan.blockBytes });
    this.startedAt = this.clock.now();
    this.state = "running";
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.watching = true; // until the first wave's offers are out
    void this.startWave(0).finally(() => (this.watching = false));
    this.watchLater();
    return this.done;
  }

  /** Nothing under way: not looking at the devices, no offer going out. */
  get idle(): boolean {
    return !this.watching && this.offering === 0;
  }

  /** The next look at the devices, WATCH_MS from now, and so on until the campaign ends. */
  private watchLater(): void {
    this.timer = this.clock.setTimeout(() => {
      this.watchLater();
      void this.watch();
    }, WATCH_MS);
  }

  /** Starts no new wave (devices already offered carry on). */
  pause(reason = "paused by the operator"): void {
    if (this.state !== "running") return;
    this.state = "paused";
    this.reason = reason;
  }

  /** Carries on after a pause: the next wave when the current one is done, whatever its figures. */
  resume(): void {
    if (this.state !== "paused") return;
    this.state = "running";
    this.reason = null;
    this.resumeRequested = true;
  }

  /** Ends the campaign: no more offers. Devices already updating finish on their own. */
  cancel(reason = "cancelled by the operator"): void {
    this.stop("cancelled", reason);
  }

  /** Ends the campaign as the operator's failure (hawkBit's abort): no more offers, and what
   *  stays pending is never offered. Devices already updating finish on their own. */
  abort(reason = "aborted by the operator"): void {
    if (this.state !== "running" && this.state !== "paused") return;
    this.stop("aborted", reason);
  }

  /** The device connected again (a new session) while updating: one that lost power before its
   *  download reached flash forgot the offer, so it is offered again at once, as an AWS IoT Jobs
   *  device asks for its pending job on connecting (counts as a retry). A device that resumes
   *  on its own ignores an offer of what it is already downloading. */
  deviceConnected(device: string): void {
    const record = this.records.get(device);
    if (record === undefined || record.outcome !== "updating" || (this.state !== "running" && this.state !== "paused")) return;
    if (record.offers > (this.plan.retries ?? 1)) return;
    this.offering += 1;
    void this.offer(record).finally(() => (this.offering -= 1));
  }

  /** One line of live progress. */
  progress(): string {
    const c = this.counts();
    const wave = this.wave < 0 ? "no wave yet" : `wave ${this.wave + 1}/${this.ends.length} (${this.ends[this.wave]} of ${this.plan.devices.length} devices)`;
    return `campaign ${this.plan.name}: ${this.state}, ${wave}; ${c.confirmed} confirmed, ${c.updating} updating, ` +
      `${c.reverted} reverted, ${c.failed} failed, ${c.rejected} rejected, ${c.timeout} timed out, ${c.pending} not offered`;
  }

  counts(): Record<DeviceOutcome, number> {
    const counts: Record<DeviceOutcome, number> = { pending: 0, updating: 0, confirmed: 0, reverted: 0, rejected: 0, failed: 0, timeout: 0 };
    for (const record of this.records.values()) counts[record.outcome] += 1;
    return counts;
  }

  report(): CampaignReport {
    const counters = this.server.counters;
    const uplink = "uplinkBytes" in this.server ? Number((this.server as { uplinkBytes: number }).uplinkBytes) : 0;
    const total = this.offersBytes + counters.commandBytes + uplink;
    const reached = [...this.records.values()].filter((r) => r.offers > 0).length;
    return {
      name: this.plan.name, state: this.state, reason: this.reason, maxWave: this.wave + 1,
      waves: this.waveReports.map((w) => ({ ...w })), targets: this.plan.devices.length, counts: this.counts(),
      durationMs: Math.round((this.endedAt || this.clock.now()) - this.startedAt),
      bytes: {
        image: this.plan.image.length, envelope: this.plan.envelope.length, offers: this.offersBytes,
        blockCommands: counters.commandBytes, blockData: counters.dataBytes, uplink, total,
        perDevicePerImage: reached === 0 ? 0 : total / reached / this.plan.image.length,
      },
      devices: [...this.records.values()].map((r) => ({ ...r, history: [...r.history] })),
      rejected: this.server.rejections.toJSON(),
    };
  }

  private elapsed(): number {
    return Math.round(this.clock.now() - this.startedAt);
  }

  private async startWave(wave: number): Promise<void> {
    this.wave = wave;
    this.waveStartedAt = this.clock.now();
    const from = wave === 0 ? 0 : this.ends[wave - 1];
    const devices = this.plan.devices.slice(from, this.ends[wave]);
    this.waveReports.push({ wave: wave + 1, share: this.plan.waves[wave], devices: devices.length, confirmed: 0, errors: 0, startedMs: this.elapsed(), endedMs: null });
    for (const device of devices) {
      const record = this.records.get(device)!;
      record.wave = wave + 1;
      await this.offer(record);
    }
    this.progressed();
  }

  private async offer(record: DeviceRecord): Promise<void> {
    record.outcome = "updating";
    record.offers += 1;
    record.history.push({ atMs: this.elapsed(), state: "offer sent" });
    this.heard.set(record.device, this.clock.now());
    this.offersBytes += this.plan.envelope.length;
    await this.server.offer(record.device, this.plan.name).catch((error: unknown) => {
      record.history.push({ atMs: this.elapsed(), state: "offer lost", reason: (error as Error).message });
    });
  }

  /** Reads what the devices reported since the last look, then applies the policy. */
  private async watch(): Promise<void> {
    if (this.watching) return;
    this.watching = true;
    try {
      await this.look();
    } finally {
      this.watching = false;
    }
  }

  private async look(): Promise<void> {
    for (const record of this.records.values()) {
      if (record.offers === 0) continue;
      const statuses = this.server.statuses.get(record.device) ?? [];
      for (let i = this.seen.get(record.device) ?? 0; i < statuses.length; i++) this.observe(record, statuses[i]);
      this.seen.set(record.device, statuses.length);
    }
    await this.decide();
  }

  private observe(record: DeviceRecord, status: UpdateStatus): void {
    if (status.campaign !== this.plan.name) return;
    this.heard.set(record.device, this.clock.now());
    record.history.push({ atMs: this.elapsed(), state: status.state, ...(status.progress !== undefined ? { progress: status.progress } : {}), ...(status.reason !== undefined ? { reason: status.reason } : {}) });
    // A rejection once the attempt is under way answers an offer sent again (busy installing,
    // or already installed): the attempt's own outcome stands.
    if (status.state === "rejected" && record.history.some((h) => STARTED.has(h.state))) return;
    if (!TERMINAL.has(status.state)) {
      if (record.outcome !== "confirmed") record.outcome = "updating";
      return;
    }
    record.outcome = status.state as DeviceOutcome;
  }

  private async decide(): Promise<void> {
    if (this.state === "scheduled") return;
    const now = this.clock.now();
    const from = this.wave <= 0 ? 0 : this.ends[this.wave - 1];
    const wave = this.plan.devices.slice(from, this.ends[this.wave]).map((d) => this.records.get(d)!);
    // A failed download is retried (AWS Jobs' retry on FAILED): it resumes from the device's flash.
    if (this.state === "running" || this.state === "paused") {
      for (const record of wave) {
        const retry = record.offers <= (this.plan.retries ?? 1);
        const stalled = record.outcome === "updating" && now - (this.heard.get(record.device) ?? now) > (this.plan.stallMs ?? STALL_MS_DEFAULT);
        if ((record.outcome === "failed" || stalled) && retry) await this.offer(record);
      }
    }
    const timedOut = now - this.waveStartedAt > (this.plan.waveTimeoutMs ?? WAVE_TIMEOUT_MS_DEFAULT);
    if (timedOut && (this.state === "running" || this.state === "paused")) {
      for (const record of wave) {
        if (record.outcome === "updating") {
          record.outcome = "timeout";
          record.history.push({ atMs: this.elapsed(), state: "timeout", reason: "no end reported within the wave's time" });
        }
      }
    }
    const confirmed = wave.filter((r) => r.outcome === "confirmed").length;
    const errors = wave.filter((r) => ERRORS.includes(r.outcome)).length;
    const summary = this.waveReports[this.wave];
    summary.confirmed = confirmed;
    summary.errors = errors;
    const settled = wave.every((r) => r.outcome !== "updating" && r.outcome !== "pending");
    if (settled && summary.endedMs === null) summary.endedMs = this.elapsed();

    if (this.state === "running" || this.state === "paused") {
      if (errors / wave.length > this.plan.errorThreshold) {
        const why = `wave ${this.wave + 1}: ${errors} of ${wave.length} devices failed, above the error threshold ${this.plan.errorThreshold}`;
        if (this.plan.onError === "abort") this.stop("aborted", why);
        else if (this.state === "running" && !this.resumeRequested) this.pause(why);
      }
    }
    if (this.state === "running" && settled) {
      // A wave left empty (fewer targets than waves, as on a small fleet) has nothing to fail.
      const succeeded = wave.length === 0 || confirmed / wave.length >= this.plan.successThreshold;
      if (!succeeded && !this.resumeRequested) {
        const why = `wave ${this.wave + 1}: ${confirmed} of ${wave.length} devices confirmed, below the success threshold ${this.plan.successThreshold}`;
        if (this.plan.onError === "abort") this.stop("aborted", why);
        else this.pause(why);
      } else if (this.wave + 1 < this.ends.length) {
        this.resumeRequested = false;
        await this.startWave(this.wave + 1);
      } else {
        this.stop("completed", null);
      }
    }
    this.progressed();
    if (this.state === "aborted" || this.state === "cancelled" || this.state === "completed") {
      const busy = [...this.records.values()].some((r) => r.outcome === "updating");
      if (!busy || now > this.settleUntil) this.end();
    }
  }

  private stop(state: "aborted" | "cancelled" | "completed", reason: string | null): void {
    if (this.state === "aborted" || this.state === "cancelled" || this.state === "completed") return;
    this.state = state;
    this.reason = reason;
    this.settleUntil = this.clock.now() + (this.plan.settleTimeoutMs ?? SETTLE_TIMEOUT_MS_DEFAULT);
  }

  private lastLine = "";
  private progressed(): void {
    const line = this.progress();
    if (line === this.lastLine) return;
    this.lastLine = line;
    this.onProgress?.(line, this);
  }

  private end(): void {
    if (this.finish === undefined) return;
    this.clock.clearTimeout(this.timer);
    for (const record of this.records.values()) {
      if (record.outcome === "updating") {
        record.outcome = "timeout";
        record.history.push({ atMs: this.elapsed(), state: "timeout", reason: "still updating when the campaign ended" });
      }
    }
    this.endedAt = this.clock.now();
    const finish = this.finish;
    this.finish = undefined;
    finish(this.report());
  }
}

/** Writes a report as JSON. */
export function writeCampaignReport(file: string, report: CampaignReport): void {
  fs.writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);
}
