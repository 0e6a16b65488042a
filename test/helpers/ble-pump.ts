// The pump's side of the BLE link, for tests and benchmarks: a Device running the real
// release firmware, fronted by the fake BlueZ's impeller GATT service (protocol/ble.ts).
// A command written in chunks is reassembled and handed to the firmware; the reply it
// publishes is taken from the outbox and notified back in chunks. A broken chunk stream,
// an oversized or malformed message gets a link error reply instead; nothing here throws
// at the link.

import { Device } from "../../host/device.js";
import { FirmwareError } from "../../host/firmware.js";
import { statusName } from "../../host/status.js";
import { MemoryStorage } from "../../host/storage.js";
import {
  BLE_MESSAGE_BYTES_MAX, BLE_NAME_PREFIX, chunkMessage, COMMAND_CHAR_UUID, encodeLinkError, encodePumpState,
  IMPELLER_SERVICE_UUID, Reassembler, REASSEMBLY_TIMEOUT_MS, REPLY_CHAR_UUID, STATE_CHAR_UUID, type PumpState,
} from "../../protocol/ble.js";
import { decodeCbor } from "../../protocol/cbor.js";
import { ProtocolError } from "../../protocol/errors.js";
import { decodeEvent, type FirmwareConfig } from "../../protocol/messages.js";
import type { FakeBluez, FakeCharacteristic, FakeDevice } from "./fake-bluez.js";
import { releaseFirmware } from "./firmware.js";

/** Service data the pump advertises under the impeller service UUID: the BLE protocol version. */
export const BLE_PROTOCOL_VERSION = 1;

export interface BlePumpOptions {
  address: string;
  config: FirmwareConfig;
  mtu?: number;
  rssi?: number;
  reassemblyTimeoutMs?: number;
}

export class BlePump {
  /** Set to lose every reply (the notification never reaches the central). */
  dropReplies = false;
  /** Link error replies sent, as [code, message]. */
  readonly linkErrors: [string, string][] = [];
  readonly commands: number[] = [];
  private readonly reassembler: Reassembler;
  private replyCounter = 0;
  private expiryTimer: NodeJS.Timeout | undefined;
  private boot = 0;
  private fw = 0;
  private replyCharacteristic!: FakeCharacteristic;
  fake!: FakeDevice;

  private constructor(readonly device: Device, private readonly options: BlePumpOptions) {
    this.reassembler = new Reassembler({ maxBytes: BLE_MESSAGE_BYTES_MAX, timeoutMs: options.reassemblyTimeoutMs ?? REASSEMBLY_TIMEOUT_MS });
  }

  /** Boots a pump with the release firmware and makes it discoverable on the fake BlueZ. */
  static async start(bluez: FakeBluez, options: BlePumpOptions): Promise<BlePump> {
    const device = await Device.boot({
      tenant: "ble",
      config: options.config,
      firmware: await releaseFirmware(),
      storage: new MemoryStorage(),
      clock: Date.now,
    });
    const pump = new BlePump(device, options);
    const boot = device.outbox.pending().find((entry) => entry.kind === "event");
    if (boot !== undefined) {
      const event = decodeEvent(boot.body);
      if (event.event === "boot") {
        pump.boot = event.boot;
        pump.fw = event.fw;
      }
    }
    pump.fake = bluez.addDevice({
      address: options.address,
      name: `${BLE_NAME_PREFIX}${options.config.device}`,
      rssi: options.rssi ?? -60,
      mtu: options.mtu ?? 23,
      serviceData: { [IMPELLER_SERVICE_UUID]: new Uint8Array([BLE_PROTOCOL_VERSION]) },
      services: [{
        uuid: IMPELLER_SERVICE_UUID,
        characteristics: [
          { uuid: STATE_CHAR_UUID, flags: ["read"], read: () => encodePumpState(pump.state()) },
          // The ATT write response goes out before the pump acts on the value, as on a device.
          { uuid: COMMAND_CHAR_UUID, flags: ["write", "write-without-response"], write: (value) => setImmediate(() => pump.receive(value)) },
          { uuid: REPLY_CHAR_UUID, flags: ["notify"] },
        ],
      }],
    });
    pump.replyCharacteristic = pump.fake.characteristic(REPLY_CHAR_UUID);
    return pump;
  }

  get mtu(): number {
    return this.fake.spec.mtu;
  }

  state(): PumpState {
    const { config } = this.device.options;
    return {
      device: config.device,
      fw: this.fw,
      boot: this.boot,
      rate_hz: config.rate_hz,
      window: config.window,
      units: config.units ?? "g",
      outbox: this.device.outbox.size,
      published: this.device.counters.published,
    };
  }

  private receive(chunk: Uint8Array): void {
    let message: Uint8Array | undefined;
    try {
      message = this.reassembler.push(chunk);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.sendLinkError(error.code, error.message);
    }
    this.armExpiry();
    if (message !== undefined) void this.handle(message).catch((error: unknown) => this.sendLinkError("internal", (error as Error).message));
  }

  // A sender that stops half way gets told once the reassembly timeout has passed.
  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (!this.reassembler.pending) return;
    this.expiryTimer = setTimeout(() => {
      const error = this.reassembler.expire();
      if (error !== undefined) this.sendLinkError(error.code, error.message);
    }, this.reassembler.timeoutMs);
    this.expiryTimer.unref();
  }

  private async handle(message: Uint8Array): Promise<void> {
    try {
      decodeCbor(message, BLE_MESSAGE_BYTES_MAX);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.sendLinkError(error.code, error.message);
      return;
    }
    let status: number;
    try {
      status = await this.device.handleCommand(message);
    } catch (error) {
      if (!(error instanceof FirmwareError)) throw error;
      this.sendLinkError(`firmware_${error.code}`, error.message);
      return;
    }
    this.commands.push(status);
    const replies = this.device.outbox.pending().filter((entry) => entry.kind === "reply");
    if (replies.length === 0) {
      this.sendLinkError("bad_message",
        `the firmware answered ${status} (${statusName(status)}) without a reply: a command is {"id": uint, "cmd": text, ?"args": any}`);
      return;
    }
    for (const reply of replies) {
      if (!this.dropReplies) this.notify(reply.body);
      this.device.outbox.acknowledge(reply.sequence);
    }
  }

  private sendLinkError(code: string, message: string): void {
    this.linkErrors.push([code, message]);
    this.notify(encodeLinkError(code, message));
  }

  private notify(message: Uint8Array): void {
    const counter = this.replyCounter;
    this.replyCounter = (this.replyCounter + 1) & 0xff;
    for (const chunk of chunkMessage(message, this.mtu, counter)) this.replyCharacteristic.notify(chunk);
  }

  stop(): void {
    clearTimeout(this.expiryTimer);
  }
}
