// The maintenance planner: when a pump gets its work, from what it publishes and nothing else.
// Three policies: run to failure (no planned work), fixed interval (an overhaul every N days,
// pumps staggered over the interval), predictive (the firmware's advice, booked in the last
// maintenance slot before it is due and no sooner than a crew can be there). It reads alarm and
// advice events, and while a pump is advised each window's due time, which tightens as the
// firmware's forecast does. Every payload is untrusted: one that does not decode is counted
// against the pump and dropped, and the planner keeps what it knew.

import { decodeEvent } from "../protocol/messages.js";
import { decodeSenml } from "../protocol/senml.js";
import { countRejection, type DeviceRejections } from "./rejections.js";

export const POLICIES = ["run_to_failure", "fixed_interval", "predictive"] as const;
export type MaintenancePolicy = (typeof POLICIES)[number];

const DAY_MS = 86_400_000;

/** The planner's part of a service contract. */
export interface PlannerSpec {
  /** Fixed interval: days between overhauls of a pump. */
  fixed_interval_days: number;
  /** Planned work happens in maintenance slots this many days apart (e.g. a weekly window). */
  slot_days: number;
  /** Days from advice until a crew and parts can be there. */
  response_days: number;
}

/** Why planned work is due. */
export type PlannedReason = "interval" | "advice";

/** One pump's planner under one policy. */
export class MaintenancePlanner {
  /** Messages it could not decode (dropped; it keeps what it knew). */
  readonly rejected: DeviceRejections = { count: 0, reasons: {} };
  /** Whether the pump last reported an alarm, and the advice in force. */
  private alarmed = false;
  private adviceMs: number | null = null;
  private dueMs = Number.POSITIVE_INFINITY;
  private nextOverhaulMs: number;

  constructor(
    private readonly spec: PlannerSpec,
    readonly policy: MaintenancePolicy,
    private readonly startMs: number,
    /** 0 ≤ stagger < 1: where in the interval this pump's overhauls fall. */
    stagger: number,
  ) {
    // The pumps were overhauled at some time before the run: the next falls `stagger` of an interval in.
    this.nextOverhaulMs = startMs + stagger * spec.fixed_interval_days * DAY_MS;
  }

  /** When the advice in force came; null when there is none. */
  get advisedMs(): number | null {
    return this.adviceMs;
  }

  /** The pump's message of `kind`, as it publishes it at `timeMs` (the window's time). Returns
   *  whether it raised an alarm (none → alert or danger). Telemetry is read only while advised. */
  observe(kind: string, bytes: Uint8Array, timeMs: number): boolean {
    if (kind === "event") return this.observeEvent(bytes, timeMs);
    if (kind === "telemetry" && this.adviceMs !== null) this.observeDue(bytes, timeMs);
    return false;
  }

  private observeEvent(bytes: Uint8Array, timeMs: number): boolean {
    let event;
    try {
      event = decodeEvent(bytes);
    } catch (error) {
      countRejection(this.rejected, error);
      return false;
    }
    if (event.event === "alarm") {
      const raised = !this.alarmed && event.level !== "none";
      this.alarmed = event.level !== "none";
      if (!this.alarmed) this.forgetAdvice();
      return raised;
    }
    if (event.event === "advice") {
      if (event.action === "none") this.forgetAdvice();
      else {
        this.adviceMs ??= timeMs;
        if (event.by !== undefined) this.dueMs = Math.min(this.dueMs, event.by * 1000);
      }
    }
    return false;
  }

  /** While advised, each window's due time: the advice tightens as the forecast does. */
  private observeDue(bytes: Uint8Array, timeMs: number): void {
    try {
      const actIn = decodeSenml(bytes).find((r) => r.n?.endsWith("act_in"))?.v;
      if (actIn !== undefined && Number.isFinite(actIn)) this.dueMs = Math.min(this.dueMs, timeMs + actIn * 1000);
    } catch (error) {
      // a pack the collector will call malformed too; the planner keeps what it knew
      countRejection(this.rejected, error);
    }
  }

  private forgetAdvice(): void {
    this.adviceMs = null;
    this.dueMs = Number.POSITIVE_INFINITY;
  }

  /** When predictive work is booked: the last maintenance slot before the advice is due, no
   *  sooner than the crew can come; straight after that when no slot fits. */
  private bookedMs(): number | null {
    if (this.adviceMs === null) return null;
    const earliest = this.adviceMs + this.spec.response_days * DAY_MS;
    const slotMs = this.spec.slot_days * DAY_MS;
    const lastSlot = this.startMs + Math.floor((this.dueMs - this.startMs) / slotMs) * slotMs;
    return Number.isFinite(this.dueMs) && lastSlot >= earliest ? lastSlot : earliest;
  }

  /** The planned work due at `timeMs` on a pump that is running and has no work under way, if
   *  any. An overhaul that is due books the next one an interval later. */
  due(timeMs: number): PlannedReason | undefined {
    if (this.policy === "fixed_interval" && timeMs >= this.nextOverhaulMs) {
      this.nextOverhaulMs += this.spec.fixed_interval_days * DAY_MS;
      return "interval";
    }
    if (this.policy === "predictive") {
      const booked = this.bookedMs();
      if (booked !== null && timeMs >= booked) return "advice";
    }
    return undefined;
  }

  /** The pump is back from its work: its alarm and advice are gone. */
  workDone(): void {
    this.alarmed = false;
    this.forgetAdvice();
  }
}
