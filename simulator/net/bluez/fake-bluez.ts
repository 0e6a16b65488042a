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
import { ATT_MTU_MAX, ATT_MTU_MIN } from "../../../protocol/ble.js";
import {
  ADVERTISEMENT, ADVERTISING_BYTES_EXTENDED, ADVERTISING_BYTES_LEGACY, advertisingBytes, applicationServices, bluezError, changed, devicePath,
  FLAGS_BYTES, GATT_CHARACTERISTIC, METHOD_CALL, nameOf, OBJECT_MANAGER, parseAdvertisement, PROPERTIES, RegisteredApplication, SIGNAL, variantsOf,
  type AdvertisementData, type ApplicationCharacteristic, type DBusInterface, type ManagedObjects, type Properties, type RegisteredAdvertisement,
} from "./bluez-model.js";
import {
  Adapter1, AgentManager1, Device1, GattManager1, GattService1, LEAdvertisingManager1, ObjectManager, RemoteCharacteristic,
} from "./bluez-objects.js";

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
