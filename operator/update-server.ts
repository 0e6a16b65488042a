// The operator's side of an update, for tests and the simulator: offers an image (its SUIT
// envelope) to devices, answers their block requests with block commands, and keeps every
// update status each device reported. It can misbehave on purpose: stay silent for some
// requests (lost blocks), corrupt a block, stop answering (the network lost), or serve an
// image shorter than its manifest says (a truncated download).
//
// UpdateServer is transport-free (a function sends a command to a device); MqttUpdateServer
// carries it over MQTT: it subscribes to the tenant's "update" topics and publishes commands
// on each device's command topic.
//
// What a device sends is untrusted: a payload that does not unframe or decode is counted
// against the device (rejections) and dropped; it never ends the process or stalls a campaign.

import type { IClientOptions, MqttClient } from "mqtt";
import type { Duplex } from "node:stream";
import { unframe } from "../protocol/framing.js";
import {
  decodeUpdateMessage, encodeUpdateBlock, encodeUpdateOffer, type BlockRequest, type UpdateStatus,
} from "../protocol/messages.js";
import { buildTopic, parseTopic, topicFilter } from "../protocol/topics.js";
import { connectClient } from "./mqtt-client.js";
import { Rejections } from "./rejections.js";

export interface ServedImage {
  campaign: string;
  image: Uint8Array;
  envelope: Uint8Array;
  blockBytes?: number;
}

export interface ServerFaults {
  /** Stay silent for this request (`n`: requests of the campaign so far, from 1) of `device`. */
  drop?: (request: BlockRequest, n: number, device: string | undefined) => boolean;
  /** Flip a byte of the block answering this request. */
  corrupt?: (request: BlockRequest, n: number) => boolean;
  /** Serve only the image's first bytes (the rest of each block is missing). */
  truncateTo?: number;
  /** Answer nothing at all: the network between the server and the devices is gone. */
  offline?: boolean;
}

export interface ServerCounters {
  requests: number;
  answered: number;
  dropped: number;
  corrupted: number;
  /** Bytes of block commands sent (whole CBOR commands), and of image data in them. */
  commandBytes: number;
  dataBytes: number;
}

export class UpdateServer {
  readonly images = new Map<string, ServedImage>();
  /** Update statuses by device, oldest first. */
  readonly statuses = new Map<string, UpdateStatus[]>();
  readonly counters: ServerCounters = { requests: 0, answered: 0, dropped: 0, corrupted: 0, commandBytes: 0, dataBytes: 0 };
  faults: ServerFaults = {};
  /** Payloads from devices that did not decode, by device and reason (dropped). */
  readonly rejections = new Rejections();
  private nextId = 1;
  private readonly waiters: { device: string; test: (status: UpdateStatus) => boolean; resolve: (status: UpdateStatus) => void }[] = [];

  constructor(private readonly send: (device: string, command: Uint8Array) => void | Promise<void>) {}

  serve(image: ServedImage): void {
    this.images.set(image.campaign, image);
  }

  /** Offers a served image to a device. */
  async offer(device: string, campaign: string): Promise<void> {
    const served = this.images.get(campaign);
    if (served === undefined) throw new Error(`no image served for campaign ${campaign}`);
    await this.send(device, encodeUpdateOffer({ id: this.nextId++, campaign, envelope: served.envelope, block_bytes: served.blockBytes }));
  }

  /** A payload a device published on its "update" topic, framed; a malformed one is counted
   *  and dropped. Never rejects on what the device sent. */
  async receivePayload(device: string, payload: Uint8Array): Promise<void> {
    let body: Uint8Array;
    try {
      body = unframe("update", payload).body;
    } catch (error) {
      this.rejections.add(device, error);
      return;
    }
    await this.receive(device, body);
  }

  /** A message a device published on its "update" topic (the body, unframed); a malformed one
   *  is counted and dropped. */
  async receive(device: string, body: Uint8Array): Promise<void> {
    let message: BlockRequest | UpdateStatus;
    try {
      message = decodeUpdateMessage(body);
    } catch (error) {
      this.rejections.add(device, error);
      return;
    }
    if (message.update === "status") {
      let list = this.statuses.get(device);
      if (list === undefined) this.statuses.set(device, (list = []));
      list.push(message);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const waiter = this.waiters[i];
        if (waiter.device === device && waiter.test(message)) {
          this.waiters.splice(i, 1);
          waiter.resolve(message);
        }
      }
      return;
    }
    const command = this.answer(message, device);
    if (command !== undefined) await this.send(device, command);
  }

  /** The block command answering a request, or undefined when the server stays silent. */
  answer(request: BlockRequest, device?: string): Uint8Array | undefined {
    this.counters.requests += 1;
    const served = this.images.get(request.campaign);
    const n = this.counters.requests;
    if (served === undefined || this.faults.offline === true || this.faults.drop?.(request, n, device) === true) {
      this.counters.dropped += 1;
      return undefined;
    }
    const end = Math.min(request.offset + request.length, this.faults.truncateTo ?? served.image.length, served.image.length);
    const data = served.image.slice(request.offset, Math.max(request.offset, end));
    if (data.length > 0 && this.faults.corrupt?.(request, n) === true) {
      data[data.length >> 1] ^= 0x5a;
      this.counters.corrupted += 1;
    }
    const command = encodeUpdateBlock({ id: this.nextId++, campaign: request.campaign, offset: request.offset, data });
    this.counters.answered += 1;
    this.counters.commandBytes += command.length;
    this.counters.dataBytes += data.length;
    return command;
  }

  /** Resolves with the first status (from now on) of `device` that passes `test`. */
  waitFor(device: string, test: (status: UpdateStatus) => boolean): Promise<UpdateStatus> {
    return new Promise((resolve) => this.waiters.push({ device, test, resolve }));
  }

  /** The states a device reported, in order. */
  states(device: string): string[] {
    return (this.statuses.get(device) ?? []).map((status) => status.state);
  }
}

/** An UpdateServer on an MQTT broker for one tenant. */
export class MqttUpdateServer extends UpdateServer {
  /** Bytes of the payloads devices published on "update" (block requests and statuses). */
  uplinkBytes = 0;
  /** Payloads taken and not yet handled. */
  private handling = 0;

  private constructor(private readonly client: MqttClient, readonly tenant: string) {
    super((device, command) => client.publishAsync(buildTopic(tenant, device, "command"), Buffer.from(command), { qos: 1 }).then(() => undefined));
  }

  /** `options`: credentials and TLS, e.g. the tenant's operator identity (host/link/identity.ts);
   *  `stream`: each connection over the stream it opens instead of dialling `url`. */
  static async connect(url: string, tenant: string, options: IClientOptions = {}, stream?: () => Duplex): Promise<MqttUpdateServer> {
    const client = await connectClient(url, {
      protocolVersion: 4, clientId: `update-server.${tenant}.${process.pid}.${Date.now()}`, clean: true, reconnectPeriod: 250, ...options,
    }, stream);
    const server = new MqttUpdateServer(client, tenant);
    client.on("message", (topic, payload) => {
      server.uplinkBytes += payload.length;
      let device: string;
      try {
        device = parseTopic(topic).device;
      } catch {
        return;
      }
      // A send that fails (the broker gone) is the device's to ask again for.
      server.handling += 1;
      void server.receivePayload(device, new Uint8Array(payload)).catch(() => undefined).finally(() => (server.handling -= 1));
    });
    await client.subscribeAsync(topicFilter(tenant, "update"), { qos: 1 });
    return server;
  }

  /** Nothing under way: every payload taken handled, every command sent acknowledged. */
  get idle(): boolean {
    return this.handling === 0 && Object.keys(this.client.outgoing).length === 0 && this.client.queue.length === 0;
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
