// A Bluetooth world for the BLE tests, with no radio: a private dbus-daemon and the simulator's
// fake BlueZ on it, the technician's adapter (hci0) and four pumps' adapters, three pumps served
// by the product's peripheral (host/ble/ble-peripheral.ts) in front of the release firmware
// (host/ble/local-pump.ts), a legacy controller with nothing on it yet, and a headset that is
// not a pump. The technician's central (operator/ble-central.ts) finds them all.

import { afterAll, afterEach, beforeAll, vi } from "vitest";
import { runBle } from "../../cli/ble.js";
import { BlePeripheral } from "../../host/ble/ble-peripheral.js";
import { LocalPump } from "../../host/ble/local-pump.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import { BleCentral, type PumpLink } from "../../operator/ble-central.js";
import type { FirmwareConfig } from "../../protocol/messages.js";
import { ADVERTISING_BYTES_LEGACY } from "../../simulator/net/bluez/bluez-model.js";
import { dbusDaemonAvailable, DBUS_DAEMON, startPrivateBus, type PrivateBus } from "../../simulator/net/bluez/dbus-daemon.js";
import { FakeBluez } from "../../simulator/net/bluez/fake-bluez.js";
import { releaseFirmware } from "./firmware.js";

export const PUMP_1 = "AA:BB:CC:DD:EE:01";
export const PUMP_2 = "AA:BB:CC:DD:EE:02";
export const PUMP_3 = "AA:BB:CC:DD:EE:03";
export const LEGACY = "AA:BB:CC:DD:EE:04";
export const HEADSET = "11:22:33:44:55:66";
export const CENTRAL = "00:1A:7D:DA:71:13";

export const skipReason = dbusDaemonAvailable() ? undefined : `${DBUS_DAEMON} is missing (Debian package dbus-daemon): the BLE link tests need a private D-Bus`;
if (skipReason !== undefined) console.warn(`skipping the BLE link tests: ${skipReason}`);

/** A pump served over BLE: the release firmware behind the product's peripheral. */
export interface Served {
  pump: LocalPump;
  peripheral: BlePeripheral;
  storage: MemoryStorage;
}

export async function serve(adapter: string, config: FirmwareConfig, options: { storage?: MemoryStorage; reassemblyTimeoutMs?: number } = {}): Promise<Served> {
  const storage = options.storage ?? new MemoryStorage();
  const pump = await LocalPump.start({ config, tenant: "demo", firmware: await releaseFirmware(), storage });
  try {
    return { pump, peripheral: await BlePeripheral.start(pump, { adapter, reassemblyTimeoutMs: options.reassemblyTimeoutMs }), storage };
  } catch (error) {
    await pump.close();
    throw error;
  }
}

export async function stopServing(served: Served | undefined): Promise<void> {
  await served?.peripheral.stop();
  await served?.pump.close();
}


/** The world the tests of one file share; `close` puts the system bus address back. */
export interface Air {
  bus: PrivateBus;
  bluez: FakeBluez;
  pumps: [Served, Served, Served];
  central: BleCentral;
}

export async function openAir(): Promise<Air> {
  const bus = await startPrivateBus();
  process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
  const bluez = await FakeBluez.start(bus.address, "hci0", CENTRAL); // the technician's adapter
  bluez.addAdapter("hci1", PUMP_1, { mtu: 23, rssi: -48 });
  bluez.addAdapter("hci2", PUMP_2, { mtu: 247, rssi: -71 });
  bluez.addAdapter("hci3", PUMP_3, { mtu: 185, rssi: -66 });
  bluez.addAdapter("hci4", LEGACY, { maxAdvertisingBytes: ADVERTISING_BYTES_LEGACY, rssi: -80 });
  const pumps: [Served, Served, Served] = [
    await serve("hci1", { device: "pump-1", rate_hz: 1000, window: 256, units: "m/s2" }),
    await serve("hci2", { device: "pump-2", rate_hz: 2000, window: 512 }, { reassemblyTimeoutMs: 300 }),
    await serve("hci3", { device: "pump-3", rate_hz: 1000, window: 256 }),
  ];
  bluez.addDevice({ address: HEADSET, name: "JBL Flip 5", rssi: -40 });
  return { bus, bluez, pumps, central: await BleCentral.open() };
}

export async function closeAir(air: Partial<Air>, pumps: readonly (Served | undefined)[], savedAddress: string | undefined): Promise<void> {
  air.central?.close();
  for (const served of pumps) await stopServing(served);
  await air.bluez?.stop();
  await air.bus?.stop();
  if (savedAddress === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
  else process.env.DBUS_SYSTEM_BUS_ADDRESS = savedAddress;
}

/** The world of one test file, opened before its tests and closed after them, with the links
 *  a test opened (connect) closed after it and PUMP_1's notifications flowing again. */
export interface AirInUse {
  bus: PrivateBus;
  bluez: FakeBluez;
  pump1: Served;
  pump2: Served;
  pump3: Served;
  central: BleCentral;
  connect(address?: string): Promise<PumpLink>;
}

export function useAir(): AirInUse {
  const links: PumpLink[] = [];
  const savedAddress = process.env.DBUS_SYSTEM_BUS_ADDRESS;
  const air = {
    async connect(address = PUMP_1): Promise<PumpLink> {
      const link = await air.central.connect(address);
      links.push(link);
      return link;
    },
  } as AirInUse;
  beforeAll(async () => {
    const opened = await openAir();
    Object.assign(air, { bus: opened.bus, bluez: opened.bluez, central: opened.central, pump1: opened.pumps[0], pump2: opened.pumps[1], pump3: opened.pumps[2] });
  });
  afterEach(async () => {
    for (const link of links.splice(0)) await link.disconnect();
    for (const remote of air.bluez.remotesOf(PUMP_1)) remote.dropNotifications = false;
  });
  afterAll(async () => {
    await closeAir(air, [air.pump1, air.pump2, air.pump3], savedAddress);
  });
  return air;
}

/** `impeller ble ARGS` with its output caught. */
export async function runBleCommand(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => { stdout += String(chunk); return true; });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => { stderr += String(chunk); return true; });
  try {
    return { status: await runBle(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
