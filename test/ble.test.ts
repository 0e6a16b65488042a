// The BLE transport end to end: node-ble, unmodified, talks over a private dbus-daemon to a
// fake BlueZ whose GATT service fronts a pump running the real release firmware. Also the
// chunking and reassembly rules on their own, and the `impeller ble` commands' output.

import dbus from "dbus-next";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { BleCentral, BleError, type PumpLink } from "../host/ble-central.js";
import { runBle } from "../host/ble-cli.js";
import {
  BLE_MESSAGE_BYTES_MAX, chunkMessage, chunkPayloadBytes, CHUNK_FIRST, CHUNK_LAST, COMMAND_CHAR_UUID, decodeBleReply, encodeLinkError,
  Reassembler,
} from "../protocol/ble.js";
import { encodeCbor } from "../protocol/cbor.js";
import { ProtocolError } from "../protocol/errors.js";
import { encodeCommand } from "../protocol/messages.js";
import { decodeSenml } from "../protocol/senml.js";
import { BlePump } from "./helpers/ble-pump.js";
import { dbusDaemonAvailable, DBUS_DAEMON, startPrivateBus, type PrivateBus } from "./helpers/dbus-daemon.js";
import { FakeBluez } from "./helpers/fake-bluez.js";

const PUMP_1 = "AA:BB:CC:DD:EE:01";
const PUMP_2 = "AA:BB:CC:DD:EE:02";
const HEADSET = "11:22:33:44:55:66";

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

describe.skipIf(skipReason !== undefined)("BLE link through node-ble and a fake BlueZ", () => {
  let bus: PrivateBus;
  let bluez: FakeBluez;
  let pump1: BlePump;
  let pump2: BlePump;
  let central: BleCentral;
  const links: PumpLink[] = [];
  const savedAddress = process.env.DBUS_SYSTEM_BUS_ADDRESS;

  async function connect(address = PUMP_1): Promise<PumpLink> {
    const link = await central.connect(address);
    links.push(link);
    return link;
  }

  beforeAll(async () => {
    bus = await startPrivateBus();
    process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
    bluez = await FakeBluez.start(bus.address);
    pump1 = await BlePump.start(bluez, { address: PUMP_1, mtu: 23, rssi: -48, config: { device: "pump-1", rate_hz: 1000, window: 256, units: "m/s2" } });
    pump2 = await BlePump.start(bluez, {
      address: PUMP_2, mtu: 247, rssi: -71, reassemblyTimeoutMs: 300, config: { device: "pump-2", rate_hz: 2000, window: 512 },
    });
    bluez.addDevice({ address: HEADSET, name: "JBL Flip 5", rssi: -40, mtu: 23, services: [] });
    central = await BleCentral.open();
  });

  afterEach(async () => {
    for (const link of links.splice(0)) await link.disconnect();
    pump1.dropReplies = false;
  });

  afterAll(async () => {
    central?.close();
    pump1?.stop();
    pump2?.stop();
    await bluez?.stop();
    await bus?.stop();
    if (savedAddress === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
    else process.env.DBUS_SYSTEM_BUS_ADDRESS = savedAddress;
  });

  it("scan lists the pumps advertising the impeller service, strongest first, and nothing else", async () => {
    expect(await central.scan(100)).toEqual([
      { address: PUMP_1, name: "impeller-pump-1", rssi: -48 },
      { address: PUMP_2, name: "impeller-pump-2", rssi: -71 },
    ]);
  });

  it("status reads the pump's state over the link's MTU", async () => {
    const link = await connect();
    expect(link.mtu).toBe(23);
    expect(await link.readState()).toEqual({
      device: "pump-1", fw: 0x000100, boot: 1, rate_hz: 1000, window: 256, units: "m/s2", outbox: 1, published: 1,
    });
    const other = await connect(PUMP_2);
    expect(other.mtu).toBe(247);
    expect((await other.readState()).units).toBe("g");
  });

  it("a self_test command comes back as the firmware's reply", async () => {
    const link = await connect();
    expect(await link.command({ id: 41, cmd: "self_test" })).toEqual({ id: 41, ok: true });
    expect(pump1.device.outbox.pending().map((entry) => entry.kind)).toEqual(["event"]); // the reply left the outbox
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
    const writes = bluez.devices[0].characteristic(COMMAND_CHAR_UUID);
    const writesBefore = writes.writes;
    expect(await link.command(command)).toEqual({ id: 43, ok: true });
    expect(writes.writes - writesBefore).toBe(chunks);
    // Applied: the next window's telemetry carries the new device id as its base name.
    const samples = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i / 3));
    expect(await pump1.device.feed(samples, 1_767_225_600_000)).toBe(1);
    const telemetry = pump1.device.outbox.pending().filter((entry) => entry.kind === "telemetry");
    expect(decodeSenml(telemetry[0].body)[0].bn).toBe("pump-1-east:");
  });

  it("a broken chunk stream gets one error reply per broken message and the link keeps working", async () => {
    const link = await connect();
    const [c0, , c2] = chunkMessage(encodeCommand({ id: 44, cmd: "config", args: { device: "pump-1", rate_hz: 1000, window: 256 } }), 23, 200);
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
      error: { ok: false, error: "bad_message", msg: 'the firmware answered -2 (bad_argument) without a reply: a command is {"id": uint, "cmd": text, ?"args": any}' },
    });
    expect(await link.command({ id: 45, cmd: "self_test" })).toEqual({ id: 45, ok: true });
  });

  it("an oversized message gets one error reply at its first chunk and the link keeps working", async () => {
    const link = await connect();
    const errorsBefore = pump1.linkErrors.length;
    const oversized = encodeCommand({ id: 46, cmd: "config", args: { device: "x".repeat(3000) } });
    expect(() => chunkMessage(oversized, 23, 0)).toThrow(ProtocolError); // the central will not send it
    const chunks = chunkMessage(oversized, 23, 201, 65535);
    await link.writeChunks(chunks);
    expect(await link.nextReply()).toEqual({
      kind: "link_error", error: { ok: false, error: "oversized", msg: "message 201 of 3033 bytes exceeds the limit of 2048 bytes" },
    });
    await expect(link.nextReply(200)).rejects.toMatchObject({ code: "reply_timeout" }); // the other 178 chunks: no more errors
    expect(pump1.linkErrors.length - errorsBefore).toBe(1);
    expect(chunks.length).toBe(179);
    expect(await link.command({ id: 47, cmd: "self_test" })).toEqual({ id: 47, ok: true });
  });

  it("a command the firmware cannot answer rejects with the pump's link error code", async () => {
    const link = await connect();
    const outcome = link.command({ id: -1, cmd: "self_test" }); // a negative id is no id to the firmware
    await expect(outcome).rejects.toBeInstanceOf(BleError);
    await expect(outcome).rejects.toMatchObject({
      code: "link_error",
      peerCode: "bad_message",
      message: `${PUMP_1} refused the message: bad_message: the firmware answered -2 (bad_argument) without a reply: a command is {"id": uint, "cmd": text, ?"args": any}`,
    });
  });

  it("a reply that never comes is a typed timeout, and the next command works", async () => {
    const link = await connect();
    pump1.dropReplies = true;
    await expect(link.command({ id: 50, cmd: "self_test" }, 200)).rejects.toMatchObject({
      name: "BleError", code: "reply_timeout", message: `no reply to command 50 (self_test) from ${PUMP_1} within 200 ms`,
    });
    pump1.dropReplies = false;
    expect(await link.command({ id: 51, cmd: "self_test" })).toEqual({ id: 51, ok: true });
  });

  it("a message that stalls half way gets a timeout error reply from the pump", async () => {
    const link = await connect(PUMP_2);
    const chunks = chunkMessage(encodeCommand({ id: 52, cmd: "config", args: { device: "p".repeat(60), rate_hz: 2000, window: 512, pad: "z".repeat(540) } }), 247, 7);
    expect(chunks.length).toBe(3);
    await link.writeChunks(chunks.slice(0, 1));
    expect(await link.nextReply(2000)).toEqual({
      kind: "link_error", error: { ok: false, error: "ble_timeout", msg: "message 7 stalled at 239 of 660 bytes for 300 ms; send it again" },
    });
    expect(await link.command({ id: 53, cmd: "self_test" })).toEqual({ id: 53, ok: true });
  });

  it("a link the pump drops rejects the waiting reader, and the pump can be reached again", async () => {
    const link = await connect();
    const waiting = link.nextReply(2000);
    bluez.devices[0].dropLink();
    await expect(waiting).rejects.toMatchObject({ code: "disconnected", message: `${PUMP_1} disconnected` });
    await expect(link.readState()).rejects.toMatchObject({ code: "disconnected" });
    const again = await connect();
    expect(await again.command({ id: 54, cmd: "self_test" })).toEqual({ id: 54, ok: true });
  });

  it("a device without the impeller service is not a pump", async () => {
    await expect(central.connect(HEADSET)).rejects.toMatchObject({
      code: "not_impeller", message: `${HEADSET} has no impeller service (5e1d0001-7c4a-4b8e-9f21-3a6b8c0d2e4f): it is not a pump`,
    });
    expect(bluez.devices[2].connected).toBe(false);
  });

  it("no bus and no BlueZ are typed errors, not a crash", async () => {
    process.env.DBUS_SYSTEM_BUS_ADDRESS = "unix:path=/nonexistent/impeller-bus";
    try {
      await expect(BleCentral.open()).rejects.toMatchObject({ code: "no_bus" });
      const empty = await startPrivateBus();
      process.env.DBUS_SYSTEM_BUS_ADDRESS = empty.address;
      try {
        await expect(BleCentral.open()).rejects.toMatchObject({
          code: "no_bluez", message: `BlueZ (org.bluez) is not running on the system D-Bus at ${empty.address}: start bluetoothd`,
        });
      } finally {
        await empty.stop();
      }
    } finally {
      process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
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
      bluez.addDevice({ address: "22:33:44:55:66:77", name: "Thermostat", rssi: -80, mtu: 23, services: [] });
      await central.scan(50);
      const [path, interfaces] = await added;
      expect([path, interfaces["org.bluez.Device1"].Name.value]).toEqual(["/org/bluez/hci0/dev_22_33_44_55_66_77", "Thermostat"]);
      const objects = (await manager.GetManagedObjects()) as Record<string, Record<string, unknown>>;
      expect(Object.keys(objects).filter((key) => key.split("/").length === 5).sort()).toEqual([
        "/org/bluez/hci0/dev_11_22_33_44_55_66", "/org/bluez/hci0/dev_22_33_44_55_66_77",
        "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_01", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_02",
      ]);
      expect(Object.keys(objects["/org/bluez/hci0"])).toEqual(["org.bluez.Adapter1"]);
    } finally {
      client.disconnect();
    }
  });

  describe("impeller ble", () => {
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

    it("scan prints the pumps in range", async () => {
      expect(await run(["scan", "--timeout", "0.1"])).toEqual({
        status: 0,
        stdout: [
          "address            rssi  name",
          `${PUMP_1}   -48  impeller-pump-1`,
          `${PUMP_2}   -71  impeller-pump-2`,
          "2 pumps found.",
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
      expect(await run(["send", PUMP_1, "--cmd", "config", "--id", "9", "--args", '{"device":"pump-1","rate_hz":1000,"window":256}'])).toEqual({
        status: 0, stdout: "reply: id 9 ok\n", stderr: "",
      });
    });

    it("usage mistakes exit 2 and say what is wrong", async () => {
      const missing = await run(["send", PUMP_1]);
      expect([missing.status, missing.stderr.split("\n")[0]]).toEqual([2, "impeller ble: ble send needs --cmd NAME, e.g. --cmd self_test"]);
      const badAddress = await run(["status", "pump-1"]);
      expect([badAddress.status, badAddress.stderr.split("\n")[0]]).toEqual([2, 'impeller ble: "pump-1" is not a Bluetooth address like AA:BB:CC:DD:EE:01']);
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
});
