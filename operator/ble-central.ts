// The technician's side of the BLE link, through node-ble (BlueZ over the system D-Bus, which
// honours DBUS_SYSTEM_BUS_ADDRESS): find pumps advertising the impeller service, connect,
// read their state, send a command in chunks that fit the ATT MTU and await its reply,
// reassembled from notifications (protocol/ble.ts). Every failure a user can meet (no bus,
// no BlueZ, no such pump, no reply) is a BleError with a code.

import type { EventEmitter } from "node:events";
import nodeBle from "node-ble";
import {
  ATT_MTU_MIN, BLE_MESSAGE_BYTES_MAX, BLE_NAME_PREFIX, chunkMessage, COMMAND_CHAR_UUID, deadline, decodeBleReply, decodePumpState,
  BleError, IMPELLER_SERVICE_UUID, Reassembler, REPLY_CHAR_UUID, STATE_CHAR_UUID, type BleReply, type PumpState,
} from "../protocol/ble.js";
import { ProtocolError } from "../protocol/errors.js";
import { encodeCommand, type Reply } from "../protocol/messages.js";

export const OPEN_TIMEOUT_MS = 5000;
export const CONNECT_TIMEOUT_MS = 10_000;
export const SCAN_TIMEOUT_MS_DEFAULT = 5000;
export const REPLY_TIMEOUT_MS_DEFAULT = 5000;
/** Received messages kept for a reader that has not asked yet; older ones are dropped. */
const RECEIVED_MAX = 16;

export interface ScanResult {
  address: string;
  name: string;
  rssi: number | undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}


function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class BleCentral {
  private constructor(
    private readonly adapter: nodeBle.Adapter,
    private readonly destroy: () => void,
    private readonly bus: EventEmitter,
  ) {}

  /** Opens the system bus and BlueZ's first adapter. */
  static async open(timeoutMs = OPEN_TIMEOUT_MS): Promise<BleCentral> {
    const { bluetooth, destroy } = nodeBle.createBluetooth();
    // node-ble keeps the dbus-next bus as `dbus` and attaches no error listener: without one, a
    // missing or vanishing bus is an uncaught 'error' event that ends the process.
    const bus = (bluetooth as unknown as { dbus: EventEmitter }).dbus;
    const address = process.env.DBUS_SYSTEM_BUS_ADDRESS ?? "unix:path=/var/run/dbus/system_bus_socket";
    let failBus: (error: BleError) => void = () => {};
    const busFailed = new Promise<never>((_, reject) => { failBus = reject; });
    bus.on("error", (error: unknown) => failBus(new BleError("no_bus", `cannot use the system D-Bus at ${address}: ${reason(error)}`, { cause: error })));
    try {
      const adapter = await deadline(Promise.race([bluetooth.defaultAdapter(), busFailed]), timeoutMs,
        () => new BleError("no_bus", `the system D-Bus at ${address} did not answer within ${timeoutMs} ms`));
      return new BleCentral(adapter, destroy, bus);
    } catch (error) {
      destroy();
      if (error instanceof BleError) throw error;
      const text = reason(error);
      if (/ServiceUnknown|was not provided|NameHasNoOwner|interface not found/.test(`${text} ${(error as { type?: string }).type ?? ""}`)) {
        throw new BleError("no_bluez", `BlueZ (org.bluez) is not running on the system D-Bus at ${address}: start bluetoothd`, { cause: error });
      }
      if (text === "No available adapters found") {
        throw new BleError("no_adapter", "BlueZ has no Bluetooth adapter: plug one in or power it on", { cause: error });
      }
      throw new BleError("no_bluez", `BlueZ did not answer as expected: ${text}`, { cause: error });
    }
  }

  /** Discovers for `timeoutMs` and lists the pumps seen, strongest signal first. A pump is
   *  a device with impeller service data or a name starting "impeller-". */
  async scan(timeoutMs = SCAN_TIMEOUT_MS_DEFAULT): Promise<ScanResult[]> {
    const started = await this.startDiscovery();
    try {
      await sleep(timeoutMs);
      const found: ScanResult[] = [];
      for (const address of await this.adapter.devices()) {
        const device = await this.adapter.getDevice(address);
        // Devices BlueZ remembers may lack a name, an RSSI or service data: each is optional.
        const name = await device.getName().catch(() => "");
        const rssi = await device.getRSSI().then(Number).catch(() => undefined);
        const serviceData = await device.getServiceData().catch(() => ({}));
        if (IMPELLER_SERVICE_UUID in serviceData || name.startsWith(BLE_NAME_PREFIX)) found.push({ address, name, rssi });
      }
      return found.sort((a, b) => (b.rssi ?? -999) - (a.rssi ?? -999) || a.address.localeCompare(b.address));
    } finally {
      if (started) await this.adapter.stopDiscovery().catch(() => {});
    }
  }

  private async startDiscovery(): Promise<boolean> {
    if (await this.adapter.isDiscovering()) return false;
    await this.adapter.startDiscovery();
    return true;
  }

  /** Connects to the pump at `address` (discovering it first if BlueZ has not seen it). */
  async connect(address: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<PumpLink> {
    const device = await this.find(address, timeoutMs);
    try {
      await deadline(device.connect(), timeoutMs, () => new BleError("connect_failed", `${address} did not accept a connection within ${timeoutMs} ms`));
    } catch (error) {
      if (error instanceof BleError) throw error;
      throw new BleError("connect_failed", `cannot connect to ${address}: ${reason(error)}; is it in range and not connected elsewhere?`, { cause: error });
    }
    try {
      const gatt = await deadline(device.gatt(), timeoutMs, () => new BleError("connect_failed", `${address} did not resolve its GATT services within ${timeoutMs} ms`));
      const service = await gatt.getPrimaryService(IMPELLER_SERVICE_UUID).catch((error: unknown) => {
        throw new BleError("not_impeller", `${address} has no impeller service (${IMPELLER_SERVICE_UUID}): it is not a pump`, { cause: error });
      });
      const [state, command, reply] = await Promise.all([STATE_CHAR_UUID, COMMAND_CHAR_UUID, REPLY_CHAR_UUID].map((uuid) =>
        service.getCharacteristic(uuid).catch((error: unknown) => {
          throw new BleError("not_impeller", `${address} lacks characteristic ${uuid}: its firmware speaks another BLE protocol`, { cause: error });
        })));
      const link = new PumpLink(address, device, state, command, reply, await mtuOf(command));
      await link.start();
      return link;
    } catch (error) {
      await device.disconnect().catch(() => {});
      throw error;
    }
  }

  private async find(address: string, timeoutMs: number): Promise<nodeBle.Device> {
    const known = await this.adapter.getDevice(address).catch(() => undefined);
    if (known !== undefined) return known;
    const started = await this.startDiscovery();
    try {
      return await this.adapter.waitDevice(address, timeoutMs, 100);
    } catch (error) {
      throw new BleError("not_found", `no device ${address} was seen within ${timeoutMs} ms: is it powered and in range?`, { cause: error });
    } finally {
      if (started) await this.adapter.stopDiscovery().catch(() => {});
    }
  }

  close(): void {
    this.bus.removeAllListeners("error");
    this.bus.on("error", () => {}); // a late socket error after close must not end the process
    this.destroy();
  }
}

// BlueZ (5.62+) shows the negotiated ATT MTU as GattCharacteristic1.MTU; node-ble has no getter
// for it, so this reads it through node-ble's property helper. An older BlueZ has no such
// property: then the ATT minimum, which every link supports.
async function mtuOf(characteristic: nodeBle.GattCharacteristic): Promise<number> {
  const helper = (characteristic as unknown as { helper?: { prop(name: string): Promise<unknown> } }).helper;
  const mtu = await helper?.prop("MTU").catch(() => undefined);
  return typeof mtu === "number" && Number.isInteger(mtu) && mtu >= ATT_MTU_MIN ? mtu : ATT_MTU_MIN;
}

type Waiter = { resolve: (reply: BleReply) => void; reject: (error: BleError) => void };

/** One connection to a pump. Replies arrive in order; one command is in flight at a time. */
export class PumpLink {
  private readonly reassembler = new Reassembler({ maxBytes: BLE_MESSAGE_BYTES_MAX });
  private readonly received: (BleReply | BleError)[] = [];
  private waiter: Waiter | undefined;
  private counter = 0;
  private nextId = 1;
  private closed: BleError | undefined;
  private readonly onValue = (value: Buffer): void => this.receive(new Uint8Array(value));
  private readonly onDisconnect = (): void => this.fail(new BleError("disconnected", `${this.address} disconnected`));

  constructor(
    readonly address: string,
    private readonly device: nodeBle.Device,
    private readonly stateCharacteristic: nodeBle.GattCharacteristic,
    private readonly commandCharacteristic: nodeBle.GattCharacteristic,
    private readonly replyCharacteristic: nodeBle.GattCharacteristic,
    /** The ATT MTU of this connection; each write and notification carries MTU − 3 bytes. */
    readonly mtu: number,
  ) {}

  async start(): Promise<void> {
    this.replyCharacteristic.on("valuechanged", this.onValue);
    this.device.on("disconnect", this.onDisconnect);
    await this.replyCharacteristic.startNotifications();
  }

  async readState(): Promise<PumpState> {
    this.checkOpen();
    const bytes = await this.stateCharacteristic.readValue();
    try {
      return decodePumpState(new Uint8Array(bytes));
    } catch (error) {
      throw new BleError("bad_reply", `${this.address} sent a state that is not an impeller state map: ${reason(error)}`, { cause: error });
    }
  }

  /** Sends a command and resolves with the pump's reply to it (ok or not); `seq` is the command
   *  counter an owned pump asks for. A link error from the pump rejects with code "link_error";
   *  no reply in time with "reply_timeout". */
  async command(command: { cmd: string; args?: unknown; id?: number; seq?: number }, timeoutMs = REPLY_TIMEOUT_MS_DEFAULT): Promise<Reply> {
    const id = command.id ?? this.nextId++;
    const bytes = encodeCommand({ id, seq: command.seq, cmd: command.cmd, args: command.args });
    this.received.length = 0; // whatever is queued answered an earlier command
    await this.send(bytes);
    const until = Date.now() + timeoutMs;
    for (;;) {
      const left = until - Date.now();
      const next = await this.nextReply(Math.max(left, 0)).catch((error: unknown) => {
        if (error instanceof BleError && error.code === "reply_timeout") {
          throw new BleError("reply_timeout", `no reply to command ${id} (${command.cmd}) from ${this.address} within ${timeoutMs} ms`);
        }
        throw error;
      });
      if (next.kind === "link_error") {
        throw new BleError("link_error", `${this.address} refused the message: ${next.error.error}: ${next.error.msg}`, { peerCode: next.error.error });
      }
      if (next.reply.id === id) return next.reply;
    }
  }

  /** Writes one message in chunks that fit the MTU (ProtocolError "oversized" if it cannot). */
  async send(message: Uint8Array): Promise<void> {
    const counter = this.counter;
    this.counter = (this.counter + 1) & 0xff;
    await this.writeChunks(chunkMessage(message, this.mtu, counter));
  }

  /** Writes chunks as they are, each acknowledged by the pump before the next goes. */
  async writeChunks(chunks: readonly Uint8Array[]): Promise<void> {
    this.checkOpen();
    for (const chunk of chunks) await this.commandCharacteristic.writeValueWithResponse(Buffer.from(chunk));
  }

  /** The next reassembled notification: a firmware reply or a link error reply. */
  nextReply(timeoutMs = REPLY_TIMEOUT_MS_DEFAULT): Promise<BleReply> {
    const queued = this.received.shift();
    if (queued instanceof BleError) return Promise.reject(queued);
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed !== undefined) return Promise.reject(this.closed);
    return new Promise<BleReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new BleError("reply_timeout", `no notification from ${this.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (reply) => { clearTimeout(timer); resolve(reply); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      };
    });
  }

  private receive(chunk: Uint8Array): void {
    let item: BleReply | BleError;
    try {
      const message = this.reassembler.push(chunk);
      if (message === undefined) return;
      item = decodeBleReply(message);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      item = new BleError("bad_reply", `${this.address} sent a reply that cannot be read: ${error.code}: ${error.message}`, { cause: error });
    }
    this.deliver(item);
  }

  private deliver(item: BleReply | BleError): void {
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      if (item instanceof BleError) waiter.reject(item);
      else waiter.resolve(item);
      return;
    }
    if (this.received.length >= RECEIVED_MAX) this.received.shift();
    this.received.push(item);
  }

  private fail(error: BleError): void {
    this.closed ??= error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }

  private checkOpen(): void {
    if (this.closed !== undefined) throw this.closed;
  }

  async disconnect(): Promise<void> {
    if (this.closed === undefined) {
      await this.replyCharacteristic.stopNotifications().catch(() => {});
      this.replyCharacteristic.off("valuechanged", this.onValue);
      this.device.off("disconnect", this.onDisconnect);
      await this.device.disconnect().catch(() => {});
    }
    this.fail(new BleError("disconnected", `the link to ${this.address} was closed`));
  }
}
