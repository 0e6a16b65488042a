// Commissioning: what a technician sets on a pump over BLE before it joins a fleet, and the
// record the pump keeps of it. Three things: its identity (the tenant and device id its topics
// carry), its owner's data policy, and the MQTT broker it reports to. The firmware knows
// neither tenants nor brokers, so "commission" is the host's own command:
//
//   {"id": uint, ?"seq": uint, "cmd": "commission",
//    "args": {?"tenant": id, ?"device": id, ?"broker": "mqtt[s]://host:port", ?"owner": owner-policy}}
//
// Anyone may commission a pump that has no owner (fresh from the factory, a lab bench). Once it
// has one, a commission must present the owner's token (as "owner") and a counter ("seq") above
// the last one accepted, as the firmware asks of its own commands; the policy in such an "owner"
// is not applied: the owner's "policy" command changes it (firmware/ABI.md).

import { timingSafeEqual } from "node:crypto";
import { decodeCbor, encodeCbor } from "../../protocol/cbor.js";
import { ProtocolError } from "../../protocol/errors.js";
import { checkOwnerPolicy, type OwnerPolicy } from "../../protocol/messages.js";
import { isValidId } from "../../protocol/topics.js";

export const COMMISSION_COMMAND = "commission";
/** Host-side storage record (firmware/ABI.md: keys from 0x100 up are the host's). */
export const HOST_STORAGE_COMMISSIONING = 0x102;
/** The record's layout version. */
const RECORD_VERSION = 1;
/** The longest broker URL a pump takes (its state must fit one ATT attribute). */
export const BROKER_URL_CHARS_MAX = 200;
export const BROKER_URL_PATTERN = /^mqtts?:\/\/[^/\s]{1,192}$/;
/** Largest command the host decodes to route it. */
const COMMAND_BYTES_MAX = 2048;
const ARGS_KEYS = ["tenant", "device", "broker", "owner"];

/** Statuses a commission is answered with (the firmware's codes, same meaning). */
export const STATUS_OK = 0;
export const STATUS_BAD_ARGUMENT = -2;
export const STATUS_BAD_CONFIG = -4;
export const STATUS_STORAGE = -8;
export const STATUS_FORBIDDEN = -13;
export const STATUS_REPLAYED = -14;

/** What a pump keeps: the identity and broker it runs with, the owner it was given, and the
 *  last commissioning counter accepted. */
export interface Commissioning {
  tenant: string;
  device: string;
  /** undefined: no broker yet; the outbox waits. */
  broker?: string;
  owner?: OwnerPolicy;
  seq: number;
}

/** A commission command, checked. */
export interface CommissionRequest {
  id: number;
  seq?: number;
  tenant?: string;
  device?: string;
  broker?: string;
  owner?: OwnerPolicy;
}

function fail(message: string): never {
  throw new ProtocolError("bad_message", message);
}

function checkId(value: unknown, what: string): string {
  if (typeof value !== "string" || !isValidId(value)) fail(`${what} is 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit`);
  return value;
}

function checkBroker(value: unknown): string {
  if (typeof value !== "string" || value.length > BROKER_URL_CHARS_MAX || !BROKER_URL_PATTERN.test(value)) {
    fail(`broker is a URL like mqtt://192.168.1.10:1883 (mqtt or mqtts, at most ${BROKER_URL_CHARS_MAX} characters)`);
  }
  return value;
}

function uint32(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff ? value : undefined;
}

/** The command's map when `bytes` is a commission command, else undefined (the device's). */
export function commissionCommand(bytes: Uint8Array): Map<unknown, unknown> | undefined {
  if (bytes.length === 0 || bytes.length > COMMAND_BYTES_MAX) return undefined;
  try {
    const value = decodeCbor(bytes, COMMAND_BYTES_MAX);
    return value instanceof Map && value.get("cmd") === COMMISSION_COMMAND ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The command's id when it is readable (a reply needs one). */
export function commissionId(command: Map<unknown, unknown>): number | undefined {
  return uint32(command.get("id"));
}

/** Checks a commission command; ProtocolError "bad_message" says which field is wrong. */
export function checkCommission(command: Map<unknown, unknown>): CommissionRequest {
  for (const key of command.keys()) if (key !== "id" && key !== "seq" && key !== "cmd" && key !== "args") fail(`a commission has no field ${JSON.stringify(key)}`);
  const id = uint32(command.get("id"));
  if (id === undefined) fail("a commission needs an id in 0..4294967295");
  const request: CommissionRequest = { id };
  if (command.has("seq")) {
    const seq = command.get("seq");
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) fail("seq is an unsigned integer");
    request.seq = seq;
  }
  const args = command.get("args");
  if (!(args instanceof Map) || args.size === 0) fail(`a commission's args name at least one of ${ARGS_KEYS.join(", ")}`);
  for (const key of args.keys()) if (!ARGS_KEYS.includes(key as string)) fail(`a commission's args have no field ${JSON.stringify(key)}`);
  if (args.has("tenant")) request.tenant = checkId(args.get("tenant"), "tenant");
  if (args.has("device")) request.device = checkId(args.get("device"), "device");
  if (args.has("broker")) request.broker = checkBroker(args.get("broker"));
  if (args.has("owner")) request.owner = checkOwnerPolicy(args.get("owner"));
  return request;
}

function sameToken(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Whether `request` may change a pump commissioned as `current`. `owned`: the pump has an
 * owner's policy in force (the firmware said so), which `current.owner` may not know when it was
 * provisioned some other way: then no token this host can check opens it.
 */
export function authorize(current: Commissioning, owned: boolean, request: CommissionRequest): { status: number; why: string } {
  if (!owned && current.owner === undefined) return { status: STATUS_OK, why: "the pump has no owner yet" };
  if (request.owner === undefined) return { status: STATUS_FORBIDDEN, why: "the pump has an owner: a commission must present the owner's token" };
  if (current.owner === undefined || !sameToken(current.owner.token, request.owner.token)) {
    return { status: STATUS_FORBIDDEN, why: "the token is not the owner's" };
  }
  if (request.seq === undefined || request.seq <= current.seq) {
    return { status: STATUS_REPLAYED, why: `the pump has an owner: a commission needs a seq above ${current.seq}` };
  }
  return { status: STATUS_OK, why: "the owner's token and a new seq" };
}

/** What the pump keeps after `request` was accepted. An owner is given once: the first stays. */
export function commissioned(current: Commissioning, request: CommissionRequest): Commissioning {
  const next: Commissioning = {
    tenant: request.tenant ?? current.tenant,
    device: request.device ?? current.device,
    seq: Math.max(current.seq, request.seq ?? 0),
  };
  const broker = request.broker ?? current.broker;
  if (broker !== undefined) next.broker = broker;
  const owner = current.owner ?? request.owner;
  if (owner !== undefined) next.owner = owner;
  return next;
}

export function encodeCommissioning(record: Commissioning): Uint8Array {
  const map = new Map<string, unknown>([["v", RECORD_VERSION], ["tenant", record.tenant], ["device", record.device], ["seq", record.seq]]);
  if (record.broker !== undefined) map.set("broker", record.broker);
  if (record.owner !== undefined) map.set("owner", new Map<string, unknown>(Object.entries(record.owner)));
  return encodeCbor(map);
}

/** Reads the stored record; ProtocolError when it is damaged or of another version. */
export function decodeCommissioning(bytes: Uint8Array): Commissioning {
  const value = decodeCbor(bytes, COMMAND_BYTES_MAX);
  if (!(value instanceof Map) || value.get("v") !== RECORD_VERSION) fail(`the commissioning record is not a version ${RECORD_VERSION} map`);
  const seq = value.get("seq");
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) fail("the commissioning record's seq is an unsigned integer");
  const record: Commissioning = { tenant: checkId(value.get("tenant"), "tenant"), device: checkId(value.get("device"), "device"), seq };
  if (value.has("broker")) record.broker = checkBroker(value.get("broker"));
  if (value.has("owner")) record.owner = checkOwnerPolicy(value.get("owner"));
  return record;
}

/** The firmware-shaped reply to a commission: {"id", "ok": true} or {"id", "ok": false, "error"}. */
export function encodeCommissionReply(id: number, status: number): Uint8Array {
  return encodeCbor(new Map<string, unknown>(status === STATUS_OK ? [["id", id], ["ok", true]] : [["id", id], ["ok", false], ["error", status]]));
}
