// The device's MQTT link (mqtt.js, MQTT 3.1.1): birth on connect and death as the Last Will,
// both retained on .../state with a session counter that rises with every connection; the
// outbox sent oldest first with QoS 1 through a bounded in-flight window, and again from the
// oldest unacknowledged after a reconnect; reconnects with jittered exponential backoff, to the
// next node of a broker list after each loss (protocol/brokers.ts); commands from .../command
// handed to the device.

import { OutboxSender, type LinkCounters } from "./outbox-sender.js";
import mqtt, { MqttClient, type IClientOptions } from "mqtt";
import type { Duplex } from "node:stream";
import { BrokerRotation } from "../../protocol/brokers.js";
import { encodeState, decodeState, type DataPolicy } from "../../protocol/state.js";
import { WALL_TIMERS, type TimerHandle, type Timers } from "../../protocol/timers.js";
import { buildTopic } from "../../protocol/topics.js";
import type { Outbox } from "../outbox/outbox.js";

export const IN_FLIGHT_MAX = 16;

/** The QoS a device subscribes to its command and state topics at. Its sessions are clean, so
 *  the broker forgets the subscription and whatever it still had to deliver when the
 *  connection ends: QoS 1 would add only redelivery within one connection, which TCP already
 *  gives, and on a clustered broker it costs a replicated stream consumer per subscription
 *  (NATS: two per device), the slowest thing the cluster does; creating and deleting them as
 *  devices come and go also lost other subscribers' messages from NATS 2.9's message stream
 *  (README, "A clustered broker"). Commands are answered at the application level (the
 *  operator sees the result or sends again), so QoS 0 loses nothing that QoS 1 kept. */
export const DEVICE_SUBSCRIPTION_QOS = 0;

/** Reconnect delays: initial × 2^attempt, capped, each scaled by a random factor in
 *  [1 − jitter, 1] so a fleet that lost its broker does not come back in lockstep. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  jitter: number;
}

export const BACKOFF_DEFAULT: Backoff = { initialMs: 250, maxMs: 30_000, jitter: 0.5 };
/** Doublings before the cap is reached anyway; bounds the exponent. */
const BACKOFF_ATTEMPTS_MAX = 20;

export function backoffDelayMs(backoff: Backoff, attempt: number, random: () => number): number {
  const raw = backoff.initialMs * 2 ** Math.min(attempt, BACKOFF_ATTEMPTS_MAX);
  return Math.min(backoff.maxMs, raw) * (1 - backoff.jitter * random());
}

/** mqtt.js's keepalive timer (it fires every `ms` until cleared) on `timers`. */
export function keepaliveTimer(timers: Timers): NonNullable<Exclude<IClientOptions["timerVariant"], string>> {
  const live = new Map<number, TimerHandle>();
  let nextId = 1;
  const set = (callback: () => void, ms: number): number => {
    const id = nextId++;
    const tick = (): void => {
      live.set(id, timers.setTimeout(tick, ms)); // the next one first: the callback may clear it
      callback();
    };
    live.set(id, timers.setTimeout(tick, ms));
    return id;
  };
  const clear = (id: number): void => {
    if (live.has(id)) timers.clearTimeout(live.get(id));
    live.delete(id);
  };
  return { set, clear } as NonNullable<Exclude<IClientOptions["timerVariant"], string>>;
}

/** A client for one connection attempt: over `stream` when given (the simulator's in-process
 *  network), else by dialling `url`; its keepalive on `timers` when given (the simulator's
 *  virtual clock), else on mqtt.js's own. mqtt.js's debug logging costs a call with its
 *  arguments per packet even when off, so it is left out unless DEBUG is set. */
export function openClient(url: string, options: IClientOptions, stream?: () => Duplex, timers?: Timers): MqttClient {
  const withTimer: IClientOptions = timers === undefined ? options : { ...options, timerVariant: keepaliveTimer(timers) };
  const all: IClientOptions = process.env.DEBUG === undefined ? { log: () => {}, ...withTimer } : withTimer;
  return stream !== undefined ? new MqttClient(stream, all) : mqtt.connect(url, all);
}

export interface MqttLinkOptions {
  /** The broker's URL, or the URLs of a clustered broker's nodes separated by commas: the
   *  first is dialled first, the next after each lost connection or failed attempt. */
  url: string;
  tenant: string;
  device: string;
  /** The next session number: called once per connection (the device keeps it in storage). */
  nextSession: () => number;
  /** The running firmware's version, or how to read it at each birth (it changes with an update). */
  firmwareVersion: number | (() => number);
  /** The owner's data policy to state in the birth, when the device has one. */
  policy?: () => DataPolicy | undefined;
  abiVersion: number;
  outbox: Outbox;
  /** Extra mqtt.js options: credentials, TLS, keepalive. */
  client?: IClientOptions;
  /** Opens the byte stream to the broker for each connection instead of dialling `url` (the
   *  simulator's in-process network); `url` then only names the broker in messages. */
  stream?: () => Duplex;
  inFlightMax?: number;
  /** Sequences up to this one went out on an earlier link (a life before a power cut): sending
   *  them again counts as resent. */
  sentUpTo?: number;
  backoff?: Backoff;
  /** Randomness for the backoff's jitter (the simulator passes its seeded generator). */
  random?: () => number;
  /** The clock the reconnect backoff and the keepalive run on (the simulator's virtual clock); wall time when absent. */
  timers?: Timers;
  onCommand?: (payload: Uint8Array) => void;
  onLog?: (level: number, text: string) => void;
}

export type { LinkCounters };

/** What a device needs of its link to the broker: its own connection (MqttLink) or a channel
 *  of a gateway's shared one (shared-link.ts). */
export interface DeviceLink {
  readonly counters: LinkCounters;
  readonly connected: boolean;
  /** Sends pending outbox entries while the in-flight window has room. */
  pump(): void;
  /** Publishes the birth again (same session). */
  announce(): void;
  /** Resolves once every queued message has been acknowledged by the broker. */
  drained(): Promise<void>;
  /** A clean shutdown: the death is published, then the link closes. */
  close(): Promise<void>;
  /** The device lost power: the link is gone at once, without a goodbye. */
  abort(): void;
  /** The highest sequence this link (or one before it) has sent. */
  readonly sentUpTo: number;
  /** Nothing under way: no connection attempt awaiting its outcome, and when connected, the
   *  birth out and every queued message acknowledged (the simulator waits for this before
   *  its clock moves on). */
  readonly idle: boolean;
}

export class MqttLink implements DeviceLink {
  private client: MqttClient | undefined;
  private readonly sender: OutboxSender;
  private readonly stateTopic: string;
  private readonly commandTopic: string;
  private readonly brokers: BrokerRotation;
  private session = 0;
  private attempt = 0;
  private reconnectTimer: TimerHandle | undefined;
  /** A refused subscription's next attempt, on the same connection. */
  private subscribeTimer: TimerHandle | undefined;
  private closing = false;
  /** The last connection's subscriptions and birth, under way or done (never rejects). */
  private announcing: Promise<void> | undefined;
  private announced = false;
  private readonly timers: Timers;
  readonly counters: LinkCounters = { connects: 0, disconnects: 0, acknowledged: 0, resent: 0 };

  constructor(private readonly options: MqttLinkOptions) {
    this.timers = options.timers ?? WALL_TIMERS;
    this.sender = new OutboxSender({ ...options, inFlightMax: options.inFlightMax ?? IN_FLIGHT_MAX }, this.counters);
    this.stateTopic = buildTopic(options.tenant, options.device, "state");
    this.commandTopic = buildTopic(options.tenant, options.device, "command");
    this.brokers = new BrokerRotation(options.url);
  }

  private birth(): Uint8Array {
    const { firmwareVersion, abiVersion: abi } = this.options;
    const fw = typeof firmwareVersion === "function" ? firmwareVersion() : firmwareVersion;
    const policy = this.options.policy?.();
    return encodeState({ online: true, session: this.session, fw, abi, ...(policy !== undefined ? { policy } : {}) });
  }

  private will(): IClientOptions["will"] {
    return { topic: this.stateTopic, payload: Buffer.from(encodeState({ online: false, session: this.session })), qos: 1, retain: true };
  }

  /** Starts connecting and keeps at it; resolves at the first connection (or rejects after
   *  `firstTimeoutMs`, while the link goes on trying in the background). */
  connect(firstTimeoutMs = 30_000): Promise<void> {
    const connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no MQTT connection to ${this.options.url} within ${firstTimeoutMs} ms; still trying`)), firstTimeoutMs);
      timer.unref(); // the attempts keep the process alive while they go on; a closed link leaves nothing behind
      this.firstConnect = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.open();
    return connected;
  }

  private firstConnect: (() => void) | undefined;

  /** One connection attempt with a client of its own: a new session, its birth and its Will.
   *  A fresh client per attempt leaves nothing of the old connection's in-flight state behind;
   *  what was unacknowledged is still in the outbox and goes again from there. */
  private open(): void {
    this.session = this.options.nextSession();
    const options: IClientOptions = {
      protocolVersion: 4,
      clientId: `${this.options.tenant}.${this.options.device}`,
      clean: true,
      connectTimeout: 10_000,
      ...this.options.client,
      reconnectPeriod: 0, // reconnects are ours: jittered exponential backoff
      will: this.will(),
    };
    const client = openClient(this.brokers.current, options, this.options.stream, this.options.timers);
    this.client = client;
    client.on("connect", () => {
      this.onConnected(client);
      this.firstConnect?.();
      this.firstConnect = undefined;
    });
    client.on("close", () => this.onClosed(client));
    // Connection errors are expected while a broker is away: retried with backoff, logged as info.
    client.on("error", (error) => { if (this.client === client) this.options.onLog?.(1, `mqtt: ${error.message}`); });
    client.on("message", (topic, payload) => this.onMessage(topic, payload));
  }

  private onConnected(client: MqttClient): void {
    this.attempt = 0;
    this.counters.connects += 1;
    this.announced = false;
    this.announcing = this.announceSession(client).finally(() => { if (this.client === client) this.announced = true; });
    this.pump();
  }

  /** Subscribes to the device's command and state topics, then publishes its birth. A refused
   *  subscription (a clustered broker that cannot set one up while a node is down) does not
   *  keep the birth back nor end the connection: it is asked for again, with backoff, while the
   *  connection lasts. Never rejects. */
  private async announceSession(client: MqttClient): Promise<void> {
    await this.subscribe(client, 0);
    await client.publishAsync(this.stateTopic, Buffer.from(this.birth()), { qos: 1, retain: true })
      .catch((error: unknown) => this.options.onLog?.(2, `mqtt: announcing failed: ${(error as Error).message}`));
  }

  private async subscribe(client: MqttClient, attempt: number): Promise<void> {
    try {
      await client.subscribeAsync([this.commandTopic, this.stateTopic], { qos: DEVICE_SUBSCRIPTION_QOS });
    } catch (error) {
      if (this.client !== client || this.closing || !client.connected) return;
      const delay = backoffDelayMs(this.options.backoff ?? BACKOFF_DEFAULT, attempt, this.options.random ?? Math.random);
      this.options.onLog?.(2, `mqtt: subscribing failed on ${this.brokers.current}, again in ${delay.toFixed(0)} ms: ${(error as Error).message}`);
      this.timers.clearTimeout(this.subscribeTimer);
      this.subscribeTimer = this.timers.setTimeout(() => {
        this.subscribeTimer = undefined;
        if (this.client === client && !this.closing && client.connected) void this.subscribe(client, attempt + 1);
      }, delay);
    }
  }

  private onClosed(client: MqttClient): void {
    if (this.client !== client) return;
    if (this.counters.connects > this.counters.disconnects) this.counters.disconnects += 1;
    this.timers.clearTimeout(this.subscribeTimer);
    this.sender.connectionLost(); // unacknowledged entries go again, oldest first, after reconnecting
    if (this.closing || this.reconnectTimer !== undefined) return;
    this.brokers.advance();
    const delay = backoffDelayMs(this.options.backoff ?? BACKOFF_DEFAULT, this.attempt++, this.options.random ?? Math.random);
    client.end(true); // this connection is gone; its client goes with it
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closing) this.open();
    }, delay);
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === this.commandTopic) {
      this.options.onCommand?.(new Uint8Array(payload));
      return;
    }
    if (topic !== this.stateTopic || payload.length === 0) return;
    try {
      const state = decodeState(new Uint8Array(payload));
      // A death from an older session arrived after our birth: say again that we are here.
      if (!state.online && state.session < this.session) {
        this.client?.publishAsync(this.stateTopic, Buffer.from(this.birth()), { qos: 1, retain: true })
          .catch((error: unknown) => this.options.onLog?.(1, `mqtt: announcing again failed: ${(error as Error).message}`));
      }
    } catch {
      // Someone else's malformed state message; ours is re-published on the next connect.
    }
  }

  /** Publishes the birth again (same session), e.g. after the firmware changed version. */
  announce(): void {
    const client = this.client;
    if (client === undefined || !client.connected) return;
    client.publishAsync(this.stateTopic, Buffer.from(this.birth()), { qos: 1, retain: true })
      .catch((error: unknown) => this.options.onLog?.(2, `mqtt: announcing failed: ${(error as Error).message}`));
  }

  /** Sends pending outbox entries, oldest first, while the in-flight window has room. */
  pump(): void {
    const client = this.client;
    if (client === undefined || !client.connected) return;
    this.sender.send(client, () => this.pump());
  }

  /** Resolves once every queued message has been acknowledged by the broker. */
  drained(): Promise<void> {
    return this.sender.drained();
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  get sentUpTo(): number {
    return this.sender.sentUpTo;
  }

  get idle(): boolean {
    const client = this.client;
    if (client === undefined || this.closing) return true;
    if (!client.connected) return this.reconnectTimer !== undefined; // else an attempt is under way
    return this.announced && this.sender.idle;
  }

  /** The power went: the connection drops without a DISCONNECT, so the broker publishes the
   *  Will (the death); what was in flight stays in the outbox for the next life. */
  abort(): void {
    const client = this.client;
    this.closing = true;
    this.timers.clearTimeout(this.reconnectTimer);
    this.timers.clearTimeout(this.subscribeTimer);
    this.reconnectTimer = undefined;
    this.sender.connectionLost();
    this.client = undefined;
    client?.end(true); // forced: the socket is destroyed, no DISCONNECT is sent
  }

  /** A clean shutdown: publish the death ourselves (a clean disconnect sends no Will), then close. */
  async close(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    this.closing = true;
    this.timers.clearTimeout(this.reconnectTimer);
    this.timers.clearTimeout(this.subscribeTimer);
    this.reconnectTimer = undefined;
    if (client.connected) {
      await this.announcing; // the session's birth goes out before its death
      const death = encodeState({ online: false, session: this.session });
      await client.publishAsync(this.stateTopic, Buffer.from(death), { qos: 1, retain: true }).catch(() => undefined);
    }
    this.client = undefined;
    await client.endAsync(); // with DISCONNECT, so the broker drops the Will: we said goodbye
  }
}
