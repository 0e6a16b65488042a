// A fake BlueZ: the org.bluez objects node-ble talks to (AgentManager1, Adapter1, Device1,
// GattService1, GattCharacteristic1, the ObjectManager at "/"), served with dbus-next on a
// private bus, so the unmodified node-ble can scan, connect, read, write and get
// notifications with no radio. The "remote" devices are whatever the test puts behind the
// characteristics (test/helpers/ble-pump.ts puts a pump running the real firmware there).
// Implements exactly the calls and properties node-ble 1.13 uses (see its src/*.js).

import dbus from "dbus-next";
import { ATT_HEADER_BYTES, ATT_MTU_MIN } from "../../protocol/ble.js";

const { Interface } = dbus.interface;
type DBusInterface = InstanceType<typeof Interface>;
const READ = "read" as const;

function bluezError(name: string, text: string): Error {
  return new dbus.DBusError(`org.bluez.Error.${name}`, text);
}

/** The properties of an exported interface as D-Bus variants (for GetManagedObjects). */
function variantsOf(iface: DBusInterface): Record<string, InstanceType<typeof dbus.Variant>> {
  const options = (iface as unknown as { $properties: Record<string, { signature: string }> }).$properties;
  const record = iface as unknown as Record<string, unknown>;
  const variants: Record<string, InstanceType<typeof dbus.Variant>> = {};
  for (const [name, { signature }] of Object.entries(options)) variants[name] = new dbus.Variant(signature, record[name]);
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
  constructor(private readonly objects: () => Record<string, Record<string, Record<string, unknown>>>) {
    super("org.freedesktop.DBus.ObjectManager");
  }
  GetManagedObjects(): Record<string, Record<string, Record<string, unknown>>> { return this.objects(); }
  InterfacesAdded(path: string, interfaces: Record<string, Record<string, unknown>>): [string, Record<string, Record<string, unknown>>] {
    return [path, interfaces];
  }
  InterfacesRemoved(path: string, interfaces: string[]): [string, string[]] { return [path, interfaces]; }
}
ObjectManager.configureMembers({
  methods: { GetManagedObjects: { outSignature: "a{oa{sa{sv}}}" } },
  signals: { InterfacesAdded: { signature: "oa{sa{sv}}" }, InterfacesRemoved: { signature: "oas" } },
});

class Adapter1 extends Interface {
  Address: string;
  AddressType = "public";
  Name = "fake-bluez";
  Alias = "fake-bluez";
  Powered = true;
  Discovering = false;

  constructor(address: string, private readonly bluez: FakeBluez) {
    super("org.bluez.Adapter1");
    this.Address = address;
  }
  SetDiscoveryFilter(): void {}
  StartDiscovery(): void {
    if (this.Discovering) throw bluezError("InProgress", "Operation already in progress");
    changed(this, { Discovering: true });
    this.bluez.discoverAll();
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

class Device1 extends Interface {
  Address: string;
  AddressType = "public";
  Name: string;
  Alias: string;
  RSSI: number;
  Paired = false;
  Connected = false;
  ServicesResolved = false;
  UUIDs: string[];
  ServiceData: Record<string, InstanceType<typeof dbus.Variant>>;
  Adapter: string;

  constructor(private readonly device: FakeDevice, adapterPath: string) {
    super("org.bluez.Device1");
    const { spec } = device;
    this.Address = spec.address;
    this.Name = spec.name;
    this.Alias = spec.name;
    this.RSSI = spec.rssi;
    this.UUIDs = spec.services.map((service) => service.uuid);
    this.ServiceData = Object.fromEntries(Object.entries(spec.serviceData ?? {}).map(([uuid, bytes]) => [uuid, new dbus.Variant("ay", Buffer.from(bytes))]));
    this.Adapter = adapterPath;
  }
  // Like BlueZ: Connected first, then the GATT objects appear, then ServicesResolved.
  Connect(): void {
    if (this.Connected) return;
    if (!this.device.inRange) throw bluezError("Failed", "le-connection-abort-by-local");
    changed(this, { Connected: true });
    this.device.exportGatt();
    changed(this, { ServicesResolved: true });
    this.device.connections += 1;
  }
  Disconnect(): void {
    if (!this.Connected) throw bluezError("NotConnected", "Not Connected");
    changed(this, { ServicesResolved: false });
    this.device.unexportGatt();
    changed(this, { Connected: false });
  }
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
  constructor(public UUID: string, public Device: string) { super("org.bluez.GattService1"); }
}
GattService1.configureMembers({
  properties: {
    UUID: { signature: "s", access: READ }, Primary: { signature: "b", access: READ }, Device: { signature: "o", access: READ },
  },
});

/** One characteristic as the remote device sees it: reads and writes arrive, values notify. */
export class FakeCharacteristic extends Interface {
  UUID: string;
  Service: string;
  Flags: string[];
  Notifying = false;
  Value: Buffer = Buffer.alloc(0);
  MTU: number;
  /** Notifications sent while nobody had subscribed (BlueZ would not send them either). */
  unheard = 0;
  /** Values written by the central and accepted. */
  writes = 0;

  constructor(readonly spec: FakeCharacteristicSpec, servicePath: string, private readonly device: FakeDevice) {
    super("org.bluez.GattCharacteristic1");
    this.UUID = spec.uuid;
    this.Service = servicePath;
    this.Flags = spec.flags;
    this.MTU = device.spec.mtu;
  }
  ReadValue(): Buffer {
    this.device.requireConnected();
    if (this.spec.read === undefined) throw bluezError("NotPermitted", "Read not permitted");
    return Buffer.from(this.spec.read());
  }
  // An ATT write carries at most MTU − 3 bytes. BlueZ would turn a longer "request" write into
  // a long (prepared) write; this fake refuses it, so the transport is held to single writes,
  // which every phone stack and MCU supports.
  WriteValue(value: Buffer): void {
    this.device.requireConnected();
    if (this.spec.write === undefined) throw bluezError("NotPermitted", "Write not permitted");
    if (value.length > this.MTU - ATT_HEADER_BYTES) {
      throw bluezError("InvalidValueLength", `value of ${value.length} bytes exceeds ATT MTU ${this.MTU} − ${ATT_HEADER_BYTES}`);
    }
    this.writes += 1;
    this.spec.write(new Uint8Array(value));
  }
  StartNotify(): void {
    this.device.requireConnected();
    if (!this.Flags.includes("notify")) throw bluezError("NotSupported", "Notify not supported");
    if (!this.Notifying) changed(this, { Notifying: true });
  }
  StopNotify(): void {
    if (this.Notifying) changed(this, { Notifying: false });
  }
  /** The remote device notifies a new value (PropertiesChanged on Value, as BlueZ does). */
  notify(value: Uint8Array): void {
    if (value.length > this.MTU - ATT_HEADER_BYTES) {
      throw new RangeError(`notification of ${value.length} bytes exceeds ATT MTU ${this.MTU} − ${ATT_HEADER_BYTES}`);
    }
    if (!this.Notifying || !this.device.connected) {
      this.unheard += 1;
      return;
    }
    changed(this, { Value: Buffer.from(value) });
  }
}
FakeCharacteristic.configureMembers({
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

export interface FakeCharacteristicSpec {
  uuid: string;
  /** BlueZ flag names: "read", "write", "write-without-response", "notify", ... */
  flags: string[];
  read?: () => Uint8Array;
  write?: (value: Uint8Array) => void;
}

export interface FakeServiceSpec {
  uuid: string;
  characteristics: FakeCharacteristicSpec[];
}

export interface FakeDeviceSpec {
  /** e.g. "AA:BB:CC:DD:EE:01" */
  address: string;
  name: string;
  rssi: number;
  /** The ATT MTU the link settles on. */
  mtu: number;
  serviceData?: Record<string, Uint8Array>;
  services: FakeServiceSpec[];
}

/** A remote device: exported once discovered; its GATT objects exist while connected. */
export class FakeDevice {
  readonly path: string;
  inRange = true;
  connections = 0;
  readonly characteristics = new Map<string, FakeCharacteristic>();
  private readonly device1: Device1;
  private readonly gatt: { path: string; iface: DBusInterface }[] = [];
  private discovered = false;

  constructor(readonly spec: FakeDeviceSpec, private readonly bluez: FakeBluez) {
    if (spec.mtu < ATT_MTU_MIN) throw new RangeError(`ATT MTU ${spec.mtu} is below the minimum ${ATT_MTU_MIN}`);
    this.path = `${bluez.adapterPath}/dev_${spec.address.replace(/:/g, "_").toUpperCase()}`;
    this.device1 = new Device1(this, bluez.adapterPath);
    let handle = 1;
    for (const service of spec.services) {
      const servicePath = `${this.path}/service${(handle++).toString(16).padStart(4, "0")}`;
      this.gatt.push({ path: servicePath, iface: new GattService1(service.uuid, this.path) });
      for (const characteristic of service.characteristics) {
        const charPath = `${servicePath}/char${(handle++).toString(16).padStart(4, "0")}`;
        const iface = new FakeCharacteristic(characteristic, servicePath, this);
        this.characteristics.set(characteristic.uuid, iface);
        this.gatt.push({ path: charPath, iface });
      }
    }
  }

  get connected(): boolean {
    return this.device1.Connected;
  }

  characteristic(uuid: string): FakeCharacteristic {
    const found = this.characteristics.get(uuid);
    if (found === undefined) throw new Error(`fake device ${this.spec.address} has no characteristic ${uuid}`);
    return found;
  }

  requireConnected(): void {
    if (!this.device1.Connected) throw bluezError("NotConnected", "Not Connected");
  }

  discover(): void {
    if (this.discovered) return;
    this.discovered = true;
    this.bluez.exportObject(this.path, [this.device1]);
  }

  exportGatt(): void {
    for (const { path, iface } of this.gatt) this.bluez.exportObject(path, [iface]);
  }

  unexportGatt(): void {
    for (const { iface } of this.gatt) if (iface instanceof FakeCharacteristic) iface.Notifying = false;
    for (const { path, iface } of [...this.gatt].reverse()) this.bluez.unexportObject(path, [iface]);
  }

  /** The remote end drops the link (out of range, reset): BlueZ reports it as a disconnect. */
  dropLink(): void {
    if (this.device1.Connected) this.device1.Disconnect();
  }
}

/** The org.bluez service with one adapter, on the bus at `address`. */
export class FakeBluez {
  readonly adapterPath: string;
  readonly devices: FakeDevice[] = [];
  private readonly bus: ReturnType<typeof dbus.sessionBus>;
  private readonly adapter: Adapter1;
  private readonly objectManager: ObjectManager;
  private readonly exported = new Map<string, DBusInterface[]>();

  private constructor(address: string, adapter: string, adapterAddress: string) {
    this.bus = dbus.sessionBus({ busAddress: address });
    // Without a listener, a bus that goes away takes the whole process with it.
    this.bus.on("error", () => {});
    this.adapterPath = `/org/bluez/${adapter}`;
    this.adapter = new Adapter1(adapterAddress, this);
    this.objectManager = new ObjectManager(() => this.managedObjects());
  }

  static async start(busAddress: string, adapter = "hci0", adapterAddress = "00:1A:7D:DA:71:13"): Promise<FakeBluez> {
    const bluez = new FakeBluez(busAddress, adapter, adapterAddress);
    const reply = await bluez.bus.requestName("org.bluez", 0);
    if (reply !== 1) throw new Error(`the fake BlueZ could not own org.bluez (RequestName answered ${reply})`);
    bluez.bus.export("/", bluez.objectManager);
    bluez.bus.export("/org/bluez", new AgentManager1());
    bluez.exportObject(bluez.adapterPath, [bluez.adapter]);
    return bluez;
  }

  /** A remote device that discovery will find. */
  addDevice(spec: FakeDeviceSpec): FakeDevice {
    const device = new FakeDevice(spec, this);
    this.devices.push(device);
    if (this.adapter.Discovering) device.discover();
    return device;
  }

  discoverAll(): void {
    for (const device of this.devices) if (device.inRange) device.discover();
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

  private managedObjects(): Record<string, Record<string, Record<string, unknown>>> {
    const objects: Record<string, Record<string, Record<string, unknown>>> = {};
    for (const [path, interfaces] of this.exported) {
      objects[path] = Object.fromEntries(interfaces.map((iface) => [nameOf(iface), variantsOf(iface)]));
    }
    return objects;
  }

  async stop(): Promise<void> {
    this.bus.disconnect();
  }
}
