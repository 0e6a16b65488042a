// The firmware's configuration and the message kinds it publishes, as the TypeScript side
// encodes and decodes them. The firmware's own CBOR code mirrors this file.

import { decodeCbor, encodeCbor } from "./cbor.js";
import { ProtocolError } from "./errors.js";
import { diagnostic } from "./diagnostic.js";
import type { TopicKind } from "./topics.js";

/** host.publish kinds (impeller_abi.h IMPELLER_KIND_*) and the topic each goes to. */
export const MESSAGE_KINDS: ReadonlyMap<number, TopicKind> = new Map([
  [1, "telemetry"],
  [2, "event"],
  [3, "reply"],
  [4, "waveform"],
]);

export type AccelerationUnits = "g" | "m/s2";

/** The firmware configuration (firmware/ABI.md). */
export interface FirmwareConfig {
  device: string;
  rate_hz: number;
  window: number;
  units?: AccelerationUnits;
  max_message?: number;
  rpm?: number;
  rpm_range?: [number, number];
  vanes?: number;
  /** [rolling elements, element diameter mm, pitch diameter mm, contact angle deg]. */
  bearing?: [number, number, number, number];
  iso_group?: 1 | 2;
  foundation?: "rigid" | "flexible";
  band_hz?: [number, number];
  cav_m_s2?: number;
  /** The owner's data policy, applied at provisioning (the first boot) only. */
  owner?: OwnerPolicy;
  /** Windows the baseline is learned over, from the first in service (4..10000, default 36). */
  baseline_windows?: number;
  /** Consecutive windows each measurement takes (1..64, default 1); the trend takes one value a
   *  measurement. */
  windows?: number;
}

export interface OwnerPolicy {
  /** 16 to 32 bytes only the owner knows; a "policy" command must present it. */
  token: Uint8Array;
  waveform?: "on_request" | "never";
  detail?: "full" | "summary";
}

/** Field checks shared by the codecs below: each returns the value or throws bad_message. */
function fail(message: string): never {
  throw new ProtocolError("bad_message", message);
}

function asMap(value: unknown, what: string): Map<unknown, unknown> {
  if (!(value instanceof Map)) fail(`${what} is a CBOR map`);
  for (const key of value.keys()) if (typeof key !== "string") fail(`${what} has text keys only, not ${String(key)}`);
  return value;
}

function numberIn(value: unknown, what: string, low: number, high: number, integer = false): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < low || value > high || (integer && !Number.isInteger(value))) {
    fail(`${what} must be ${integer ? "an integer" : "a number"} in ${low}..${high}, not ${String(value)}`);
  }
  return value;
}

function pair(value: unknown, what: string, low: number, high: number): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) fail(`${what} is [low, high]`);
  const a = numberIn(value[0], `${what}[0]`, low, high);
  const b = numberIn(value[1], `${what}[1]`, low, high);
  if (!(b > a)) fail(`${what}: high must be above low`);
  return [a, b];
}

function onlyKeys(map: Map<unknown, unknown>, keys: readonly string[], what: string): void {
  for (const key of map.keys()) if (!keys.includes(key as string)) fail(`${what} has no field ${diagnostic(key)}`);
}

const CONFIG_KEYS = [
  "device", "rate_hz", "window", "units", "max_message", "rpm", "rpm_range", "vanes", "bearing",
  "iso_group", "foundation", "band_hz", "cav_m_s2", "owner", "baseline_windows", "windows",
] as const;
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** The most consecutive windows a measurement may take (the configuration's and "sampling"'s
 *  windows). */
export const ACQUISITION_WINDOWS_MAX = 64;

/** The accepted ranges of a configuration's numeric fields, as firmware/config.ts checks them. */
export const CONFIG_RANGES = {
  rate_hz: [100, 200_000],
  window: [16, 8192],
  max_message: [256, 16384],
  rpm: [0, 60_000],
  vanes: [0, 16],
  iso_group: [1, 2],
  baseline_windows: [4, 10000],
  windows: [1, ACQUISITION_WINDOWS_MAX],
} as const satisfies Record<string, readonly [number, number]>;

/** Checks a configuration as the firmware does (ranges, and the speed and band below Nyquist). */
export function checkFirmwareConfig(value: unknown): FirmwareConfig {
  const map = asMap(value, "a firmware configuration");
  onlyKeys(map, CONFIG_KEYS, "a firmware configuration");
  const device = map.get("device");
  if (typeof device !== "string" || !DEVICE_ID.test(device)) fail("device is 1 to 64 of A-Z a-z 0-9 . _ : - starting alphanumeric");
  const config: FirmwareConfig = {
    device,
    rate_hz: numberIn(map.get("rate_hz"), "rate_hz", ...CONFIG_RANGES.rate_hz),
    window: numberIn(map.get("window"), "window", ...CONFIG_RANGES.window, true),
  };
  const nyquist = config.rate_hz / 2;
  const units = map.get("units");
  if (units !== undefined) config.units = units === "g" || units === "m/s2" ? units : fail('units is "g" or "m/s2"');
  if (map.has("max_message")) config.max_message = numberIn(map.get("max_message"), "max_message", ...CONFIG_RANGES.max_message, true);
  if (map.has("rpm")) config.rpm = numberIn(map.get("rpm"), "rpm", ...CONFIG_RANGES.rpm);
  if ((config.rpm ?? 0) / 60 >= nyquist) fail(`rpm must be below ${nyquist * 60} (Nyquist at rate_hz ${config.rate_hz}), not ${config.rpm}`);
  if (map.has("rpm_range")) config.rpm_range = pair(map.get("rpm_range"), "rpm_range", 1, 60_000);
  if ((config.rpm_range?.[1] ?? 3600) / 60 >= nyquist) {
    fail(`rpm_range[1] must be below ${nyquist * 60} (Nyquist at rate_hz ${config.rate_hz}), not ${config.rpm_range?.[1] ?? "3600 (the default)"}`);
  }
  if (map.has("vanes")) config.vanes = numberIn(map.get("vanes"), "vanes", ...CONFIG_RANGES.vanes, true);
  if (map.has("bearing")) {
    const b = map.get("bearing");
    if (!Array.isArray(b) || b.length !== 4) fail("bearing is [n, d_mm, D_mm, angle_deg]");
    const n = numberIn(b[0], "bearing n", 3, 64, true);
    const d = numberIn(b[1], "bearing d_mm", Number.MIN_VALUE, 2000);
    const pitch = numberIn(b[2], "bearing D_mm", 0, 2000);
    if (!(pitch > d)) fail("bearing: the element diameter must be below the pitch diameter");
    config.bearing = [n, d, pitch, numberIn(b[3], "bearing angle_deg", 0, 60)];
  }
  if (map.has("iso_group")) config.iso_group = numberIn(map.get("iso_group"), "iso_group", ...CONFIG_RANGES.iso_group, true) as 1 | 2;
  const foundation = map.get("foundation");
  if (foundation !== undefined) config.foundation = foundation === "rigid" || foundation === "flexible" ? foundation : fail('foundation is "rigid" or "flexible"');
  if (map.has("band_hz")) config.band_hz = pair(map.get("band_hz"), "band_hz", 0, nyquist);
  if (map.has("cav_m_s2")) config.cav_m_s2 = numberIn(map.get("cav_m_s2"), "cav_m_s2", 0.001, 1000);
  if (map.has("baseline_windows")) config.baseline_windows = numberIn(map.get("baseline_windows"), "baseline_windows", ...CONFIG_RANGES.baseline_windows, true);
  if (map.has("windows")) config.windows = numberIn(map.get("windows"), "windows", ...CONFIG_RANGES.windows, true);
  if (map.has("owner")) config.owner = checkOwnerPolicy(map.get("owner"));
  return config;
}

/** Checks an owner's data policy map as the firmware does: {"token": bstr 16–32, ?"waveform", ?"detail"}. */
export function checkOwnerPolicy(value: unknown): OwnerPolicy {
  const owner = asMap(value, "owner");
  onlyKeys(owner, ["token", "waveform", "detail"], "owner");
  const token = owner.get("token");
  if (!(token instanceof Uint8Array) || token.length < 16 || token.length > 32) fail("owner.token is 16 to 32 bytes");
  const waveform = owner.get("waveform");
  const detail = owner.get("detail");
  if (waveform !== undefined && waveform !== "on_request" && waveform !== "never") fail('owner.waveform is "on_request" or "never"');
  if (detail !== undefined && detail !== "full" && detail !== "summary") fail('owner.detail is "full" or "summary"');
  return { token, ...(waveform !== undefined ? { waveform } : {}), ...(detail !== undefined ? { detail } : {}) } as OwnerPolicy;
}

export function decodeFirmwareConfig(bytes: Uint8Array): FirmwareConfig {
  return checkFirmwareConfig(decodeCbor(bytes, 2048));
}

export function encodeFirmwareConfig(config: FirmwareConfig): Uint8Array {
  const map = new Map<string, unknown>();
  for (const [key, value] of Object.entries(config)) if (value !== undefined) map.set(key, value);
  return encodeCbor(map);
}

/** A command to the firmware: {"id": uint, "cmd": text, ?"args": any}. */
export interface Command {
  id: number;
  /** The command counter: a provisioned device runs a command only above the last one. */
  seq?: number;
  cmd: string;
  args?: unknown;
}

export const FIRMWARE_COMMANDS = ["config", "self_test", "sampling", "waveform", "reboot", "maintenance", "shutdown"] as const;

/** The firmware's diagnoses (firmware/ANALYSIS.md §6), and "sensor_fault" for a window that
 *  is no measurement (ANALYSIS.md, "Sensor health"), which no machine diagnosis is drawn from. */
export const FAULTS = [
  "none", "imbalance", "misalignment", "outer_race", "inner_race", "rolling_element", "cavitation", "unknown",
  "sensor_fault",
] as const;
export type Fault = (typeof FAULTS)[number];

/** What is wrong with the sensor of a "sensor_fault" window: its telemetry's "sensor" text. */
export const SENSOR_FAULTS = ["dead", "clipped", "offset", "spiky"] as const;
export type SensorFault = (typeof SENSOR_FAULTS)[number];

/** What the firmware advises (firmware/advice.ts), and what a "maintenance" command says was done. */
export const MAINTENANCE_ACTIONS = ["inspect", "replace_bearing", "balance_impeller", "align_shaft", "check_suction", "check_sensor"] as const;
export type MaintenanceAction = (typeof MAINTENANCE_ACTIONS)[number];

/** Decodes and checks a firmware command the way the firmware will: another `cmd`, or args
 *  the firmware would refuse, is a bad_message. */
export function decodeCommand(bytes: Uint8Array): Command {
  const map = asMap(decodeCbor(bytes, 2048), "a command");
  onlyKeys(map, ["id", "cmd", "args"], "a command");
  const id = numberIn(map.get("id"), "id", 0, 0xffffffff, true);
  const cmd = map.get("cmd");
  if (typeof cmd !== "string" || !(FIRMWARE_COMMANDS as readonly string[]).includes(cmd)) fail(`unknown command ${diagnostic(cmd)}`);
  const args = map.get("args");
  if (cmd === "config") return { id, cmd, args: checkFirmwareConfig(args) };
  if (cmd === "sampling") {
    const a = asMap(args, "sampling args");
    onlyKeys(a, ["rate_hz", "interval_s", "windows"], "sampling args");
    if (a.size === 0) fail("sampling needs rate_hz, interval_s or windows");
    const out: Record<string, number> = {};
    if (a.has("rate_hz")) out.rate_hz = numberIn(a.get("rate_hz"), "rate_hz", 100, 200_000);
    if (a.has("interval_s")) out.interval_s = numberIn(a.get("interval_s"), "interval_s", 1, 86_400);
    if (a.has("windows")) out.windows = numberIn(a.get("windows"), "windows", ...CONFIG_RANGES.windows, true);
    return { id, cmd, args: out };
  }
  if (cmd === "maintenance") {
    const a = asMap(args, "maintenance args");
    onlyKeys(a, ["action"], "maintenance args");
    const action = a.get("action");
    if (!(MAINTENANCE_ACTIONS as readonly unknown[]).includes(action)) fail(`maintenance action is one of ${MAINTENANCE_ACTIONS.join(", ")}`);
    return { id, cmd, args: { action } };
  }
  if (cmd === "waveform" && args !== undefined) {
    const a = asMap(args, "waveform args");
    onlyKeys(a, ["max_bytes"], "waveform args");
    return { id, cmd, args: a.has("max_bytes") ? { max_bytes: numberIn(a.get("max_bytes"), "max_bytes", 256, 65535, true) } : {} };
  }
  if (args !== undefined) fail(`${cmd} takes no args`);
  return { id, cmd };
}


export function encodeCommand(command: Command): Uint8Array {
  const map = new Map<string, unknown>([["id", command.id]]);
  if (command.seq !== undefined) map.set("seq", command.seq);
  map.set("cmd", command.cmd);
  if (command.args !== undefined) {
    map.set("args", command.args instanceof Object && !(command.args instanceof Map) && !Array.isArray(command.args)
      ? new Map(Object.entries(command.args as Record<string, unknown>))
      : command.args);
  }
  return encodeCbor(map);
}

export interface Reply {
  id: number;
  ok: boolean;
  error?: number;
  /** "sampling": the sampling now in force. */
  rate_hz?: number;
  window?: number;
  interval_s?: number;
  /** Consecutive windows each measurement takes (1: a window alone). */
  windows?: number;
  /** "waveform": how many parts were sent. */
  parts?: number;
}

const REPLY_NUMBERS = ["error", "rate_hz", "window", "interval_s", "windows", "parts"] as const;

export function decodeReply(bytes: Uint8Array): Reply {
  const value = decodeCbor(bytes, 1024);
  if (!(value instanceof Map)) throw new ProtocolError("bad_message", "a reply is a CBOR map");
  const id = value.get("id");
  const ok = value.get("ok");
  if (typeof id !== "number" || typeof ok !== "boolean") {
    throw new ProtocolError("bad_message", 'a reply has "id" (uint), "ok" (bool) and, when not ok, "error" (int)');
  }
  const reply: Reply = { id, ok };
  for (const key of value.keys()) {
    if (key === "id" || key === "ok") continue;
    const field = REPLY_NUMBERS.find((name) => name === key);
    const number = value.get(key);
    if (field === undefined || typeof number !== "number") {
      throw new ProtocolError("bad_message", `a reply has no field ${diagnostic(key)} of that type`);
    }
    reply[field] = number;
  }
  if (!ok && reply.error === undefined) throw new ProtocolError("bad_message", 'a reply that is not ok carries "error"');
  return reply;
}

/** One part of a raw waveform: float32 samples `first`..`first + n − 1` of the window taken at `t`. */
export interface WaveformPart {
  id: number;
  part: number;
  parts: number;
  /** Unix milliseconds of the window's first sample. */
  t: number;
  rate_hz: number;
  units: AccelerationUnits;
  first: number;
  samples: Float32Array;
}

export function decodeWaveformPart(bytes: Uint8Array): WaveformPart {
  const value = decodeCbor(bytes);
  const get = (key: string): unknown => (value instanceof Map ? value.get(key) : undefined);
  const numbers = ["id", "part", "parts", "t", "rate_hz", "first"].map(get);
  const units = get("units");
  const raw = get("samples");
  if (numbers.some((n) => typeof n !== "number") || (units !== "g" && units !== "m/s2") || !(raw instanceof Uint8Array) || raw.length % 4 !== 0) {
    throw new ProtocolError("bad_message", "a waveform part has id, part, parts, t, rate_hz, units, first and samples (float32 LE bytes)");
  }
  const [id, part, parts, t, rate_hz, first] = numbers as number[];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const samples = Float32Array.from({ length: raw.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
  return { id, part, parts, t, rate_hz, units, first, samples };
}

/** Why the host rebooted the firmware (host/runtime/supervisor.ts): it trapped, it ran out of memory,
 *  or a call overran its time budget. */
export const FAULT_KINDS = ["trap", "memory", "hang"] as const;
export type FaultKindName = (typeof FAULT_KINDS)[number];

/** Why the outbox dropped or refused messages (host/outbox/file-outbox.ts). */
export const OUTBOX_DROP_REASONS = ["thinned", "full", "too_large", "write_failed", "corrupt_log"] as const;
export type OutboxDropReasonName = (typeof OUTBOX_DROP_REASONS)[number];

/** Events the host publishes about the firmware and the outbox, through the same outbox. */
export type HostEvent =
  /** A fault, published after the reboot it caused; `count`: faults of this kind in storage. */
  | { event: "fault"; fault: FaultKindName; reason: string; count: number }
  /** The supervisor gave up: `faults` faults within `window_s` seconds; no more reboots. */
  | { event: "failed"; faults: number; window_s: number; reason: string }
  /** Messages thinned or refused; `first`/`last`: the dropped sequences, when any had one. */
  | { event: "outbox_drop"; reason: OutboxDropReasonName; messages: number; bytes: number; first?: number; last?: number }
  /** The host refused an update offer (a bad signature, another vendor or class, a downgrade). */
  | { event: "error"; code: number; what: "update" | "command" };

export type DeviceEvent =
  | { event: "boot"; boot: number; fw: number }
  | { event: "error"; code: number; what: "samples" | "config" | "command" | "policy" | "update" | "storage" }
  | { event: "policy"; provisioned: boolean; waveform: "on_request" | "never"; detail: "full" | "summary" }
  | { event: "alarm"; level: "none" | "alert" | "danger"; health: number }
  /** The advice changed: what to do about which fault, by when (Unix seconds); "none" when out of alarm. */
  | { event: "advice"; action: "none" | MaintenanceAction; fault?: string; by?: number }
  /** A "maintenance" command was carried out: the baseline is learned again. */
  | { event: "maintenance"; action: MaintenanceAction }
  | HostEvent;

/** Longest `reason` text in a host event, in characters (a panic's reason is at most 256 bytes). */
export const EVENT_REASON_CHARS_MAX = 300;

export function encodeHostEvent(event: HostEvent): Uint8Array {
  const map = new Map<string, unknown>();
  for (const [key, value] of Object.entries(event)) {
    if (value === undefined) continue;
    map.set(key, key === "reason" && typeof value === "string" ? value.slice(0, EVENT_REASON_CHARS_MAX) : value);
  }
  return encodeCbor(map);
}

function textOf(value: unknown, what: string): string {
  if (typeof value !== "string" || value.length > EVENT_REASON_CHARS_MAX) fail(`${what} is a text of at most ${EVENT_REASON_CHARS_MAX} characters`);
  return value;
}

function decodeHostEvent(map: Map<unknown, unknown>, event: unknown): HostEvent | undefined {
  const uint = (key: string): number => numberIn(map.get(key), key, 0, Number.MAX_SAFE_INTEGER, true);
  if (event === "fault") {
    onlyKeys(map, ["event", "fault", "reason", "count"], "a fault event");
    const fault = map.get("fault");
    if (!(FAULT_KINDS as readonly unknown[]).includes(fault)) fail(`a fault event's "fault" is one of ${FAULT_KINDS.join(", ")}`);
    return { event, fault: fault as FaultKindName, reason: textOf(map.get("reason"), "reason"), count: numberIn(map.get("count"), "count", 1, 0xffffffff, true) };
  }
  if (event === "failed") {
    onlyKeys(map, ["event", "faults", "window_s", "reason"], "a failed event");
    return { event, faults: numberIn(map.get("faults"), "faults", 1, 0xffffffff, true), window_s: uint("window_s"), reason: textOf(map.get("reason"), "reason") };
  }
  if (event === "outbox_drop") {
    onlyKeys(map, ["event", "reason", "messages", "bytes", "first", "last"], "an outbox_drop event");
    const reason = map.get("reason");
    if (!(OUTBOX_DROP_REASONS as readonly unknown[]).includes(reason)) fail(`an outbox_drop event's "reason" is one of ${OUTBOX_DROP_REASONS.join(", ")}`);
    const drop: HostEvent = { event, reason: reason as OutboxDropReasonName, messages: uint("messages"), bytes: uint("bytes") };
    if (map.has("first") !== map.has("last")) fail('an outbox_drop event has both "first" and "last" or neither');
    if (map.has("first")) {
      drop.first = uint("first");
      drop.last = uint("last");
      if (drop.last < drop.first) fail('an outbox_drop event\'s "last" is not below its "first"');
    }
    return drop;
  }
  return undefined;
}

/** An event: the firmware's {"event": "boot", "boot": n, "fw": v} or {"event": "error", "code":
 *  status, "what": ...}, or one of the host's (HostEvent). */
export function decodeEvent(bytes: Uint8Array): DeviceEvent {
  const map = asMap(decodeCbor(bytes, 4096), "an event");
  const event = map.get("event");
  if (event === "boot") {
    onlyKeys(map, ["event", "boot", "fw"], "a boot event");
    return { event, boot: numberIn(map.get("boot"), "boot", 0, 0xffffffff, true), fw: numberIn(map.get("fw"), "fw", 0, 0xffffff, true) };
  }
  if (event === "error") {
    onlyKeys(map, ["event", "code", "what"], "an error event");
    const what = map.get("what");
    if (what !== "samples" && what !== "config" && what !== "command" && what !== "policy" && what !== "update" && what !== "storage") {
      fail('an error event\'s "what" is "samples", "config", "command", "policy", "update" or "storage"');
    }
    return { event, code: numberIn(map.get("code"), "code", -255, -1, true), what };
  }
  if (event === "alarm") {
    onlyKeys(map, ["event", "level", "health"], "an alarm event");
    const level = map.get("level");
    if (level !== "none" && level !== "alert" && level !== "danger") fail('an alarm event\'s level is "none", "alert" or "danger"');
    return { event, level, health: numberIn(map.get("health"), "health", 0, 1) };
  }
  if (event === "advice") {
    const action = map.get("action");
    if (action === "none") {
      onlyKeys(map, ["event", "action"], "an advice event without action");
      return { event, action };
    }
    onlyKeys(map, ["event", "action", "fault", "by"], "an advice event");
    if (!(MAINTENANCE_ACTIONS as readonly unknown[]).includes(action)) fail(`an advice event's action is "none" or one of ${MAINTENANCE_ACTIONS.join(", ")}`);
    const fault = map.get("fault");
    if (typeof fault !== "string" || !(FAULTS as readonly string[]).includes(fault)) fail(`an advice event's fault is one of ${FAULTS.join(", ")}`);
    return { event, action: action as MaintenanceAction, fault, by: numberIn(map.get("by"), "by", 0, Number.MAX_SAFE_INTEGER, true) };
  }
  if (event === "maintenance") {
    onlyKeys(map, ["event", "action"], "a maintenance event");
    const action = map.get("action");
    if (!(MAINTENANCE_ACTIONS as readonly unknown[]).includes(action)) fail(`a maintenance event's action is one of ${MAINTENANCE_ACTIONS.join(", ")}`);
    return { event, action: action as MaintenanceAction };
  }
  if (event === "policy") {
    onlyKeys(map, ["event", "provisioned", "waveform", "detail"], "a policy event");
    const provisioned = map.get("provisioned");
    const waveform = map.get("waveform");
    const detail = map.get("detail");
    if (typeof provisioned !== "boolean" || (waveform !== "on_request" && waveform !== "never") || (detail !== "full" && detail !== "summary")) {
      fail('a policy event has "provisioned" (bool), "waveform" ("on_request" or "never") and "detail" ("full" or "summary")');
    }
    return { event, provisioned, waveform, detail };
  }
  return decodeHostEvent(map, event) ?? fail(`unknown event ${diagnostic(event)}`);
}


// ---------------------------------------------------------------------------------------
// Over-the-air updates (impeller.cddl: update-offer, block-request, block, update-status).
// The offer and the blocks are commands to the host's update agent (host/update/update-agent.ts);
// block requests and statuses go out on the "update" topic.

export const UPDATE_STATES = ["offered", "downloading", "verifying", "installing", "trial", "confirmed", "reverted", "rejected", "failed"] as const;
export type UpdateStateName = (typeof UPDATE_STATES)[number];

/** Block size when an offer names none. */
export const UPDATE_BLOCK_BYTES_DEFAULT = 4096;
/** Largest block command accepted: a 64 KiB block and its envelope. */
export const UPDATE_BLOCK_COMMAND_BYTES_MAX = 65536 + 256;

export interface UpdateOffer {
  id: number;
  campaign: string;
  envelope: Uint8Array;
  block_bytes?: number;
}

export interface BlockRequest {
  update: "block_request";
  campaign: string;
  offset: number;
  length: number;
}

export interface UpdateBlock {
  id: number;
  campaign: string;
  offset: number;
  data: Uint8Array;
}

export interface UpdateStatus {
  update: "status";
  campaign: string;
  sequence: number;
  state: UpdateStateName;
  progress?: number;
  reason?: string;
}

export function encodeUpdateOffer(offer: UpdateOffer): Uint8Array {
  const args = new Map<string, unknown>([["campaign", offer.campaign], ["envelope", offer.envelope]]);
  if (offer.block_bytes !== undefined) args.set("block_bytes", offer.block_bytes);
  return encodeCbor(new Map<string, unknown>([["id", offer.id], ["cmd", "update"], ["args", args]]));
}

export function encodeUpdateBlock(block: UpdateBlock): Uint8Array {
  const args = new Map<string, unknown>([["campaign", block.campaign], ["offset", block.offset], ["data", block.data]]);
  return encodeCbor(new Map<string, unknown>([["id", block.id], ["cmd", "block"], ["args", args]]));
}

/** The args of an "update" command (a decoded command map's "args"). */
export function checkUpdateOffer(id: number, args: unknown): UpdateOffer {
  const a = asMap(args, "update args");
  onlyKeys(a, ["campaign", "envelope", "block_bytes"], "update args");
  const campaign = a.get("campaign");
  const envelope = a.get("envelope");
  if (typeof campaign !== "string" || campaign.length === 0 || campaign.length > 64) fail("update args: campaign is a text of 1 to 64 characters");
  if (!(envelope instanceof Uint8Array)) fail("update args: envelope is a byte string");
  const offer: UpdateOffer = { id, campaign, envelope };
  if (a.has("block_bytes")) offer.block_bytes = numberIn(a.get("block_bytes"), "block_bytes", 256, 65536, true);
  return offer;
}

/** The args of a "block" command. */
export function checkUpdateBlock(id: number, args: unknown): UpdateBlock {
  const a = asMap(args, "block args");
  onlyKeys(a, ["campaign", "offset", "data"], "block args");
  const campaign = a.get("campaign");
  const data = a.get("data");
  if (typeof campaign !== "string") fail("block args: campaign is a text");
  if (!(data instanceof Uint8Array)) fail("block args: data is a byte string");
  return { id, campaign, offset: numberIn(a.get("offset"), "offset", 0, 0xffffffff, true), data };
}

export function encodeBlockRequest(request: Omit<BlockRequest, "update">): Uint8Array {
  return encodeCbor(new Map<string, unknown>([["update", "block_request"], ["campaign", request.campaign], ["offset", request.offset], ["length", request.length]]));
}

export function encodeUpdateStatus(status: Omit<UpdateStatus, "update">): Uint8Array {
  const map = new Map<string, unknown>([["update", "status"], ["campaign", status.campaign], ["sequence", status.sequence], ["state", status.state]]);
  if (status.progress !== undefined) map.set("progress", status.progress);
  if (status.reason !== undefined) map.set("reason", status.reason.slice(0, EVENT_REASON_CHARS_MAX));
  return encodeCbor(map);
}

/** A message on the "update" topic: a block request or a status. */
export function decodeUpdateMessage(bytes: Uint8Array): BlockRequest | UpdateStatus {
  const map = asMap(decodeCbor(bytes, 4096), "an update message");
  const kind = map.get("update");
  const campaign = map.get("campaign");
  if (typeof campaign !== "string") fail("an update message has a campaign");
  if (kind === "block_request") {
    onlyKeys(map, ["update", "campaign", "offset", "length"], "a block request");
    return { update: kind, campaign, offset: numberIn(map.get("offset"), "offset", 0, 0xffffffff, true), length: numberIn(map.get("length"), "length", 0, 0xffffffff, true) };
  }
  if (kind === "status") {
    onlyKeys(map, ["update", "campaign", "sequence", "state", "progress", "reason"], "an update status");
    const state = map.get("state");
    if (!(UPDATE_STATES as readonly unknown[]).includes(state)) fail(`an update status's state is one of ${UPDATE_STATES.join(", ")}`);
    const status: UpdateStatus = { update: kind, campaign, sequence: numberIn(map.get("sequence"), "sequence", 0, Number.MAX_SAFE_INTEGER, true), state: state as UpdateStateName };
    if (map.has("progress")) status.progress = numberIn(map.get("progress"), "progress", 0, Number.MAX_SAFE_INTEGER, true);
    if (map.has("reason")) status.reason = textOf(map.get("reason"), "reason");
    return status;
  }
  return fail(`unknown update message ${diagnostic(kind)}`);
}
