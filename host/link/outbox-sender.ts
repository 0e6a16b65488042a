// Sending a device's outbox over an MQTT connection, the part every link shares (MqttLink: a
// connection of its own; GatewayChannel: one of a gateway's): oldest first, at most a window
// of messages in flight, each framed with its sequence number (protocol/framing.ts: inside a
// telemetry pack, before any other message), acknowledged in the outbox when the broker has
// it, sent again after a reconnect, and waiters told when all is out.

import type { MqttClient } from "mqtt";
import { frame } from "../../protocol/framing.js";
import { buildTopic, type TopicKind } from "../../protocol/topics.js";
import type { Outbox } from "../outbox/outbox.js";

/** What a link counts; the sender keeps acknowledged and resent. */
export interface LinkCounters {
  connects: number;
  disconnects: number;
  /** Messages the broker acknowledged (QoS 1). */
  acknowledged: number;
  /** Messages published again after a reconnect (sent before, not acknowledged). */
  resent: number;
}

export class OutboxSender {
  private readonly inFlight = new Set<number>();
  private readonly drainWaiters: (() => void)[] = [];
  private readonly topics = new Map<TopicKind, string>();
  /** Sequences published at least once, to count what goes again after a reconnect. */
  private highestSent: number;

  constructor(
    private readonly options: { outbox: Outbox; tenant: string; device: string; inFlightMax: number; sentUpTo?: number },
    private readonly counters: LinkCounters,
  ) {
    this.highestSent = options.sentUpTo ?? 0;
  }

  get sentUpTo(): number {
    return this.highestSent;
  }

  /** Nothing in flight and nothing queued: every message acknowledged. */
  get idle(): boolean {
    return this.inFlight.size === 0 && this.options.outbox.size === 0;
  }

  /** Sends pending entries through `client` while the window has room. `again` runs when a
   *  publish settles (the link sends more, if it still can); `current` says whether an
   *  acknowledgement still counts (the connection, or the device, may have gone meanwhile). */
  send(client: MqttClient, again: () => void, current: () => boolean = () => true): void {
    for (const entry of this.options.outbox.pending()) {
      if (this.inFlight.size >= this.options.inFlightMax) break;
      if (this.inFlight.has(entry.sequence)) continue;
      this.inFlight.add(entry.sequence);
      if (entry.sequence <= this.highestSent) this.counters.resent += 1;
      else this.highestSent = entry.sequence;
      const framed = frame(entry.kind, entry.sequence, entry.body);
      // A Buffer over the framed bytes, not a copy of them.
      const payload = Buffer.from(framed.buffer, framed.byteOffset, framed.byteLength);
      client.publish(this.topicOf(entry.kind), payload, { qos: 1 }, (error) => {
        if (!current() || !this.inFlight.delete(entry.sequence)) return;
        if (error === undefined || error === null) {
          this.options.outbox.acknowledge(entry.sequence);
          this.counters.acknowledged += 1;
        }
        again();
        this.notifyIfDrained();
      });
    }
    this.notifyIfDrained();
  }

  /** The connection went: what was in flight goes again, oldest first, on the next one. */
  connectionLost(): void {
    this.inFlight.clear();
  }

  /** The topic of each kind of message, built (and checked) once. */
  private topicOf(kind: TopicKind): string {
    let topic = this.topics.get(kind);
    if (topic === undefined) {
      topic = buildTopic(this.options.tenant, this.options.device, kind);
      this.topics.set(kind, topic);
    }
    return topic;
  }

  private notifyIfDrained(): void {
    if (this.options.outbox.size > 0) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /** Resolves once every queued message has been acknowledged by the broker. */
  drained(): Promise<void> {
    if (this.options.outbox.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}
