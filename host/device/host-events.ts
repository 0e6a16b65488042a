// The events the device's host publishes itself (faults, a failed firmware, outbox drops, refused
// commands), numbered and durable in the same outbox as the firmware's messages. They wait in a
// bounded queue until the outbox takes them; a drop of the queue's own appends is not reported.

import type { HostEvent } from "../../protocol/messages.js";
import type { OutboxDrop } from "../outbox/file-outbox.js";

/** Host events waiting for room in the outbox; beyond this, drops of one reason are merged. */
export const REPORTS_QUEUED_MAX = 32;

/** The host events not yet in the outbox, oldest first. */
export class HostEventQueue {
  private readonly events: HostEvent[] = [];
  /** Whether the queue is appending: an outbox drop told meanwhile is of its own append. */
  appending = false;

  get size(): number {
    return this.events.length;
  }

  /** Queues a host event. The queue is bounded: past REPORTS_QUEUED_MAX, an event merges into
   *  the last queued one of the same event and reason (counts add up, nothing is lost). */
  queue(report: HostEvent): void {
    if (this.events.length >= REPORTS_QUEUED_MAX) {
      for (let i = this.events.length - 1; i >= 0; i--) {
        const queued = this.events[i];
        if (queued.event === "outbox_drop" && report.event === "outbox_drop" && queued.reason === report.reason) {
          queued.messages += report.messages;
          queued.bytes += report.bytes;
          if (report.first !== undefined && report.last !== undefined) {
            queued.first = Math.min(queued.first ?? report.first, report.first);
            queued.last = Math.max(queued.last ?? report.last, report.last);
          }
          return;
        }
        if (queued.event === "fault" && report.event === "fault" && queued.fault === report.fault) {
          this.events[i] = report; // its count is the newer total
          return;
        }
      }
    }
    this.events.push(report);
  }

  /** Hands queued events to `append`, oldest first, while it takes them (true); each taken is
   *  told to `onTaken`, a refusal to `onRefused`, which leaves that event queued. Returns
   *  whether it ran: not when nothing was queued or it is appending already. */
  drain(append: (event: HostEvent) => boolean, onTaken: () => void, onRefused: () => void): boolean {
    if (this.appending || this.events.length === 0) return false;
    this.appending = true;
    try {
      // Bounded: each round either empties one event or stops; thinning our own appends
      // causes may add "thinned" events, which go out in the same loop.
      for (let round = 0; round < 2 * REPORTS_QUEUED_MAX && this.events.length > 0; round++) {
        if (!append(this.events[0])) {
          onRefused();
          break;
        }
        this.events.shift();
        onTaken();
      }
    } finally {
      this.appending = false;
    }
    return true;
  }
}

/** The event that reports an outbox drop: what was thinned or refused, or cut off a corrupt log. */
export function outboxDropEvent(drop: OutboxDrop): Extract<HostEvent, { event: "outbox_drop" }> {
  const sequences = drop.sequences;
  const report: Extract<HostEvent, { event: "outbox_drop" }> = {
    event: "outbox_drop", reason: drop.reason, messages: drop.reason === "corrupt_log" ? 0 : Math.max(sequences.length, 1), bytes: drop.bytes,
  };
  if (sequences.length > 0) {
    report.first = Math.min(...sequences);
    report.last = Math.max(...sequences);
  }
  return report;
}
