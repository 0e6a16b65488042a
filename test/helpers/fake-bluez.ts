// A fake BlueZ: the org.bluez objects served with dbus-next on a private bus, both sides of it.
// The central's side is what node-ble talks to (AgentManager1, Adapter1, Device1, GattService1,
// GattCharacteristic1, the ObjectManager at "/"): the unmodified node-ble can scan, connect,
// read, write and get notifications with no radio. The peripheral's side is what a GATT
// application registers with (GattManager1 and LEAdvertisingManager1 on each adapter), as
// BlueZ does it: RegisterApplication reads the application's objects back with
// GetManagedObjects, RegisterAdvertisement its properties with GetAll. Between the adapters
// lies the air: an advertisement registered on one adapter is a Device1 that another adapter
// discovers, and that device's GATT objects are proxies of the application's: a central's
// WriteValue and ReadValue become the application's (with the options BlueZ passes: offset,
// type, mtu, device, link), the application's PropertiesChanged(Value) a notification.
// Devices that run none of this project's code (a headset) are added with addDevice.
// Implements the calls and properties node-ble 1.13 and host/ble/ble-peripheral.ts use, with
// BlueZ's errors for calls BlueZ refuses (src/gatt-database.c, src/advertising.c).

import dbus from "dbus-next";
import { ATT_HEADER_BYTES, ATT_MTU_MAX, ATT_MTU_MIN } from "../../protocol/ble.js";

const { Interface } = dbus.interface;
type DBusInterface = InstanceType<typeof Interface>;
type Variant = InstanceType<typeof dbus.Variant>;
type Properties = Record<string, Variant>;
type ManagedObjects = Record<string, Record<string, Properties>>;
const READ = "read" as const;
const { METHOD_CALL, SIGNAL } = (dbus as unknown as { MessageType: Record<"METHOD_CALL" | "SIGNAL", number> }).MessageType;

const GATT_SERVICE = "org.bluez.GattService1";
const GATT_CHARACTERISTIC = "org.bluez.GattCharacteristic1";
const ADVERTISEMENT = "org.bluez.LEAdvertisement1";
const PROPERTIES = "org.freedesktop.DBus.Properties";
const OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager";

/** Legacy advertising and scan response data: 31 bytes; an extended advertising controller's: 251. */
export const ADVERTISING_BYTES_LEGACY = 31;
export const ADVERTISING_BYTES_EXTENDED = 251;
/** The flags field BlueZ's kernel adds to a peripheral's advertising data. */
const FLAGS_BYTES = 3;
/** One attribute value (ATT caps it; a long read stops there). */
const ATTRIBUTE_BYTES_MAX = 512;
/** The Bluetooth base UUID: UUIDs of this form go on the air as 16 or 32 bits. */
const BASE_UUID = /^([0-9a-f]{8})-0000-1000-8000-00805f9b34fb$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function bluezError(name: string, text: string): Error {
  return new dbus.DBusError(`org.bluez.Error.${name}`, text);
}

/** The properties of an exported interface as D-Bus variants (for GetManagedObjects). */
function variantsOf(iface: DBusInterface): Properties {
  const options = (iface as unknown as { $properties: Record<string, { signature: string; disabled?: boolean }> }).$properties;
  const record = iface as unknown as Record<string, unknown>;
  const variants: Properties = {};
  for (const [name, { signature, disabled }] of Object.entries(options)) if (disabled !== true) variants[name] = new dbus.Variant(signature, record[name]);
  return variants;
}

/** The D-Bus interface name, which dbus-next keeps as `$name` but leaves out of its types. */
function nameOf(iface: DBusInterface): string {
  return (iface as unknown as { $name: string }).$name;
}

function changed(iface: DBusInterface, properties: Record<string, unknown>): void {
  Object.assign(iface, properties);
  Interface.emitPropertiesChanged(iface, properties, []);
}

function devicePath(adapterPath: string, address: string): string {
  return `${adapterPath}/dev_${address.replace(/:/g, "_").toUpperCase()}`;
}

/** Bytes a UUID takes on the air: 2 or 4 for the Bluetooth base UUID's short forms, else 16. */
function uuidBytes(uuid: string): number {
  const short = BASE_UUID.exec(uuid);
  if (short === null) return 16;
  return short[1].startsWith("0000") ? 2 : 4;
}

/** What BlueZ's advertisement parser keeps of an LEAdvertisement1's properties. */
interface AdvertisementData {
  type: "peripheral" | "broadcast";
  uuids: string[];
  serviceData: Record<string, Uint8Array>;
  name: string | undefined;
}

/** Reads the properties as BlueZ's parse_advertisement does; undefined where it fails. */
function parseAdvertisement(properties: Properties): AdvertisementData | undefined {
  const type = properties.Type?.value;
  if (type !== "peripheral" && type !== "broadcast") return undefined;
  const uuids = properties.ServiceUUIDs?.value ?? [];
  if (!Array.isArray(uuids) || !uuids.every((uuid) => typeof uuid === "string" && UUID.test(uuid.toLowerCase()))) return undefined;
  const serviceData: Record<string, Uint8Array> = {};
  const data = properties.ServiceData?.value ?? {};
  if (typeof data !== "object" || data === null) return undefined;
  for (const [uuid, value] of Object.entries(data as Record<string, Variant>)) {
    if (!UUID.test(uuid.toLowerCase()) || !(value?.value instanceof Uint8Array)) return undefined;
    serviceData[uuid.toLowerCase()] = new Uint8Array(value.value);
  }
  const name = properties.LocalName?.value;
  if (name !== undefined && typeof name !== "string") return undefined;
  return { type, uuids: (uuids as string[]).map((uuid) => uuid.toLowerCase()), serviceData, name: name === "" ? undefined : name };
}

/** The advertising data's length as BlueZ builds it (src/shared/ad.c), the name aside. */
function advertisingBytes(ad: AdvertisementData): number {
  let bytes = 0;
  for (const size of [2, 4, 16]) {
    const count = ad.uuids.filter((uuid) => uuidBytes(uuid) === size).length;
    if (count > 0) bytes += 2 + size * count;
  }
  for (const [uuid, data] of Object.entries(ad.serviceData)) bytes += 2 + uuidBytes(uuid) + data.length;
  return bytes;
}

// ATT error codes (Core Vol 3, Part F, 3.4.1.1) an application's D-Bus error turns into on the
// peripheral (gatt-database.c), and the D-Bus error the central's BlueZ makes of them (gatt-client.c).
const ATT_READ_NOT_PERMITTED = 0x02;
const ATT_WRITE_NOT_PERMITTED = 0x03;
const ATT_REQUEST_NOT_SUPPORTED = 0x06;
const ATT_INVALID_OFFSET = 0x07;
const ATT_AUTHORIZATION = 0x08;
const ATT_INVALID_VALUE_LENGTH = 0x0d;
const ATT_UNLIKELY = 0x0e;

function attErrorOf(error: unknown, writing: boolean): number {
  const type = (error as { type?: string }).type ?? "";
  const text = (error as { text?: string }).text ?? "";
  switch (type) {
    case "org.bluez.Error.Failed": {
      const code = Number.parseInt(text, 16);
      return /^0x[89][0-9a-f]$/i.test(text) ? code : ATT_UNLIKELY;
    }
    case "org.bluez.Error.NotPermitted": return writing ? ATT_WRITE_NOT_PERMITTED : ATT_READ_NOT_PERMITTED;
    case "org.bluez.Error.InvalidValueLength": return ATT_INVALID_VALUE_LENGTH;
    case "org.bluez.Error.InvalidOffset": return ATT_INVALID_OFFSET;
    case "org.bluez.Error.NotAuthorized": return ATT_AUTHORIZATION;
    case "org.bluez.Error.NotSupported": return ATT_REQUEST_NOT_SUPPORTED;
    default: return ATT_UNLIKELY;
  }
}

function centralError(att: number): Error {
  switch (att) {
    case ATT_READ_NOT_PERMITTED: return bluezError("NotPermitted", "Read not permitted");
    case ATT_WRITE_NOT_PERMITTED: return bluezError("NotPermitted", "Write not permitted");
    case ATT_INVALID_OFFSET: return bluezError("InvalidArguments", "Invalid offset");
    case ATT_INVALID_VALUE_LENGTH: return bluezError("InvalidArguments", "Invalid Length");
    case ATT_AUTHORIZATION: return bluezError("NotAuthorized", "Operation Not Authorized");
    case ATT_REQUEST_NOT_SUPPORTED: return bluezError("NotSupported", "Operation is not supported");
    default: return bluezError("Failed", `Operation failed with ATT error: 0x${att.toString(16).padStart(2, "0")}`);
  }
}

class AgentManager1 extends Interface {
  constructor() { super("org.bluez.AgentManager1"); }
  RegisterAgent(): void {}
  UnregisterAgent(): void {}
  RequestDefaultAgent(): void {}
}
AgentManager1.configureMembers({
  methods: {
    RegisterAgent: { inSignature: "os" },
    UnregisterAgent: { inSignature: "o" },
    RequestDefaultAgent: { inSignature: "o" },
  },
});

class ObjectManager extends Interface {
  constructor(private readonly objects: () => ManagedObjects) {
    super(OBJECT_MANAGER);
  }
  GetManagedObjects(): ManagedObjects { return this.objects(); }
  InterfacesAdded(path: string, interfaces: ManagedObjects[string]): [string, ManagedObjects[string]] {
    return [path, interfaces];
  }
  InterfacesRemoved(path: string, interfaces: string[]): [string, string[]] { return [path, interfaces]; }
}
ObjectManager.configureMembers({
  methods: { GetManagedObjects: { outSignature: "a{oa{sa{sv}}}" } },
  signals: { InterfacesAdded: { signature: "oa{sa{sv}}" }, InterfacesRemoved: { signature: "oas" } },
});

class Adapter1 extends Interface {
  AddressType = "public";
  Powered = true;
  Discovering = false;

  constructor(public Address: string, public Name: string, public Alias: string, private readonly adapter: FakeAdapter) {
    super("org.bluez.Adapter1");
  }
  SetDiscoveryFilter(): void {}
  StartDiscovery(): void {
    if (this.Discovering) throw bluezError("InProgress", "Operation already in progress");
    changed(this, { Discovering: true });
    this.adapter.discover();
  }
  StopDiscovery(): void {
    if (!this.Discovering) throw bluezError("Failed", "No discovery started");
    changed(this, { Discovering: false });
  }
}
Adapter1.configureMembers({
  properties: {
    Address: { signature: "s", access: READ }, AddressType: { signature: "s", access: READ },
    Name: { signature: "s", access: READ }, Alias: { signature: "s", access: READ },
    Powered: { signature: "b", access: READ }, Discovering: { signature: "b", access: READ },
  },
  methods: {
    SetDiscoveryFilter: { inSignature: "a{sv}" },
    StartDiscovery: {},
    StopDiscovery: {},
  },
});

class GattManager1 extends Interface {
  constructor(private readonly adapter: FakeAdapter) { super("org.bluez.GattManager1"); }
  RegisterApplication(path: string): Promise<void> {
    return this.adapter.registerApplication(this.adapter.bluez.caller, path);
  }
  UnregisterApplication(path: string): void {
    this.adapter.unregisterApplication(this.adapter.bluez.caller, path);
  }
}
GattManager1.configureMembers({
  methods: { RegisterApplication: { inSignature: "oa{sv}" }, UnregisterApplication: { inSignature: "o" } },
});

class LEAdvertisingManager1 extends Interface {
  ActiveInstances = 0;
  SupportedIncludes = ["tx-power", "appearance", "local-name"];
  SupportedCapabilities: Properties;

  constructor(private readonly adapter: FakeAdapter) {
    super("org.bluez.LEAdvertisingManager1");
    this.SupportedCapabilities = {
      MaxAdvLen: new dbus.Variant("y", adapter.maxAdvertisingBytes),
      MaxScnRspLen: new dbus.Variant("y", adapter.maxAdvertisingBytes),
    };
  }
  get SupportedInstances(): number {
    return this.adapter.advertisingInstances - this.ActiveInstances;
  }
  RegisterAdvertisement(path: string): Promise<void> {
    return this.adapter.registerAdvertisement(this.adapter.bluez.caller, path);
  }
  UnregisterAdvertisement(path: string): void {
    this.adapter.unregisterAdvertisement(this.adapter.bluez.caller, path);
  }
}
LEAdvertisingManager1.configureMembers({
  properties: {
    ActiveInstances: { signature: "y", access: READ }, SupportedInstances: { signature: "y", access: READ },
    SupportedIncludes: { signature: "as", access: READ }, SupportedCapabilities: { signature: "a{sv}", access: READ },
  },
  methods: { RegisterAdvertisement: { inSignature: "oa{sv}" }, UnregisterAdvertisement: { inSignature: "o" } },
});

class Device1 extends Interface {
  AddressType = "public";
  Paired = false;
  Connected = false;
  ServicesResolved = false;
  Adapter: string;

  constructor(
    private readonly remote: FakeRemote,
    public Address: string,
    public Name: string,
    public Alias: string,
    public RSSI: number,
    public UUIDs: string[],
    public ServiceData: Properties,
  ) {
    super("org.bluez.Device1");
    this.Adapter = remote.adapter.path;
  }
  Connect(): Promise<void> { return this.remote.connect(); }
  Disconnect(): Promise<void> { return this.remote.disconnect(); }
  Pair(): void { throw bluezError("NotSupported", "the fake BlueZ does not pair"); }
  CancelPair(): void { throw bluezError("DoesNotExist", "no pairing in progress"); }
}
Device1.configureMembers({
  properties: {
    Address: { signature: "s", access: READ }, AddressType: { signature: "s", access: READ },
    Name: { signature: "s", access: READ }, Alias: { signature: "s", access: READ },
    RSSI: { signature: "n", access: READ }, Paired: { signature: "b", access: READ },
    Connected: { signature: "b", access: READ }, ServicesResolved: { signature: "b", access: READ },
    UUIDs: { signature: "as", access: READ }, ServiceData: { signature: "a{sv}", access: READ },
    Adapter: { signature: "o", access: READ },
  },
  methods: { Connect: {}, Disconnect: {}, Pair: {}, CancelPair: {} },
});

class GattService1 extends Interface {
  Primary = true;
  constructor(public UUID: string, public Device: string) { super(GATT_SERVICE); }
}
GattService1.configureMembers({
  properties: {
    UUID: { signature: "s", access: READ }, Primary: { signature: "b", access: READ }, Device: { signature: "o", access: READ },
  },
});

/** A characteristic of a registered application, as its GetManagedObjects described it. */
interface ApplicationCharacteristic {
  path: string;
  uuid: string;
  flags: string[];
  /** Centrals that asked for its notifications. */
  subscribers: Set<RemoteCharacteristic>;
}

interface ApplicationService {
  path: string;
  uuid: string;
  primary: boolean;
  characteristics: ApplicationCharacteristic[];
}

/** A GATT application registered on an adapter: who owns it, where, and what it serves. */
class RegisteredApplication {
  constructor(readonly owner: string, readonly path: string, readonly services: ApplicationService[]) {}

  characteristic(path: string): ApplicationCharacteristic | undefined {
    for (const service of this.services) for (const characteristic of service.characteristics) if (characteristic.path === path) return characteristic;
    return undefined;
  }
}

interface RegisteredAdvertisement {
  owner: string;
  path: string;
  data: AdvertisementData;
}

/** One characteristic of a connected remote device, as the central sees it: its reads and writes
 *  go to the application behind it, its value changes with the application's notifications. */
export class RemoteCharacteristic extends Interface {
  UUID: string;
  Service: string;
  Flags: string[];
  Notifying = false;
  Value: Buffer = Buffer.alloc(0);
  MTU: number;
  /** Values the central wrote and the application accepted. */
  writes = 0;
  /** Notifications cut to MTU − 3 bytes, as BlueZ's server cuts a longer value. */
  truncated = 0;

  constructor(
    private readonly remote: FakeRemote,
    readonly application: RegisteredApplication,
    readonly source: ApplicationCharacteristic,
    servicePath: string,
  ) {
    super(GATT_CHARACTERISTIC);
    this.UUID = source.uuid;
    this.Service = servicePath;
    this.Flags = source.flags;
    this.MTU = remote.mtu;
  }

  private options(extra: Properties): Properties {
    return {
      ...extra,
      mtu: new dbus.Variant("q", this.MTU),
      device: new dbus.Variant("o", this.remote.centralPath),
      link: new dbus.Variant("s", "LE"),
    };
  }

  // A long read: one ATT read, then read blobs from where it stopped while each comes back full.
  async ReadValue(): Promise<Buffer> {
    this.remote.requireConnected();
    if (!this.Flags.includes("read")) throw centralError(ATT_READ_NOT_PERMITTED);
    const parts: Buffer[] = [];
    let offset = 0;
    for (;;) {
      let part: Buffer;
      try {
        const [value] = await this.remote.bluez.callApplication(this.application.owner, this.source.path, GATT_CHARACTERISTIC, "ReadValue", "a{sv}",
          [this.options({ offset: new dbus.Variant("q", offset) })]);
        part = Buffer.from(value as Uint8Array).subarray(0, this.MTU - 1);
      } catch (error) {
        throw centralError(attErrorOf(error, false));
      }
      parts.push(part);
      offset += part.length;
      if (part.length < this.MTU - 1 || offset >= ATTRIBUTE_BYTES_MAX) break;
    }
    const value = Buffer.concat(parts).subarray(0, ATTRIBUTE_BYTES_MAX);
    this.Value = value;
    return value;
  }

  // An ATT write carries at most MTU − 3 bytes. BlueZ would turn a longer "request" write into
  // a long (prepared) write; this fake refuses it, so the transport is held to single writes,
  // which every phone stack and MCU supports.
  async WriteValue(value: Buffer, options: Properties): Promise<void> {
    this.remote.requireConnected();
    const type = (options.type?.value as string | undefined) ?? (this.Flags.includes("write") ? "request" : "command");
    const flag = type === "command" ? "write-without-response" : "write";
    if (!this.Flags.includes(flag)) throw centralError(ATT_WRITE_NOT_PERMITTED);
    if (value.length > this.MTU - ATT_HEADER_BYTES) {
      throw bluezError("InvalidValueLength", `value of ${value.length} bytes exceeds ATT MTU ${this.MTU} − ${ATT_HEADER_BYTES}`);
    }
    const write = this.remote.bluez.callApplication(this.application.owner, this.source.path, GATT_CHARACTERISTIC, "WriteValue", "aya{sv}",
      [Buffer.from(value), this.options({ offset: new dbus.Variant("q", 0), type: new dbus.Variant("s", type) })]);
    if (type === "command") {
      write.catch(() => {}); // no response: the central never hears of it
      this.writes += 1;
      return;
    }
    try {
      await write;
    } catch (error) {
      throw centralError(attErrorOf(error, true));
    }
    this.writes += 1;
  }

  async StartNotify(): Promise<void> {
    this.remote.requireConnected();
    if (!this.Flags.includes("notify") && !this.Flags.includes("indicate")) throw bluezError("NotSupported", "Notify not supported");
    if (this.Notifying) return;
    changed(this, { Notifying: true });
    await this.remote.bluez.subscribe(this.application, this.source, this);
  }

  async StopNotify(): Promise<void> {
    if (!this.Notifying) return;
    changed(this, { Notifying: false });
    await this.remote.bluez.unsubscribe(this.application, this.source, this);
  }

  /** The application's new value reaches this central as a notification. */
  deliver(value: Uint8Array): void {
    if (!this.Notifying || !this.remote.connected || this.remote.dropNotifications) return;
    let sent = Buffer.from(value);
    if (sent.length > this.MTU - ATT_HEADER_BYTES) {
      this.truncated += 1;
      sent = sent.subarray(0, this.MTU - ATT_HEADER_BYTES);
    }
    changed(this, { Value: sent });
  }
}
RemoteCharacteristic.configureMembers({
  properties: {
    UUID: { signature: "s", access: READ }, Service: { signature: "o", access: READ },
    Flags: { signature: "as", access: READ }, Notifying: { signature: "b", access: READ },
    Value: { signature: "ay", access: READ }, MTU: { signature: "q", access: READ },
  },
  methods: {
    ReadValue: { inSignature: "a{sv}", outSignature: "ay" },
    WriteValue: { inSignature: "aya{sv}" },
    StartNotify: {},
    StopNotify: {},
  },
});

/** Something on the air: a device added by a test, or an adapter with a registered advertisement. */
interface Advertiser {
  address: string;
  name: string;
  rssi: number;
  uuids: string[];
  serviceData: Record<string, Uint8Array>;
  connectable: boolean;
  /** The adapter whose applications a connection reaches; none for a device added by a test. */
  peripheral: FakeAdapter | undefined;
  mtu: number;
}

export interface FakeDeviceSpec {
  /** e.g. "11:22:33:44:55:66" */
  address: string;
  name: string;
  rssi: number;
  mtu?: number;
  serviceData?: Record<string, Uint8Array>;
}

/** A device as one adapter sees it: its Device1 once discovered, its GATT objects while connected. */
export class FakeRemote {
  readonly path: string;
  /** Set to lose every notification on the air (the central hears none). */
  dropNotifications = false;
  connections = 0;
  readonly device1: Device1;
  private readonly gatt: { path: string; iface: DBusInterface; application: RegisteredApplication }[] = [];
  private exported = false;

  constructor(readonly adapter: FakeAdapter, readonly address: string, readonly bluez: FakeBluez) {
    this.path = devicePath(adapter.path, address);
    const advertiser = bluez.advertiser(address)!;
    this.device1 = new Device1(this, address, advertiser.name, advertiser.name, advertiser.rssi, advertiser.uuids, FakeRemote.serviceData(advertiser));
  }

  private static serviceData(advertiser: Advertiser): Properties {
    return Object.fromEntries(Object.entries(advertiser.serviceData).map(([uuid, bytes]) => [uuid, new dbus.Variant("ay", Buffer.from(bytes))]));
  }

  get connected(): boolean {
    return this.device1.Connected;
  }

  /** The ATT MTU the link settled on: the smaller of the two stacks' largest. */
  get mtu(): number {
    return Math.min(this.adapter.mtu, this.bluez.advertiser(this.address)?.mtu ?? ATT_MTU_MIN);
  }

  /** The central's Device1 path on the peripheral's adapter (the "device" option BlueZ passes). */
  get centralPath(): string {
    const peripheral = this.bluez.advertiser(this.address)?.peripheral;
    return devicePath(peripheral?.path ?? this.adapter.path, this.adapter.address);
  }

  /** The characteristic with `uuid`, while connected. */
  characteristic(uuid: string): RemoteCharacteristic {
    const found = this.gatt.find((entry) => entry.iface instanceof RemoteCharacteristic && entry.iface.UUID === uuid)?.iface;
    if (found === undefined) throw new Error(`${this.address} has no characteristic ${uuid} (is it connected?)`);
    return found as RemoteCharacteristic;
  }

  requireConnected(): void {
    if (!this.device1.Connected) throw bluezError("NotConnected", "Not Connected");
  }

  export(): void {
    if (this.exported) return;
    this.exported = true;
    this.bluez.exportObject(this.path, [this.device1]);
  }

  /** What is advertised now: name and data follow the advertisement (a changed LocalName). */
  refresh(advertiser: Advertiser): void {
    const now = { Name: advertiser.name, Alias: advertiser.name, RSSI: advertiser.rssi, UUIDs: advertiser.uuids, ServiceData: FakeRemote.serviceData(advertiser) };
    const before = { Name: this.device1.Name, Alias: this.device1.Alias, RSSI: this.device1.RSSI, UUIDs: this.device1.UUIDs, ServiceData: this.device1.ServiceData };
    const differs = (key: keyof typeof now): boolean => JSON.stringify(now[key]) !== JSON.stringify(before[key]);
    const update = Object.fromEntries((Object.keys(now) as (keyof typeof now)[]).filter(differs).map((key) => [key, now[key]]));
    if (Object.keys(update).length > 0) changed(this.device1, update);
  }

  // Like BlueZ: Connected first, then the GATT objects appear, then ServicesResolved.
  async connect(): Promise<void> {
    if (this.device1.Connected) return;
    const advertiser = this.bluez.advertiser(this.address);
    if (advertiser === undefined || !advertiser.connectable) throw bluezError("Failed", "le-connection-abort-by-local");
    changed(this.device1, { Connected: true });
    this.exportGatt();
    changed(this.device1, { ServicesResolved: true });
    this.connections += 1;
  }

  async disconnect(): Promise<void> {
    if (!this.device1.Connected) throw bluezError("NotConnected", "Not Connected");
    changed(this.device1, { ServicesResolved: false });
    await this.unexportGatt();
    changed(this.device1, { Connected: false });
  }

  /** The remote end drops the link (out of range, reset): BlueZ reports it as a disconnect. */
  dropLink(): Promise<void> {
    return this.device1.Connected ? this.disconnect() : Promise.resolve();
  }

  private exportGatt(): void {
    const peripheral = this.bluez.advertiser(this.address)?.peripheral;
    if (peripheral === undefined) return;
    let handle = 1;
    for (const application of peripheral.applications) {
      for (const service of application.services) {
        const servicePath = `${this.path}/service${(handle++).toString(16).padStart(4, "0")}`;
        const entries = [{ path: servicePath, iface: new GattService1(service.uuid, this.path) as DBusInterface, application }];
        for (const characteristic of service.characteristics) {
          const charPath = `${servicePath}/char${(handle++).toString(16).padStart(4, "0")}`;
          entries.push({ path: charPath, iface: new RemoteCharacteristic(this, application, characteristic, servicePath), application });
        }
        for (const entry of entries) this.bluez.exportObject(entry.path, [entry.iface]);
        this.gatt.push(...entries);
      }
    }
  }

  /** Takes the GATT objects of `application` (all when undefined) away, their subscriptions with them. */
  async unexportGatt(application?: RegisteredApplication): Promise<void> {
    const leaving = this.gatt.filter((entry) => application === undefined || entry.application === application);
    for (let i = this.gatt.length - 1; i >= 0; i--) if (leaving.includes(this.gatt[i])) this.gatt.splice(i, 1);
    for (const { iface } of leaving) {
      if (iface instanceof RemoteCharacteristic && iface.Notifying) {
        iface.Notifying = false;
        await this.bluez.unsubscribe(iface.application, iface.source, iface);
      }
    }
    for (const entry of [...leaving].reverse()) this.bluez.unexportObject(entry.path, [entry.iface]);
  }

  /** The advertiser went away: a device nobody is connected to goes (BlueZ drops a temporary
   *  device after its TemporaryTimeout; the fake has no clock to wait on). */
  forget(): boolean {
    if (this.device1.Connected || !this.exported) return false;
    this.exported = false;
    this.bluez.unexportObject(this.path, [this.device1]);
    return true;
  }
}

export interface FakeAdapterOptions {
  /** The largest ATT MTU this stack negotiates (BlueZ: 517). */
  mtu?: number;
  /** Advertising data this controller takes: 31 (legacy) or 251 (extended advertising). */
  maxAdvertisingBytes?: number;
  /** Advertisements it can hold at once. */
  advertisingInstances?: number;
  /** How strong its advertisements arrive at the other adapters, in dBm. */
  rssi?: number;
}

/** One adapter: a central's radio, a peripheral's, or both. */
export class FakeAdapter {
  readonly path: string;
  readonly mtu: number;
  readonly maxAdvertisingBytes: number;
  readonly advertisingInstances: number;
  readonly rssi: number;
  readonly applications: RegisteredApplication[] = [];
  readonly advertisements: RegisteredAdvertisement[] = [];
  /** Devices this adapter discovered, by address. */
  readonly remotes = new Map<string, FakeRemote>();
  readonly adapter1: Adapter1;
  readonly advertising: LEAdvertisingManager1;
  readonly gattManager: GattManager1;
  /** Registrations under way, so a second one of the same object is refused at once. */
  private readonly pending = new Set<string>();

  constructor(readonly bluez: FakeBluez, readonly name: string, readonly address: string, options: FakeAdapterOptions) {
    this.path = `/org/bluez/${name}`;
    this.mtu = options.mtu ?? ATT_MTU_MAX;
    if (this.mtu < ATT_MTU_MIN || this.mtu > ATT_MTU_MAX) throw new RangeError(`ATT MTU ${this.mtu} is not in ${ATT_MTU_MIN}..${ATT_MTU_MAX}`);
    this.maxAdvertisingBytes = options.maxAdvertisingBytes ?? ADVERTISING_BYTES_EXTENDED;
    this.advertisingInstances = options.advertisingInstances ?? 4;
    this.rssi = options.rssi ?? -60;
    this.adapter1 = new Adapter1(address, `fake-bluez-${name}`, `fake-bluez-${name}`, this);
    this.advertising = new LEAdvertisingManager1(this);
    this.gattManager = new GattManager1(this);
  }

  get discovering(): boolean {
    return this.adapter1.Discovering;
  }

  /** Finds whatever is on the air now, itself aside. */
  discover(): void {
    for (const advertiser of this.bluez.advertisers()) {
      if (advertiser.address === this.address) continue;
      let remote = this.remotes.get(advertiser.address);
      if (remote === undefined) {
        remote = new FakeRemote(this, advertiser.address, this.bluez);
        this.remotes.set(advertiser.address, remote);
      }
      remote.export();
      remote.refresh(advertiser);
    }
  }

  /** What this adapter advertises, when it does: the latest of its advertisements. */
  advertiser(): Advertiser | undefined {
    const latest = this.advertisements.at(-1);
    if (latest === undefined) return undefined;
    const { data } = latest;
    // Legacy data leaves the name to the scan response, which shortens a name that does not fit;
    // extended data (past 31 bytes) carries it in the advertisement itself.
    const legacy = advertisingBytes(data) <= ADVERTISING_BYTES_LEGACY - FLAGS_BYTES;
    const room = (legacy ? ADVERTISING_BYTES_LEGACY : this.maxAdvertisingBytes - FLAGS_BYTES - advertisingBytes(data)) - 2;
    const name = (data.name ?? "").slice(0, Math.max(room, 0));
    return {
      address: this.address, name, rssi: this.rssi, uuids: data.uuids, serviceData: data.serviceData,
      connectable: data.type === "peripheral", peripheral: this, mtu: this.mtu,
    };
  }

  async registerApplication(owner: string, path: string): Promise<void> {
    const key = `${owner} ${path}`;
    if (this.pending.has(key) || this.applications.some((app) => app.owner === owner && app.path === path)) throw bluezError("AlreadyExists", "Already Exists");
    this.pending.add(key);
    try {
      let objects: ManagedObjects;
      try {
        [objects] = await this.bluez.callApplication(owner, path, OBJECT_MANAGER, "GetManagedObjects", "", []) as [ManagedObjects];
      } catch (error) {
        throw bluezError("Failed", `Failed to read the application's objects: ${(error as Error).message}`);
      }
      const services = applicationServices(path, objects);
      if (services === undefined) throw bluezError("Failed", "No valid service object found");
      await this.bluez.watch(owner);
      this.applications.push(new RegisteredApplication(owner, path, services));
    } finally {
      this.pending.delete(key);
    }
  }

  unregisterApplication(owner: string, path: string): void {
    const index = this.applications.findIndex((app) => app.owner === owner && app.path === path);
    if (index < 0) throw bluezError("DoesNotExist", "Does Not Exist");
    this.removeApplication(this.applications[index]);
  }

  removeApplication(application: RegisteredApplication): void {
    const index = this.applications.indexOf(application);
    if (index < 0) return;
    this.applications.splice(index, 1);
    for (const remote of this.bluez.remotesOf(this.address)) void remote.unexportGatt(application);
  }

  async registerAdvertisement(owner: string, path: string): Promise<void> {
    const key = `${owner} ${path}`;
    if (this.pending.has(key) || this.advertisements.some((ad) => ad.owner === owner && ad.path === path)) throw bluezError("AlreadyExists", "Already Exists");
    if (this.advertisements.length + this.pending.size >= this.advertisingInstances) throw bluezError("NotPermitted", "Maximum advertisements reached");
    this.pending.add(key);
    try {
      const data = await this.readAdvertisement(owner, path);
      await this.bluez.watch(owner);
      this.advertisements.push({ owner, path, data });
      changed(this.advertising, { ActiveInstances: this.advertisements.length });
      this.bluez.airChanged();
    } finally {
      this.pending.delete(key);
    }
  }

  /** Reads an advertisement's properties and checks them as BlueZ does before it takes them. */
  async readAdvertisement(owner: string, path: string): Promise<AdvertisementData> {
    const failed = bluezError("Failed", "Failed to parse advertisement.");
    let properties: Properties;
    try {
      [properties] = await this.bluez.callApplication(owner, path, PROPERTIES, "GetAll", "s", [ADVERTISEMENT]) as [Properties];
    } catch {
      throw failed;
    }
    const data = parseAdvertisement(properties);
    if (data === undefined) throw failed;
    const bytes = advertisingBytes(data);
    const max = bytes > ADVERTISING_BYTES_LEGACY - FLAGS_BYTES ? this.maxAdvertisingBytes : ADVERTISING_BYTES_LEGACY;
    // Extended data carries the name too: BlueZ counts it with the rest.
    const name = bytes > ADVERTISING_BYTES_LEGACY - FLAGS_BYTES && data.name !== undefined ? 2 + Buffer.byteLength(data.name) : 0;
    if (bytes + name > max - FLAGS_BYTES) throw failed;
    return data;
  }

  unregisterAdvertisement(owner: string, path: string): void {
    const index = this.advertisements.findIndex((ad) => ad.owner === owner && ad.path === path);
    if (index < 0) throw bluezError("DoesNotExist", "Does Not Exist");
    this.removeAdvertisement(index);
  }

  removeAdvertisement(index: number): void {
    this.advertisements.splice(index, 1);
    changed(this.advertising, { ActiveInstances: this.advertisements.length });
    this.bluez.airChanged();
  }

  /** BlueZ re-reads an advertisement whose properties changed (a new LocalName). */
  async advertisementChanged(owner: string, path: string): Promise<void> {
    const registered = this.advertisements.find((ad) => ad.owner === owner && ad.path === path);
    if (registered === undefined) return;
    try {
      registered.data = await this.readAdvertisement(owner, path);
    } catch {
      return; // BlueZ keeps sending what it had
    }
    this.bluez.airChanged();
  }
}

/** The services of an application's object tree, or undefined when BlueZ would refuse it. */
function applicationServices(root: string, objects: ManagedObjects): ApplicationService[] | undefined {
  const services: ApplicationService[] = [];
  for (const [path, interfaces] of Object.entries(objects)) {
    const service = interfaces[GATT_SERVICE];
    if (service === undefined) continue;
    const uuid = service.UUID?.value;
    if (!path.startsWith(`${root}/`) || typeof uuid !== "string" || !UUID.test(uuid)) return undefined;
    services.push({ path, uuid, primary: service.Primary?.value !== false, characteristics: [] });
  }
  for (const [path, interfaces] of Object.entries(objects)) {
    const characteristic = interfaces[GATT_CHARACTERISTIC];
    if (characteristic === undefined) continue;
    const uuid = characteristic.UUID?.value;
    const flags = characteristic.Flags?.value;
    const service = services.find((candidate) => candidate.path === characteristic.Service?.value);
    if (service === undefined || typeof uuid !== "string" || !UUID.test(uuid) || !Array.isArray(flags) || flags.length === 0) return undefined;
    service.characteristics.push({ path, uuid, flags: flags as string[], subscribers: new Set() });
  }
  return services.length === 0 ? undefined : services.sort((a, b) => a.path.localeCompare(b.path));
}

/** The org.bluez service, its adapters and the air between them, on the bus at `address`. */
export class FakeBluez {
  readonly adapters: FakeAdapter[] = [];
  /** Devices that run none of this project's code, on the air for every adapter. */
  readonly devices: FakeDeviceSpec[] = [];
  /** The sender of the method call being handled (BlueZ identifies an application by it). */
  caller = "";
  private readonly bus: ReturnType<typeof dbus.sessionBus>;
  private readonly objectManager: ObjectManager;
  private readonly exported = new Map<string, DBusInterface[]>();
  /** Application owners whose signals and departure are watched. */
  private readonly watched = new Set<string>();

  private constructor(address: string) {
    this.bus = dbus.sessionBus({ busAddress: address });
    // Without a listener, a bus that goes away takes the whole process with it.
    this.bus.on("error", () => {});
    this.bus.on("message", (message) => {
      if (message.type === METHOD_CALL) this.caller = message.sender;
      else if (message.type === SIGNAL) this.signal(message);
    });
    this.objectManager = new ObjectManager(() => this.managedObjects());
  }

  /** Starts the fake with one adapter, `adapter` at `adapterAddress`: the central's. */
  static async start(busAddress: string, adapter = "hci0", adapterAddress = "00:1A:7D:DA:71:13", options: FakeAdapterOptions = {}): Promise<FakeBluez> {
    const bluez = new FakeBluez(busAddress);
    const reply = await bluez.bus.requestName("org.bluez", 0);
    if (reply !== 1) throw new Error(`the fake BlueZ could not own org.bluez (RequestName answered ${reply})`);
    bluez.bus.export("/", bluez.objectManager);
    bluez.bus.export("/org/bluez", new AgentManager1());
    bluez.addAdapter(adapter, adapterAddress, options);
    return bluez;
  }

  /** Another adapter: a pump's radio, say, with its own address. */
  addAdapter(name: string, address: string, options: FakeAdapterOptions = {}): FakeAdapter {
    if (this.adapters.some((adapter) => adapter.name === name || adapter.address === address)) throw new Error(`adapter ${name} or ${address} exists`);
    const adapter = new FakeAdapter(this, name, address, options);
    this.adapters.push(adapter);
    this.exportObject(adapter.path, [adapter.adapter1, adapter.gattManager, adapter.advertising]);
    return adapter;
  }

  adapter(name: string): FakeAdapter {
    const found = this.adapters.find((adapter) => adapter.name === name);
    if (found === undefined) throw new Error(`no adapter ${name}`);
    return found;
  }

  /** A device that discovery will find: connectable, with no GATT services. */
  addDevice(spec: FakeDeviceSpec): void {
    this.devices.push(spec);
    this.airChanged();
  }

  /** The device at `address` as `adapter` sees it, once discovered. */
  remote(address: string, adapter = this.adapters[0].name): FakeRemote {
    const found = this.adapter(adapter).remotes.get(address);
    if (found === undefined) throw new Error(`${adapter} has not discovered ${address}`);
    return found;
  }

  /** Every adapter's view of the device at `address`. */
  remotesOf(address: string): FakeRemote[] {
    return this.adapters.flatMap((adapter) => { const remote = adapter.remotes.get(address); return remote === undefined ? [] : [remote]; });
  }

  advertisers(): Advertiser[] {
    const fromAdapters = this.adapters.flatMap((adapter) => { const advertiser = adapter.advertiser(); return advertiser === undefined ? [] : [advertiser]; });
    const fromDevices = this.devices.map((spec): Advertiser => ({
      address: spec.address, name: spec.name, rssi: spec.rssi, uuids: Object.keys(spec.serviceData ?? {}), serviceData: spec.serviceData ?? {},
      connectable: true, peripheral: undefined, mtu: spec.mtu ?? ATT_MTU_MIN,
    }));
    return [...fromAdapters, ...fromDevices];
  }

  advertiser(address: string): Advertiser | undefined {
    return this.advertisers().find((advertiser) => advertiser.address === address);
  }

  /** Something started or stopped advertising: discovering adapters see it, departed devices go. */
  airChanged(): void {
    const present = new Set(this.advertisers().map((advertiser) => advertiser.address));
    for (const adapter of this.adapters) {
      for (const [address, remote] of adapter.remotes) if (!present.has(address) && remote.forget()) adapter.remotes.delete(address);
      if (adapter.discovering) adapter.discover();
    }
  }

  /** Calls a method on an application's object (its owner's connection); the reply's body. */
  async callApplication(owner: string, path: string, iface: string, member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    const message = new dbus.Message({ destination: owner, path, interface: iface, member, signature, body });
    const reply = await this.bus.call(message);
    return reply?.body ?? [];
  }

  /** Listens to an application owner's signals and to its leaving the bus. */
  async watch(owner: string): Promise<void> {
    if (this.watched.has(owner)) return;
    this.watched.add(owner);
    const rules = [
      `type='signal',sender='${owner}',interface='${PROPERTIES}',member='PropertiesChanged'`,
      `type='signal',sender='${owner}',interface='${OBJECT_MANAGER}',member='InterfacesRemoved'`,
      `type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${owner}'`,
    ];
    for (const rule of rules) {
      await this.bus.call(new dbus.Message({
        destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "AddMatch", signature: "s", body: [rule],
      }));
    }
  }

  private signal(message: InstanceType<typeof dbus.Message>): void {
    if (message.interface === "org.freedesktop.DBus" && message.member === "NameOwnerChanged") {
      const [name, , newOwner] = message.body as [string, string, string];
      if (newOwner === "" && this.watched.delete(name)) this.ownerLeft(name);
      return;
    }
    if (!this.watched.has(message.sender)) return;
    if (message.interface === OBJECT_MANAGER && message.member === "InterfacesRemoved") {
      // BlueZ unregisters an application whose object manager reports an object gone.
      for (const adapter of this.adapters) {
        for (const application of [...adapter.applications]) {
          if (application.owner === message.sender && message.path === application.path) adapter.removeApplication(application);
        }
      }
      return;
    }
    if (message.interface !== PROPERTIES || message.member !== "PropertiesChanged") return;
    const [iface, properties] = message.body as [string, Properties];
    if (iface === GATT_CHARACTERISTIC && properties.Value !== undefined) {
      for (const adapter of this.adapters) {
        for (const application of adapter.applications) {
          if (application.owner !== message.sender) continue;
          const source = application.characteristic(message.path);
          if (source === undefined || (!source.flags.includes("notify") && !source.flags.includes("indicate"))) continue;
          for (const subscriber of source.subscribers) subscriber.deliver(properties.Value.value as Uint8Array);
        }
      }
    } else if (iface === ADVERTISEMENT) {
      for (const adapter of this.adapters) void adapter.advertisementChanged(message.sender, message.path);
    }
  }

  /** An application's connection went away: BlueZ drops its services and advertisements. */
  private ownerLeft(owner: string): void {
    for (const adapter of this.adapters) {
      for (const application of adapter.applications.filter((app) => app.owner === owner)) adapter.removeApplication(application);
      for (let i = adapter.advertisements.length - 1; i >= 0; i--) if (adapter.advertisements[i].owner === owner) adapter.removeAdvertisement(i);
    }
  }

  /** A central subscribed: the application hears StartNotify when it is the first (BlueZ writes
   *  the CCC and does not wait for the application's answer). */
  async subscribe(application: RegisteredApplication, source: ApplicationCharacteristic, subscriber: RemoteCharacteristic): Promise<void> {
    const first = source.subscribers.size === 0;
    source.subscribers.add(subscriber);
    if (first) await this.callApplication(application.owner, source.path, GATT_CHARACTERISTIC, "StartNotify", "", []).catch(() => undefined);
  }

  async unsubscribe(application: RegisteredApplication, source: ApplicationCharacteristic, subscriber: RemoteCharacteristic): Promise<void> {
    if (!source.subscribers.delete(subscriber) || source.subscribers.size > 0) return;
    await this.callApplication(application.owner, source.path, GATT_CHARACTERISTIC, "StopNotify", "", []).catch(() => undefined);
  }

  exportObject(path: string, interfaces: DBusInterface[]): void {
    for (const iface of interfaces) this.bus.export(path, iface);
    this.exported.set(path, interfaces);
    this.objectManager.InterfacesAdded(path, Object.fromEntries(interfaces.map((iface) => [nameOf(iface), variantsOf(iface)])));
  }

  unexportObject(path: string, interfaces: DBusInterface[]): void {
    for (const iface of interfaces) this.bus.unexport(path, iface);
    this.exported.delete(path);
    this.objectManager.InterfacesRemoved(path, interfaces.map((iface) => nameOf(iface)));
  }

  private managedObjects(): ManagedObjects {
    const objects: ManagedObjects = {};
    for (const [path, interfaces] of this.exported) {
      objects[path] = Object.fromEntries(interfaces.map((iface) => [nameOf(iface), variantsOf(iface)]));
    }
    return objects;
  }

  /** bluetoothd stops: every registered advertisement is released, as BlueZ does on its way out. */
  async stop(): Promise<void> {
    for (const adapter of this.adapters) {
      for (const { owner, path } of adapter.advertisements) {
        this.bus.send(new dbus.Message({ destination: owner, path, interface: ADVERTISEMENT, member: "Release", flags: dbus.MessageFlag.NO_REPLY_EXPECTED }));
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
    this.bus.disconnect();
  }
}
