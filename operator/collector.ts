// An independent subscriber: takes everything a tenant's devices send, decodes it with the
// protocol codecs alone (it knows nothing of the firmware), drops duplicates by (device,
// sequence), and keeps what a summary or a test needs. A payload is untrusted: one that does
// not decode is counted against its device (rejections) and dropped.

import type { Duplex } from "node:stream";
import type { IClientOptions, MqttClient } from "mqtt";
import { BrokerRotation } from "../protocol/brokers.js";
import { ProtocolError } from "../protocol/errors.js";
import { unframe } from "../protocol/framing.js";
import { decodeEvent, decodeReply, decodeWaveformPart, type Reply, type WaveformPart } from "../protocol/messages.js";
import { decodeSenml, resolveSenml, type ResolvedRecord } from "../protocol/senml.js";
import { decodeState, supersedes, type DeviceState } from "../protocol/state.js";
import { readFramedSenml, type SenmlSink } from "../protocol/senml-reader.js";
import { parseTopic, topicFilter, type Topic } from "../protocol/topics.js";
import { connectClient } from "./mqtt-client.js";
import { Rejections } from "./rejections.js";
import { TelemetryLog } from "./telemetry-log.js";

export type { TelemetryPack } from "./telemetry-log.js";

export interface DeviceLedger {
  /** Every telemetry pack taken, in arrival order (compact; see telemetry-log.ts). */
  telemetry: TelemetryLog;
  events: Record<string, unknown>[];
  replies: Reply[];
  waveforms: WaveformPart[];
  /** The latest state by session order, and every state message in arrival order. */
  state?: DeviceState;
  states: DeviceState[];
  /** Distinct sequence numbers taken (every kind but state). */
  received: number;
  duplicates: number;
  /** Every number 1..releasedThrough has come, once: the run released in order, no gaps. */
  releasedThrough: number;
  /** Arrived ahead of a missing one, waiting for it. */
  held: Set<number>;
  /** "<device>:", the base name of the device's SenML records. */
  baseName: string;
}

export class Collector {
  readonly devices = new Map<string, DeviceLedger>();
  /** The first ERRORS_KEPT_MAX payloads refused, worded; `rejections` counts them all. */
  readonly errors: { topic: string; code: string; message: string }[] = [];
  /** Payloads refused, by device and reason. */
  readonly rejections = new Rejections();
  received = 0;
  private readonly listeners = new Set<() => void>();
  /** Topics already parsed: a fleet sends on the same few topics per device again and again. */
  private readonly topics = new Map<string, Topic>();

  private readonly sink = new LogSink();

  private constructor(private readonly client: MqttClient | undefined, readonly tenant: string) {}

  /** A collector on no broker: it takes messages only through ingest (fuzzing, tests). */
  static detached(tenant: string): Collector {
    return new Collector(undefined, tenant);
  }

  /** Subscribes to a tenant. With `durable`, a persistent session under a fixed client id:
   *  the broker keeps what arrives while the collector is away (a broker that is itself
   *  restarted must keep its sessions for that, as mosquitto with persistence does, and a
   *  clustered broker does on its other nodes). `url` may list a cluster's nodes, separated by
   *  commas: the first is dialled first, the next after each lost connection. With `stream`,
   *  each connection goes over the stream it opens instead of dialling. */
  static async connect(url: string, tenant: string, options: IClientOptions & { durable?: boolean; stream?: () => Duplex } = {}): Promise<Collector> {
    const { durable = false, stream, ...clientOptions } = options;
    const brokers = new BrokerRotation(url);
    const client = await connectClient(brokers.current, {
      ...(brokers.urls.length > 1 ? { servers: brokers.servers() } : {}),
      protocolVersion: 4,
      clientId: durable ? `collector.${tenant}` : `collector.${tenant}.${process.pid}.${Math.floor(performance.now())}`,
      clean: !durable,
      reconnectPeriod: 200,
      ...clientOptions,
    }, stream);
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
        telemetry: new TelemetryLog(device), events: [], replies: [], waveforms: [], states: [],
        received: 0, duplicates: 0, releasedThrough: 0, held: new Set(), baseName: `${device}:`,
      };
      this.devices.set(device, ledger);
    }
    return ledger;
  }

  /** Decodes one message; anything malformed is counted against its device with its typed
   *  error code, and dropped. Never throws: a device cannot end the collector. */
  ingest(topic: string, payload: Uint8Array): void {
    this.received += 1;
    let device: string | undefined;
    try {
      const parsed = this.parse(topic);
      device = parsed.device;
      const kind = parsed.kind;
      if (kind === "command") return;
      const ledger = this.ledger(device);
      if (kind === "state") {
        if (payload.length === 0) return; // a cleared retained message
        const state = decodeState(payload);
        ledger.states.push(state);
        if (supersedes(state, ledger.state)) ledger.state = state;
        return;
      }
      // The usual telemetry goes in one pass over its bytes; everything else, the general way.
      if (kind !== "telemetry" || !this.readFast(ledger, payload)) decodeInto(ledger, kind, payload);
    } catch (error) {
      const code = error instanceof ProtocolError ? error.code : "unexpected";
      // A topic no device could publish on (the ACL) is counted under the topic itself.
      this.rejections.add(device ?? topic, error);
      if (this.errors.length < ERRORS_KEPT_MAX) this.errors.push({ topic, code, message: String((error as Error)?.message ?? error) });
    }
    for (const listener of this.listeners) listener();
  }

  /** The usual telemetry payload, read by readFramedSenml straight into the device's log;
   *  false (nothing kept) leaves it to the general decoders, which also word any error. */
  private readFast(ledger: DeviceLedger, payload: Uint8Array): boolean {
    const sink = this.sink;
    sink.ledger = ledger;
    sink.sequence = -1;
    let read = false;
    try {
      read = readFramedSenml(payload, sink) && sink.sequence >= 0;
    } finally {
      if (!read) ledger.telemetry.abort();
    }
    if (!read) return false;
    ledger.telemetry.commit();
    taken(ledger, sink.sequence);
    return true;
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
      for (let s = ledger.releasedThrough + 1; s < highest && missing.length < GAPS_LISTED_MAX; s++) {
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

  /** Resolves once the collector is connected (`true`: again, after its broker went away) or
   *  has seen its connection go (`false`), or rejects after `timeoutMs`. */
  connection(connected: boolean, timeoutMs: number): Promise<void> {
    const client = this.client;
    if (client === undefined) return Promise.reject(new Error("collector: detached, on no broker"));
    if (client.connected === connected) return Promise.resolve();
    const event = connected ? "connect" : "close";
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        client.off(event, done);
        reject(new Error(`collector: not ${connected ? "connected" : "disconnected"} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      client.once(event, done);
    });
  }

  async close(): Promise<void> {
    await this.client?.endAsync();
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

/** Refused payloads worded in `errors`, at most: a hostile device could send millions. */
const ERRORS_KEPT_MAX = 10_000;

/** Gap lists are for people: past this many numbers a list is cut. */
const GAPS_LISTED_MAX = 1000;

/** Unframes and decodes a message with the protocol's codecs into its device's ledger; a
 *  duplicate is counted and dropped. */
function decodeInto(ledger: DeviceLedger, kind: Topic["kind"], payload: Uint8Array): void {
  const { sequence, body } = unframe(kind, payload);
  if (seen(ledger, sequence)) {
    ledger.duplicates += 1;
    return;
  }
  // Taken even if its body turns out undecodable: it arrived (and is counted an error).
  taken(ledger, sequence);
  if (kind === "telemetry") appendRecords(ledger, sequence, resolveSenml(decodeSenml(body)));
  else if (kind === "event") ledger.events.push(decodeEvent(body));
  else if (kind === "reply") ledger.replies.push(decodeReply(body));
  else if (kind === "waveform") ledger.waveforms.push(decodeWaveformPart(body));
}

/** Whether `sequence` has been taken already. */
function seen(ledger: DeviceLedger, sequence: number): boolean {
  return (sequence >= 1 && sequence <= ledger.releasedThrough) || ledger.held.has(sequence);
}

/** Counts `sequence` and holds it until everything before it has come, then releases the run. */
function taken(ledger: DeviceLedger, sequence: number): void {
  ledger.received += 1;
  if (sequence !== ledger.releasedThrough + 1) {
    ledger.held.add(sequence);
    return;
  }
  let next = sequence + 1;
  while (ledger.held.delete(next)) next += 1;
  ledger.releasedThrough = next - 1;
}

/** Feeds readFramedSenml's records to the ledger's log: the device's own records, once. */
class LogSink implements SenmlSink {
  ledger!: DeviceLedger;
  sequence = -1;

  begin(sequence: number, baseName: string): boolean {
    if (baseName !== this.ledger.baseName || seen(this.ledger, sequence)) return false;
    this.sequence = sequence;
    this.ledger.telemetry.begin(sequence);
    return true;
  }

  value(name: string, unit: string | undefined, value: number, time: number): void {
    this.ledger.telemetry.value(name, unit, value, time);
  }

  text(name: string, unit: string | undefined, text: string, time: number): void {
    this.ledger.telemetry.text(name, unit, text, time);
  }
}

/** A pack the general decoder resolved, into the log; every record must be the device's. */
function appendRecords(ledger: DeviceLedger, sequence: number, records: ResolvedRecord[]): void {
  const prefix = ledger.baseName;
  for (const record of records) {
    if (!record.name.startsWith(prefix)) {
      throw new ProtocolError("bad_senml", `record ${record.name} does not belong to device ${ledger.telemetry.device}`);
    }
  }
  const log = ledger.telemetry;
  log.begin(sequence);
  log.timeIs(records[0]?.time ?? 0);
  for (const record of records) {
    const name = record.name.slice(prefix.length);
    if (record.value !== undefined) log.value(name, record.unit, record.value, record.time);
    else if (record.stringValue !== undefined) log.text(name, record.unit, record.stringValue, record.time);
    else if (record.unit !== undefined) log.unit(name, record.unit, record.time);
  }
  log.commit();
}
