// The BLE transport end to end, both sides of it this project's own: the technician's central
// (operator/ble-central.ts, node-ble unmodified, and `impeller ble`) talks over a private dbus-daemon
// to a fake BlueZ, and through it to pumps whose side is the product's peripheral
// (host/ble/ble-peripheral.ts, a GATT application and an advertisement registered with BlueZ) in
// front of a pump running the real release firmware (host/ble/local-pump.ts), each on an adapter
// of its own. Also the chunking and reassembly rules on their own, commissioning (identity,
// owner's policy, broker) taking effect in the device, and the fake's BlueZ manners.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import dbus from "dbus-next";
import mqtt from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { BleCentral, type PumpLink } from "../operator/ble-central.js";
import { BleError } from "../protocol/ble.js";
import { runBle } from "../cli/ble.js";
import { APPLICATION_PATH, BlePeripheral } from "../host/ble/ble-peripheral.js";
import { HOST_STORAGE_COMMISSIONING } from "../host/ble/commissioning.js";
import { LocalPump } from "../host/ble/local-pump.js";
import { MemoryStorage } from "../host/storage/storage.js";
import {
  BLE_MESSAGE_BYTES_MAX, chunkMessage, chunkPayloadBytes, CHUNK_FIRST, CHUNK_LAST, COMMAND_CHAR_UUID, decodeBleReply, encodeLinkError,
  IMPELLER_SERVICE_UUID, Reassembler, REPLY_CHAR_UUID,
} from "../protocol/ble.js";
import { encodeCbor } from "../protocol/cbor.js";
import { ProtocolError } from "../protocol/errors.js";
import { encodeCommand, type FirmwareConfig } from "../protocol/messages.js";
import { decodeSenml } from "../protocol/senml.js";
import { decodeState } from "../protocol/state.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../simulator/net/broker.js";
import { dbusDaemonAvailable, DBUS_DAEMON, startPrivateBus, type PrivateBus } from "../simulator/net/bluez/dbus-daemon.js";
import { ADVERTISING_BYTES_LEGACY } from "../simulator/net/bluez/bluez-model.js";
import { FakeBluez } from "../simulator/net/bluez/fake-bluez.js";
import { releaseFirmware } from "./helpers/firmware.js";

const PUMP_1 = "AA:BB:CC:DD:EE:01";
const PUMP_2 = "AA:BB:CC:DD:EE:02";
const PUMP_3 = "AA:BB:CC:DD:EE:03";
const LEGACY = "AA:BB:CC:DD:EE:04";
const HEADSET = "11:22:33:44:55:66";
const CENTRAL = "00:1A:7D:DA:71:13";
const OWNER_TOKEN = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
/** A sampling reply, {"id", "ok", "rate_hz", "window", "interval_s"}, in chunks at MTU 23. */
const SAMPLING_REPLY_CHUNKS = 3;
/** Of the 60 junk chunks below (seed 7), those a reassembler refuses: every one. */
const JUNK_REFUSED = 60;

function bytes(count: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => (i * 31 + seed * 7) & 0xff);
}

function reassembleAll(reassembler: Reassembler, chunks: Uint8Array[]): Uint8Array[] {
  const messages: Uint8Array[] = [];
  for (const chunk of chunks) {
    const message = reassembler.push(chunk);
    if (message !== undefined) messages.push(message);
  }
  return messages;
}

function protocolError(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof ProtocolError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a ProtocolError");
}

describe("chunking and reassembly", () => {
  it("fits every chunk in MTU − 3 bytes and puts messages of every size back together", () => {
    for (const mtu of [23, 24, 185, 247, 517]) {
      const reassembler = new Reassembler();
      for (const size of [1, 2, chunkPayloadBytes(mtu) - 2, chunkPayloadBytes(mtu) - 1, chunkPayloadBytes(mtu) + 5, 1000, BLE_MESSAGE_BYTES_MAX]) {
        const message = bytes(size, size);
        const chunks = chunkMessage(message, mtu, size & 0xff);
        expect(chunks.every((chunk) => chunk.length <= mtu - 3)).toBe(true);
        expect(reassembleAll(reassembler, chunks)).toEqual([message]);
      }
    }
  });

  it("frames a message as flags, counter, index, then the length on the first chunk", () => {
    const chunks = chunkMessage(bytes(40), 23, 9);
    expect(chunks.map((chunk) => [...chunk.subarray(0, 3), chunk.length])).toEqual([
      [CHUNK_FIRST, 9, 0, 20], [0, 9, 1, 20], [CHUNK_LAST, 9, 2, 11],
    ]);
    expect([...chunks[0].subarray(3, 5)]).toEqual([0, 40]);
    expect([...chunkMessage(bytes(3), 23, 1)[0]]).toEqual([CHUNK_FIRST | CHUNK_LAST, 1, 0, 0, 3, ...bytes(3)]);
  });

  it("refuses to chunk an empty or oversized message", () => {
    expect(protocolError(() => chunkMessage(new Uint8Array(0), 23, 0))).toEqual({ code: "bad_message", message: "an empty message cannot be sent: a CBOR item was expected" });
    expect(protocolError(() => chunkMessage(new Uint8Array(2049), 23, 0))).toEqual({ code: "oversized", message: "message of 2049 bytes exceeds the BLE limit of 2048 bytes" });
    expect(() => chunkMessage(bytes(4), 22, 0)).toThrow(RangeError);
  });

  it("rejects lost, reordered, foreign and malformed chunks with typed errors, one per broken message", () => {
    const reassembler = new Reassembler();
    const [a0, a1, a2] = chunkMessage(bytes(40), 23, 5);
    const [b0] = chunkMessage(bytes(40), 23, 6);
    const cases: [Uint8Array[], string, string][] = [
      [[Uint8Array.of(0, 9, 1, 0xaa)], "ble_out_of_order", "chunk 1 of message 9 arrived but no message was started: its first chunk was lost"],
      [[a0, a2], "ble_out_of_order", "chunk 2 of message 5 arrived where chunk 1 was expected: a chunk was lost or reordered"],
      [[b0, a1], "ble_out_of_order", "chunk of message 5 arrived inside message 6"],
      [[Uint8Array.of(1, 2)], "ble_bad_chunk", "chunk of 2 bytes is shorter than the 3-byte header"],
      [[Uint8Array.of(0x81, 7, 0, 0, 1, 0)], "ble_bad_chunk", "chunk flags 0x81 set reserved bits: only first (0x01) and last (0x02) exist"],
      [[Uint8Array.of(CHUNK_FIRST, 7, 0, 0)], "ble_bad_chunk", "first chunk of message 7 has no 2-byte length after its header"],
      [[Uint8Array.of(CHUNK_FIRST, 7, 3, 0, 1, 0)], "ble_bad_chunk", "first chunk of message 7 has index 3, not 0"],
      [[Uint8Array.of(CHUNK_FIRST | CHUNK_LAST, 7, 0, 0, 0)], "ble_bad_chunk", "message 7 declares a length of 0 bytes"],
      [[Uint8Array.of(CHUNK_FIRST | CHUNK_LAST, 7, 0, 0, 2, 0xf5)], "ble_bad_chunk", "message 7 ends at 1 of its declared 2 bytes"],
      [[Uint8Array.of(CHUNK_FIRST, 7, 0, 0, 1, 0xf5)], "ble_bad_chunk", "message 7 is complete at 1 bytes but its chunk is not marked last"],
      [[Uint8Array.of(CHUNK_FIRST | CHUNK_LAST, 7, 0, 0, 1, 0xf5, 0xf6)], "ble_bad_chunk", "message 7 runs past its declared 1 bytes"],
      [[Uint8Array.of(CHUNK_FIRST, 7, 0, 0x08, 0x01)], "oversized", "message 7 of 2049 bytes exceeds the limit of 2048 bytes"],
    ];
    for (const [chunks, code, message] of cases) {
      expect(protocolError(() => reassembleAll(reassembler, chunks))).toEqual({ code, message });
      expect(reassembler.pending).toBe(false);
    }
    // The rest of a failed message is dropped quietly; the next message goes through.
    const oversized = chunkMessage(bytes(3000), 23, 8, 65535);
    expect(protocolError(() => reassembler.push(oversized[0])).code).toBe("oversized");
    expect(reassembleAll(reassembler, oversized.slice(1))).toEqual([]);
    expect(reassembler.discardedChunks).toBe(oversized.length - 1);
    expect(reassembleAll(reassembler, [a0, a1, a2])).toEqual([bytes(40)]);
  });

  it("drops a message that stalls longer than the timeout", () => {
    let nowMs = 0;
    const reassembler = new Reassembler({ timeoutMs: 1000, clock: () => nowMs });
    const [c0, c1, c2] = chunkMessage(bytes(40), 23, 3);
    reassembler.push(c0);
    nowMs = 999;
    expect(reassembler.expire()).toBeUndefined();
    reassembler.push(c1);
    nowMs = 1000;
    const expired = reassembler.expire();
    expect([expired?.code, expired?.message]).toEqual(["ble_timeout", "message 3 stalled at 32 of 40 bytes for 1000 ms; send it again"]);
    expect(reassembler.push(c2)).toBeUndefined(); // its tail is dropped quietly
    reassembler.push(c0);
    nowMs = 2500;
    expect(protocolError(() => reassembler.push(c1))).toEqual({ code: "ble_timeout", message: "message 3 took longer than 1000 ms; send it again" });
  });

  it("a new first chunk replaces an unfinished message", () => {
    const reassembler = new Reassembler();
    const [a0] = chunkMessage(bytes(40), 23, 1);
    reassembler.push(a0);
    expect(reassembleAll(reassembler, chunkMessage(bytes(30, 2), 23, 2))).toEqual([bytes(30, 2)]);
    expect(reassembler.abandoned).toBe(1);
  });

  it("tells a link error reply from a firmware reply", () => {
    expect(decodeBleReply(encodeLinkError("oversized", "too big"))).toEqual({ kind: "link_error", error: { ok: false, error: "oversized", msg: "too big" } });
    expect(decodeBleReply(encodeCbor(new Map<string, unknown>([["id", 3], ["ok", false], ["error", -9]])))).toEqual({ kind: "reply", reply: { id: 3, ok: false, error: -9 } });
    expect(protocolError(() => decodeBleReply(encodeCbor(new Map<string, unknown>([["ok", true], ["error", "x"], ["msg", "y"]])))).code).toBe("bad_message");
  });
});

const skipReason = dbusDaemonAvailable() ? undefined : `${DBUS_DAEMON} is missing (Debian package dbus-daemon): the BLE link tests need a private D-Bus`;
if (skipReason !== undefined) console.warn(`skipping the BLE link tests: ${skipReason}`);

/** A pump served over BLE: the release firmware behind the product's peripheral. */
interface Served {
  pump: LocalPump;
  peripheral: BlePeripheral;
  storage: MemoryStorage;
}

async function serve(adapter: string, config: FirmwareConfig, options: { storage?: MemoryStorage; reassemblyTimeoutMs?: number } = {}): Promise<Served> {
  const storage = options.storage ?? new MemoryStorage();
  const pump = await LocalPump.start({ config, tenant: "demo", firmware: await releaseFirmware(), storage });
  try {
    return { pump, peripheral: await BlePeripheral.start(pump, { adapter, reassemblyTimeoutMs: options.reassemblyTimeoutMs }), storage };
  } catch (error) {
    await pump.close();
    throw error;
  }
}

async function stopServing(served: Served | undefined): Promise<void> {
  await served?.peripheral.stop();
  await served?.pump.close();
}

/** Waits until `read` gives a value that passes `done` (a notification, a retained message). */
async function until<T>(read: () => T, done: (value: T) => boolean, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not there within ${ms} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(skipReason !== undefined)("BLE link through node-ble, a fake BlueZ and the product's peripheral", () => {
  let bus: PrivateBus;
  let bluez: FakeBluez;
  let pump1: Served;
  let pump2: Served;
  let pump3: Served;
  let central: BleCentral;
  const links: PumpLink[] = [];
  const savedAddress = process.env.DBUS_SYSTEM_BUS_ADDRESS;

  async function connect(address = PUMP_1): Promise<PumpLink> {
    const link = await central.connect(address);
    links.push(link);
    return link;
  }

  async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
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

  beforeAll(async () => {
    bus = await startPrivateBus();
    process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
    bluez = await FakeBluez.start(bus.address, "hci0", CENTRAL); // the technician's adapter
    bluez.addAdapter("hci1", PUMP_1, { mtu: 23, rssi: -48 });
    bluez.addAdapter("hci2", PUMP_2, { mtu: 247, rssi: -71 });
    bluez.addAdapter("hci3", PUMP_3, { mtu: 185, rssi: -66 });
    bluez.addAdapter("hci4", LEGACY, { maxAdvertisingBytes: ADVERTISING_BYTES_LEGACY, rssi: -80 });
    pump1 = await serve("hci1", { device: "pump-1", rate_hz: 1000, window: 256, units: "m/s2" });
    pump2 = await serve("hci2", { device: "pump-2", rate_hz: 2000, window: 512 }, { reassemblyTimeoutMs: 300 });
    pump3 = await serve("hci3", { device: "pump-3", rate_hz: 1000, window: 256 });
    bluez.addDevice({ address: HEADSET, name: "JBL Flip 5", rssi: -40 });
    central = await BleCentral.open();
  });

  afterEach(async () => {
    for (const link of links.splice(0)) await link.disconnect();
    for (const remote of bluez.remotesOf(PUMP_1)) remote.dropNotifications = false;
  });

  afterAll(async () => {
    central?.close();
    for (const served of [pump1, pump2, pump3]) await stopServing(served);
    await bluez?.stop();
    await bus?.stop();
    if (savedAddress === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
    else process.env.DBUS_SYSTEM_BUS_ADDRESS = savedAddress;
  });

  it("scan lists the pumps advertising the impeller service, strongest first, and nothing else", async () => {
    expect(await central.scan(100)).toEqual([
      { address: PUMP_1, name: "impeller-pump-1", rssi: -48 },
      { address: PUMP_3, name: "impeller-pump-3", rssi: -66 },
      { address: PUMP_2, name: "impeller-pump-2", rssi: -71 },
    ]);
  });

  it("each pump registered its GATT application and advertisement with BlueZ, which shows the advertisement in discovery", async () => {
    const adapter = bluez.adapter("hci1");
    expect(adapter.applications.map((app) => [app.path, app.services.map((service) => [service.uuid, service.characteristics.map((c) => [c.uuid, c.flags])])])).toEqual([
      [APPLICATION_PATH, [[IMPELLER_SERVICE_UUID, [
        ["5e1d0002-7c4a-4b8e-9f21-3a6b8c0d2e4f", ["read"]],
        ["5e1d0003-7c4a-4b8e-9f21-3a6b8c0d2e4f", ["write", "write-without-response"]],
        ["5e1d0004-7c4a-4b8e-9f21-3a6b8c0d2e4f", ["notify"]],
      ]]]],
    ]);
    expect(adapter.advertising.ActiveInstances).toBe(1);
    const client = dbus.sessionBus({ busAddress: bus.address });
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
    expect(pump1.pump.device.outbox.pending().map((entry) => entry.kind)).toEqual(["event"]); // the reply never went to the outbox
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
    const writes = bluez.remote(PUMP_1).characteristic(COMMAND_CHAR_UUID);
    const writesBefore = writes.writes;
    expect(await link.command(command)).toEqual({ id: 43, ok: true });
    expect(writes.writes - writesBefore).toBe(chunks);
    // Applied: the next window's telemetry carries the new device id as its base name.
    const samples = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i / 3));
    expect(await pump1.pump.device.feed(samples, 1_767_225_600_000)).toBe(1);
    const telemetry = pump1.pump.device.outbox.pending().filter((entry) => entry.kind === "telemetry");
    expect(decodeSenml(telemetry[0].body)[0].bn).toBe("pump-1-east:");
    expect(await link.command({ ...command, id: 44, args: { ...command.args, device: "pump-1", units: "m/s2" } })).toEqual({ id: 44, ok: true });
  });

  it("a reply larger than the MTU comes back in notifications of MTU − 3 bytes", async () => {
    const link = await connect();
    const reply = bluez.remote(PUMP_1).characteristic(REPLY_CHAR_UUID);
    const notificationsBefore = pump1.peripheral.counters.notifications;
    expect(await link.command({ id: 45, cmd: "sampling", args: { interval_s: 60 } })).toEqual({ id: 45, ok: true, rate_hz: 1000, window: 256, interval_s: 60 });
    expect([pump1.peripheral.counters.notifications - notificationsBefore, reply.truncated]).toEqual([SAMPLING_REPLY_CHUNKS, 0]);
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
    const errorsBefore = pump1.peripheral.counters.linkErrors;
    const oversized = encodeCommand({ id: 48, cmd: "config", args: { device: "x".repeat(3000) } });
    expect(() => chunkMessage(oversized, 23, 0)).toThrow(ProtocolError); // the central will not send it
    const chunks = chunkMessage(oversized, 23, 201, 65535);
    await link.writeChunks(chunks);
    expect(await link.nextReply()).toEqual({
      kind: "link_error", error: { ok: false, error: "oversized", msg: "message 201 of 3033 bytes exceeds the limit of 2048 bytes" },
    });
    await expect(link.nextReply(200)).rejects.toMatchObject({ code: "reply_timeout" }); // the other 178 chunks: no more errors
    expect(pump1.peripheral.counters.linkErrors - errorsBefore).toBe(1);
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
    const errorsBefore = pump1.peripheral.counters.linkErrors;
    await link.writeChunks(junk);
    await until(() => pump1.peripheral.counters.linkErrors - errorsBefore, (count) => count >= refused);
    expect([pump1.peripheral.counters.linkErrors - errorsBefore, completed]).toEqual([refused, 0]);
    expect(refused).toBe(JUNK_REFUSED);
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
    bluez.remote(PUMP_1).dropNotifications = true;
    await expect(link.command({ id: 51, cmd: "self_test" }, 200)).rejects.toMatchObject({
      name: "BleError", code: "reply_timeout", message: `no reply to command 51 (self_test) from ${PUMP_1} within 200 ms`,
    });
    bluez.remote(PUMP_1).dropNotifications = false;
    expect(await link.command({ id: 52, cmd: "self_test" })).toEqual({ id: 52, ok: true });
  });

  it("a message that stalls half way gets a timeout error reply from the pump", async () => {
    const link = await connect(PUMP_2);
    const chunks = chunkMessage(encodeCommand({ id: 53, cmd: "config", args: { device: "p".repeat(60), rate_hz: 2000, window: 512, pad: "z".repeat(540) } }), 247, 7);
    expect(chunks.length).toBe(3);
    await link.writeChunks(chunks.slice(0, 1));
    expect(await link.nextReply(2000)).toEqual({
      kind: "link_error", error: { ok: false, error: "ble_timeout", msg: "message 7 stalled at 239 of 660 bytes for 300 ms; send it again" },
    });
    expect(await link.command({ id: 54, cmd: "self_test" })).toEqual({ id: 54, ok: true });
  });

  it("a link the pump drops rejects the waiting reader, and the pump can be reached again", async () => {
    const link = await connect();
    const waiting = link.nextReply(2000);
    void bluez.remote(PUMP_1).dropLink();
    await expect(waiting).rejects.toMatchObject({ code: "disconnected", message: `${PUMP_1} disconnected` });
    await expect(link.readState()).rejects.toMatchObject({ code: "disconnected" });
    const again = await connect();
    expect(await again.command({ id: 55, cmd: "self_test" })).toEqual({ id: 55, ok: true });
  });

  it("a device without the impeller service is not a pump", async () => {
    await expect(central.connect(HEADSET)).rejects.toMatchObject({
      code: "not_impeller", message: `${HEADSET} has no impeller service (5e1d0001-7c4a-4b8e-9f21-3a6b8c0d2e4f): it is not a pump`,
    });
    expect(bluez.remote(HEADSET).connected).toBe(false);
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
      process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
      await expect(BlePeripheral.start(offline, { adapter: "hci9" })).rejects.toMatchObject({
        code: "no_adapter", message: "BlueZ has no adapter hci9 that can serve GATT and advertise (it has hci0, hci1, hci2, hci3, hci4)",
      });
    } finally {
      process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
      await offline.close();
    }
  });

  it("the fake BlueZ lists its objects and announces a newly discovered device, as BlueZ does", async () => {
    const client = dbus.sessionBus({ busAddress: bus.address });
    client.on("error", () => {});
    try {
      const root = await client.getProxyObject("org.bluez", "/");
      const manager = root.getInterface("org.freedesktop.DBus.ObjectManager");
      const added = new Promise<[string, Record<string, Record<string, { value: unknown }>>]>((resolve) =>
        manager.on("InterfacesAdded", (path: string, interfaces: Record<string, Record<string, { value: unknown }>>) => resolve([path, interfaces])));
      bluez.addDevice({ address: "22:33:44:55:66:77", name: "Thermostat", rssi: -80 });
      await central.scan(50);
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

  describe("impeller ble", () => {
    it("scan prints the pumps in range", async () => {
      expect(await run(["scan", "--timeout", "0.1"])).toEqual({
        status: 0,
        stdout: [
          "address            rssi  name",
          `${PUMP_1}   -48  impeller-pump-1`,
          `${PUMP_3}   -66  impeller-pump-3`,
          `${PUMP_2}   -71  impeller-pump-2`,
          "3 pumps found.",
          "",
        ].join("\n"),
        stderr: "",
      });
    });

    it("status prints the pump's state", async () => {
      expect(await run(["status", PUMP_2])).toEqual({
        status: 0,
        stdout: [
          `Pump ${PUMP_2} (ATT MTU 247)`,
          "  device    pump-2",
          "  firmware  0.1.0 (boot 1)",
          "  sampling  2000 Hz, window 512 samples, units g",
          "  outbox    1 waiting, 2 published since boot",
          "  fleet     tenant demo, no broker, no owner",
          "",
        ].join("\n"),
        stderr: "",
      });
    });

    it("send prints the reply and exits 1 when the firmware says no", async () => {
      expect(await run(["send", PUMP_1.toLowerCase(), "--cmd", "self_test", "--id", "7"])).toEqual({ status: 0, stdout: "reply: id 7 ok\n", stderr: "" });
      expect(await run(["send", PUMP_1, "--cmd", "calibrate", "--id", "8"])).toEqual({
        status: 1, stdout: "reply: id 8 failed: error -9 (unknown_command)\n", stderr: "",
      });
      expect(await run(["send", PUMP_1, "--cmd", "config", "--id", "9", "--args", '{"device":"pump-1","rate_hz":1000,"window":256,"units":"m/s2"}'])).toEqual({
        status: 0, stdout: "reply: id 9 ok\n", stderr: "",
      });
    });

    it("usage mistakes exit 2 and say what is wrong", async () => {
      const cases: [string[], string][] = [
        [["send", PUMP_1], "ble send needs --cmd NAME, e.g. --cmd self_test"],
        [["status", "pump-1"], '"pump-1" is not a Bluetooth address like AA:BB:CC:DD:EE:01'],
        [["send", PUMP_1, "--cmd", "self_test", "--seq", "1.5"], '--seq needs a whole number from 0 to 9007199254740991, not "1.5"'],
        [["commission", PUMP_1], "ble commission needs at least one of --tenant, --device, --broker, --owner"],
        [["commission", PUMP_1, "--device=-east"], '--device needs 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit, not "-east"'],
        [["commission", PUMP_1, "--broker", "http://10.0.0.1"], '--broker needs a URL like mqtt://192.168.1.10:1883 (at most 200 characters), not "http://10.0.0.1"'],
        [["commission", PUMP_1, "--owner", "/nonexistent/owner.json"], "--owner /nonexistent/owner.json cannot be read as the owner's JSON file: ENOENT: no such file or directory, open '/nonexistent/owner.json'"],
        [["serve", "--rate", "50"], '--rate needs a number from 100 to 200000, not "50"'],
        [["serve", "--window", "100.5"], '--window needs a whole number from 16 to 8192, not "100.5"'],
        [["serve", "--duration", "0"], '--duration needs a number above 0 up to 31536000, not "0"'],
        [["serve", "--device", "pump 1"], '--device needs 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit, not "pump 1"'],
        [["serve", "--units", "mm/s"], '--units is g or m/s2, not "mm/s"'],
      ];
      for (const [args, message] of cases) {
        const outcome = await run(args);
        expect([outcome.status, outcome.stderr.split("\n")[0]], args.join(" ")).toEqual([2, `impeller ble: ${message}`]);
      }
      const badJson = await run(["send", PUMP_1, "--cmd", "config", "--args", "{window:"]);
      expect(badJson.status).toBe(2);
      expect(badJson.stderr).toMatch(/^impeller ble: --args needs JSON/);
    });

    it("a pump that is not there is an error, not a crash", async () => {
      expect(await run(["status", HEADSET])).toEqual({
        status: 1, stdout: "", stderr: `impeller ble: ${HEADSET} has no impeller service (5e1d0001-7c4a-4b8e-9f21-3a6b8c0d2e4f): it is not a pump\n`,
      });
    });
  });

  describe("commissioning", () => {
    let broker: EmbeddedBroker;
    let otherBroker: EmbeddedBroker | undefined;
    let subscriber: mqtt.MqttClient;
    const births = new Map<string, ReturnType<typeof decodeState>>();
    let directory: string;

    beforeAll(async () => {
      broker = await startEmbeddedBroker();
      subscriber = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
      subscriber.on("message", (topic, payload) => { if (payload.length > 0) births.set(topic, decodeState(new Uint8Array(payload))); });
      await subscriber.subscribeAsync("impeller/v1/+/+/state", { qos: 1 });
      directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-ble-"));
      fs.writeFileSync(path.join(directory, "acme.json"), JSON.stringify({ token: Buffer.from(OWNER_TOKEN).toString("hex"), waveform: "never", detail: "summary" }));
      fs.writeFileSync(path.join(directory, "thief.json"), JSON.stringify({ token: "ab".repeat(32) }));
    });

    afterAll(async () => {
      await subscriber?.endAsync();
      await broker?.close();
      await otherBroker?.close();
      fs.rmSync(directory, { recursive: true, force: true });
    });

    it("sets the pump's identity and broker: it reports there under its new topics and advertises its new name", async () => {
      const link = await connect(PUMP_3);
      expect(link.mtu).toBe(185);
      expect(await link.command({ id: 70, cmd: "commission", args: { tenant: "acme", device: "pump-east", broker: broker.url } })).toEqual({ id: 70, ok: true });
      expect(await until(() => births.get("impeller/v1/acme/pump-east/state"), (birth) => birth !== undefined)).toEqual({ online: true, session: 1, fw: 0x000100, abi: 1 });
      expect(await link.readState()).toEqual({
        device: "pump-east", fw: 0x000100, boot: 2, rate_hz: 1000, window: 256, units: "g", outbox: 0, published: 1, tenant: "acme", broker: broker.url, owned: false,
      });
      expect(pump3.peripheral.localName).toBe("impeller-pump-east");
      expect((await central.scan(50)).find((found) => found.address === PUMP_3)).toEqual({ address: PUMP_3, name: "impeller-pump-east", rssi: -66 });
    });

    it("gives the pump its owner's policy (impeller ble commission --owner): the firmware is provisioned and its commands need a counter", async () => {
      expect(await run(["commission", PUMP_3, "--owner", path.join(directory, "acme.json"), "--id", "71"])).toEqual({ status: 0, stdout: "reply: id 71 ok\n", stderr: "" });
      expect(await until(() => births.get("impeller/v1/acme/pump-east/state"), (birth) => birth?.policy !== undefined)).toEqual({
        online: true, session: 2, fw: 0x000100, abi: 1, policy: { waveform: "never", detail: "summary" },
      });
      const link = await connect(PUMP_3);
      expect((await link.readState()).owned).toBe(true);
      expect(await link.command({ id: 72, cmd: "self_test" })).toEqual({ id: 72, ok: false, error: -14 }); // no counter
      expect(await link.command({ id: 73, seq: 1, cmd: "waveform" })).toEqual({ id: 73, ok: false, error: -13 }); // the owner said never
      expect(await link.command({ id: 74, seq: 2, cmd: "self_test" })).toEqual({ id: 74, ok: true });
    });

    it("an owned pump takes a commission only with its owner's token and a counter above the last", async () => {
      const acme = path.join(directory, "acme.json");
      const cases: [string[], number, string][] = [
        [["--device", "pump-stolen", "--seq", "9"], 1, "reply: id 80 failed: error -13 (forbidden)\n"],
        [["--device", "pump-stolen", "--seq", "9", "--owner", path.join(directory, "thief.json")], 1, "reply: id 81 failed: error -13 (forbidden)\n"],
        [["--device", "pump-west", "--owner", acme], 1, "reply: id 82 failed: error -14 (replayed)\n"],
        [["--device", "pump-west", "--owner", acme, "--seq", "5"], 0, "reply: id 83 ok\n"],
        [["--device", "pump-north", "--owner", acme, "--seq", "5"], 1, "reply: id 84 failed: error -14 (replayed)\n"],
      ];
      for (const [index, [args, status, stdout]] of cases.entries()) {
        expect(await run(["commission", PUMP_3, ...args, "--id", String(80 + index)]), args.join(" ")).toEqual({ status, stdout, stderr: "" });
      }
      const link = await connect(PUMP_3);
      expect(await link.readState()).toMatchObject({ device: "pump-west", tenant: "acme", broker: broker.url, owned: true });
      expect(await until(() => births.get("impeller/v1/acme/pump-west/state"), (birth) => birth?.policy !== undefined)).toMatchObject({
        online: true, policy: { waveform: "never", detail: "summary" },
      });
      expect(births.get("impeller/v1/acme/pump-east/state")?.online).toBe(false); // the old identity said goodbye
    });

    it("refuses a malformed commission with bad_argument and changes nothing", async () => {
      const link = await connect(PUMP_3);
      const token = OWNER_TOKEN;
      const cases: [unknown, number][] = [
        [{ device: "pump-x", colour: "red" }, 90],
        [{ device: "-x" }, 91],
        [{ broker: "http://10.0.0.1:1883" }, 92],
        [{ owner: { token: new Uint8Array(8) } }, 93],
        [{}, 94],
        ["pump-x", 95],
      ];
      for (const [args, id] of cases) {
        expect(await link.command({ id, seq: 100 + id, cmd: "commission", args: args === undefined ? undefined : args }), JSON.stringify(args)).toEqual({ id, ok: false, error: -2 });
      }
      await expect(link.command({ id: -1, cmd: "commission", args: { device: "pump-x", owner: { token } } })).rejects.toMatchObject({
        code: "link_error", peerCode: "bad_message",
      });
      expect(await link.readState()).toMatchObject({ device: "pump-west", tenant: "acme" });
    });

    it("moves an owned pump to another broker with its owner's token: its link changes, its firmware runs on", async () => {
      otherBroker = await startEmbeddedBroker();
      const watcher = await mqtt.connectAsync(otherBroker.url, { protocolVersion: 4 });
      let birth: ReturnType<typeof decodeState> | undefined;
      watcher.on("message", (_topic, payload) => { if (payload.length > 0) birth = decodeState(new Uint8Array(payload)); });
      try {
        await watcher.subscribeAsync("impeller/v1/acme/pump-west/state", { qos: 1 });
        const first = await central.connect(PUMP_3);
        const before = await first.readState();
        await first.disconnect(); // the command below opens its own; one BlueZ, one connection to the pump
        const owner = path.join(directory, "acme.json");
        expect(await run(["commission", PUMP_3, "--broker", otherBroker.url, "--owner", owner, "--seq", "6", "--id", "96"])).toEqual({ status: 0, stdout: "reply: id 96 ok\n", stderr: "" });
        expect(await until(() => birth, (state) => state !== undefined)).toMatchObject({ online: true, policy: { waveform: "never", detail: "summary" } });
        const after = await (await connect(PUMP_3)).readState();
        expect([after.broker, after.boot, after.device]).toEqual([otherBroker.url, before.boot, "pump-west"]);
      } finally {
        await watcher.endAsync();
      }
    });

    it("what was commissioned survives a restart of the pump", async () => {
      const { storage } = pump3;
      await stopServing(pump3);
      pump3 = await serve("hci3", { device: "pump-3", rate_hz: 1000, window: 256 }, { storage });
      expect(storage.read(HOST_STORAGE_COMMISSIONING)).toBeDefined();
      expect([pump3.pump.id, pump3.peripheral.localName]).toEqual(["pump-west", "impeller-pump-west"]);
      const link = await connect(PUMP_3);
      expect(await link.readState()).toEqual({
        device: "pump-west", fw: 0x000100, boot: 5, rate_hz: 1000, window: 256, units: "g", outbox: 0, published: 2, tenant: "acme", broker: otherBroker?.url, owned: true,
      });
    });
  });

  describe("registering with BlueZ", () => {
    it("on a legacy controller the pump leaves the service UUID list out, and is found by its service data", async () => {
      const legacy = await serve("hci4", { device: "pump-4", rate_hz: 1000, window: 256 });
      try {
        expect(legacy.peripheral.advertisesServiceUuids).toBe(false);
        expect((await central.scan(50)).find((found) => found.address === LEGACY)).toEqual({ address: LEGACY, name: "impeller-pump-4", rssi: -80 });
        expect([bluez.remote(LEGACY).device1.UUIDs, Object.keys(bluez.remote(LEGACY).device1.ServiceData)]).toEqual([[], [IMPELLER_SERVICE_UUID]]);
      } finally {
        await stopServing(legacy);
      }
    });

    it("a pump that stops takes its service and advertisement back: nothing of it is left to find", async () => {
      const leaving = await serve("hci4", { device: "pump-4", rate_hz: 1000, window: 256 });
      const link = await central.connect(LEGACY);
      expect(await link.command({ id: 56, cmd: "self_test" })).toEqual({ id: 56, ok: true });
      await link.disconnect();
      await stopServing(leaving);
      const adapter = bluez.adapter("hci4");
      expect([adapter.applications.length, adapter.advertisements.length, adapter.advertising.ActiveInstances]).toEqual([0, 0, 0]);
      expect((await central.scan(50)).map((found) => found.address)).toEqual([PUMP_1, PUMP_3, PUMP_2]);
      await expect(central.connect(LEGACY, 200)).rejects.toMatchObject({ code: "not_found" });
    });

    it("impeller ble serve runs a pump that a scan finds while it serves", async () => {
      const serving = run(["serve", "--adapter", "hci4", "--device", "pump-9", "--tenant", "plant", "--duration", "1"]);
      const found = await until(() => bluez.adapter("hci4").advertisements.length, (count) => count === 1);
      expect(found).toBe(1);
      expect((await central.scan(50)).find((pump) => pump.address === LEGACY)).toEqual({ address: LEGACY, name: "impeller-pump-9", rssi: -80 });
      expect(await serving).toEqual({
        status: 0,
        stdout: [
          "Pump pump-9 (tenant plant, device pump-9, broker none, no owner) advertising as impeller-pump-9 on hci4 (AA:BB:CC:DD:EE:04); its storage is in memory, so commissioning lasts until it stops",
          "Stopped after 1 s: 0 commands over BLE, 0 link errors.",
          "",
        ].join("\n"),
        stderr: "",
      });
      expect(bluez.adapter("hci4").advertisements).toEqual([]);
    });

    it("BlueZ refuses what it refuses: a second registration, an unknown one, an advertisement too long for the controller", async () => {
      const client = dbus.sessionBus({ busAddress: bus.address });
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
        process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
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
