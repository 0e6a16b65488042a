// An independent subscriber: takes everything a tenant's devices send, decodes it with the
// protocol codecs alone (it knows nothing of the firmware), drops duplicates by (device,
// sequence), and keeps what a summary or a test needs.

import type { Duplex } from "node:stream";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { ProtocolError } from "../protocol/errors.js";
import { unframe } from "../protocol/framing.js";
import { decodeEvent, decodeReply, decodeWaveformPart, type Reply, type WaveformPart } from "../protocol/messages.js";
import { decodeSenml, resolveSenml, type ResolvedRecord } from "../protocol/senml.js";
import { decodeState, supersedes, type DeviceState } from "../protocol/state.js";
import { parseTopic, topicFilter, type Topic } from "../protocol/topics.js";

export interface TelemetryPack {
  device: string;
  sequence: number;
  /** Base time of the pack, seconds. */
  time: number;
  /** Values by record name without the device's base name, e.g. "acc_rms". */
  values: Map<string, number>;
  units: Map<string, string>;
  /** Text values (vs) by record name, e.g. "fault". */
  texts: Map<string, string>;
}

export interface DeviceLedger {
  telemetry: TelemetryPack[];
  events: Record<string, unknown>[];
  replies: Reply[];
  waveforms: WaveformPart[];
  /** The latest state by session order, and every state message in arrival order. */
  state?: DeviceState;
  states: DeviceState[];
  sequences: Set<number>;
  duplicates: number;
  /** Sequences released in order: every number once, ascending, no gaps (1, 2, 3, …). */
  released: number[];
  /** Arrived ahead of a missing one, waiting for it. */
  held: Set<number>;
}

export class Collector {
  readonly devices = new Map<string, DeviceLedger>();
  readonly errors: { topic: string; code: string; message: string }[] = [];
  received = 0;
  private readonly listeners = new Set<() => void>();
  /** Topics already parsed: a fleet sends on the same few topics per device again and again. */
  private readonly topics = new Map<string, Topic>();

  private constructor(private readonly client: MqttClient, readonly tenant: string) {}

  /** Subscribes to a tenant. With `durable`, a persistent session under a fixed client id:
   *  the broker keeps what arrives while the collector is away (a broker that is itself
   *  restarted must keep its sessions for that, as mosquitto with persistence does). */
  static async connect(url: string, tenant: string, options: IClientOptions & { durable?: boolean } = {}): Promise<Collector> {
    const { durable = false, ...clientOptions } = options;
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 4,
      clientId: durable ? `collector.${tenant}` : `collector.${tenant}.${process.pid}.${Math.floor(performance.now())}`,
      clean: !durable,
      reconnectPeriod: 200,
      ...clientOptions,
    });
    const collector = new Collector(client, tenant);
    client.on("message", (topic, payload) => collector.ingest(topic, new Uint8Array(payload)));
    coalesceWrites(client);
    client.on("connect", () => coalesceWrites(client));
    await client.subscribeAsync(topicFilter(tenant, "#"), { qos: 1 });
    return collector;
  }

  private ledger(device: string): DeviceLedger {
    let ledger = this.devices.get(device);
    if (ledger === undefined) {
      ledger = {
        telemetry: [], events: [], replies: [], waveforms: [], states: [], sequences: new Set(), duplicates: 0, released: [], held: new Set(),
      };
      this.devices.set(device, ledger);
    }
    return ledger;
  }

  /** Decodes one message; anything malformed is recorded with its typed error code. */
  ingest(topic: string, payload: Uint8Array): void {
    this.received += 1;
    try {
      const { device, kind } = this.parse(topic);
      if (kind === "command") return;
      const ledger = this.ledger(device);
      if (kind === "state") {
        if (payload.length === 0) return; // a cleared retained message
        const state = decodeState(payload);
        ledger.states.push(state);
        if (supersedes(state, ledger.state)) ledger.state = state;
        return;
      }
      const { sequence, body } = unframe(payload);
      if (ledger.sequences.has(sequence)) {
        ledger.duplicates += 1;
        return;
      }
      ledger.sequences.add(sequence);
      release(ledger, sequence);
      if (kind === "telemetry") ledger.telemetry.push(toPack(device, sequence, resolveSenml(decodeSenml(body))));
      else if (kind === "event") ledger.events.push(decodeEvent(body));
      else if (kind === "reply") ledger.replies.push(decodeReply(body));
      else if (kind === "waveform") ledger.waveforms.push(decodeWaveformPart(body));
    } catch (error) {
      const code = error instanceof ProtocolError ? error.code : "unexpected";
      this.errors.push({ topic, code, message: (error as Error).message });
    }
    for (const listener of this.listeners) listener();
  }

  /** parseTopic, remembered for up to TOPICS_CACHED_MAX topics (a topic it refuses is not). */
  private parse(topic: string): Topic {
    let parsed = this.topics.get(topic);
    if (parsed === undefined) {
      parsed = parseTopic(topic);
      if (this.topics.size < TOPICS_CACHED_MAX) this.topics.set(topic, parsed);
    }
    return parsed;
  }

  /** Per device, the sequence numbers still missing below the highest one received. */
  gaps(): Map<string, number[]> {
    const gaps = new Map<string, number[]>();
    for (const [device, ledger] of this.devices) {
      if (ledger.held.size === 0) continue;
      const highest = Math.max(...ledger.held);
      const missing: number[] = [];
      for (let s = (ledger.released.at(-1) ?? 0) + 1; s < highest && missing.length < GAPS_LISTED_MAX; s++) {
        if (!ledger.held.has(s)) missing.push(s);
      }
      gaps.set(device, missing);
    }
    return gaps;
  }

  get telemetryCount(): number {
    let count = 0;
    for (const ledger of this.devices.values()) count += ledger.telemetry.length;
    return count;
  }

  /** Resolves once `predicate` holds, or rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`collector: condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

/** Parsed topics the collector keeps: five kinds for each of 20,000 devices. */
const TOPICS_CACHED_MAX = 100_000;

const coalesced = new WeakSet<object>();

/** Holds the connection's writes from each chunk read until the event loop's check phase, so
 *  the acknowledgements of every message in the chunk leave in one write, not one each (the
 *  client handles a chunk's packets one tick apart). Once per connection (a reconnection is a
 *  new one). */
function coalesceWrites(client: MqttClient): void {
  const stream = client.stream as unknown as Duplex | undefined;
  if (stream === undefined || coalesced.has(stream) || typeof stream.cork !== "function") return;
  coalesced.add(stream);
  let held = false;
  stream.prependListener("data", () => {
    if (held) return;
    held = true;
    stream.cork();
    setImmediate(() => {
      held = false;
      stream.uncork();
    });
  });
}

/** Gap lists are for people: past this many numbers a list is cut. */
const GAPS_LISTED_MAX = 1000;

/** Holds `sequence` until everything before it has come, then releases the run in order. */
function release(ledger: DeviceLedger, sequence: number): void {
  ledger.held.add(sequence);
  let next = (ledger.released.at(-1) ?? 0) + 1;
  while (ledger.held.delete(next)) {
    ledger.released.push(next);
    next += 1;
  }
}

function toPack(device: string, sequence: number, records: ResolvedRecord[]): TelemetryPack {
  const prefix = `${device}:`;
  const values = new Map<string, number>();
  const units = new Map<string, string>();
  const texts = new Map<string, string>();
  for (const record of records) {
    if (!record.name.startsWith(prefix)) {
      throw new ProtocolError("bad_senml", `record ${record.name} does not belong to device ${device}`);
    }
    const name = record.name.slice(prefix.length);
    if (record.value !== undefined) values.set(name, record.value);
    if (record.unit !== undefined) units.set(name, record.unit);
    if (record.stringValue !== undefined) texts.set(name, record.stringValue);
  }
  return { device, sequence, time: records[0]?.time ?? 0, values, units, texts };
}
