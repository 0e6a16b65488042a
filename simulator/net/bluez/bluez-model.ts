// The fake BlueZ's vocabulary (simulator/net/bluez/): the D-Bus names and ATT codes it speaks,
// what it keeps of an application or an advertisement that registered with it, and the helpers
// every part of it shares: BlueZ's errors, properties as variants, advertising data's size.

import dbus from "dbus-next";

export const { Interface } = dbus.interface;
export type DBusInterface = InstanceType<typeof Interface>;
export type Variant = InstanceType<typeof dbus.Variant>;
export type Properties = Record<string, Variant>;
export type ManagedObjects = Record<string, Record<string, Properties>>;
export const READ = "read" as const;
export const { METHOD_CALL, SIGNAL } = (dbus as unknown as { MessageType: Record<"METHOD_CALL" | "SIGNAL", number> }).MessageType;

export const GATT_SERVICE = "org.bluez.GattService1";
export const GATT_CHARACTERISTIC = "org.bluez.GattCharacteristic1";
export const ADVERTISEMENT = "org.bluez.LEAdvertisement1";
export const PROPERTIES = "org.freedesktop.DBus.Properties";
export const OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager";

/** Legacy advertising and scan response data: 31 bytes; an extended advertising controller's: 251. */
export const ADVERTISING_BYTES_LEGACY = 31;
export const ADVERTISING_BYTES_EXTENDED = 251;
/** The flags field BlueZ's kernel adds to a peripheral's advertising data. */
export const FLAGS_BYTES = 3;
/** One attribute value (ATT caps it; a long read stops there). */
export const ATTRIBUTE_BYTES_MAX = 512;
/** The Bluetooth base UUID: UUIDs of this form go on the air as 16 or 32 bits. */
export const BASE_UUID = /^([0-9a-f]{8})-0000-1000-8000-00805f9b34fb$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function bluezError(name: string, text: string): Error {
  return new dbus.DBusError(`org.bluez.Error.${name}`, text);
}

/** The properties of an exported interface as D-Bus variants (for GetManagedObjects). */
export function variantsOf(iface: DBusInterface): Properties {
  const options = (iface as unknown as { $properties: Record<string, { signature: string; disabled?: boolean }> }).$properties;
  const record = iface as unknown as Record<string, unknown>;
  const variants: Properties = {};
  for (const [name, { signature, disabled }] of Object.entries(options)) if (disabled !== true) variants[name] = new dbus.Variant(signature, record[name]);
  return variants;
}

/** The D-Bus interface name, which dbus-next keeps as `$name` but leaves out of its types. */
export function nameOf(iface: DBusInterface): string {
  return (iface as unknown as { $name: string }).$name;
}

export function changed(iface: DBusInterface, properties: Record<string, unknown>): void {
  Object.assign(iface, properties);
  Interface.emitPropertiesChanged(iface, properties, []);
}

export function devicePath(adapterPath: string, address: string): string {
  return `${adapterPath}/dev_${address.replace(/:/g, "_").toUpperCase()}`;
}

/** Bytes a UUID takes on the air: 2 or 4 for the Bluetooth base UUID's short forms, else 16. */
export function uuidBytes(uuid: string): number {
  const short = BASE_UUID.exec(uuid);
  if (short === null) return 16;
  return short[1].startsWith("0000") ? 2 : 4;
}

/** What BlueZ's advertisement parser keeps of an LEAdvertisement1's properties. */
export interface AdvertisementData {
  type: "peripheral" | "broadcast";
  uuids: string[];
  serviceData: Record<string, Uint8Array>;
  name: string | undefined;
}

/** Reads the properties as BlueZ's parse_advertisement does; undefined where it fails. */
export function parseAdvertisement(properties: Properties): AdvertisementData | undefined {
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
export function advertisingBytes(ad: AdvertisementData): number {
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
export const ATT_READ_NOT_PERMITTED = 0x02;
export const ATT_WRITE_NOT_PERMITTED = 0x03;
export const ATT_REQUEST_NOT_SUPPORTED = 0x06;
export const ATT_INVALID_OFFSET = 0x07;
export const ATT_AUTHORIZATION = 0x08;
export const ATT_INVALID_VALUE_LENGTH = 0x0d;
export const ATT_UNLIKELY = 0x0e;

export function attErrorOf(error: unknown, writing: boolean): number {
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

export function centralError(att: number): Error {
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


/** Who hears an application's notifications: a central's view of the characteristic. */
export interface Subscriber {
  deliver(value: Uint8Array): void;
}

/** A characteristic of a registered application, as its GetManagedObjects described it. */
export interface ApplicationCharacteristic {
  path: string;
  uuid: string;
  flags: string[];
  /** Centrals that asked for its notifications. */
  subscribers: Set<Subscriber>;
}

export interface ApplicationService {
  path: string;
  uuid: string;
  primary: boolean;
  characteristics: ApplicationCharacteristic[];
}

/** A GATT application registered on an adapter: who owns it, where, and what it serves. */
export class RegisteredApplication {
  constructor(readonly owner: string, readonly path: string, readonly services: ApplicationService[]) {}

  characteristic(path: string): ApplicationCharacteristic | undefined {
    for (const service of this.services) for (const characteristic of service.characteristics) if (characteristic.path === path) return characteristic;
    return undefined;
  }
}

export interface RegisteredAdvertisement {
  owner: string;
  path: string;
  data: AdvertisementData;
}


/** The services of an application's object tree, or undefined when BlueZ would refuse it. */
export function applicationServices(root: string, objects: ManagedObjects): ApplicationService[] | undefined {
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
