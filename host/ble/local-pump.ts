// A pump run by this host: the release firmware in a Device with its storage and outbox, known
// by what commissioning set (host/ble/commissioning.ts) and reporting to the commissioned broker.
// It takes commands from a local link (BLE, host/ble/ble-peripheral.ts): "commission" it answers
// itself, restarting the device under its new identity; every other command goes to the device,
// whose replies come back to the caller instead of the uplink.

import { decodeEvent, decodeFirmwareConfig, encodeFirmwareConfig, type FirmwareConfig } from "../../protocol/messages.js";
import type { PumpState } from "../../protocol/ble.js";
import { ProtocolError } from "../../protocol/errors.js";
import {
  authorize, checkCommission, commissioned, commissionCommand, commissionId, decodeCommissioning, encodeCommissioning,
  encodeCommissionReply, HOST_STORAGE_COMMISSIONING, STATUS_BAD_ARGUMENT, STATUS_BAD_CONFIG, STATUS_OK, STATUS_STORAGE,
  type Commissioning, type CommissionRequest,
} from "./commissioning.js";
import { Device, type LogSink } from "../device/device.js";
import type { CompiledFirmware } from "../runtime/firmware.js";
import { MemoryOutbox } from "../outbox/outbox.js";
import type { Isolation } from "../runtime/runtime.js";
import type { DeviceStorage } from "../storage/storage.js";

export interface LocalPumpOptions {
  /** The configuration the pump runs with; commissioning replaces its device id and adds the
   *  owner. */
  config: FirmwareConfig;
  /** The tenant until commissioning names another. */
  tenant: string;
  /** The broker until commissioning names another; none: messages wait in the outbox. */
  broker?: string;
  firmware: CompiledFirmware;
  storage: DeviceStorage;
  /** A durable outbox in this directory; in memory without. */
  outboxDirectory?: string;
  clock?: () => number;
  isolation?: Isolation;
  log?: LogSink;
  /** Told when a commissioning took effect. */
  onCommissioned?: (record: Commissioning) => void;
}

export class LocalPump {
  /** Replaced when commissioning changes the identity. */
  device!: Device;
  private boot = 0;
  /** Kept across restarts when the outbox is in memory. */
  private readonly memoryOutbox = new MemoryOutbox();
  /** The last command taken: the next one waits for it. */
  private settled: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly options: LocalPumpOptions, private record: Commissioning) {}

  /** Reads the commissioning record (the options stand in for what it does not say), boots the
   *  device and, when there is a broker, starts connecting to it. */
  static async start(options: LocalPumpOptions): Promise<LocalPump> {
    const record = storedRecord(options);
    const pump = new LocalPump(options, record);
    pump.device = await pump.bootDevice(record);
    pump.connect();
    return pump;
  }

  get id(): string {
    return this.record.device;
  }

  get commissioning(): Commissioning {
    return this.record;
  }

  /** An owner's data policy is in force: known to this host, or reported by the firmware. */
  get owned(): boolean {
    return this.record.owner !== undefined || this.device.policy !== undefined;
  }

  state(): PumpState {
    const { config } = this.device.options;
    return {
      device: config.device,
      fw: this.device.firmwareVersion,
      boot: this.boot,
      rate_hz: config.rate_hz,
      window: config.window,
      units: config.units ?? "g",
      outbox: this.device.outbox.size,
      published: this.device.counters.published,
      tenant: this.record.tenant,
      broker: this.record.broker ?? "",
      owned: this.owned,
    };
  }

  /** Runs one command from the local link, after the ones before it (a commissioning may be
   *  replacing the device); its replies go to `reply`. Resolves to its status. */
  handleCommand(bytes: Uint8Array, reply: (bytes: Uint8Array) => void): Promise<number> {
    const command = commissionCommand(bytes);
    const result = this.settled.then(() => (command === undefined ? this.device.handleCommand(bytes, reply) : this.commission(command, reply)));
    this.settled = result.catch(() => undefined);
    return result;
  }

  private async commission(command: Map<unknown, unknown>, reply: (bytes: Uint8Array) => void): Promise<number> {
    const id = commissionId(command);
    const answer = (status: number, why: string): number => {
      this.log(status === STATUS_OK ? 1 : 2, `commission ${id ?? "without a readable id"}: ${status === STATUS_OK ? "done" : `refused (${status})`}: ${why}`);
      if (id !== undefined) reply(encodeCommissionReply(id, status));
      return status;
    };
    let request: CommissionRequest;
    try {
      request = checkCommission(command);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return answer(STATUS_BAD_ARGUMENT, error.message);
    }
    const allowed = authorize(this.record, this.owned, request);
    if (allowed.status !== STATUS_OK) return answer(allowed.status, allowed.why);
    const next = commissioned(this.record, request);
    try {
      decodeFirmwareConfig(encodeFirmwareConfig(configFor(this.options.config, next)));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return answer(STATUS_BAD_CONFIG, error.message);
    }
    try {
      await this.apply(next);
    } catch (error) {
      return answer(STATUS_BAD_CONFIG, `the device did not start as commissioned, so it runs as before: ${(error as Error).message}`);
    }
    try {
      this.options.storage.write(HOST_STORAGE_COMMISSIONING, encodeCommissioning(next));
    } catch (error) {
      return answer(STATUS_STORAGE, `in force until the next restart, but not stored: ${(error as Error).message}`);
    }
    this.options.onCommissioned?.(next);
    return answer(STATUS_OK, describeCommissioning(next));
  }

  /** Puts `next` in force: a new identity or owner restarts the device, a new broker only its link. */
  private async apply(next: Commissioning): Promise<void> {
    const previous = this.record;
    const restart = next.device !== previous.device || next.tenant !== previous.tenant || next.owner !== previous.owner;
    if (!restart) {
      this.record = next;
      if (next.broker !== previous.broker) await this.relink();
      return;
    }
    await this.device.close();
    try {
      this.device = await this.bootDevice(next);
    } catch (error) {
      this.device = await this.bootDevice(previous);
      this.connect();
      throw error;
    }
    this.record = next;
    this.connect();
  }

  private async bootDevice(record: Commissioning): Promise<Device> {
    const { options } = this;
    return Device.boot({
      tenant: record.tenant,
      config: configFor(options.config, record),
      firmware: options.firmware,
      storage: options.storage,
      clock: options.clock ?? Date.now,
      outbox: options.outboxDirectory !== undefined ? { directory: options.outboxDirectory } : this.memoryOutbox,
      isolation: options.isolation,
      log: options.log,
      onMessage: (kind, bytes) => {
        if (kind !== "event") return;
        try {
          const event = decodeEvent(bytes);
          if (event.event === "boot") this.boot = event.boot;
        } catch {
          // Not an event the host reads; the collector judges it.
        }
      },
    });
  }

  /** Starts connecting to the broker, if there is one; the link keeps trying in the background. */
  private connect(): void {
    const url = this.record.broker;
    if (url === undefined || this.closed) return;
    this.device.connect(url).catch((error: unknown) => this.log(2, `${(error as Error).message}`));
  }

  private async relink(): Promise<void> {
    await this.device.link?.close();
    this.device.link = undefined;
    this.connect();
  }

  private log(level: number, text: string): void {
    this.options.log?.(this.id, level, text);
  }

  /** Waits for a commissioning under way, then closes the link and stops the firmware. */
  async close(): Promise<void> {
    this.closed = true;
    await this.settled;
    await this.device.close();
  }
}

/** The pump's configuration under `record`: its device id, and the owner at provisioning. */
function configFor(base: FirmwareConfig, record: Commissioning): FirmwareConfig {
  const config: FirmwareConfig = { ...base, device: record.device };
  if (record.owner !== undefined) config.owner = record.owner;
  return config;
}

function storedRecord(options: LocalPumpOptions): Commissioning {
  const fallback: Commissioning = { tenant: options.tenant, device: options.config.device, seq: 0 };
  if (options.broker !== undefined) fallback.broker = options.broker;
  if (options.config.owner !== undefined) fallback.owner = options.config.owner;
  const bytes = options.storage.read(HOST_STORAGE_COMMISSIONING);
  if (bytes === undefined) return fallback;
  try {
    return decodeCommissioning(bytes);
  } catch (error) {
    options.log?.(options.config.device, 3, `the commissioning record cannot be read, so the pump starts as configured: ${(error as Error).message}`);
    return fallback;
  }
}

/** One line for the log: what the pump now is. */
export function describeCommissioning(record: Commissioning): string {
  return `tenant ${record.tenant}, device ${record.device}, broker ${record.broker ?? "none"}, ${record.owner !== undefined ? "owner's policy set" : "no owner"}`;
}
