// The durable outbox's policy when it is full: keep alarms, thin telemetry.
//
// When full (capacityMessages messages or capacityBytes of payload), the policy is "keep
// alarms, thin telemetry": events and replies are never thinned. To make room, a thinning
// step drops every other message (the 1st, 3rd, 5th, ...) of the oldest half of the pending
// telemetry (about a quarter of it, so the next appends need no thinning), and old telemetry
// loses resolution before new telemetry is lost; steps repeat until the new message fits. If even dropping all telemetry would not make room, append()
// refuses (returns undefined) and thins nothing. Every drop and refusal is counted and
// reported through `onDrop`, so the device can publish an event about it. A message already
// in flight may be thinned; if its acknowledgement arrives later it is ignored.

import type { OutboxEntry } from "./outbox.js";

/** Telemetry to drop, in thinning steps, until `fits` (told how many messages and payload bytes
 *  would be gone) says a new message fits; oldest first. The caller has checked that dropping
 *  all telemetry would make room. */
export function chooseThinning(entries: readonly OutboxEntry[], fits: (freedCount: number, freedBytes: number) => boolean): OutboxEntry[] {
  let telemetry = entries.filter((entry) => entry.kind === "telemetry");
  const victims: OutboxEntry[] = [];
  let freedBytes = 0;
  // A step is finished even when its first drops would do: it frees about a quarter of the
  // telemetry, so the next appends need no thinning and old data is thinned, not cut off.
  while (!fits(victims.length, freedBytes)) {
    if (telemetry.length === 0) throw new Error("thinning ran out of telemetry; append() checks that it cannot");
    const half = Math.ceil(telemetry.length / 2);
    const kept: OutboxEntry[] = [];
    for (let i = 0; i < telemetry.length; i++) {
      if (i < half && i % 2 === 0) {
        victims.push(telemetry[i]);
        freedBytes += telemetry[i].body.length;
      } else {
        kept.push(telemetry[i]);
      }
    }
    telemetry = kept;
  }
  return victims.sort((a, b) => a.sequence - b.sequence);
}
