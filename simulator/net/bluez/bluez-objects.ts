// The org.bluez objects the fake BlueZ exports on the bus, as BlueZ's own: the agent manager,
// the object manager at "/", an adapter's Adapter1, GattManager1 and LEAdvertisingManager1, and a
// discovered device's Device1, GattService1 and GattCharacteristic1. Each hands its calls to the
// adapter or the remote device behind it (fake-bluez.ts), which it knows only as below.

import dbus from "dbus-next";
import { ATT_HEADER_BYTES } from "../../../protocol/ble.js";
import {
  ATT_READ_NOT_PERMITTED, ATT_WRITE_NOT_PERMITTED, ATTRIBUTE_BYTES_MAX, attErrorOf, bluezError, centralError, changed, GATT_CHARACTERISTIC, GATT_SERVICE,
  Interface, OBJECT_MANAGER, READ, type ApplicationCharacteristic, type ManagedObjects, type Properties, type RegisteredApplication,
} from "./bluez-model.js";

/** The adapter behind an adapter's objects. */
export interface AdapterSide {
  readonly path: string;
  readonly maxAdvertisingBytes: number;
  readonly advertisingInstances: number;
  /** The sender of the method call being handled. */
  readonly bluez: { readonly caller: string };
  discover(): void;
  registerApplication(owner: string, path: string): Promise<void>;
  unregisterApplication(owner: string, path: string): void;
  registerAdvertisement(owner: string, path: string): Promise<void>;
  unregisterAdvertisement(owner: string, path: string): void;
}

/** A discovered device behind its objects, as one adapter sees it. */
export interface RemoteSide {
  readonly adapter: { readonly path: string };
  readonly mtu: number;
  readonly centralPath: string;
  readonly connected: boolean;
  readonly dropNotifications: boolean;
  readonly bluez: {
    callApplication(owner: string, path: string, iface: string, member: string, signature: string, body: unknown[]): Promise<unknown[]>;
    subscribe(application: RegisteredApplication, source: ApplicationCharacteristic, subscriber: RemoteCharacteristic): Promise<void>;
    unsubscribe(application: RegisteredApplication, source: ApplicationCharacteristic, subscriber: RemoteCharacteristic): Promise<void>;
  };
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  requireConnected(): void;
}

export class AgentManager1 extends Interface {
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

export class ObjectManager extends Interface {
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

export class Adapter1 extends Interface {
  AddressType = "public";
  Powered = true;
  Discovering = false;

  constructor(public Address: string, public Name: string, public Alias: string, private readonly adapter: AdapterSide) {
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

export class GattManager1 extends Interface {
  constructor(private readonly adapter: AdapterSide) { super("org.bluez.GattManager1"); }
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

export class LEAdvertisingManager1 extends Interface {
  ActiveInstances = 0;
  SupportedIncludes = ["tx-power", "appearance", "local-name"];
  SupportedCapabilities: Properties;

  constructor(private readonly adapter: AdapterSide) {
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

export class Device1 extends Interface {
  AddressType = "public";
  Paired = false;
  Connected = false;
  ServicesResolved = false;
  Adapter: string;

  constructor(
    private readonly remote: RemoteSide,
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

export class GattService1 extends Interface {
  Primary = true;
  constructor(public UUID: string, public Device: string) { super(GATT_SERVICE); }
}
GattService1.configureMembers({
  properties: {
    UUID: { signature: "s", access: READ }, Primary: { signature: "b", access: READ }, Device: { signature: "o", access: READ },
  },
});


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
    private readonly remote: RemoteSide,
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
