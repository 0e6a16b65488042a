// The BLE GATT contract between a pump and a technician's tool: one impeller service with a
// readable "state", a writable "command" and a notifying "reply" characteristic; the framing
// that splits a message into chunks that fit one ATT write or notification (MTU − 3 bytes)
// and puts it back together; the error reply a pump sends when the link itself is wrong; and
// BleError, what either side's tool meets (no bus, no BlueZ, no such pump, no reply).

import { decodeCbor, encodeCbor } from "./cbor.js";
import { ProtocolError } from "./errors.js";
import { decodeReply, type Reply } from "./messages.js";

// Fixed 128-bit UUIDs, lower case as BlueZ reports them. Only the second group differs.
export const IMPELLER_SERVICE_UUID = "5e1d0001-7c4a-4b8e-9f21-3a6b8c0d2e4f";
export const STATE_CHAR_UUID = "5e1d0002-7c4a-4b8e-9f21-3a6b8c0d2e4f";
export const COMMAND_CHAR_UUID = "5e1d0003-7c4a-4b8e-9f21-3a6b8c0d2e4f";
export const REPLY_CHAR_UUID = "5e1d0004-7c4a-4b8e-9f21-3a6b8c0d2e4f";
/** Pumps advertise a local name with this prefix, e.g. "impeller-pump-7". */
export const BLE_NAME_PREFIX = "impeller-";
/** The version of this contract, advertised as the service data of the impeller service (one
 *  byte), so a tool can tell a pump it cannot talk to before it connects. */
export const BLE_PROTOCOL_VERSION = 1;

/** ATT: the smallest MTU every link has, the largest BlueZ negotiates, and the opcode and
 *  handle that each write or notification spends of it. */
export const ATT_MTU_MIN = 23;
export const ATT_MTU_MAX = 517;
export const ATT_HEADER_BYTES = 3;
/** ATT caps one attribute value, so the state map must fit in it (read with long reads). */
export const STATE_BYTES_MAX = 512;

/** Chunk header: flags, message counter, chunk index; the first chunk then carries the whole
 *  message's length (u16 big endian), so a receiver can refuse an oversized message at once. */
export const CHUNK_HEADER_BYTES = 3;
export const CHUNK_LENGTH_BYTES = 2;
export const CHUNK_FIRST = 0x01;
export const CHUNK_LAST = 0x02;
const CHUNK_FLAGS_KNOWN = CHUNK_FIRST | CHUNK_LAST;
/** What the header's length field can express. */
export const CHUNKED_MESSAGE_BYTES_LIMIT = 0xffff;

/** The largest message the pump takes: the firmware's command inbox. */
export const BLE_MESSAGE_BYTES_MAX = 2048;
/** An incomplete message older than this is dropped (the sender stalled or went away). */
export const REASSEMBLY_TIMEOUT_MS = 5000;

function checkMtu(mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < ATT_MTU_MIN || mtu > ATT_MTU_MAX) {
    throw new RangeError(`ATT MTU ${mtu} is not an integer in ${ATT_MTU_MIN}..${ATT_MTU_MAX}`);
  }
}

/** Message bytes in one chunk after the header (the first chunk holds 2 fewer). */
export function chunkPayloadBytes(mtu: number): number {
  checkMtu(mtu);
  return mtu - ATT_HEADER_BYTES - CHUNK_HEADER_BYTES;
}

/** Splits a message into chunks of at most MTU − 3 bytes. The counter (0..255) tells one
 *  message from the next; the chunk index wraps at 256, the length bounds the count. */
export function chunkMessage(message: Uint8Array, mtu: number, counter: number, maxBytes = BLE_MESSAGE_BYTES_MAX): Uint8Array[] {
  const payload = chunkPayloadBytes(mtu);
  if (!Number.isInteger(counter) || counter < 0 || counter > 0xff) throw new RangeError(`message counter ${counter} is not in 0..255`);
  if (message.length === 0) throw new ProtocolError("bad_message", "an empty message cannot be sent: a CBOR item was expected");
  const limit = Math.min(maxBytes, CHUNKED_MESSAGE_BYTES_LIMIT);
  if (message.length > limit) {
    throw new ProtocolError("oversized", `message of ${message.length} bytes exceeds the BLE limit of ${limit} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (let index = 0; offset < message.length; index++) {
    const first = index === 0;
    const room = first ? payload - CHUNK_LENGTH_BYTES : payload;
    const take = Math.min(room, message.length - offset);
    const last = offset + take === message.length;
    const head = CHUNK_HEADER_BYTES + (first ? CHUNK_LENGTH_BYTES : 0);
    const chunk = new Uint8Array(head + take);
    chunk[0] = (first ? CHUNK_FIRST : 0) | (last ? CHUNK_LAST : 0);
    chunk[1] = counter;
    chunk[2] = index & 0xff;
    if (first) {
      chunk[3] = message.length >> 8;
      chunk[4] = message.length & 0xff;
    }
    chunk.set(message.subarray(offset, offset + take), head);
    chunks.push(chunk);
    offset += take;
  }
  return chunks;
}

export interface ReassemblerOptions {
  maxBytes?: number;
  timeoutMs?: number;
  /** Milliseconds; Date.now unless a test moves its own clock. */
  clock?: () => number;
}

interface Partial {
  counter: number;
  nextIndex: number;
  bytes: Uint8Array;
  filled: number;
  startedMs: number;
}

/** Puts chunked messages back together, one at a time. A chunk that breaks the stream throws
 *  a ProtocolError and drops the message it belonged to; that message's remaining chunks are
 *  then dropped quietly, so one broken message costs the peer one error, not one per chunk. */
export class Reassembler {
  readonly maxBytes: number;
  readonly timeoutMs: number;
  /** Chunks dropped quietly because their message had already failed. */
  discardedChunks = 0;
  /** Incomplete messages replaced by a new first chunk (the sender gave up on them). */
  abandoned = 0;
  private readonly clock: () => number;
  private partial: Partial | undefined;
  private failedCounter: number | undefined;

  constructor(options: ReassemblerOptions = {}) {
    this.maxBytes = options.maxBytes ?? BLE_MESSAGE_BYTES_MAX;
    this.timeoutMs = options.timeoutMs ?? REASSEMBLY_TIMEOUT_MS;
    this.clock = options.clock ?? Date.now;
  }

  /** True while a message is half received. */
  get pending(): boolean {
    return this.partial !== undefined;
  }

  /** Takes one chunk; the whole message once its last chunk arrived, otherwise undefined. */
  push(chunk: Uint8Array): Uint8Array | undefined {
    if (chunk.length < CHUNK_HEADER_BYTES) {
      throw this.fail(undefined, "ble_bad_chunk", `chunk of ${chunk.length} bytes is shorter than the ${CHUNK_HEADER_BYTES}-byte header`);
    }
    const flags = chunk[0];
    const counter = chunk[1];
    const index = chunk[2];
    if ((flags & ~CHUNK_FLAGS_KNOWN) !== 0) {
      throw this.fail(counter, "ble_bad_chunk", `chunk flags 0x${flags.toString(16).padStart(2, "0")} set reserved bits: only first (0x01) and last (0x02) exist`);
    }
    if ((flags & CHUNK_FIRST) !== 0) return this.first(chunk, flags, counter, index);
    return this.next(chunk, flags, counter, index);
  }

  /** Milliseconds until the half-received message times out (0 once it has); undefined when none is. */
  get msToExpiry(): number | undefined {
    const partial = this.partial;
    if (partial === undefined) return undefined;
    return Math.max(0, this.timeoutMs - (this.clock() - partial.startedMs));
  }

  /** Drops an incomplete message older than the timeout; the error to report, if one was. */
  expire(): ProtocolError | undefined {
    const partial = this.partial;
    if (partial === undefined || this.clock() - partial.startedMs < this.timeoutMs) return undefined;
    return this.fail(partial.counter, "ble_timeout",
      `message ${partial.counter} stalled at ${partial.filled} of ${partial.bytes.length} bytes for ${this.timeoutMs} ms; send it again`);
  }

  private first(chunk: Uint8Array, flags: number, counter: number, index: number): Uint8Array | undefined {
    if (this.partial !== undefined) this.abandoned += 1;
    this.partial = undefined;
    this.failedCounter = undefined;
    if (index !== 0) throw this.fail(counter, "ble_bad_chunk", `first chunk of message ${counter} has index ${index}, not 0`);
    if (chunk.length < CHUNK_HEADER_BYTES + CHUNK_LENGTH_BYTES) {
      throw this.fail(counter, "ble_bad_chunk", `first chunk of message ${counter} has no 2-byte length after its header`);
    }
    const total = (chunk[3] << 8) | chunk[4];
    if (total === 0) throw this.fail(counter, "ble_bad_chunk", `message ${counter} declares a length of 0 bytes`);
    if (total > this.maxBytes) {
      throw this.fail(counter, "oversized", `message ${counter} of ${total} bytes exceeds the limit of ${this.maxBytes} bytes`);
    }
    this.partial = { counter, nextIndex: 1, bytes: new Uint8Array(total), filled: 0, startedMs: this.clock() };
    return this.append(chunk.subarray(CHUNK_HEADER_BYTES + CHUNK_LENGTH_BYTES), flags);
  }

  private next(chunk: Uint8Array, flags: number, counter: number, index: number): Uint8Array | undefined {
    const partial = this.partial;
    if (partial === undefined) {
      if (counter === this.failedCounter) {
        this.discardedChunks += 1;
        return undefined;
      }
      throw this.fail(counter, "ble_out_of_order", `chunk ${index} of message ${counter} arrived but no message was started: its first chunk was lost`);
    }
    if (this.clock() - partial.startedMs >= this.timeoutMs) {
      throw this.fail(counter, "ble_timeout", `message ${partial.counter} took longer than ${this.timeoutMs} ms; send it again`);
    }
    if (counter !== partial.counter) {
      throw this.fail(counter, "ble_out_of_order", `chunk of message ${counter} arrived inside message ${partial.counter}`);
    }
    if (index !== (partial.nextIndex & 0xff)) {
      throw this.fail(counter, "ble_out_of_order",
        `chunk ${index} of message ${counter} arrived where chunk ${partial.nextIndex & 0xff} was expected: a chunk was lost or reordered`);
    }
    partial.nextIndex += 1;
    return this.append(chunk.subarray(CHUNK_HEADER_BYTES), flags);
  }

  private append(data: Uint8Array, flags: number): Uint8Array | undefined {
    const partial = this.partial!;
    const total = partial.bytes.length;
    if (partial.filled + data.length > total) {
      throw this.fail(partial.counter, "ble_bad_chunk", `message ${partial.counter} runs past its declared ${total} bytes`);
    }
    partial.bytes.set(data, partial.filled);
    partial.filled += data.length;
    const last = (flags & CHUNK_LAST) !== 0;
    const complete = partial.filled === total;
    if (last !== complete) {
      throw this.fail(partial.counter, "ble_bad_chunk", last
        ? `message ${partial.counter} ends at ${partial.filled} of its declared ${total} bytes`
        : `message ${partial.counter} is complete at ${total} bytes but its chunk is not marked last`);
    }
    if (!complete) return undefined;
    this.partial = undefined;
    return partial.bytes;
  }

  private fail(counter: number | undefined, code: "ble_bad_chunk" | "ble_out_of_order" | "ble_timeout" | "oversized", message: string): ProtocolError {
    this.partial = undefined;
    this.failedCounter = counter;
    return new ProtocolError(code, message);
  }
}

/** What a pump sends on the reply characteristic when the link, not the command, was wrong:
 *  {"ok": false, "error": "<code>", "msg": "..."}. It has no id: no command was read. */
export interface LinkErrorReply {
  ok: false;
  error: string;
  msg: string;
}

export function encodeLinkError(error: string, msg: string): Uint8Array {
  return encodeCbor(new Map<string, unknown>([["ok", false], ["error", error], ["msg", msg]]));
}

export type BleReply = { kind: "reply"; reply: Reply } | { kind: "link_error"; error: LinkErrorReply };

/** Decodes one reassembled notification: the firmware's reply or the pump's link error. */
export function decodeBleReply(bytes: Uint8Array): BleReply {
  const value = decodeCbor(bytes, BLE_MESSAGE_BYTES_MAX);
  if (value instanceof Map && typeof value.get("error") === "string") {
    const msg = value.get("msg");
    if (value.get("ok") !== false || typeof msg !== "string" || value.size !== 3) {
      throw new ProtocolError("bad_message", 'a link error reply is exactly {"ok": false, "error": text, "msg": text}');
    }
    return { kind: "link_error", error: { ok: false, error: value.get("error") as string, msg } };
  }
  return { kind: "reply", reply: decodeReply(bytes) };
}

/** What the state characteristic reads as: one CBOR map with text keys. */
export interface PumpState {
  device: string;
  /** Firmware version, major << 16 | minor << 8 | patch. */
  fw: number;
  boot: number;
  rate_hz: number;
  window: number;
  units: string;
  /** Messages waiting in the outbox for the uplink. */
  outbox: number;
  published: number;
  /** What commissioning set (host/ble/commissioning.ts), on pumps that can be commissioned: the
   *  tenant whose topics it publishes on, its broker ("" for none yet), and whether an owner's
   *  data policy is in force. */
  tenant?: string;
  broker?: string;
  owned?: boolean;
}

type FieldType = "string" | "number" | "boolean";

const STATE_FIELDS: readonly [keyof PumpState, FieldType][] = [
  ["device", "string"], ["fw", "number"], ["boot", "number"], ["rate_hz", "number"],
  ["window", "number"], ["units", "string"], ["outbox", "number"], ["published", "number"],
];
const STATE_FIELDS_OPTIONAL: readonly [keyof PumpState, FieldType][] = [["tenant", "string"], ["broker", "string"], ["owned", "boolean"]];

export function encodePumpState(state: PumpState): Uint8Array {
  const map = new Map<string, unknown>(STATE_FIELDS.map(([key]) => [key, state[key]]));
  for (const [key] of STATE_FIELDS_OPTIONAL) if (state[key] !== undefined) map.set(key, state[key]);
  const bytes = encodeCbor(map);
  if (bytes.length > STATE_BYTES_MAX) {
    throw new ProtocolError("oversized", `state of ${bytes.length} bytes exceeds the ${STATE_BYTES_MAX}-byte attribute limit`);
  }
  return bytes;
}

export function decodePumpState(bytes: Uint8Array): PumpState {
  const value = decodeCbor(bytes, STATE_BYTES_MAX);
  if (!(value instanceof Map)) throw new ProtocolError("bad_message", "the pump state is a CBOR map");
  const state: Record<string, unknown> = {};
  for (const [key, type] of STATE_FIELDS) {
    const field = value.get(key);
    if (typeof field !== type) throw new ProtocolError("bad_message", `the pump state needs "${key}" as a ${type}`);
    state[key] = field;
  }
  for (const [key, type] of STATE_FIELDS_OPTIONAL) {
    const field = value.get(key);
    if (field === undefined) continue;
    if (typeof field !== type) throw new ProtocolError("bad_message", `the pump state's "${key}" is a ${type}`);
    state[key] = field;
  }
  return state as unknown as PumpState;
}

export function formatFirmwareVersion(fw: number): string {
  return `${(fw >> 16) & 0xff}.${(fw >> 8) & 0xff}.${fw & 0xff}`;
}

/** What goes wrong on either side of a BLE link that a user can meet, with a code. */
export type BleErrorCode =
  | "no_bus"
  | "no_bluez"
  | "no_adapter"
  | "not_found"
  | "not_impeller"
  | "connect_failed"
  | "reply_timeout"
  | "link_error"
  | "bad_reply"
  | "disconnected"
  /** The pump's side (its peripheral): BlueZ refused its service or advertisement. */
  | "register_failed";

export class BleError extends Error {
  readonly code: BleErrorCode;
  /** For "link_error": the code of the pump's link error reply. */
  readonly peerCode?: string;

  constructor(code: BleErrorCode, message: string, options?: { cause?: unknown; peerCode?: string }) {
    super(message, options);
    this.name = "BleError";
    this.code = code;
    if (options?.peerCode !== undefined) this.peerCode = options.peerCode;
  }
}

/** Races `work` against a deadline (either end of the link waits on BlueZ with one); the timer
 *  never outlives the race. */
export async function deadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(onTimeout()), ms); });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
