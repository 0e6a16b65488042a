// The console's one connection to a broker, as a tenant's collector and operator: it takes
// everything the devices of its tenant (or of every tenant, on a broker without identities)
// send into a collector per tenant (operator/collector.ts decodes and keeps it), sends commands
// on the devices' command topics with a rising counter, and puts waveform parts together.

import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { encodeCommand, type Command, type Reply, type WaveformPart } from "../../protocol/messages.js";
import { buildTopic, isValidId, parseTopic, TOPIC_ROOT, topicFilter } from "../../protocol/topics.js";
import { Collector } from "../collector.js";

/** A waveform whose parts have all come. */
export interface Waveform {
  tenant: string;
  device: string;
  id: number;
  /** Unix ms of its first sample. */
  t: number;
  rate_hz: number;
  units: string;
  samples: Float32Array;
}

/** Waveforms kept per device, newest last. */
const WAVEFORMS_KEPT_MAX = 4;

export class ConsoleLink {
  /** Collectors by tenant: one only when the console is bound to a tenant. */
  readonly collectors = new Map<string, Collector>();
  readonly waveforms = new Map<string, Waveform[]>();
  private readonly listeners = new Set<(what: "message" | "waveform" | "reply", device: string) => void>();
  private nextId = 1;
  private lastSeq = 0;
  /** Parts seen per device: where the last look left each ledger's waveform and reply lists. */
  private readonly seenParts = new Map<string, number>();
  private readonly seenReplies = new Map<string, number>();
  readonly replies = new Map<string, Reply[]>();

  private constructor(
    private readonly client: MqttClient | undefined, readonly tenant: string | undefined,
    /** Where commands go out: the same connection, or the operator's own (a provisioned broker
     *  lets the collector read and the operator command, each with its certificate). */
    private readonly commander: MqttClient | undefined = client,
  ) {}

  /** Connects and subscribes: to `tenant`'s topics, or to every tenant's when it is undefined.
   *  `operator`: another identity to send commands with, on a connection of its own. */
  static async connect(url: string, tenant: string | undefined, options: IClientOptions = {}, operator?: IClientOptions): Promise<ConsoleLink> {
    if (tenant !== undefined && !isValidId(tenant)) throw new Error(`tenant ${JSON.stringify(tenant)} is not a valid id`);
    const base: IClientOptions = { protocolVersion: 4, clean: true, reconnectPeriod: 500, clientId: `console.${tenant ?? "all"}.${process.pid}.${Date.now()}` };
    const client = await mqtt.connectAsync(url, { ...base, ...options });
    const commander = operator === undefined ? client : await mqtt.connectAsync(url, { ...base, clientId: `${base.clientId}.operator`, ...operator });
    const link = new ConsoleLink(client, tenant, commander);
    client.on("message", (topic, payload) => link.ingest(topic, new Uint8Array(payload)));
    await client.subscribeAsync(tenant === undefined ? `${TOPIC_ROOT}/+/+/#` : topicFilter(tenant, "#"), { qos: 1 });
    return link;
  }

  /** A link on no broker (tests feed it through ingest). */
  static detached(tenant: string | undefined): ConsoleLink {
    return new ConsoleLink(undefined, tenant);
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  onChange(listener: (what: "message" | "waveform" | "reply", device: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  collector(tenant: string): Collector {
    let collector = this.collectors.get(tenant);
    if (collector === undefined) this.collectors.set(tenant, (collector = Collector.detached(tenant)));
    return collector;
  }

  /** One message off the broker: into its tenant's collector (which refuses what is malformed). */
  ingest(topic: string, payload: Uint8Array): void {
    let tenant: string;
    let device: string;
    try {
      ({ tenant, device } = parseTopic(topic));
    } catch {
      return; // not an impeller topic: nothing of a pump's
    }
    if (this.tenant !== undefined && tenant !== this.tenant) return;
    const collector = this.collector(tenant);
    collector.ingest(topic, payload);
    const ledger = collector.devices.get(device);
    if (ledger !== undefined) {
      this.takeReplies(tenant, device, ledger.replies);
      this.takeParts(tenant, device, ledger.waveforms);
    }
    for (const listener of this.listeners) listener("message", device);
  }

  /** Sends `cmd` to a device of `tenant`; resolves with the command's id once the broker has it. */
  async send(tenant: string, device: string, cmd: string, args?: unknown): Promise<number> {
    if (this.commander === undefined) throw new Error("the console is on no broker");
    if (!this.commander.connected) throw new Error("the console is not connected to the broker (has the run ended?)");
    if (this.tenant !== undefined && tenant !== this.tenant) throw new Error(`this console commands tenant ${this.tenant} only, not ${tenant}`);
    const id = this.nextId++;
    // A provisioned device runs a command only above the last counter it took: Unix seconds
    // rise across consoles and restarts (and stay a 32-bit CBOR integer until 2106); commands
    // within one second count on from there.
    this.lastSeq = Math.max(this.lastSeq + 1, Math.floor(Date.now() / 1000));
    const command: Command = { id, seq: this.lastSeq, cmd, ...(args !== undefined ? { args } : {}) };
    await this.commander.publishAsync(buildTopic(tenant, device, "command"), Buffer.from(encodeCommand(command)), { qos: 1 });
    return id;
  }

  async close(): Promise<void> {
    if (this.commander !== this.client) await this.commander?.endAsync();
    await this.client?.endAsync();
  }

  private takeReplies(tenant: string, device: string, replies: readonly Reply[]): void {
    const key = `${tenant}/${device}`;
    const from = this.seenReplies.get(key) ?? 0;
    if (from === replies.length) return;
    this.seenReplies.set(key, replies.length);
    let list = this.replies.get(key);
    if (list === undefined) this.replies.set(key, (list = []));
    list.push(...replies.slice(from));
    for (const listener of this.listeners) listener("reply", device);
  }

  /** A waveform is complete when every part of its id has come (in any order). */
  private takeParts(tenant: string, device: string, parts: WaveformPart[]): void {
    const key = `${tenant}/${device}`;
    const from = this.seenParts.get(key) ?? 0;
    if (from === parts.length) return;
    this.seenParts.set(key, parts.length);
    for (const id of new Set(parts.slice(from).map((p) => p.id))) {
      const mine = parts.filter((p) => p.id === id);
      const count = mine[0].parts;
      if (new Set(mine.map((p) => p.part)).size < count) continue;
      const unique = new Map(mine.map((p) => [p.part, p]));
      const ordered = [...unique.values()].sort((a, b) => a.first - b.first);
      const total = ordered.reduce((n, p) => n + p.samples.length, 0);
      const samples = new Float32Array(total);
      let at = 0;
      for (const p of ordered) {
        samples.set(p.samples, at);
        at += p.samples.length;
      }
      let list = this.waveforms.get(key);
      if (list === undefined) this.waveforms.set(key, (list = []));
      list.push({ tenant, device, id, t: ordered[0].t, rate_hz: ordered[0].rate_hz, units: ordered[0].units, samples });
      if (list.length > WAVEFORMS_KEPT_MAX) list.shift();
      // The parts are in the waveform now: the ledger need not hold them twice.
      for (let i = parts.length - 1; i >= 0; i--) if (parts[i].id === id) parts.splice(i, 1);
      this.seenParts.set(key, parts.length);
      for (const listener of this.listeners) listener("waveform", device);
    }
  }
}
