// A gateway: one MQTT connection (mqtt.js, MQTT 3.1.1) that carries many devices, as a site
// gateway in front of its pumps does, so a large fleet needs a socket per gateway, not per
// pump. Each device keeps its own topics, its own outbox and sequence numbers, its own
// in-flight window and its own sessions; only the connection is shared.
//
// Birth and death: a connection's Will covers one topic, so the Will is the gateway's own death,
// retained on impeller/v1/{tenant}/{gateway}/state. On every connection the gateway publishes
// its birth there, then each device's birth (a new session per device). A device that goes
// away while the gateway stays up (closed, or it lost power) gets its death from the gateway at
// once. A clean close publishes every device's death, then the gateway's. An unclean loss of
// the connection leaves the broker only the gateway's Will: the devices' births stay retained,
// and a consumer must read a device as offline while its gateway is; when the gateway is back
// it publishes, for each device, the death of the session that was lost and then its new birth.

import { OutboxSender } from "./outbox-sender.js";
import type { IClientOptions, MqttClient } from "mqtt";
import type { Duplex } from "node:stream";
import { BrokerRotation } from "../../protocol/brokers.js";
import { decodeState, encodeState } from "../../protocol/state.js";
import { WALL_TIMERS, type TimerHandle, type Timers } from "../../protocol/timers.js";
import { buildTopic } from "../../protocol/topics.js";
import { backoffDelayMs, BACKOFF_DEFAULT, DEVICE_SUBSCRIPTION_QOS, IN_FLIGHT_MAX, openClient, type Backoff, type DeviceLink, type LinkCounters, type MqttLinkOptions } from "./mqtt-link.js";

/** A clean close waits this long for the broker to take what is in flight, then drops the connection. */
const CLOSE_WAIT_MS = 5000;
/** Devices one gateway carries at most (each costs two subscriptions and a window of publishes). */
export const GATEWAY_DEVICES_MAX = 10_000;

export interface GatewayOptions {
  /** The broker's URL, or a clustered broker's nodes separated by commas (as MqttLink's). */
  url: string;
  tenant: string;
  /** The gateway's id: its client id is {tenant}.{id}, its state topic .../{id}/state. */
  id: string;
  /** Extra mqtt.js options: credentials, TLS, keepalive. */
  client?: IClientOptions;
  /** Opens the byte stream to the broker for each connection instead of dialling `url`. */
  stream?: () => Duplex;
  backoff?: Backoff;
  /** Randomness for the backoff's jitter. */
  random?: () => number;
  /** The clock the reconnect backoff and the keepalive run on; wall time when absent. */
  timers?: Timers;
  /** The gateway's next session number, once per connection: a gateway keeps it in its storage,
   *  so its births outrank the deaths of its earlier lives. Counted in memory from 1 when absent. */
  nextSession?: () => number;
  onLog?: (level: number, text: string) => void;
}

/** What a device tells the gateway about itself: as for its own MqttLink, less the connection. */
export type ChannelOptions = Omit<MqttLinkOptions, "url" | "client" | "stream" | "backoff" | "random" | "timers">;

export class Gateway {
  private client: MqttClient | undefined;
  private readonly channels = new Set<GatewayChannel>();
  /** Command and state topics to the channel they belong to. */
  private readonly byTopic = new Map<string, GatewayChannel>();
  private readonly stateTopic: string;
  private session = 0;
  private attempt = 0;
  private reconnectTimer: TimerHandle | undefined;
  private closing = false;
  private firstConnect: (() => void) | undefined;
  /** The last connection's subscriptions and births, under way or done (never rejects). */
  private announcing: Promise<void> | undefined;
  /** Announcements under way (subscriptions, births). */
  private announcements = 0;
  private readonly timers: Timers;
  private brokers: BrokerRotation | undefined;
  /** Deaths of devices that went away while the gateway was disconnected: published on the
   *  next connection, before any birth (at most one per device detached). */
  private readonly deaths = new Map<string, Uint8Array>();
  readonly counters = { connects: 0, disconnects: 0 };

  constructor(private readonly options: GatewayOptions) {
    this.timers = options.timers ?? WALL_TIMERS;
    this.stateTopic = buildTopic(options.tenant, options.id, "state");
  }

  get id(): string {
    return this.options.id;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** No connection attempt awaiting its outcome and no announcement under way (each channel
   *  says whether its own messages are out). */
  get idle(): boolean {
    const client = this.client;
    if (client === undefined || this.closing) return true;
    if (!client.connected) return this.reconnectTimer !== undefined;
    return this.announcements === 0;
  }

  /** Devices attached now. */
  get size(): number {
    return this.channels.size;
  }

  /** Starts connecting and keeps at it; resolves at the first connection (or rejects after
   *  `firstTimeoutMs`, while the gateway goes on trying in the background). */
  connect(firstTimeoutMs = 30_000): Promise<void> {
    const connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway ${this.options.id}: no MQTT connection to ${this.options.url} within ${firstTimeoutMs} ms; still trying`)), firstTimeoutMs);
      this.firstConnect = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.open();
    return connected;
  }

  /** Carries a device from now on: its topics are subscribed and its birth published (at once
   *  when connected, else on the next connection). */
  attach(options: ChannelOptions): GatewayChannel {
    if (this.closing) throw new Error(`gateway ${this.options.id} is closed`);
    if (this.channels.size >= GATEWAY_DEVICES_MAX) throw new RangeError(`gateway ${this.options.id} carries ${GATEWAY_DEVICES_MAX} devices already`);
    const channel = new GatewayChannel(this, options);
    if (this.byTopic.has(channel.commandTopic)) throw new Error(`device ${channel.device} is attached to gateway ${this.options.id} already`);
    this.channels.add(channel);
    this.byTopic.set(channel.commandTopic, channel);
    this.byTopic.set(channel.stateTopic, channel);
    const client = this.client;
    if (client?.connected) this.announceAll(client, [channel]);
    return channel;
  }

  /** The device is gone (closed, or without power): its death is published for it while the
   *  gateway is connected, and its topics are forgotten. */
  async detach(channel: GatewayChannel): Promise<void> {
    // A session's birth goes out before its death, however soon after connecting it ends.
    if (this.channels.has(channel) && this.client?.connected === true) await this.announcing;
    if (!this.channels.delete(channel)) return;
    this.byTopic.delete(channel.commandTopic);
    this.byTopic.delete(channel.stateTopic);
    const client = this.client;
    if (client?.connected) {
      client.unsubscribe([channel.commandTopic, channel.stateTopic]);
      await client.publishAsync(channel.stateTopic, Buffer.from(channel.death()), { qos: 1, retain: true })
        .catch((error: unknown) => this.options.onLog?.(2, `gateway ${this.options.id}: the death of ${channel.device} was not published: ${(error as Error).message}`));
    } else if (channel.counters.connects > 0 && this.deaths.size < GATEWAY_DEVICES_MAX) {
      this.deaths.set(channel.stateTopic, channel.death()); // its birth is retained: say it is gone when we are back
    }
  }

  /** The shared client while it is connected (channels publish through it). */
  get live(): MqttClient | undefined {
    const client = this.client;
    return client?.connected ? client : undefined;
  }

  private will(): IClientOptions["will"] {
    return { topic: this.stateTopic, payload: Buffer.from(encodeState({ online: false, session: this.session })), qos: 1, retain: true };
  }

  /** One connection attempt with a client of its own, as MqttLink does: a new gateway session,
   *  its birth and its Will; every device's in-flight messages go again from their outboxes. */
  private open(): void {
    this.session = this.options.nextSession?.() ?? this.session + 1;
    this.brokers ??= new BrokerRotation(this.options.url);
    const client = openClient(this.brokers.current, {
      protocolVersion: 4,
      clientId: `${this.options.tenant}.${this.options.id}`,
      clean: true,
      connectTimeout: 10_000,
      ...this.options.client,
      reconnectPeriod: 0,
      will: this.will(),
    }, this.options.stream, this.options.timers);
    this.client = client;
    client.on("connect", () => {
      this.attempt = 0;
      this.counters.connects += 1;
      client.publish(this.stateTopic, Buffer.from(encodeState({ online: true, session: this.session })), { qos: 1, retain: true });
      for (const [topic, death] of this.deaths) client.publish(topic, Buffer.from(death), { qos: 1, retain: true });
      this.deaths.clear();
      this.announceAll(client, [...this.channels]);
      this.firstConnect?.();
      this.firstConnect = undefined;
    });
    client.on("close", () => this.onClosed(client));
    client.on("error", (error) => { if (this.client === client) this.options.onLog?.(1, `gateway ${this.options.id}: mqtt: ${error.message}`); });
    client.on("message", (topic, payload) => this.byTopic.get(topic)?.onMessage(topic, new Uint8Array(payload)));
  }

  /** Subscribes `channels`' topics in one request, then publishes each one's birth (after the
   *  death of a session an unclean loss left behind) and sends its outbox. */
  private announceAll(client: MqttClient, channels: GatewayChannel[]): void {
    if (channels.length === 0) return;
    for (const channel of channels) channel.beginSession();
    this.announcements += 1;
    this.announcing = client.subscribeAsync(channels.flatMap((c) => [c.commandTopic, c.stateTopic]), { qos: DEVICE_SUBSCRIPTION_QOS })
      .then(() => {
        for (const channel of channels) {
          if (!this.channels.has(channel)) continue;
          const lost = channel.lostSession();
          if (lost !== undefined) client.publish(channel.stateTopic, Buffer.from(encodeState({ online: false, session: lost })), { qos: 1, retain: true });
          client.publish(channel.stateTopic, Buffer.from(channel.birth()), { qos: 1, retain: true });
        }
      })
      .catch((error: unknown) => this.options.onLog?.(2, `gateway ${this.options.id}: announcing failed: ${(error as Error).message}`))
      .finally(() => (this.announcements -= 1));
    for (const channel of channels) channel.pump();
  }

  private onClosed(client: MqttClient): void {
    if (this.client !== client) return;
    if (this.counters.connects > this.counters.disconnects) this.counters.disconnects += 1;
    for (const channel of this.channels) channel.connectionLost();
    if (this.closing || this.reconnectTimer !== undefined) return;
    this.brokers?.advance();
    const delay = backoffDelayMs(this.options.backoff ?? BACKOFF_DEFAULT, this.attempt++, this.options.random ?? Math.random);
    client.end(true);
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closing) this.open();
    }, delay);
  }

  /** A clean shutdown: every device's death, the gateway's, then DISCONNECT (no Will). */
  async close(): Promise<void> {
    const client = this.client;
    this.closing = true;
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (client === undefined) return;
    if (client.connected) {
      // A session's births go out before its deaths, however soon after connecting it closes.
      await this.announcing;
      const deaths = [...this.channels].map((channel) =>
        client.publishAsync(channel.stateTopic, Buffer.from(channel.death()), { qos: 1, retain: true }));
      deaths.push(client.publishAsync(this.stateTopic, Buffer.from(encodeState({ online: false, session: this.session })), { qos: 1, retain: true }));
      await Promise.all(deaths).catch(() => undefined);
    }
    for (const channel of this.channels) channel.connectionLost();
    this.channels.clear();
    this.byTopic.clear();
    this.client = undefined;
    if (!client.connected) {
      client.end(true); // between connections: there is no one to say goodbye to
      return;
    }
    // With DISCONNECT, so the broker drops the Will; mqtt.js waits for what is in flight first,
    // which a connection lost at this moment would never acknowledge.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), CLOSE_WAIT_MS); });
    if (await Promise.race([client.endAsync().then(() => false), late])) client.end(true);
    clearTimeout(timer);
  }

  /** The gateway lost power: the connection drops without DISCONNECT; the broker publishes the
   *  gateway's Will and nothing for its devices. */
  abort(): void {
    const client = this.client;
    this.closing = true;
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    for (const channel of this.channels) channel.connectionLost();
    this.client = undefined;
    client?.end(true);
  }
}

/** One device's link through a gateway: its outbox sent oldest first with QoS 1 through its own
 *  bounded in-flight window, so one device's backlog holds up no other device's messages. */
export class GatewayChannel implements DeviceLink {
  readonly counters: LinkCounters = { connects: 0, disconnects: 0, acknowledged: 0, resent: 0 };
  readonly commandTopic: string;
  readonly stateTopic: string;
  private readonly sender: OutboxSender;
  private session = 0;
  /** A session whose connection was lost without its death being published. */
  private unmourned: number | undefined;
  private gone = false;

  constructor(private readonly gateway: Gateway, private readonly options: ChannelOptions) {
    this.sender = new OutboxSender({ ...options, inFlightMax: options.inFlightMax ?? IN_FLIGHT_MAX }, this.counters);
    this.commandTopic = buildTopic(options.tenant, options.device, "command");
    this.stateTopic = buildTopic(options.tenant, options.device, "state");
  }

  get device(): string {
    return this.options.device;
  }

  /** A new connection carries this device: a new session of its own. */
  beginSession(): void {
    this.session = this.options.nextSession();
    this.counters.connects += 1;
  }

  /** The session lost with the last connection, once (its death is published late). */
  lostSession(): number | undefined {
    const lost = this.unmourned;
    this.unmourned = undefined;
    return lost;
  }

  connectionLost(): void {
    if (this.counters.connects > this.counters.disconnects) {
      this.counters.disconnects += 1;
      this.unmourned = this.session;
    }
    this.sender.connectionLost(); // unacknowledged entries go again, oldest first, on the next connection
  }

  birth(): Uint8Array {
    const { firmwareVersion, abiVersion: abi } = this.options;
    const fw = typeof firmwareVersion === "function" ? firmwareVersion() : firmwareVersion;
    const policy = this.options.policy?.();
    return encodeState({ online: true, session: this.session, fw, abi, ...(policy !== undefined ? { policy } : {}) });
  }

  death(): Uint8Array {
    return encodeState({ online: false, session: this.session });
  }

  onMessage(topic: string, payload: Uint8Array): void {
    if (this.gone) return;
    if (topic === this.commandTopic) {
      this.options.onCommand?.(payload);
      return;
    }
    if (payload.length === 0) return;
    try {
      const state = decodeState(payload);
      // A death from an older session arrived after our birth: say again that we are here.
      if (!state.online && state.session < this.session) this.announce();
    } catch {
      // Someone else's malformed state message; ours is re-published on the next connect.
    }
  }

  get connected(): boolean {
    return !this.gone && this.gateway.connected;
  }

  get sentUpTo(): number {
    return this.sender.sentUpTo;
  }

  get idle(): boolean {
    return this.gone || !this.gateway.connected || (this.gateway.idle && this.sender.idle);
  }

  announce(): void {
    const client = this.gone ? undefined : this.gateway.live;
    client?.publishAsync(this.stateTopic, Buffer.from(this.birth()), { qos: 1, retain: true })
      .catch((error: unknown) => this.options.onLog?.(2, `mqtt: announcing failed: ${(error as Error).message}`));
  }

  pump(): void {
    const client = this.gone ? undefined : this.gateway.live;
    if (client === undefined) return;
    this.sender.send(client, () => this.pump(), () => !this.gone); // the device may have gone meanwhile
  }

  drained(): Promise<void> {
    return this.sender.drained();
  }

  /** The device shuts down: the gateway publishes its death and stops carrying it. */
  async close(): Promise<void> {
    if (this.gone) return;
    this.gone = true;
    this.sender.connectionLost();
    await this.gateway.detach(this);
  }

  /** The device lost power: the gateway notices it gone and publishes its death; what was in
   *  flight stays in the outbox for the device's next life. */
  abort(): void {
    void this.close();
  }
}
