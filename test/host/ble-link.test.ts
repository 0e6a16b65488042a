// The BLE transport end to end, both sides of it this project's own: the technician's central
// (operator/ble-air.central.ts, node-ble unmodified, and `impeller ble`) talks over a private dbus-daemon
// to a fake BlueZ, and through it to pumps whose side is the product's peripheral
// (host/ble/ble-peripheral.ts, a GATT application and an advertisement registered with BlueZ) in
// front of a pump running the real release firmware (host/ble/local-pump.ts), each on an adapter
// of its own. Also the chunking and reassembly rules on their own, commissioning (identity,
// owner's policy, broker) taking effect in the device, and the fake's BlueZ manners.

import dbus from "dbus-next";
import { describe, expect, it } from "vitest";
import { APPLICATION_PATH, BlePeripheral } from "../../host/ble/ble-peripheral.js";
import { LocalPump } from "../../host/ble/local-pump.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import { BleCentral } from "../../operator/ble-central.js";
import { BleError, chunkMessage, COMMAND_CHAR_UUID, IMPELLER_SERVICE_UUID, Reassembler, REPLY_CHAR_UUID } from "../../protocol/ble.js";
import { encodeCbor } from "../../protocol/cbor.js";
import { ProtocolError } from "../../protocol/errors.js";
import { encodeCommand } from "../../protocol/messages.js";
import { decodeSenml } from "../../protocol/senml.js";
import { startPrivateBus } from "../../simulator/net/bluez/dbus-daemon.js";
import { FakeBluez } from "../../simulator/net/bluez/fake-bluez.js";
import { releaseFirmware } from "../support/firmware.js";
import {
  HEADSET, LEGACY, PUMP_1, PUMP_2, PUMP_3, runBleCommand as run, serve, skipReason, stopServing, useAir, type Served,
} from "../support/ble-air.js";
import { untilValue as until } from "../support/wait.js";

/** A sampling reply, {"id", "ok", "rate_hz", "window", "interval_s", "windows"} (53 bytes), in
 *  chunks at MTU 23. */
const SAMPLING_REPLY_CHUNKS = 4;
/** Of the 60 junk chunks below (seed 7), those a reassembler refuses: every one. */
const JUNK_REFUSED = 60;

describe.skipIf(skipReason !== undefined)("BLE link through node-ble, a fake BlueZ and the product's peripheral", () => {
  const air = useAir();
  const connect = air.connect;

  it("scan lists the pumps advertising the impeller service, strongest first, and nothing else", async () => {
    expect(await air.central.scan(100)).toEqual([
      { address: PUMP_1, name: "impeller-pump-1", rssi: -48 },
      { address: PUMP_3, name: "impeller-pump-3", rssi: -66 },
      { address: PUMP_2, name: "impeller-pump-2", rssi: -71 },
    ]);
  });

  it("each pump registered its GATT application and advertisement with BlueZ, which shows the advertisement in discovery", async () => {
    const adapter = air.bluez.adapter("hci1");
    expect(adapter.applications.map((app) => [app.path, app.services.map((service) => [service.uuid, service.characteristics.map((c) => [c.uuid, c.flags])])])).toEqual([
      [APPLICATION_PATH, [[IMPELLER_SERVICE_UUID, [
        ["5e1d0002-7c4a-4b8e-9f21-3a6b8c0d2e4f", ["read"]],
        ["5e1d0003-7c4a-4b8e-9f21-3a6b8c0d2e4f", ["write", "write-without-response"]],
        ["5e1d0004-7c4a-4b8e-9f21-3a6b8c0d2e4f", ["notify"]],
      ]]]],
    ]);
    expect(adapter.advertising.ActiveInstances).toBe(1);
    const client = dbus.sessionBus({ busAddress: air.bus.address });
    client.on("error", () => {});
    try {
      const root = await client.getProxyObject("org.bluez", "/");
      const objects = (await root.getInterface("org.freedesktop.DBus.ObjectManager").GetManagedObjects()) as Record<string, Record<string, Record<string, { value: unknown }>>>;
      const device = objects["/org/bluez/hci0/dev_AA_BB_CC_DD_EE_01"]["org.bluez.Device1"];
      const serviceData = device.ServiceData.value as Record<string, { value: Uint8Array }>;
      expect([device.Name.value, device.UUIDs.value, Object.entries(serviceData).map(([uuid, data]) => [uuid, [...data.value]]), device.RSSI.value]).toEqual([
        "impeller-pump-1", [IMPELLER_SERVICE_UUID], [[IMPELLER_SERVICE_UUID, [1]]], -48,
      ]);
    } finally {
      client.disconnect();
    }
  });

  it("status reads the pump's state, in long reads at ATT MTU 23", async () => {
    const link = await connect();
    expect(link.mtu).toBe(23);
    expect(await link.readState()).toEqual({
      device: "pump-1", fw: 0x000100, boot: 1, rate_hz: 1000, window: 256, units: "m/s2", outbox: 1, published: 1, tenant: "demo", broker: "", owned: false,
    });
    const other = await connect(PUMP_2);
    expect(other.mtu).toBe(247);
    expect((await other.readState()).units).toBe("g");
  });

  it("a self_test command comes back as the firmware's reply, over BLE only", async () => {
    const link = await connect();
    expect(await link.command({ id: 41, cmd: "self_test" })).toEqual({ id: 41, ok: true });
    expect(air.pump1.pump.device.outbox.pending().map((entry) => entry.kind)).toEqual(["event"]); // the reply never went to the outbox
  });

  it("an unknown command comes back as the firmware's error reply", async () => {
    const link = await connect();
    expect(await link.command({ id: 42, cmd: "launch_missiles" })).toEqual({ id: 42, ok: false, error: -9 });
  });

  it("a config command larger than the MTU is split, reassembled and applied", async () => {
    const link = await connect();
    const command = { id: 43, cmd: "config", args: { device: "pump-1-east", rate_hz: 1000, window: 256, units: "g" } };
    const encoded = encodeCommand(command);
    expect(encoded.length).toBe(71);
    const chunks = chunkMessage(encoded, 23, 0).length;
    expect(chunks).toBe(5);
    const writes = air.bluez.remote(PUMP_1).characteristic(COMMAND_CHAR_UUID);
    const writesBefore = writes.writes;
    expect(await link.command(command)).toEqual({ id: 43, ok: true });
    expect(writes.writes - writesBefore).toBe(chunks);
    // Applied: the next window's telemetry carries the new device id as its base name.
    const samples = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i / 3));
    expect(await air.pump1.pump.device.feed(samples, 1_767_225_600_000)).toBe(1);
    const telemetry = air.pump1.pump.device.outbox.pending().filter((entry) => entry.kind === "telemetry");
    expect(decodeSenml(telemetry[0].body)[0].bn).toBe("pump-1-east:");
    expect(await link.command({ ...command, id: 44, args: { ...command.args, device: "pump-1", units: "m/s2" } })).toEqual({ id: 44, ok: true });
  });

  it("a reply larger than the MTU comes back in notifications of MTU − 3 bytes", async () => {
    const link = await connect();
    const reply = air.bluez.remote(PUMP_1).characteristic(REPLY_CHAR_UUID);
    const notificationsBefore = air.pump1.peripheral.counters.notifications;
    expect(await link.command({ id: 45, cmd: "sampling", args: { interval_s: 60 } })).toEqual({ id: 45, ok: true, rate_hz: 1000, window: 256, interval_s: 60, windows: 1 });
    expect([air.pump1.peripheral.counters.notifications - notificationsBefore, reply.truncated]).toEqual([SAMPLING_REPLY_CHUNKS, 0]);
  });

  it("a broken chunk stream gets one error reply per broken message and the link keeps working", async () => {
    const link = await connect();
    const [c0, , c2] = chunkMessage(encodeCommand({ id: 46, cmd: "config", args: { device: "pump-1", rate_hz: 1000, window: 256 } }), 23, 200);
    await link.writeChunks([c0, c2]);
    expect(await link.nextReply()).toEqual({
      kind: "link_error",
      error: { ok: false, error: "ble_out_of_order", msg: "chunk 2 of message 200 arrived where chunk 1 was expected: a chunk was lost or reordered" },
    });
    await link.writeChunks([Uint8Array.of(0x01)]);
    expect(await link.nextReply()).toEqual({
      kind: "link_error", error: { ok: false, error: "ble_bad_chunk", msg: "chunk of 1 bytes is shorter than the 3-byte header" },
    });
    await link.send(Uint8Array.of(0xa2, 0x62, 0x69)); // well chunked, but truncated CBOR
    const malformed = await link.nextReply();
    expect(malformed.kind === "link_error" && malformed.error.error).toBe("malformed_cbor");
    expect(malformed.kind === "link_error" && malformed.error.msg).toMatch(/^not well-formed CBOR: /);
    await link.send(encodeCbor(new Map([["cmd", "self_test"]]))); // no id: the firmware cannot reply
    expect(await link.nextReply()).toEqual({
      kind: "link_error",
      error: { ok: false, error: "bad_message", msg: 'the pump answered -2 (bad_argument) without a reply: a command is {"id": uint, "cmd": text, ?"args": any}' },
    });
    expect(await link.command({ id: 47, cmd: "self_test" })).toEqual({ id: 47, ok: true });
  });

  it("an oversized message gets one error reply at its first chunk and the link keeps working", async () => {
    const link = await connect();
    const errorsBefore = air.pump1.peripheral.counters.linkErrors;
    const oversized = encodeCommand({ id: 48, cmd: "config", args: { device: "x".repeat(3000) } });
    expect(() => chunkMessage(oversized, 23, 0)).toThrow(ProtocolError); // the central will not send it
    const chunks = chunkMessage(oversized, 23, 201, 65535);
    await link.writeChunks(chunks);
    expect(await link.nextReply()).toEqual({
      kind: "link_error", error: { ok: false, error: "oversized", msg: "message 201 of 3033 bytes exceeds the limit of 2048 bytes" },
    });
    await expect(link.nextReply(200)).rejects.toMatchObject({ code: "reply_timeout" }); // the other 178 chunks: no more errors
    expect(air.pump1.peripheral.counters.linkErrors - errorsBefore).toBe(1);
    expect(chunks.length).toBe(179);
    expect(await link.command({ id: 49, cmd: "self_test" })).toEqual({ id: 49, ok: true });
  });

  it("whatever a central writes, the pump answers with link errors and keeps serving", async () => {
    const link = await connect();
    let seed = 7;
    const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const junk = Array.from({ length: 60 }, () => Uint8Array.from({ length: 1 + Math.floor(random() * 19) }, () => Math.floor(random() * 256)));
    // What the pump must answer: one link error per chunk a reassembler of its own refuses.
    const reference = new Reassembler();
    let refused = 0;
    let completed = 0;
    for (const chunk of junk) {
      try {
        if (reference.push(chunk) !== undefined) completed += 1;
      } catch {
        refused += 1;
      }
    }
    const errorsBefore = air.pump1.peripheral.counters.linkErrors;
    await link.writeChunks(junk);
    await until(() => air.pump1.peripheral.counters.linkErrors - errorsBefore, (count) => count >= refused);
    expect([air.pump1.peripheral.counters.linkErrors - errorsBefore, completed]).toEqual([refused, 0]);
    expect(refused).toBe(JUNK_REFUSED);
    // The refusals reach the central as link error notifications (it queues the newest
    // RECEIVED_MAX of them), the last ones possibly after the counter moved: take them until the
    // link is quiet, or the next command would read one of them as its answer.
    const drained: string[] = [];
    for (let i = 0; i < refused; i++) {
      const next = await link.nextReply(500).catch((error: unknown) => error);
      if (next instanceof BleError && next.code === "reply_timeout") break;
      drained.push((next as { kind: string }).kind);
    }
    expect(drained.length).toBeGreaterThan(0);
    expect(new Set(drained)).toEqual(new Set(["link_error"]));
    expect(await link.command({ id: 50, cmd: "self_test" }, 3000)).toEqual({ id: 50, ok: true });
  });

  it("a command the firmware cannot answer rejects with the pump's link error code", async () => {
    const link = await connect();
    const outcome = link.command({ id: -1, cmd: "self_test" }); // a negative id is no id to the firmware
    await expect(outcome).rejects.toBeInstanceOf(BleError);
    await expect(outcome).rejects.toMatchObject({
      code: "link_error",
      peerCode: "bad_message",
      message: `${PUMP_1} refused the message: bad_message: the pump answered -2 (bad_argument) without a reply: a command is {"id": uint, "cmd": text, ?"args": any}`,
    });
  });

  it("a reply lost on the air is a typed timeout, and the next command works", async () => {
    const link = await connect();
    air.bluez.remote(PUMP_1).dropNotifications = true;
    await expect(link.command({ id: 51, cmd: "self_test" }, 200)).rejects.toMatchObject({
      name: "BleError", code: "reply_timeout", message: `no reply to command 51 (self_test) from ${PUMP_1} within 200 ms`,
    });
    air.bluez.remote(PUMP_1).dropNotifications = false;
    expect(await link.command({ id: 52, cmd: "self_test" })).toEqual({ id: 52, ok: true });
  });

  it("a message that stalls half way gets a timeout error reply from the pump", async () => {
    const link = await connect(PUMP_2);
    const chunks = chunkMessage(encodeCommand({ id: 53, cmd: "config", args: { device: "p".repeat(60), rate_hz: 2000, window: 512, pad: "z".repeat(540) } }), 247, 7);
    expect(chunks.length).toBe(3);
    await link.writeChunks(chunks.slice(0, 1));
    // The pump answers 300 ms after the stall; the wait allows for a machine busy with other suites.
    expect(await link.nextReply(10_000)).toEqual({
      kind: "link_error", error: { ok: false, error: "ble_timeout", msg: "message 7 stalled at 239 of 660 bytes for 300 ms; send it again" },
    });
    expect(await link.command({ id: 54, cmd: "self_test" })).toEqual({ id: 54, ok: true });
  });

  it("a link the pump drops rejects the waiting reader, and the pump can be reached again", async () => {
    const link = await connect();
    const waiting = link.nextReply(2000);
    void air.bluez.remote(PUMP_1).dropLink();
    await expect(waiting).rejects.toMatchObject({ code: "disconnected", message: `${PUMP_1} disconnected` });
    await expect(link.readState()).rejects.toMatchObject({ code: "disconnected" });
    const again = await connect();
    expect(await again.command({ id: 55, cmd: "self_test" })).toEqual({ id: 55, ok: true });
  });

  it("a device without the impeller service is not a pump", async () => {
    await expect(air.central.connect(HEADSET)).rejects.toMatchObject({
      code: "not_impeller", message: `${HEADSET} has no impeller service (5e1d0001-7c4a-4b8e-9f21-3a6b8c0d2e4f): it is not a pump`,
    });
    expect(air.bluez.remote(HEADSET).connected).toBe(false);
  });

  it("no bus, no BlueZ and no such adapter are typed errors on both sides, not a crash", async () => {
    const config = { device: "pump-9", rate_hz: 1000, window: 256 };
    const offline = await LocalPump.start({ config, tenant: "demo", firmware: await releaseFirmware(), storage: new MemoryStorage() });
    process.env.DBUS_SYSTEM_BUS_ADDRESS = "unix:path=/nonexistent/impeller-bus";
    try {
      await expect(BleCentral.open()).rejects.toMatchObject({ code: "no_bus" });
      await expect(BlePeripheral.start(offline)).rejects.toMatchObject({ code: "no_bus" });
      const empty = await startPrivateBus();
      process.env.DBUS_SYSTEM_BUS_ADDRESS = empty.address;
      try {
        await expect(BleCentral.open()).rejects.toMatchObject({
          code: "no_bluez", message: `BlueZ (org.bluez) is not running on the system D-Bus at ${empty.address}: start bluetoothd`,
        });
        await expect(BlePeripheral.start(offline)).rejects.toMatchObject({
          code: "no_bluez", message: `BlueZ (org.bluez) is not running on the system D-Bus at ${empty.address}: start bluetoothd`,
        });
      } finally {
        await empty.stop();
      }
      process.env.DBUS_SYSTEM_BUS_ADDRESS = air.bus.address;
      await expect(BlePeripheral.start(offline, { adapter: "hci9" })).rejects.toMatchObject({
        code: "no_adapter", message: "BlueZ has no adapter hci9 that can serve GATT and advertise (it has hci0, hci1, hci2, hci3, hci4)",
      });
    } finally {
      process.env.DBUS_SYSTEM_BUS_ADDRESS = air.bus.address;
      await offline.close();
    }
  });

  it("the fake BlueZ lists its objects and announces a newly discovered device, as BlueZ does", async () => {
    const client = dbus.sessionBus({ busAddress: air.bus.address });
    client.on("error", () => {});
    try {
      const root = await client.getProxyObject("org.bluez", "/");
      const manager = root.getInterface("org.freedesktop.DBus.ObjectManager");
      const added = new Promise<[string, Record<string, Record<string, { value: unknown }>>]>((resolve) =>
        manager.on("InterfacesAdded", (path: string, interfaces: Record<string, Record<string, { value: unknown }>>) => resolve([path, interfaces])));
      air.bluez.addDevice({ address: "22:33:44:55:66:77", name: "Thermostat", rssi: -80 });
      await air.central.scan(50);
      const [path, interfaces] = await added;
      expect([path, interfaces["org.bluez.Device1"].Name.value]).toEqual(["/org/bluez/hci0/dev_22_33_44_55_66_77", "Thermostat"]);
      const objects = (await manager.GetManagedObjects()) as Record<string, Record<string, unknown>>;
      expect(Object.keys(objects).filter((key) => key.startsWith("/org/bluez/hci0/") && key.split("/").length === 5).sort()).toEqual([
        "/org/bluez/hci0/dev_11_22_33_44_55_66", "/org/bluez/hci0/dev_22_33_44_55_66_77",
        "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_01", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_02", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_03",
      ]);
      expect(Object.keys(objects["/org/bluez/hci0"])).toEqual(["org.bluez.Adapter1", "org.bluez.GattManager1", "org.bluez.LEAdvertisingManager1"]);
    } finally {
      client.disconnect();
    }
  });

  describe("registering with BlueZ", () => {
    it("on a legacy controller the pump leaves the service UUID list out, and is found by its service data", async () => {
      const legacy = await serve("hci4", { device: "pump-4", rate_hz: 1000, window: 256 });
      try {
        expect(legacy.peripheral.advertisesServiceUuids).toBe(false);
        expect((await air.central.scan(50)).find((found) => found.address === LEGACY)).toEqual({ address: LEGACY, name: "impeller-pump-4", rssi: -80 });
        expect([air.bluez.remote(LEGACY).device1.UUIDs, Object.keys(air.bluez.remote(LEGACY).device1.ServiceData)]).toEqual([[], [IMPELLER_SERVICE_UUID]]);
      } finally {
        await stopServing(legacy);
      }
    });

    it("a pump that stops takes its service and advertisement back: nothing of it is left to find", async () => {
      const leaving = await serve("hci4", { device: "pump-4", rate_hz: 1000, window: 256 });
      const link = await air.central.connect(LEGACY);
      expect(await link.command({ id: 56, cmd: "self_test" })).toEqual({ id: 56, ok: true });
      await link.disconnect();
      await stopServing(leaving);
      const adapter = air.bluez.adapter("hci4");
      expect([adapter.applications.length, adapter.advertisements.length, adapter.advertising.ActiveInstances]).toEqual([0, 0, 0]);
      expect((await air.central.scan(50)).map((found) => found.address)).toEqual([PUMP_1, PUMP_3, PUMP_2]);
      await expect(air.central.connect(LEGACY, 200)).rejects.toMatchObject({ code: "not_found" });
    });

    it("impeller ble serve runs a pump that a scan finds while it serves", async () => {
      const serving = run(["serve", "--adapter", "hci4", "--device", "pump-9", "--tenant", "plant", "--duration", "1"]);
      const found = await until(() => air.bluez.adapter("hci4").advertisements.length, (count) => count === 1);
      expect(found).toBe(1);
      expect((await air.central.scan(50)).find((pump) => pump.address === LEGACY)).toEqual({ address: LEGACY, name: "impeller-pump-9", rssi: -80 });
      expect(await serving).toEqual({
        status: 0,
        stdout: [
          "Pump pump-9 (tenant plant, device pump-9, broker none, no owner) advertising as impeller-pump-9 on hci4 (AA:BB:CC:DD:EE:04); its storage is in memory, so commissioning lasts until it stops",
          "Stopped after 1 s: 0 commands over BLE, 0 link errors.",
          "",
        ].join("\n"),
        stderr: "",
      });
      expect(air.bluez.adapter("hci4").advertisements).toEqual([]);
    });

    it("BlueZ refuses what it refuses: a second registration, an unknown one, an advertisement too long for the controller", async () => {
      const client = dbus.sessionBus({ busAddress: air.bus.address });
      client.on("error", () => {});
      try {
        const adapter = await client.getProxyObject("org.bluez", "/org/bluez/hci4");
        const gatt = adapter.getInterface("org.bluez.GattManager1");
        const advertising = adapter.getInterface("org.bluez.LEAdvertisingManager1");
        const refusal = async (call: Promise<unknown>): Promise<[string, string]> => {
          try {
            await call;
          } catch (error) {
            return [(error as { type: string }).type, (error as Error).message];
          }
          throw new Error("BlueZ took it");
        };
        expect(await refusal(gatt.UnregisterApplication("/org/example"))).toEqual(["org.bluez.Error.DoesNotExist", "Does Not Exist"]);
        expect(await refusal(advertising.UnregisterAdvertisement("/org/example/ad0"))).toEqual(["org.bluez.Error.DoesNotExist", "Does Not Exist"]);
        expect((await refusal(gatt.RegisterApplication("/org/example", {})))[0]).toBe("org.bluez.Error.Failed"); // nothing exported there
        const app = exampleApplication(client);
        await gatt.RegisterApplication("/org/example", {});
        expect(await refusal(gatt.RegisterApplication("/org/example", {}))).toEqual(["org.bluez.Error.AlreadyExists", "Already Exists"]);
        await gatt.UnregisterApplication("/org/example");
        expect(await refusal(advertising.RegisterAdvertisement("/org/example/ad0", {}))).toEqual(["org.bluez.Error.Failed", "Failed to parse advertisement."]);
        app.advertisement.ServiceUUIDs = [];
        await advertising.RegisterAdvertisement("/org/example/ad0", {});
        expect(await refusal(advertising.RegisterAdvertisement("/org/example/ad0", {}))).toEqual(["org.bluez.Error.AlreadyExists", "Already Exists"]);
        await advertising.UnregisterAdvertisement("/org/example/ad0");
      } finally {
        client.disconnect();
      }
    });

    it("a pump whose BlueZ stops is told (Release) and stops cleanly all the same", async () => {
      const otherBus = await startPrivateBus();
      process.env.DBUS_SYSTEM_BUS_ADDRESS = otherBus.address;
      let served: Served | undefined;
      try {
        const other = await FakeBluez.start(otherBus.address, "hci0", "00:00:00:00:00:01");
        served = await serve("hci0", { device: "pump-5", rate_hz: 1000, window: 256 });
        expect(served.peripheral.released).toBe(false);
        await other.stop();
        expect(await until(() => served!.peripheral.released, (released) => released)).toBe(true);
      } finally {
        await stopServing(served);
        process.env.DBUS_SYSTEM_BUS_ADDRESS = air.bus.address;
        await otherBus.stop();
      }
    });
  });
});

/** An application exported by hand: one service with one characteristic, and an advertisement
 *  whose service data alone (19 bytes) fits a legacy controller, and with a 128-bit UUID list
 *  (18 bytes more) does not. */
function exampleApplication(client: ReturnType<typeof dbus.sessionBus>): { advertisement: { ServiceUUIDs: string[] } } {
  const { Interface } = dbus.interface;
  class Root extends Interface {
    GetManagedObjects(): Record<string, Record<string, Record<string, InstanceType<typeof dbus.Variant>>>> {
      return {
        "/org/example/service0": { "org.bluez.GattService1": { UUID: new dbus.Variant("s", "0000180f-0000-1000-8000-00805f9b34fb"), Primary: new dbus.Variant("b", true) } },
        "/org/example/service0/char0": { "org.bluez.GattCharacteristic1": {
          UUID: new dbus.Variant("s", "00002a19-0000-1000-8000-00805f9b34fb"), Service: new dbus.Variant("o", "/org/example/service0"), Flags: new dbus.Variant("as", ["read"]),
        } },
      };
    }
  }
  Root.configureMembers({ methods: { GetManagedObjects: { outSignature: "a{oa{sa{sv}}}" } } });
  class Advertisement extends Interface {
    Type = "peripheral";
    ServiceUUIDs: string[] = [IMPELLER_SERVICE_UUID];
    ServiceData = { [IMPELLER_SERVICE_UUID]: new dbus.Variant("ay", Buffer.from([1])) };
    Release(): void {}
  }
  Advertisement.configureMembers({
    properties: { Type: { signature: "s", access: "read" }, ServiceUUIDs: { signature: "as", access: "read" }, ServiceData: { signature: "a{sv}", access: "read" } },
    methods: { Release: { noReply: true } },
  });
  const root = new Root("org.freedesktop.DBus.ObjectManager");
  const advertisement = new Advertisement("org.bluez.LEAdvertisement1");
  client.export("/org/example", root);
  client.export("/org/example/ad0", advertisement);
  return { advertisement };
}
