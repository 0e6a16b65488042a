// One device's native side: boots the firmware with its configuration, feeds it samples,
// puts what it publishes into the outbox, and carries the outbox over an MQTT link.

import { encodeFirmwareConfig, MESSAGE_KINDS, type FirmwareConfig } from "../protocol/messages.js";
import { ABI_VERSION } from "./abi.js";
import { Firmware, FirmwareError, type CompiledFirmware } from "./firmware.js";
import { MqttLink, type MqttLinkOptions } from "./mqtt-link.js";
import { MemoryOutbox, type Outbox } from "./outbox.js";
import type { DeviceStorage } from "./storage.js";
import type { IClientOptions } from "mqtt";

/** handle_message's status for "reboot" (impeller_abi.h IMPELLER_STATUS_REBOOT_REQUESTED). */
export const STATUS_REBOOT_REQUESTED = 1;

/** Host-side storage record: the MQTT session counter (4 bytes, little endian). */
export const HOST_STORAGE_SESSION = 0x100;

export type LogSink = (device: string, level: number, text: string) => void;

export interface DeviceOptions {
  tenant: string;
  config: FirmwareConfig;
  firmware: CompiledFirmware;
  storage: DeviceStorage;
  /** Milliseconds: the device's clock (real or virtual). */
  clock: () => number;
  outbox?: Outbox;
  log?: LogSink;
}

export interface DeviceCounters {
  published: number;
  refused: number;
  processErrors: number;
  reboots: number;
}

export class Device {
  readonly counters: DeviceCounters = { published: 0, refused: 0, processErrors: 0, reboots: 0 };
  readonly outbox: Outbox;
  link: MqttLink | undefined;
  private firmware!: Firmware;

  private constructor(readonly options: DeviceOptions) {
    this.outbox = options.outbox ?? new MemoryOutbox();
  }

  get id(): string {
    return this.options.config.device;
  }

  /** Instantiates the firmware and initialises it with the device's configuration. */
  static async boot(options: DeviceOptions): Promise<Device> {
    const device = new Device(options);
    device.firmware = await device.instantiate();
    device.firmware.init(encodeFirmwareConfig(options.config));
    return device;
  }

  private accept(kind: number, bytes: Uint8Array): boolean {
    const topicKind = MESSAGE_KINDS.get(kind);
    if (topicKind === undefined) {
      this.options.log?.(this.id, 3, `firmware published unknown message kind ${kind}; refused`);
      return false;
    }
    const sequence = this.outbox.append(topicKind, bytes);
    if (sequence === undefined) {
      this.counters.refused += 1;
      return false;
    }
    this.counters.published += 1;
    this.link?.pump();
    return true;
  }

  /** Feeds samples taken from `timestampMs` on; returns the messages the firmware published. */
  feed(samples: Float32Array, timestampMs: number): number {
    try {
      return this.firmware.process(samples, timestampMs, this.options.config.rate_hz);
    } catch (error) {
      if (error instanceof FirmwareError && error.code === "status") {
        this.counters.processErrors += 1;
        return 0;
      }
      throw error;
    }
  }

  /** Hands a command to the firmware. A "reboot" (status 1) restarts it once its reply is out. */
  async handleCommand(bytes: Uint8Array): Promise<number> {
    const status = this.firmware.handleMessage(bytes);
    if (status === STATUS_REBOOT_REQUESTED) await this.reboot();
    return status;
  }

  /** Restarts the firmware: a new instance of the same module, the same storage and outbox. */
  async reboot(): Promise<void> {
    this.firmware = await this.instantiate();
    this.firmware.init(encodeFirmwareConfig(this.options.config));
    this.counters.reboots += 1;
  }

  private instantiate(): Promise<Firmware> {
    const { options } = this;
    const log = options.log ?? (() => {});
    return Firmware.instantiate(options.firmware, {
      clockMs: options.clock,
      log: (level, text) => log(options.config.device, level, text),
      publish: (kind, bytes) => this.accept(kind, bytes),
      storage: options.storage,
    });
  }

  tick(): void {
    this.firmware.tick(this.options.clock());
  }

  private nextSession(): number {
    const record = this.options.storage.read(HOST_STORAGE_SESSION);
    const session = record?.length === 4 ? new DataView(record.buffer, record.byteOffset).getUint32(0, true) + 1 : 1;
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, session, true);
    this.options.storage.write(HOST_STORAGE_SESSION, bytes);
    return session;
  }

  /** Opens the MQTT link: birth, then the outbox, then whatever the firmware publishes next. */
  async connect(url: string, client?: IClientOptions, extra: Partial<Pick<MqttLinkOptions, "backoff" | "random" | "inFlightMax">> = {}): Promise<MqttLink> {
    const link = new MqttLink({
      url,
      tenant: this.options.tenant,
      device: this.id,
      nextSession: () => this.nextSession(),
      firmwareVersion: this.firmware.version,
      abiVersion: ABI_VERSION,
      outbox: this.outbox,
      client,
      ...extra,
      onLog: (level, text) => this.options.log?.(this.id, level, text),
      onCommand: (payload) => {
        this.handleCommand(payload).catch((error: unknown) => {
          this.options.log?.(this.id, 3, `command could not be handled: ${(error as Error).message}`);
        });
      },
    });
    this.link = link;
    await link.connect();
    return link;
  }

  async close(): Promise<void> {
    await this.link?.close();
    this.link = undefined;
  }
}
