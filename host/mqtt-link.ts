// The device's MQTT link (mqtt.js, MQTT 3.1.1): birth on connect and death as the Last Will,
// both retained on .../state with the session counter; the outbox sent in order with QoS 1
// through a bounded in-flight window; commands from .../command handed to the device.

import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { frame } from "../protocol/framing.js";
import { encodeState, decodeState } from "../protocol/state.js";
import { buildTopic } from "../protocol/topics.js";
import type { Outbox } from "./outbox.js";

export const IN_FLIGHT_MAX = 16;

export interface MqttLinkOptions {
  url: string;
  tenant: string;
  device: string;
  /** Rises with every connection of this device (kept in its storage). */
  session: number;
  firmwareVersion: number;
  abiVersion: number;
  outbox: Outbox;
  /** Extra mqtt.js options: credentials, TLS, keepalive. */
  client?: IClientOptions;
  inFlightMax?: number;
  onCommand?: (payload: Uint8Array) => void;
}

export class MqttLink {
  private client: MqttClient | undefined;
  private readonly inFlight = new Set<number>();
  private readonly drainWaiters: (() => void)[] = [];
  private readonly stateTopic: string;
  private readonly commandTopic: string;
  /** Messages the broker acknowledged. */
  acknowledged = 0;

  constructor(private readonly options: MqttLinkOptions) {
    this.stateTopic = buildTopic(options.tenant, options.device, "state");
    this.commandTopic = buildTopic(options.tenant, options.device, "command");
  }

  private birth(): Uint8Array {
    const { session, firmwareVersion: fw, abiVersion: abi } = this.options;
    return encodeState({ online: true, session, fw, abi });
  }

  async connect(): Promise<void> {
    const { url, device, session } = this.options;
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 4,
      clientId: `${this.options.tenant}.${device}`,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...this.options.client,
      will: { topic: this.stateTopic, payload: Buffer.from(encodeState({ online: false, session })), qos: 1, retain: true },
    });
    this.client = client;
    client.on("connect", () => void this.onConnected());
    client.on("close", () => this.inFlight.clear()); // unacknowledged entries go again after reconnecting
    client.on("message", (topic, payload) => this.onMessage(topic, payload));
    await this.onConnected();
  }

  private async onConnected(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    await client.subscribeAsync([this.commandTopic, this.stateTopic], { qos: 1 });
    await client.publishAsync(this.stateTopic, Buffer.from(this.birth()), { qos: 1, retain: true });
    this.pump();
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
      if (!state.online && state.session < this.options.session) {
        void this.client?.publishAsync(this.stateTopic, Buffer.from(this.birth()), { qos: 1, retain: true });
      }
    } catch {
      // Someone else's malformed state message; ours is re-published on the next connect.
    }
  }

  /** Sends pending outbox entries, oldest first, while the in-flight window has room. */
  pump(): void {
    const client = this.client;
    if (client === undefined || !client.connected) return;
    const windowMax = this.options.inFlightMax ?? IN_FLIGHT_MAX;
    for (const entry of this.options.outbox.pending()) {
      if (this.inFlight.size >= windowMax) break;
      if (this.inFlight.has(entry.sequence)) continue;
      this.inFlight.add(entry.sequence);
      const topic = buildTopic(this.options.tenant, this.options.device, entry.kind);
      client.publish(topic, Buffer.from(frame(entry.sequence, entry.body)), { qos: 1 }, (error) => {
        if (!this.inFlight.delete(entry.sequence)) return; // the connection dropped meanwhile
        if (error === undefined || error === null) {
          this.options.outbox.acknowledge(entry.sequence);
          this.acknowledged += 1;
        }
        this.pump();
        this.notifyIfDrained();
      });
    }
    this.notifyIfDrained();
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

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** A clean shutdown: publish the death ourselves (a clean disconnect sends no Will), then close. */
  async close(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    this.client = undefined;
    if (client.connected) {
      const death = encodeState({ online: false, session: this.options.session });
      await client.publishAsync(this.stateTopic, Buffer.from(death), { qos: 1, retain: true });
    }
    await client.endAsync();
  }
}
