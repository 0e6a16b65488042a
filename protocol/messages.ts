// The firmware's configuration and the message kinds it publishes, as the TypeScript side
// encodes and decodes them. The firmware's own CBOR code mirrors this file.

import { decodeCbor, encodeCbor } from "./cbor.js";
import { ProtocolError } from "./errors.js";
import type { TopicKind } from "./topics.js";

/** host.publish kinds (impeller_abi.h IMPELLER_KIND_*) and the topic each goes to. */
export const MESSAGE_KINDS: ReadonlyMap<number, TopicKind> = new Map([
  [1, "telemetry"],
  [2, "event"],
  [3, "reply"],
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
}

export function encodeFirmwareConfig(config: FirmwareConfig): Uint8Array {
  const map = new Map<string, unknown>();
  for (const [key, value] of Object.entries(config)) if (value !== undefined) map.set(key, value);
  return encodeCbor(map);
}

/** A command to the firmware: {"id": uint, "cmd": text, ?"args": any}. */
export interface Command {
  id: number;
  cmd: string;
  args?: unknown;
}

export function encodeCommand(command: Command): Uint8Array {
  const map = new Map<string, unknown>([["id", command.id], ["cmd", command.cmd]]);
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
}

export function decodeReply(bytes: Uint8Array): Reply {
  const value = decodeCbor(bytes, 1024);
  if (!(value instanceof Map)) throw new ProtocolError("bad_message", "a reply is a CBOR map");
  const id = value.get("id");
  const ok = value.get("ok");
  const error = value.get("error");
  if (typeof id !== "number" || typeof ok !== "boolean" || (error !== undefined && typeof error !== "number")) {
    throw new ProtocolError("bad_message", 'a reply has "id" (uint), "ok" (bool) and, when not ok, "error" (int)');
  }
  return error === undefined ? { id, ok } : { id, ok, error };
}

/** An event map, e.g. {"event": "boot", "boot": 3, "fw": 256}. */
export function decodeEvent(bytes: Uint8Array): Record<string, unknown> & { event: string } {
  const value = decodeCbor(bytes, 4096);
  if (!(value instanceof Map) || typeof value.get("event") !== "string") {
    throw new ProtocolError("bad_message", 'an event is a CBOR map with an "event" name');
  }
  return Object.fromEntries(value) as Record<string, unknown> & { event: string };
}
