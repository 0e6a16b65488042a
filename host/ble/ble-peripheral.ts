// The pump's side of the BLE link: the impeller GATT service (protocol/ble.ts) and its LE
// advertisement, registered with BlueZ over the system D-Bus as BlueZ asks of an application:
// an object tree under an ObjectManager (org.bluez.GattManager1.RegisterApplication) and an
// org.bluez.LEAdvertisement1 object (org.bluez.LEAdvertisingManager1.RegisterAdvertisement).
// Commands written in chunks are put back together per connected central and handed to the
// pump (host/ble/local-pump.ts); its replies are notified back in chunks that fit the writer's ATT
// MTU. A broken chunk stream, an oversized or malformed message gets a link error reply
// instead; nothing a central sends throws out of here.

import dbus from "dbus-next";
import type { EventEmitter } from "node:events";
import {
  ATT_MTU_MAX, ATT_MTU_MIN, BleError, BLE_MESSAGE_BYTES_MAX, BLE_NAME_PREFIX, BLE_PROTOCOL_VERSION, chunkMessage, COMMAND_CHAR_UUID, deadline,
  encodeLinkError, encodePumpState, IMPELLER_SERVICE_UUID, Reassembler, REASSEMBLY_TIMEOUT_MS, REPLY_CHAR_UUID, STATE_CHAR_UUID,
  type PumpState,
} from "../../protocol/ble.js";
import { decodeCbor } from "../../protocol/cbor.js";
import { ProtocolError } from "../../protocol/errors.js";
import { FirmwareError } from "../runtime/firmware.js";
import { statusName } from "../runtime/status.js";

const { Interface } = dbus.interface;
type DBusInterface = InstanceType<typeof Interface>;
type Variant = InstanceType<typeof dbus.Variant>;
type Properties = Record<string, Variant>;
const READ = "read" as const;

const GATT_MANAGER = "org.bluez.GattManager1";
const ADVERTISING_MANAGER = "org.bluez.LEAdvertisingManager1";
/** Where this application's objects live on its own connection. */
export const APPLICATION_PATH = "/org/impeller/pump";
const SERVICE_PATH = `${APPLICATION_PATH}/service0`;
const ADVERTISEMENT_PATH = `${APPLICATION_PATH}/advertisement0`;

export const OPEN_TIMEOUT_MS = 5000;
/** BlueZ reads the whole object tree back while it registers it. */
export const REGISTER_TIMEOUT_MS = 10_000;
/** Centrals whose half-received messages are kept apart; the least recent goes beyond this. */
export const LINKS_MAX = 8;
/** Link errors remembered for whoever asks (the count goes on). */
const LINK_ERRORS_KEPT = 32;

/** Legacy advertising data is 31 bytes, 3 of them BlueZ's flags; a 128-bit UUID list takes
 *  2 + 16 bytes, 128-bit service data 2 + 16 + its data (Core Supplement, Part A, 1.1 and 1.11). */
const ADVERTISING_BYTES_LEGACY = 31;
const ADVERTISING_FLAGS_BYTES = 3;
const SERVICE_UUID_LIST_BYTES = 2 + 16;
const SERVICE_DATA_BYTES = 2 + 16 + 1;

/** What the peripheral fronts: a pump with a name, a state and a command handler. */
export interface PeripheralPump {
  /** The id in the advertised name (BLE_NAME_PREFIX + id); it may change (commissioning). */
  readonly id: string;
  state(): PumpState;
  /** Runs one reassembled command, handing each reply to `reply`; resolves to its status. */
  handleCommand(bytes: Uint8Array, reply: (bytes: Uint8Array) => void): Promise<number>;
}

export interface BlePeripheralOptions {
  /** The BlueZ adapter to serve on, e.g. "hci0"; the first that can serve and advertise when absent. */
  adapter?: string;
  reassemblyTimeoutMs?: number;
  openTimeoutMs?: number;
  log?: (level: number, text: string) => void;
}

export interface PeripheralCounters {
  /** Messages reassembled and handed to the pump. */
  commands: number;
  /** Link error replies sent. */
  linkErrors: number;
  /** Notifications sent (chunks). */
  notifications: number;
  /** Chunks not sent because no central had asked for notifications (BlueZ would drop them). */
  unheard: number;
}

/** One central's half of the link: its chunks, its MTU, its stall timer. */
interface Link {
  reassembler: Reassembler;
  mtu: number;
  expiry: NodeJS.Timeout | undefined;
}

function bluezError(name: string, text: string): Error {
  return new dbus.DBusError(`org.bluez.Error.${name}`, text);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}


function optionNumber(options: Properties | undefined, name: string): number | undefined {
  const value = options?.[name]?.value;
  return typeof value === "number" ? value : undefined;
}

class ObjectManager extends Interface {
  constructor(private readonly objects: () => Record<string, Record<string, Properties>>) {
    super("org.freedesktop.DBus.ObjectManager");
  }
  GetManagedObjects(): Record<string, Record<string, Properties>> {
    return this.objects();
  }
}
ObjectManager.configureMembers({ methods: { GetManagedObjects: { outSignature: "a{oa{sa{sv}}}" } } });

class GattService extends Interface {
  UUID = IMPELLER_SERVICE_UUID;
  Primary = true;
  constructor() { super("org.bluez.GattService1"); }
  properties(): Properties {
    return { UUID: new dbus.Variant("s", this.UUID), Primary: new dbus.Variant("b", this.Primary) };
  }
}
GattService.configureMembers({ properties: { UUID: { signature: "s", access: READ }, Primary: { signature: "b", access: READ } } });

interface CharacteristicBehaviour {
  read?: (offset: number) => Uint8Array;
  write?: (value: Uint8Array, options: Properties) => void;
  notify?: boolean;
}

/** One characteristic of the service; what it does is given by the peripheral. */
class Characteristic extends Interface {
  Service = SERVICE_PATH;
  Notifying = false;
  Value: Buffer = Buffer.alloc(0);

  constructor(public UUID: string, public Flags: string[], private readonly behaviour: CharacteristicBehaviour) {
    super("org.bluez.GattCharacteristic1");
  }
  properties(): Properties {
    return {
      UUID: new dbus.Variant("s", this.UUID), Service: new dbus.Variant("o", this.Service), Flags: new dbus.Variant("as", this.Flags),
      Notifying: new dbus.Variant("b", this.Notifying), Value: new dbus.Variant("ay", this.Value),
    };
  }
  ReadValue(options: Properties): Buffer {
    if (this.behaviour.read === undefined) throw bluezError("NotPermitted", "Read not permitted");
    return Buffer.from(this.behaviour.read(optionNumber(options, "offset") ?? 0));
  }
  WriteValue(value: Buffer, options: Properties): void {
    if (this.behaviour.write === undefined) throw bluezError("NotPermitted", "Write not permitted");
    // Chunks are single writes: a long (prepared) write, at an offset, is no part of the protocol.
    if ((optionNumber(options, "offset") ?? 0) !== 0) throw bluezError("InvalidOffset", "chunks are written whole, at offset 0");
    this.behaviour.write(new Uint8Array(value), options);
  }
  StartNotify(): void {
    if (this.behaviour.notify !== true) throw bluezError("NotSupported", "Notify not supported");
    if (this.Notifying) return;
    this.Notifying = true;
    Interface.emitPropertiesChanged(this, { Notifying: true }, []);
  }
  StopNotify(): void {
    if (!this.Notifying) return;
    this.Notifying = false;
    Interface.emitPropertiesChanged(this, { Notifying: false }, []);
  }
  /** A new value for the subscribed centrals: BlueZ sends PropertiesChanged(Value) as a notification. */
  notify(value: Uint8Array): void {
    this.Value = Buffer.from(value);
    Interface.emitPropertiesChanged(this, { Value: this.Value }, []);
  }
}
Characteristic.configureMembers({
  properties: {
    UUID: { signature: "s", access: READ }, Service: { signature: "o", access: READ }, Flags: { signature: "as", access: READ },
    Notifying: { signature: "b", access: READ }, Value: { signature: "ay", access: READ },
  },
  methods: {
    ReadValue: { inSignature: "a{sv}", outSignature: "ay" },
    WriteValue: { inSignature: "aya{sv}" },
    StartNotify: {},
    StopNotify: {},
  },
});

/** The advertisement: connectable, the impeller service with its protocol version, the pump's name. */
function advertisementClass(withServiceUuids: boolean) {
  class Advertisement extends Interface {
    Type = "peripheral";
    ServiceUUIDs = [IMPELLER_SERVICE_UUID];
    ServiceData: Properties = { [IMPELLER_SERVICE_UUID]: new dbus.Variant("ay", Buffer.from([BLE_PROTOCOL_VERSION])) };
    constructor(public LocalName: string, private readonly onRelease: () => void) {
      super("org.bluez.LEAdvertisement1");
    }
    Release(): void {
      this.onRelease();
    }
  }
  Advertisement.configureMembers({
    properties: {
      Type: { signature: "s", access: READ },
      ServiceUUIDs: { signature: "as", access: READ, disabled: !withServiceUuids },
      ServiceData: { signature: "a{sv}", access: READ },
      LocalName: { signature: "s", access: READ },
    },
    methods: { Release: { noReply: true } },
  });
  return Advertisement;
}
type Advertisement = InstanceType<ReturnType<typeof advertisementClass>>;

/** Whether the service UUID list fits beside the service data in `maxBytes` of advertising data.
 *  It is left out when not: the service data names the same UUID, and the name goes in the scan
 *  response (BlueZ puts LocalName there when the data is legacy). */
export function serviceUuidsFit(maxBytes: number): boolean {
  return SERVICE_UUID_LIST_BYTES + SERVICE_DATA_BYTES <= maxBytes - ADVERTISING_FLAGS_BYTES;
}

interface AdapterInfo {
  path: string;
  address: string;
  maxAdvertisingBytes: number;
}

export class BlePeripheral {
  readonly counters: PeripheralCounters = { commands: 0, linkErrors: 0, notifications: 0, unheard: 0 };
  /** The latest link errors sent, as [code, message], oldest first. */
  readonly linkErrors: [string, string][] = [];
  /** BlueZ took the advertisement back (Release): the pump is no longer discoverable. */
  released = false;
  private readonly links = new Map<string, Link>();
  private readonly state: Characteristic;
  private readonly command: Characteristic;
  private readonly reply: Characteristic;
  private readonly service = new GattService();
  private readonly root: ObjectManager;
  private readonly advertisement: Advertisement;
  private replyCounter = 0;
  private registered = { application: false, advertisement: false };
  private stopped = false;

  private constructor(
    private readonly bus: dbus.MessageBus,
    private readonly pump: PeripheralPump,
    readonly adapter: AdapterInfo,
    private readonly options: BlePeripheralOptions,
  ) {
    this.state = new Characteristic(STATE_CHAR_UUID, ["read"], { read: (offset) => this.readState(offset) });
    // The write's response goes out before the pump acts on the value, as on a device.
    this.command = new Characteristic(COMMAND_CHAR_UUID, ["write", "write-without-response"], {
      write: (value, writeOptions) => {
        const device = writeOptions.device?.value;
        const key = typeof device === "string" ? device : "";
        const mtu = Math.min(Math.max(optionNumber(writeOptions, "mtu") ?? ATT_MTU_MIN, ATT_MTU_MIN), ATT_MTU_MAX);
        setImmediate(() => this.receive(key, mtu, value));
      },
    });
    this.reply = new Characteristic(REPLY_CHAR_UUID, ["notify"], { notify: true });
    this.root = new ObjectManager(() => this.managedObjects());
    const Advertisement = advertisementClass(serviceUuidsFit(adapter.maxAdvertisingBytes));
    this.advertisement = new Advertisement(`${BLE_NAME_PREFIX}${pump.id}`, () => this.onRelease());
  }

  /** Opens the system bus (DBUS_SYSTEM_BUS_ADDRESS when set), finds the adapter and registers
   *  the service and the advertisement. Every failure is a BleError with a code. */
  static async start(pump: PeripheralPump, options: BlePeripheralOptions = {}): Promise<BlePeripheral> {
    const address = process.env.DBUS_SYSTEM_BUS_ADDRESS ?? "unix:path=/var/run/dbus/system_bus_socket";
    const bus = dbus.systemBus();
    let failBus: (error: BleError) => void = () => {};
    const busFailed = new Promise<never>((_, reject) => { failBus = reject; });
    busFailed.catch(() => {});
    // Without a listener, a bus that goes away takes the whole process with it.
    (bus as EventEmitter).on("error", (error: unknown) => failBus(new BleError("no_bus", `cannot use the system D-Bus at ${address}: ${reason(error)}`, { cause: error })));
    let peripheral: BlePeripheral | undefined;
    try {
      const adapter = await deadline(Promise.race([findAdapter(bus, address, options.adapter), busFailed]), options.openTimeoutMs ?? OPEN_TIMEOUT_MS,
        () => new BleError("no_bus", `the system D-Bus at ${address} did not answer within ${options.openTimeoutMs ?? OPEN_TIMEOUT_MS} ms`));
      peripheral = new BlePeripheral(bus, pump, adapter, options);
      await peripheral.register();
      return peripheral;
    } catch (error) {
      if (peripheral !== undefined) await peripheral.stop();
      else bus.disconnect();
      throw error;
    }
  }

  /** The name the pump advertises now. */
  get localName(): string {
    return this.advertisement.LocalName;
  }

  /** The advertisement carries the service UUID list (it fits the adapter's advertising data). */
  get advertisesServiceUuids(): boolean {
    return serviceUuidsFit(this.adapter.maxAdvertisingBytes);
  }

  private async register(): Promise<void> {
    for (const [path, iface] of this.objects()) this.bus.export(path, iface);
    this.bus.export(ADVERTISEMENT_PATH, this.advertisement);
    const adapter = await this.bus.getProxyObject("org.bluez", this.adapter.path);
    const call = async (manager: string, method: string, path: string, what: string): Promise<void> => {
      try {
        await deadline(adapter.getInterface(manager)[method](path, {}) as Promise<void>, REGISTER_TIMEOUT_MS,
          () => new BleError("register_failed", `BlueZ did not answer ${method} within ${REGISTER_TIMEOUT_MS} ms`));
      } catch (error) {
        if (error instanceof BleError) throw error;
        throw new BleError("register_failed", `BlueZ refused the pump's ${what} on ${this.adapter.path}: ${reason(error)}`, { cause: error });
      }
    };
    await call(GATT_MANAGER, "RegisterApplication", APPLICATION_PATH, "GATT service");
    this.registered.application = true;
    await call(ADVERTISING_MANAGER, "RegisterAdvertisement", ADVERTISEMENT_PATH, "advertisement");
    this.registered.advertisement = true;
  }

  /** The application's objects, root first; each exported on this connection. */
  private objects(): [string, DBusInterface][] {
    return [
      [APPLICATION_PATH, this.root],
      [SERVICE_PATH, this.service],
      [`${SERVICE_PATH}/char0`, this.state],
      [`${SERVICE_PATH}/char1`, this.command],
      [`${SERVICE_PATH}/char2`, this.reply],
    ];
  }

  private managedObjects(): Record<string, Record<string, Properties>> {
    const objects: Record<string, Record<string, Properties>> = {};
    for (const [path, iface] of this.objects()) {
      if (iface instanceof GattService) objects[path] = { "org.bluez.GattService1": iface.properties() };
      if (iface instanceof Characteristic) objects[path] = { "org.bluez.GattCharacteristic1": iface.properties() };
    }
    return objects;
  }

  private readState(offset: number): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = encodePumpState(this.pump.state());
    } catch (error) {
      this.log(3, `the state cannot be read: ${reason(error)}`);
      throw bluezError("Failed", "the pump state is unavailable");
    }
    if (offset > bytes.length) throw bluezError("InvalidOffset", `offset ${offset} is past the ${bytes.length}-byte state`);
    return bytes.subarray(offset);
  }

  /** Updates the advertised name when the pump's id changed (BlueZ re-reads a changed property). */
  private refreshName(): void {
    const name = `${BLE_NAME_PREFIX}${this.pump.id}`;
    if (name === this.advertisement.LocalName) return;
    this.advertisement.LocalName = name;
    Interface.emitPropertiesChanged(this.advertisement, { LocalName: name }, []);
  }

  private onRelease(): void {
    this.released = true;
    this.registered.advertisement = false;
    this.log(2, "BlueZ released the advertisement: the pump is no longer discoverable");
  }

  private link(key: string, mtu: number): Link {
    let link = this.links.get(key);
    if (link !== undefined) {
      this.links.delete(key); // re-inserted last: the map's order is least recent first
    } else {
      if (this.links.size >= LINKS_MAX) {
        const [oldest, gone] = this.links.entries().next().value as [string, Link];
        clearTimeout(gone.expiry);
        this.links.delete(oldest);
      }
      link = { reassembler: new Reassembler({ maxBytes: BLE_MESSAGE_BYTES_MAX, timeoutMs: this.options.reassemblyTimeoutMs ?? REASSEMBLY_TIMEOUT_MS }), mtu, expiry: undefined };
    }
    link.mtu = mtu;
    this.links.set(key, link);
    return link;
  }

  private receive(key: string, mtu: number, chunk: Uint8Array): void {
    if (this.stopped) return;
    const link = this.link(key, mtu);
    let message: Uint8Array | undefined;
    try {
      message = link.reassembler.push(chunk);
    } catch (error) {
      if (error instanceof ProtocolError) this.sendLinkError(link, error.code, error.message);
      else this.sendLinkError(link, "internal", `the chunk could not be read: ${reason(error)}`);
    }
    this.armExpiry(link);
    if (message !== undefined) this.handle(link, message).catch((error: unknown) => this.log(3, `a message could not be answered: ${reason(error)}`));
  }

  // A sender that stops half way is told once the reassembly timeout has passed. A timer may
  // fire before the wall clock the reassembler reads has reached the timeout (Node times it from
  // the event loop's cached time, which lags a busy loop), so an early firing is armed again for
  // what is left rather than taken as the end.
  private armExpiry(link: Link): void {
    clearTimeout(link.expiry);
    link.expiry = undefined;
    const left = link.reassembler.msToExpiry;
    if (left === undefined || this.stopped) return;
    link.expiry = setTimeout(() => {
      link.expiry = undefined;
      const error = link.reassembler.expire();
      if (error !== undefined) this.sendLinkError(link, error.code, error.message);
      else this.armExpiry(link);
    }, Math.max(left, 1));
    link.expiry.unref();
  }

  private async handle(link: Link, message: Uint8Array): Promise<void> {
    try {
      decodeCbor(message, BLE_MESSAGE_BYTES_MAX);
    } catch (error) {
      if (error instanceof ProtocolError) this.sendLinkError(link, error.code, error.message);
      else this.sendLinkError(link, "internal", reason(error));
      return;
    }
    this.counters.commands += 1;
    let replies = 0;
    try {
      const status = await this.pump.handleCommand(message, (reply) => {
        replies += 1;
        this.notify(link, reply);
      });
      if (replies === 0) {
        this.sendLinkError(link, "bad_message",
          `the pump answered ${status} (${statusName(status)}) without a reply: a command is {"id": uint, "cmd": text, ?"args": any}`);
      }
    } catch (error) {
      if (error instanceof FirmwareError) {
        this.sendLinkError(link, `firmware_${error.code}`, error.message);
      } else {
        this.log(3, `a command failed in the host: ${reason(error)}`);
        this.sendLinkError(link, "internal", `the pump could not run the command: ${reason(error)}`);
      }
    }
    this.refreshName();
  }

  private sendLinkError(link: Link, code: string, message: string): void {
    this.counters.linkErrors += 1;
    this.linkErrors.push([code, message]);
    if (this.linkErrors.length > LINK_ERRORS_KEPT) this.linkErrors.shift();
    this.log(1, `link error ${code}: ${message}`);
    this.notify(link, encodeLinkError(code, message));
  }

  /** Sends one message as notifications that fit the link's MTU, all in a row. */
  private notify(link: Link, message: Uint8Array): void {
    if (this.stopped) return;
    let chunks: Uint8Array[];
    try {
      chunks = chunkMessage(message, link.mtu, this.replyCounter);
    } catch (error) {
      // Only a reply larger than the link carries gets here; the central hears why.
      if (!(error instanceof ProtocolError)) throw error;
      this.log(2, `a reply of ${message.length} bytes was not sent: ${error.message}`);
      chunks = chunkMessage(encodeLinkError(error.code, error.message), link.mtu, this.replyCounter);
    }
    this.replyCounter = (this.replyCounter + 1) & 0xff;
    for (const chunk of chunks) {
      if (!this.reply.Notifying) {
        this.counters.unheard += 1;
        continue;
      }
      try {
        this.reply.notify(chunk);
      } catch (error) {
        this.log(3, `a notification could not be sent: ${reason(error)}`); // the bus went away under it
        return;
      }
      this.counters.notifications += 1;
    }
  }

  private log(level: number, text: string): void {
    this.options.log?.(level, text);
  }

  /** Withdraws the advertisement and the service from BlueZ and closes the bus. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const link of this.links.values()) clearTimeout(link.expiry);
    this.links.clear();
    try {
      const adapter = await this.bus.getProxyObject("org.bluez", this.adapter.path);
      if (this.registered.advertisement) await adapter.getInterface(ADVERTISING_MANAGER).UnregisterAdvertisement(ADVERTISEMENT_PATH);
      if (this.registered.application) await adapter.getInterface(GATT_MANAGER).UnregisterApplication(APPLICATION_PATH);
    } catch (error) {
      this.log(2, `BlueZ did not take the pump's service back cleanly: ${reason(error)}`);
    }
    this.registered = { application: false, advertisement: false };
    for (const [path, iface] of this.objects()) this.bus.unexport(path, iface);
    this.bus.unexport(ADVERTISEMENT_PATH, this.advertisement);
    this.bus.disconnect();
  }
}

/** The adapter to serve on: `name` when given, else the first with both managers. */
async function findAdapter(bus: dbus.MessageBus, address: string, name: string | undefined): Promise<AdapterInfo> {
  let objects: Record<string, Record<string, Properties>>;
  try {
    const root = await bus.getProxyObject("org.bluez", "/");
    objects = await root.getInterface("org.freedesktop.DBus.ObjectManager").GetManagedObjects() as Record<string, Record<string, Properties>>;
  } catch (error) {
    const text = `${reason(error)} ${(error as { type?: string }).type ?? ""}`;
    if (/ServiceUnknown|was not provided|NameHasNoOwner/.test(text)) {
      throw new BleError("no_bluez", `BlueZ (org.bluez) is not running on the system D-Bus at ${address}: start bluetoothd`, { cause: error });
    }
    throw new BleError("no_bluez", `BlueZ did not answer as expected: ${reason(error)}`, { cause: error });
  }
  const capable = Object.keys(objects).filter((path) => GATT_MANAGER in objects[path] && ADVERTISING_MANAGER in objects[path]).sort();
  const path = name === undefined ? capable[0] : capable.find((candidate) => candidate.split("/").pop() === name);
  if (path === undefined) {
    const known = capable.map((candidate) => candidate.split("/").pop()).join(", ");
    throw new BleError("no_adapter", name === undefined
      ? "BlueZ has no Bluetooth adapter that can serve GATT and advertise: plug one in or power it on"
      : `BlueZ has no adapter ${name} that can serve GATT and advertise${known === "" ? "" : ` (it has ${known})`}`);
  }
  const adapter = objects[path]["org.bluez.Adapter1"] ?? {};
  const capabilities = objects[path][ADVERTISING_MANAGER]?.SupportedCapabilities?.value as Properties | undefined;
  const maxAdvLen = capabilities?.MaxAdvLen?.value;
  return {
    path,
    address: typeof adapter.Address?.value === "string" ? adapter.Address.value : "?",
    // A BlueZ too old to say (before 5.57) is taken for a legacy controller: 31 bytes.
    maxAdvertisingBytes: typeof maxAdvLen === "number" ? maxAdvLen : ADVERTISING_BYTES_LEGACY,
  };
}
