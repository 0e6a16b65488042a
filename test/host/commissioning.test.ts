// The commissioning rules on their own (host/ble/commissioning.ts): what a commission command may
// carry, who may commission a pump with an owner, what the pump keeps of it; and a pump run by
// this host (host/ble/local-pump.ts) starting from its stored record, or from its options when the
// record is damaged. The whole road over BLE is in ble.test.ts.

import { afterEach, describe, expect, it } from "vitest";
import {
  authorize, checkCommission, commissionCommand, commissioned, decodeCommissioning, encodeCommissioning, encodeCommissionReply,
  HOST_STORAGE_COMMISSIONING, type Commissioning,
} from "../../host/ble/commissioning.js";
import { LocalPump } from "../../host/ble/local-pump.js";
import { MemoryStorage } from "../../host/storage/storage.js";
import { decodeCbor, encodeCbor } from "../../protocol/cbor.js";
import { ProtocolError } from "../../protocol/errors.js";
import { decodeReply, encodeCommand } from "../../protocol/messages.js";
import { releaseFirmware } from "../support/firmware.js";

const TOKEN = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const OTHER_TOKEN = Uint8Array.from({ length: 16 }, (_, i) => 0xb0 + i);
const FRESH: Commissioning = { tenant: "demo", device: "pump", seq: 0 };
const OWNED: Commissioning = { tenant: "acme", device: "pump-east", broker: "mqtt://10.0.0.5:1883", owner: { token: TOKEN, waveform: "never" }, seq: 4 };

function command(args: unknown, extra: { id?: number; seq?: number } = {}): Map<unknown, unknown> {
  return commissionCommand(encodeCommand({ id: extra.id ?? 1, seq: extra.seq, cmd: "commission", args }))!;
}

function refusal(args: unknown): string {
  try {
    checkCommission(command(args));
  } catch (error) {
    if (error instanceof ProtocolError) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error("the commission was taken");
}

describe("a commission command", () => {
  it("is told from every other command by its cmd alone", () => {
    expect(commissionCommand(encodeCommand({ id: 1, cmd: "self_test" }))).toBeUndefined();
    expect(commissionCommand(Uint8Array.of(0xa2, 0x62))).toBeUndefined(); // not well-formed: the device answers it
    expect(commissionCommand(new Uint8Array(0))).toBeUndefined();
    expect(commissionCommand(encodeCbor(new Map([["cmd", "commission"]])))?.get("cmd")).toBe("commission");
  });

  it("carries any of tenant, device, broker and owner, checked as the pump will use them", () => {
    expect(checkCommission(command({ tenant: "acme", device: "pump-east", broker: "mqtts://broker.example:8883", owner: { token: TOKEN, detail: "summary" } }, { id: 7, seq: 3 })))
      .toEqual({ id: 7, seq: 3, tenant: "acme", device: "pump-east", broker: "mqtts://broker.example:8883", owner: { token: TOKEN, detail: "summary" } });
    expect(refusal({})).toBe("bad_message: a commission's args name at least one of tenant, device, broker, owner");
    expect(refusal({ colour: "red" })).toBe('bad_message: a commission\'s args have no field "colour"');
    expect(refusal({ device: "pump/east" })).toBe("bad_message: device is 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit");
    expect(refusal({ tenant: 7 })).toBe("bad_message: tenant is 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit");
    expect(refusal({ broker: "mqtt://host/path" })).toBe("bad_message: broker is a URL like mqtt://192.168.1.10:1883 (mqtt or mqtts, at most 200 characters)");
    expect(refusal({ broker: `mqtt://${"h".repeat(193)}` })).toBe("bad_message: broker is a URL like mqtt://192.168.1.10:1883 (mqtt or mqtts, at most 200 characters)");
    expect(refusal({ owner: { token: TOKEN.subarray(0, 15) } })).toBe("bad_message: owner.token is 16 to 32 bytes");
    expect(refusal({ owner: { token: TOKEN, waveform: "always" } })).toBe('bad_message: owner.waveform is "on_request" or "never"');
  });
});

describe("who may commission", () => {
  const request = (owner?: Uint8Array, seq?: number) => ({ id: 1, device: "pump-west", ...(owner !== undefined ? { owner: { token: owner } } : {}), ...(seq !== undefined ? { seq } : {}) });

  it("anyone, while the pump has no owner", () => {
    expect(authorize(FRESH, false, request()).status).toBe(0);
  });

  it("once it has one, only with the owner's token and a counter above the last", () => {
    expect(authorize(OWNED, true, request())).toEqual({ status: -13, why: "the pump has an owner: a commission must present the owner's token" });
    expect(authorize(OWNED, true, request(OTHER_TOKEN, 9))).toEqual({ status: -13, why: "the token is not the owner's" });
    expect(authorize(OWNED, true, request(TOKEN.subarray(0, 8), 9))).toEqual({ status: -13, why: "the token is not the owner's" });
    expect(authorize(OWNED, true, request(TOKEN))).toEqual({ status: -14, why: "the pump has an owner: a commission needs a seq above 4" });
    expect(authorize(OWNED, true, request(TOKEN, 4))).toEqual({ status: -14, why: "the pump has an owner: a commission needs a seq above 4" });
    expect(authorize(OWNED, true, request(TOKEN, 5))).toEqual({ status: 0, why: "the owner's token and a new seq" });
  });

  it("nobody, when the firmware has an owner this host was never told of", () => {
    expect(authorize(FRESH, true, request(TOKEN, 5))).toEqual({ status: -13, why: "the token is not the owner's" });
  });
});

describe("what the pump keeps", () => {
  it("the new fields over the old, the first owner, the highest counter", () => {
    expect(commissioned(FRESH, { id: 1, tenant: "acme", owner: { token: TOKEN } })).toEqual({ tenant: "acme", device: "pump", owner: { token: TOKEN }, seq: 0 });
    expect(commissioned(OWNED, { id: 1, seq: 5, device: "pump-west", owner: { token: TOKEN, waveform: "on_request" } }))
      .toEqual({ ...OWNED, device: "pump-west", seq: 5 });
  });

  it("a versioned record that reads back as it was written", () => {
    expect(decodeCommissioning(encodeCommissioning(OWNED))).toEqual(OWNED);
    expect(decodeCommissioning(encodeCommissioning(FRESH))).toEqual(FRESH);
    const record = decodeCbor(encodeCommissioning(FRESH)) as Map<string, unknown>;
    expect([...record.keys()]).toEqual(["v", "tenant", "device", "seq"]);
    expect(() => decodeCommissioning(encodeCbor(new Map<string, unknown>([...record, ["v", 2]])))).toThrow("the commissioning record is not a version 1 map");
  });

  it("answers in the firmware's reply shape", () => {
    expect(decodeReply(encodeCommissionReply(3, 0))).toEqual({ id: 3, ok: true });
    expect(decodeReply(encodeCommissionReply(3, -13))).toEqual({ id: 3, ok: false, error: -13 });
  });
});

describe("a pump run by this host", () => {
  const pumps: LocalPump[] = [];
  afterEach(async () => {
    for (const pump of pumps.splice(0)) await pump.close();
  });

  async function start(storage: MemoryStorage, log?: (device: string, level: number, text: string) => void): Promise<LocalPump> {
    const pump = await LocalPump.start({
      config: { device: "pump", rate_hz: 1000, window: 256 }, tenant: "demo", firmware: await releaseFirmware(), storage, isolation: "inline", log,
    });
    pumps.push(pump);
    return pump;
  }

  it("starts as it was commissioned", async () => {
    const storage = new MemoryStorage();
    storage.write(HOST_STORAGE_COMMISSIONING, encodeCommissioning({ tenant: "acme", device: "pump-east", seq: 2 }));
    const pump = await start(storage);
    expect([pump.id, pump.device.options.tenant, pump.device.options.config.device, pump.owned]).toEqual(["pump-east", "acme", "pump-east", false]);
  });

  it("starts as configured, and says so, when its record is damaged", async () => {
    const storage = new MemoryStorage();
    storage.write(HOST_STORAGE_COMMISSIONING, Uint8Array.of(0xa1, 0x61));
    const logs: string[] = [];
    const pump = await start(storage, (device, level, text) => { if (level >= 3) logs.push(`${device}: ${text}`); });
    expect([pump.id, pump.commissioning]).toEqual(["pump", { tenant: "demo", device: "pump", seq: 0 }]);
    expect(logs).toEqual(["pump: the commissioning record cannot be read, so the pump starts as configured: not well-formed CBOR: Unexpected end of CBOR data"]);
  });

  it("stores a commission and runs under it at once", async () => {
    const storage = new MemoryStorage();
    const pump = await start(storage);
    const replies: unknown[] = [];
    const status = await pump.handleCommand(encodeCommand({ id: 5, cmd: "commission", args: { device: "pump-west", owner: { token: TOKEN } } }), (bytes) => replies.push(decodeReply(bytes)));
    expect([status, replies]).toEqual([0, [{ id: 5, ok: true }]]);
    expect(decodeCommissioning(storage.read(HOST_STORAGE_COMMISSIONING)!)).toEqual({ tenant: "demo", device: "pump-west", owner: { token: TOKEN }, seq: 0 });
    expect([pump.device.options.config.device, pump.device.policy, pump.owned]).toEqual(["pump-west", { waveform: "on_request", detail: "full" }, true]);
  });
});
