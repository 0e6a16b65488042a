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
  /** "sampling": the sampling now in force. */
  rate_hz?: number;
  window?: number;
  interval_s?: number;
  /** "waveform": how many parts were sent. */
  parts?: number;
}

const REPLY_NUMBERS = ["error", "rate_hz", "window", "interval_s", "parts"] as const;

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
      throw new ProtocolError("bad_message", `a reply has no field ${JSON.stringify(key)} of that type`);
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

/** An event map, e.g. {"event": "boot", "boot": 3, "fw": 256}. */
export function decodeEvent(bytes: Uint8Array): Record<string, unknown> & { event: string } {
  const value = decodeCbor(bytes, 4096);
  if (!(value instanceof Map) || typeof value.get("event") !== "string") {
    throw new ProtocolError("bad_message", 'an event is a CBOR map with an "event" name');
  }
  return Object.fromEntries(value) as Record<string, unknown> & { event: string };
}
