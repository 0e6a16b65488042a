// The device's outbox: every message the firmware publishes gets the next per-device sequence
// number and waits here until the broker acknowledges it. This one lives in memory and is
// bounded; when full it refuses (the firmware sees PUBLISH_FAILED), it never drops silently.

import { MESSAGE_BODY_BYTES_MAX } from "../../protocol/framing.js";
import type { TopicKind } from "../../protocol/topics.js";

export interface OutboxEntry {
  sequence: number;
  kind: TopicKind;
  body: Uint8Array;
}

export interface Outbox {
  /** Queues a message; its sequence number, or undefined when the outbox is full. */
  append(kind: TopicKind, body: Uint8Array): number | undefined;
  /** Unacknowledged entries, oldest first. */
  pending(): readonly OutboxEntry[];
  /** Removes an entry the broker acknowledged. */
  acknowledge(sequence: number): void;
  readonly size: number;
  /** Messages refused because the outbox was full (or, in memory, the message too large to frame). */
  readonly refused: number;
}

export class MemoryOutbox implements Outbox {
  private readonly entries: OutboxEntry[] = [];
  private nextSequence: number;
  refused = 0;

  constructor(readonly capacity = 1024, firstSequence = 1) {
    this.nextSequence = firstSequence;
  }

  append(kind: TopicKind, body: Uint8Array): number | undefined {
    if (this.entries.length >= this.capacity || body.length > MESSAGE_BODY_BYTES_MAX) {
      this.refused += 1;
      return undefined;
    }
    const sequence = this.nextSequence++;
    this.entries.push({ sequence, kind, body });
    return sequence;
  }

  pending(): readonly OutboxEntry[] {
    return this.entries;
  }

  acknowledge(sequence: number): void {
    const index = this.entries.findIndex((entry) => entry.sequence === sequence);
    if (index >= 0) this.entries.splice(index, 1);
  }

  get size(): number {
    return this.entries.length;
  }
}
