// SUIT manifests (draft-ietf-suit-manifest, the subset and labels in DESIGN.md): build a signed
// envelope for a firmware image, parse and authenticate envelopes from any SUIT tool, check a
// candidate against the device (vendor, class, device, anti-rollback), and run the command
// sequences with a small bounded interpreter against a context the update agent implements.
// Everything a peer can get wrong surfaces as a SuitError; nothing else is thrown for bad input.

import crypto, { type KeyObject } from "node:crypto";
import { decodeCbor, encodeCbor } from "./cbor.js";
import { signSign1Detached, verifySign1Detached, type SignAlg } from "./cose.js";
import { UUID_BYTES } from "./uuid.js";

export type SuitErrorCode =
  | "suit_malformed" // not a SUIT envelope of the supported shape
  | "suit_unsupported" // well-formed, but uses something this processor does not do
  | "suit_digest" // the manifest, a severable member or the image does not match its digest
  | "suit_signature" // no trusted key verifies the signature
  | "suit_condition" // a condition failed: vendor, class, device, image, slot, content
  | "suit_rollback" // the sequence number is not greater than the one the device runs
  | "suit_abort" // the manifest ran condition-abort
  | "suit_limit" // the interpreter's step or nesting limit
  | "suit_failed"; // the device could not carry out a directive (fetch, write, invoke...)

export class SuitError extends Error {
  readonly code: SuitErrorCode;

  constructor(code: SuitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SuitError";
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------
// Labels (DESIGN.md "OTA: SUIT manifest, COSE signature")

export const SUIT_ENVELOPE_TAG = 107;
export const ENVELOPE = { authentication: 2, manifest: 3, payloadFetch: 16, install: 20, text: 23 } as const;
export const MANIFEST = {
  version: 1, sequenceNumber: 2, common: 3, referenceUri: 4, componentId: 5, validate: 7, load: 8, invoke: 9,
  dependencyResolution: 15, payloadFetch: 16, install: 20, text: 23, uninstall: 24,
} as const;
export const COMMON = { components: 2, sharedSequence: 4 } as const;
export const CONDITION = {
  vendorIdentifier: 1, classIdentifier: 2, imageMatch: 3, componentSlot: 5, checkContent: 6, abort: 14, deviceIdentifier: 24,
} as const;
export const DIRECTIVE = {
  setComponentIndex: 12, tryEach: 15, write: 18, overrideParameters: 20, fetch: 21, copy: 22, invoke: 23, swap: 31, runSequence: 32,
} as const;
export const PARAMETER = {
  vendorId: 1, classId: 2, imageDigest: 3, componentSlot: 5, strictOrder: 12, softFailure: 13, imageSize: 14, content: 18,
  uri: 21, sourceComponent: 22, invokeArgs: 23, deviceId: 24, fetchArguments: 25,
} as const;
export const DIGEST_ALG_SHA256 = -16;
/** Reporting policy bits: record on success, record on failure, system info on success / failure. */
export const REPORT = { recordSuccess: 1, recordFailure: 2, sysinfoSuccess: 4, sysinfoFailure: 8, all: 15 } as const;
/** Text map labels: the manifest's own, and each component's. */
export const TEXT_MANIFEST = { "manifest-description": 1, "update-description": 2, "manifest-json-source": 3, "manifest-yaml-source": 4 } as const;
export const TEXT_COMPONENT = {
  "vendor-name": 1, "model-name": 2, "vendor-domain": 3, "model-info": 4, "component-description": 5, "component-version": 6,
} as const;

export const COMMAND_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "condition-vendor-identifier"], [2, "condition-class-identifier"], [3, "condition-image-match"],
  [5, "condition-component-slot"], [6, "condition-check-content"], [14, "condition-abort"], [24, "condition-device-identifier"],
  [12, "directive-set-component-index"], [15, "directive-try-each"], [18, "directive-write"], [20, "directive-override-parameters"],
  [21, "directive-fetch"], [22, "directive-copy"], [23, "directive-invoke"], [31, "directive-swap"], [32, "directive-run-sequence"],
]);
const CONDITIONS = new Set<number>(Object.values(CONDITION));
const ACTIONS = new Set<number>([DIRECTIVE.write, DIRECTIVE.fetch, DIRECTIVE.copy, DIRECTIVE.invoke, DIRECTIVE.swap]);

/** Envelopes travel in one update-offer message (impeller.cddl), which is at most 64 KiB. */
export const ENVELOPE_BYTES_MAX = 65536;
export const COMPONENTS_MAX = 16;
const COMPONENT_ID_PARTS_MAX = 8;
/** Commands in one sequence (a pair of CBOR items each). */
export const SEQUENCE_COMMANDS_MAX = 128;
/** try-each and run-sequence inside one another, at most this deep. */
export const NESTING_MAX = 4;
/** Commands the interpreter executes per run, nested ones and each component counted. */
export const STEPS_MAX = 1024;
const TRY_EACH_OPTIONS_MAX = 8;
const CBOR_DEPTH_MAX = 16;

// ---------------------------------------------------------------------------------------------
// Types

export type SuitDigestAlg = -16 | -43 | -44;
export interface SuitDigest { alg: SuitDigestAlg; bytes: Uint8Array }
const DIGEST_HASHES = new Map<number, [string, number]>([[-16, ["sha256", 32]], [-43, ["sha384", 48]], [-44, ["sha512", 64]]]);

export interface SuitParameters {
  vendorId?: Uint8Array;
  classId?: Uint8Array;
  imageDigest?: SuitDigest;
  componentSlot?: number;
  strictOrder?: boolean;
  softFailure?: boolean;
  imageSize?: number;
  content?: Uint8Array;
  uri?: string;
  sourceComponent?: number;
  invokeArgs?: Uint8Array;
  deviceId?: Uint8Array;
  fetchArguments?: Uint8Array;
  /** Parameters this processor does not interpret, by label (e.g. 19 encryption-info). */
  other?: Map<number, unknown>;
}

/** One command of a sequence. Conditions and the action directives carry their reporting policy. */
export type SuitCommand =
  | { kind: "condition"; code: number; policy: number }
  | { kind: "action"; code: number; policy: number }
  | { kind: "set-component-index"; index: number | true | number[] }
  | { kind: "override-parameters"; parameters: SuitParameters }
  | { kind: "try-each"; options: (SuitCommand[] | null)[] }
  | { kind: "run-sequence"; sequence: SuitCommand[] }
  | { kind: "unknown"; code: number; argument: unknown };
export type SuitSequence = SuitCommand[];

export interface SuitText {
  /** The language tag of the text shown (newer drafts key text by language; older ones do not). */
  language?: string;
  manifest: Record<string, string>;
  components: { componentId: Uint8Array[]; fields: Record<string, string> }[];
}

export type SeverableName = "payloadFetch" | "install" | "text";
export type StepName = "payloadFetch" | "install" | "validate" | "load" | "invoke";

/** A manifest as read from any SUIT tool: the one-line facts are what the shared sequence
 *  sets for component 0 (outside try-each), so a manifest that sets them elsewhere (A/B images
 *  chosen by try-each, say) has no single image digest. */
export interface SuitManifestInfo {
  version: 1;
  sequenceNumber: number;
  components: Uint8Array[][];
  referenceUri?: string;
  vendorId?: Uint8Array;
  classId?: Uint8Array;
  deviceId?: Uint8Array;
  imageDigest?: SuitDigest;
  imageSize?: number;
  /** The first URI the install (else payload-fetch) sequence sets. */
  uri?: string;
  text?: SuitText;
  sequences: { shared: SuitSequence } & Partial<Record<StepName, SuitSequence>>;
  /** Members whose digest the manifest holds but the envelope no longer carries. */
  severed: SeverableName[];
}

/** A manifest that names one image (digest and size): what verifyEnvelope accepts. */
export interface SuitManifest extends SuitManifestInfo {
  imageDigest: SuitDigest;
  imageSize: number;
}

export interface SuitEnvelope {
  tagged: boolean;
  /** The manifest as it stands in the envelope, bstr header included: what the digest covers. */
  manifestBytes: Uint8Array;
  digest: SuitDigest;
  /** The bstr-wrapped digest the signatures sign. */
  digestBytes: Uint8Array;
  signatures: Uint8Array[];
  manifest: SuitManifestInfo;
  /** Integrated payloads: text keys of the envelope (e.g. "#firmware") to their bytes. */
  integrated: Map<string, Uint8Array>;
}

/** An authenticated envelope: which signature algorithm and which of the trusted keys. */
export interface SuitAuthenticated extends SuitEnvelope {
  alg: number;
  keyIndex: number;
}

/** An authenticated envelope whose manifest names one image. */
export interface SuitVerified extends SuitAuthenticated {
  manifest: SuitManifest;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const fail = (code: SuitErrorCode, message: string): never => {
  throw new SuitError(code, message);
};
const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const copy = (bytes: Uint8Array): Uint8Array => Uint8Array.from(bytes);
const isUint = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
const isInt = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value);

export function digestOf(alg: SuitDigestAlg, data: Uint8Array): Uint8Array {
  const [hash] = DIGEST_HASHES.get(alg)!;
  return new Uint8Array(crypto.createHash(hash).update(data).digest());
}

function decode(bytes: Uint8Array, what: string): unknown {
  if (bytes.length === 0) fail("suit_malformed", `${what} is empty`);
  try {
    return decodeCbor(bytes, ENVELOPE_BYTES_MAX);
  } catch (error) {
    throw new SuitError("suit_malformed", `${what} is not well-formed CBOR: ${(error as Error).message}`, { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------
// Raw spans: the digests cover members as they stand in the bytes, so maps are read by walking
// the encoding, which also refuses duplicate keys (two sequence numbers must not both be "the" one).

/** The end of the CBOR item starting at `at`. */
function itemEnd(bytes: Uint8Array, at: number, depth: number): number {
  if (depth > CBOR_DEPTH_MAX) fail("suit_malformed", `CBOR nested deeper than ${CBOR_DEPTH_MAX}`);
  const { major, info, value, next } = head(bytes, at);
  if (info === 31) {
    if (major === 2 || major === 3 || major === 4 || major === 5) {
      let p = next;
      for (;;) {
        if (p >= bytes.length) fail("suit_malformed", "truncated indefinite-length item");
        if (bytes[p] === 0xff) return p + 1;
        p = itemEnd(bytes, p, depth + 1);
      }
    }
    fail("suit_malformed", `indefinite length on major type ${major}`);
  }
  if (major === 2 || major === 3) {
    const end = next + value;
    if (end > bytes.length) fail("suit_malformed", "truncated string");
    return end;
  }
  if (major === 4 || major === 5) {
    let p = next;
    const items = major === 5 ? value * 2 : value;
    if (items > bytes.length) fail("suit_malformed", "truncated array or map");
    for (let i = 0; i < items; i++) p = itemEnd(bytes, p, depth + 1);
    return p;
  }
  if (major === 6) return itemEnd(bytes, next, depth + 1);
  return next;
}

function head(bytes: Uint8Array, at: number): { major: number; info: number; value: number; next: number } {
  if (at >= bytes.length) fail("suit_malformed", "truncated CBOR");
  const major = bytes[at] >> 5;
  const info = bytes[at] & 0x1f;
  if (info < 24) return { major, info, value: info, next: at + 1 };
  if (info === 31) return { major, info, value: 0, next: at + 1 };
  if (info > 27) fail("suit_malformed", `reserved CBOR additional information ${info}`);
  const size = 1 << (info - 24);
  if (at + 1 + size > bytes.length) fail("suit_malformed", "truncated CBOR head");
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + bytes[at + 1 + i];
  return { major, info, value, next: at + 1 + size };
}

/** A map's members as raw item bytes, keyed by their decoded (integer or text) keys. */
function readMap(bytes: Uint8Array, at: number, what: string): Map<number | string, Uint8Array> {
  const { major, info, value, next } = head(bytes, at);
  if (major !== 5) fail("suit_malformed", `${what} must be a map`);
  const members = new Map<number | string, Uint8Array>();
  let p = next;
  for (let i = 0; info === 31 ? true : i < value; i++) {
    if (info === 31) {
      if (p >= bytes.length) fail("suit_malformed", `${what}: truncated map`);
      if (bytes[p] === 0xff) break;
    }
    const keyEnd = itemEnd(bytes, p, 1);
    const key = decode(bytes.subarray(p, keyEnd), `${what} key`);
    if (!isInt(key) && typeof key !== "string") fail("suit_malformed", `${what} keys must be integers or text`);
    const valueEnd = itemEnd(bytes, keyEnd, 1);
    if (members.has(key as number | string)) fail("suit_malformed", `${what} has key ${JSON.stringify(key)} twice`);
    members.set(key as number | string, bytes.subarray(keyEnd, valueEnd));
    p = valueEnd;
  }
  return members;
}

/** The content of a bstr item (raw bytes). */
function bstrContent(item: Uint8Array, what: string): Uint8Array {
  const value = decode(item, what);
  if (!(value instanceof Uint8Array)) fail("suit_malformed", `${what} must be a byte string`);
  return value as Uint8Array;
}

function parseDigest(value: unknown, what: string): SuitDigest {
  if (!Array.isArray(value) || value.length !== 2) return fail("suit_malformed", `${what} must be [algorithm, bytes]`);
  const [alg, bytes] = value as unknown[];
  const hash = typeof alg === "number" ? DIGEST_HASHES.get(alg) : undefined;
  if (hash === undefined) return fail("suit_unsupported", `${what}: digest algorithm ${String(alg)} is not supported (SHA-256 -16, SHA-384 -43, SHA-512 -44)`);
  if (!(bytes instanceof Uint8Array) || bytes.length !== hash[1]) return fail("suit_malformed", `${what}: a ${hash[0]} digest is ${hash[1]} bytes`);
  return { alg: alg as SuitDigestAlg, bytes: copy(bytes) };
}

// ---------------------------------------------------------------------------------------------
// Command sequences and parameters

function parseParameters(value: unknown, where: string): SuitParameters {
  if (!(value instanceof Map)) return fail("suit_malformed", `${where}: override-parameters takes a map`);
  const out: SuitParameters = {};
  const bstr = (key: number, item: unknown): Uint8Array => (item instanceof Uint8Array ? copy(item) : fail("suit_malformed", `${where}: parameter ${key} must be a bstr`));
  const uint = (key: number, item: unknown): number => (isUint(item) ? item : fail("suit_malformed", `${where}: parameter ${key} must be an unsigned integer`));
  const bool = (key: number, item: unknown): boolean => (typeof item === "boolean" ? item : fail("suit_malformed", `${where}: parameter ${key} must be a boolean`));
  for (const [key, item] of value) {
    if (!isInt(key)) fail("suit_malformed", `${where}: parameter labels are integers`);
    switch (key) {
      case PARAMETER.vendorId: out.vendorId = bstr(key, item); break;
      case PARAMETER.classId: out.classId = bstr(key, item); break;
      case PARAMETER.deviceId: out.deviceId = bstr(key, item); break;
      case PARAMETER.imageDigest: out.imageDigest = parseDigest(decode(bstr(key, item), `${where}: image-digest`), `${where}: image-digest`); break;
      case PARAMETER.componentSlot: out.componentSlot = uint(key, item); break;
      case PARAMETER.strictOrder: out.strictOrder = bool(key, item); break;
      case PARAMETER.softFailure: out.softFailure = bool(key, item); break;
      case PARAMETER.imageSize: out.imageSize = uint(key, item); break;
      case PARAMETER.content: out.content = bstr(key, item); break;
      case PARAMETER.uri: out.uri = typeof item === "string" ? item : fail("suit_malformed", `${where}: uri must be text`); break;
      case PARAMETER.sourceComponent: out.sourceComponent = uint(key, item); break;
      case PARAMETER.invokeArgs: out.invokeArgs = bstr(key, item); break;
      case PARAMETER.fetchArguments: out.fetchArguments = bstr(key, item); break;
      default: (out.other ??= new Map()).set(key, item);
    }
  }
  return out;
}

/** Parses a command sequence from its bstr content (a CBOR array of command, argument pairs). */
export function parseSequence(content: Uint8Array, where = "sequence", depth = 0): SuitSequence {
  if (depth > NESTING_MAX) fail("suit_malformed", `${where}: try-each / run-sequence nested deeper than ${NESTING_MAX}`);
  const items = decode(content, where);
  if (!Array.isArray(items)) return fail("suit_malformed", `${where} must be an array of commands`);
  if (items.length % 2 !== 0) fail("suit_malformed", `${where}: every command needs its argument (odd length ${items.length})`);
  if (items.length / 2 > SEQUENCE_COMMANDS_MAX) fail("suit_unsupported", `${where} has ${items.length / 2} commands; at most ${SEQUENCE_COMMANDS_MAX}`);
  const commands: SuitSequence = [];
  for (let i = 0; i < items.length; i += 2) {
    const code = items[i] as unknown;
    const argument = items[i + 1] as unknown;
    const at = `${where}[${i / 2}]`;
    if (!isInt(code)) fail("suit_malformed", `${at}: a command is an integer, not ${typeof code}`);
    commands.push(parseCommand(code as number, argument, at, depth));
  }
  return commands;
}

function parseCommand(code: number, argument: unknown, at: string, depth: number): SuitCommand {
  if (CONDITIONS.has(code) || ACTIONS.has(code)) {
    if (!isUint(argument)) fail("suit_malformed", `${at}: ${COMMAND_NAMES.get(code)} takes a reporting policy (uint)`);
    return { kind: CONDITIONS.has(code) ? "condition" : "action", code, policy: argument as number };
  }
  switch (code) {
    case DIRECTIVE.setComponentIndex:
      if (isUint(argument) || argument === true) return { kind: "set-component-index", index: argument };
      if (Array.isArray(argument) && argument.length > 0 && argument.length <= COMPONENTS_MAX && argument.every(isUint)) {
        return { kind: "set-component-index", index: [...argument] as number[] };
      }
      return fail("suit_malformed", `${at}: set-component-index takes an index, true or a list of indices`);
    case DIRECTIVE.overrideParameters:
      return { kind: "override-parameters", parameters: parseParameters(argument, at) };
    case DIRECTIVE.tryEach: {
      if (!Array.isArray(argument) || argument.length === 0) return fail("suit_malformed", `${at}: try-each takes a list of sequences`);
      if (argument.length > TRY_EACH_OPTIONS_MAX) fail("suit_unsupported", `${at}: try-each with ${argument.length} options; at most ${TRY_EACH_OPTIONS_MAX}`);
      const options = (argument as unknown[]).map((option, n): SuitCommand[] | null => {
        if (option === null && n === argument.length - 1) return null;
        if (!(option instanceof Uint8Array)) return fail("suit_malformed", `${at}: try-each options are bstr-wrapped sequences (nil only last)`);
        return parseSequence(option, `${at}.option[${n}]`, depth + 1);
      });
      return { kind: "try-each", options };
    }
    case DIRECTIVE.runSequence:
      if (!(argument instanceof Uint8Array)) return fail("suit_malformed", `${at}: run-sequence takes a bstr-wrapped sequence`);
      return { kind: "run-sequence", sequence: parseSequence(argument, `${at}.sequence`, depth + 1) };
    default:
      return { kind: "unknown", code, argument };
  }
}

/** Encodes a sequence back to its bstr content (the inverse of parseSequence). */
export function encodeSequence(sequence: SuitSequence): Uint8Array {
  return encodeCbor(sequence.flatMap((command) => commandItems(command)));
}

function commandItems(command: SuitCommand): unknown[] {
  switch (command.kind) {
    case "condition":
    case "action": return [command.code, command.policy];
    case "set-component-index": return [DIRECTIVE.setComponentIndex, command.index];
    case "override-parameters": return [DIRECTIVE.overrideParameters, encodeParameters(command.parameters)];
    case "try-each": return [DIRECTIVE.tryEach, command.options.map((option) => (option === null ? null : encodeSequence(option)))];
    case "run-sequence": return [DIRECTIVE.runSequence, encodeSequence(command.sequence)];
    case "unknown": return [command.code, command.argument];
  }
}

export function encodeParameters(parameters: SuitParameters): Map<number, unknown> {
  const map = new Map<number, unknown>();
  const p = parameters;
  if (p.vendorId !== undefined) map.set(PARAMETER.vendorId, p.vendorId);
  if (p.classId !== undefined) map.set(PARAMETER.classId, p.classId);
  if (p.imageDigest !== undefined) map.set(PARAMETER.imageDigest, encodeCbor([p.imageDigest.alg, p.imageDigest.bytes]));
  if (p.componentSlot !== undefined) map.set(PARAMETER.componentSlot, p.componentSlot);
  if (p.strictOrder !== undefined) map.set(PARAMETER.strictOrder, p.strictOrder);
  if (p.softFailure !== undefined) map.set(PARAMETER.softFailure, p.softFailure);
  if (p.imageSize !== undefined) map.set(PARAMETER.imageSize, p.imageSize);
  if (p.content !== undefined) map.set(PARAMETER.content, p.content);
  if (p.uri !== undefined) map.set(PARAMETER.uri, p.uri);
  if (p.sourceComponent !== undefined) map.set(PARAMETER.sourceComponent, p.sourceComponent);
  if (p.invokeArgs !== undefined) map.set(PARAMETER.invokeArgs, p.invokeArgs);
  if (p.deviceId !== undefined) map.set(PARAMETER.deviceId, p.deviceId);
  if (p.fetchArguments !== undefined) map.set(PARAMETER.fetchArguments, p.fetchArguments);
  for (const [key, value] of p.other ?? []) map.set(key, value);
  return map;
}

// ---------------------------------------------------------------------------------------------
// Envelope: outer structure, authentication, manifest

interface Outer {
  tagged: boolean;
  manifestItem: Uint8Array;
  authItem: Uint8Array;
  severable: Map<SeverableName, Uint8Array>;
  integrated: Map<string, Uint8Array>;
}

const SEVERABLE_KEYS: [SeverableName, number][] = [["payloadFetch", ENVELOPE.payloadFetch], ["install", ENVELOPE.install], ["text", ENVELOPE.text]];

function parseOuter(bytes: Uint8Array): Outer {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) fail("suit_malformed", "empty envelope");
  if (bytes.length > ENVELOPE_BYTES_MAX) fail("suit_malformed", `envelope of ${bytes.length} bytes exceeds ${ENVELOPE_BYTES_MAX}`);
  const end = itemEnd(bytes, 0, 0);
  if (end !== bytes.length) fail("suit_malformed", `${bytes.length - end} bytes after the envelope`);
  decode(bytes, "envelope"); // well-formedness of everything (UTF-8, simple values), once
  let at = 0;
  const first = head(bytes, 0);
  const tagged = first.major === 6;
  if (tagged) {
    if (first.value !== SUIT_ENVELOPE_TAG) fail("suit_malformed", `envelope tag ${first.value}; a SUIT envelope is tag 107`);
    at = first.next;
  }
  const members = readMap(bytes, at, "envelope");
  const authItem = members.get(ENVELOPE.authentication) ?? fail("suit_malformed", "envelope has no authentication-wrapper (2)");
  const manifestItem = members.get(ENVELOPE.manifest) ?? fail("suit_malformed", "envelope has no manifest (3)");
  if (head(manifestItem, 0).major !== 2) fail("suit_malformed", "manifest (3) must be a bstr");
  const severable = new Map<SeverableName, Uint8Array>();
  const integrated = new Map<string, Uint8Array>();
  for (const [key, item] of members) {
    if (key === ENVELOPE.authentication || key === ENVELOPE.manifest) continue;
    const named = SEVERABLE_KEYS.find(([, label]) => label === key);
    if (named !== undefined) {
      if (head(item, 0).major !== 2) fail("suit_malformed", `severable ${named[0]} (${key}) must be a bstr`);
      severable.set(named[0], item);
    } else if (typeof key === "string") {
      integrated.set(key, copy(bstrContent(item, `integrated payload ${JSON.stringify(key)}`)));
    } else {
      fail("suit_unsupported", `envelope member ${key} is not supported (2, 3, 16, 20, 23 and integrated payloads are)`);
    }
  }
  return { tagged, manifestItem: copy(manifestItem), authItem, severable, integrated };
}

function parseAuthentication(authItem: Uint8Array): { digest: SuitDigest; digestBytes: Uint8Array; signatures: Uint8Array[] } {
  const wrapper = decode(bstrContent(authItem, "authentication-wrapper"), "authentication-wrapper");
  if (!Array.isArray(wrapper) || wrapper.length < 1) return fail("suit_malformed", "authentication-wrapper must be [digest, signatures...]");
  const [digestBytes, ...signatures] = wrapper as unknown[];
  if (!(digestBytes instanceof Uint8Array)) return fail("suit_malformed", "authentication-wrapper digest must be a bstr");
  if (!signatures.every((s): s is Uint8Array => s instanceof Uint8Array)) return fail("suit_malformed", "authentication-wrapper signatures must be bstrs");
  const digest = parseDigest(decode(digestBytes, "manifest digest"), "manifest digest");
  return { digest, digestBytes: copy(digestBytes), signatures: (signatures as Uint8Array[]).map(copy) };
}

function parseComponents(value: unknown): Uint8Array[][] {
  if (!Array.isArray(value) || value.length === 0) return fail("suit_malformed", "components must be a non-empty list");
  if (value.length > COMPONENTS_MAX) fail("suit_unsupported", `${value.length} components; at most ${COMPONENTS_MAX}`);
  return (value as unknown[]).map((id, n) => {
    if (!Array.isArray(id) || id.length === 0 || id.length > COMPONENT_ID_PARTS_MAX || !id.every((part) => part instanceof Uint8Array)) {
      return fail("suit_malformed", `component ${n}: an identifier is a list of 1..${COMPONENT_ID_PARTS_MAX} bstrs`);
    }
    return (id as Uint8Array[]).map(copy);
  });
}

function parseText(value: unknown): SuitText {
  if (!(value instanceof Map)) return fail("suit_malformed", "text must be a map");
  let language: string | undefined;
  let map: Map<unknown, unknown> = value;
  const firstKey = value.keys().next().value as unknown;
  if (typeof firstKey === "string") {
    language = value.has("en") ? "en" : value.has("en-US") ? "en-US" : firstKey;
    const chosen = value.get(language);
    if (!(chosen instanceof Map)) return fail("suit_malformed", `text for ${language} must be a map`);
    map = chosen;
  }
  const text: SuitText = { manifest: {}, components: [] };
  if (language !== undefined) text.language = language;
  const nameOf = (table: Record<string, number>, key: number): string => Object.entries(table).find(([, label]) => label === key)?.[0] ?? `text-${key}`;
  for (const [key, item] of map) {
    if (isInt(key)) {
      if (typeof item !== "string") fail("suit_malformed", `text ${key} must be text`);
      text.manifest[nameOf(TEXT_MANIFEST, key)] = item as string;
    } else if (Array.isArray(key) && key.every((part) => part instanceof Uint8Array) && item instanceof Map) {
      const fields: Record<string, string> = {};
      for (const [label, entry] of item) {
        if (!isInt(label) || typeof entry !== "string") fail("suit_malformed", "component text maps integer labels to text");
        fields[nameOf(TEXT_COMPONENT, label as number)] = entry as string;
      }
      text.components.push({ componentId: (key as Uint8Array[]).map(copy), fields });
    } else {
      fail("suit_malformed", "text keys are integer labels or component identifiers");
    }
  }
  return text;
}

const MANIFEST_KEYS = new Set<number | string>(Object.values(MANIFEST));

function parseManifest(outer: Outer): SuitManifestInfo {
  const content = bstrContent(outer.manifestItem, "manifest");
  const members = readMap(content, 0, "manifest");
  if (itemEnd(content, 0, 0) !== content.length) fail("suit_malformed", "bytes after the manifest map");
  for (const key of members.keys()) {
    if (!MANIFEST_KEYS.has(key)) fail("suit_unsupported", `manifest member ${JSON.stringify(key)} is not supported`);
  }
  const get = (key: number): unknown => {
    const item = members.get(key);
    return item === undefined ? undefined : decode(item, `manifest member ${key}`);
  };
  const version = get(MANIFEST.version);
  if (version !== 1) fail(version === undefined ? "suit_malformed" : "suit_unsupported", `manifest-version ${String(version)}; only version 1 is supported`);
  const sequenceNumber = get(MANIFEST.sequenceNumber);
  if (!isUint(sequenceNumber)) fail(typeof sequenceNumber === "bigint" ? "suit_unsupported" : "suit_malformed", "sequence-number must be an unsigned integer (below 2^53)");
  const commonBytes = get(MANIFEST.common);
  if (!(commonBytes instanceof Uint8Array)) return fail("suit_malformed", "manifest has no common (3) bstr");
  const common = readMap(commonBytes, 0, "common");
  if (itemEnd(commonBytes, 0, 0) !== commonBytes.length) fail("suit_malformed", "bytes after the common map");
  for (const key of common.keys()) {
    if (key !== COMMON.components && key !== COMMON.sharedSequence) fail("suit_unsupported", `common member ${JSON.stringify(key)} is not supported (dependencies are not)`);
  }
  const componentsItem = common.get(COMMON.components) ?? fail("suit_malformed", "common has no components (2)");
  const components = parseComponents(decode(componentsItem, "components"));
  const sharedItem = common.get(COMMON.sharedSequence);
  const shared = sharedItem === undefined ? [] : parseSequence(bstrContent(sharedItem, "shared-sequence"), "shared-sequence");

  const manifest: SuitManifestInfo = { version: 1, sequenceNumber: sequenceNumber as number, components, sequences: { shared }, severed: [] };
  const referenceUri = get(MANIFEST.referenceUri);
  if (referenceUri !== undefined) manifest.referenceUri = typeof referenceUri === "string" ? referenceUri : fail("suit_malformed", "reference-uri must be text");
  for (const [step, key] of [["validate", MANIFEST.validate], ["load", MANIFEST.load], ["invoke", MANIFEST.invoke]] as const) {
    const value = get(key);
    if (value === undefined) continue;
    if (!(value instanceof Uint8Array)) fail("suit_malformed", `${step} (${key}) must be a bstr-wrapped sequence`);
    manifest.sequences[step] = parseSequence(value as Uint8Array, step);
  }
  for (const [name, key] of SEVERABLE_KEYS) {
    const content = severableContent(name, key, get(key), outer.severable.get(name));
    if (content === "severed") manifest.severed.push(name);
    else if (content !== undefined && name === "text") manifest.text = parseText(decode(content, "text"));
    else if (content !== undefined) manifest.sequences[name as "install" | "payloadFetch"] = parseSequence(content, name);
  }
  summarise(manifest);
  return manifest;
}

/** A severable member's content: inline in the manifest, or in the envelope and matching the
 *  digest the manifest holds for it, or severed (digest only). */
function severableContent(name: SeverableName, key: number, inManifest: unknown, inEnvelope: Uint8Array | undefined): Uint8Array | "severed" | undefined {
  if (inManifest === undefined) {
    if (inEnvelope !== undefined) fail("suit_digest", `the envelope carries ${name} (${key}) but the manifest holds no digest for it: it is not authenticated`);
    return undefined;
  }
  if (inManifest instanceof Uint8Array) {
    if (inEnvelope !== undefined) fail("suit_malformed", `${name} (${key}) is both in the manifest and in the envelope`);
    return inManifest;
  }
  const digest = parseDigest(inManifest, `${name} (${key}) digest`);
  if (inEnvelope === undefined) return "severed";
  if (!bytesEqual(digestOf(digest.alg, inEnvelope), digest.bytes)) fail("suit_digest", `the envelope's ${name} (${key}) does not match its digest in the manifest`);
  return bstrContent(inEnvelope, name);
}

/** The manifest's one-line facts: what the shared sequence sets for component 0 (outside
 *  try-each), and the first URI the install or payload-fetch sequence sets. */
function summarise(manifest: SuitManifestInfo): void {
  const shared = staticParameters(manifest.sequences.shared, 0);
  if (shared.vendorId !== undefined) manifest.vendorId = shared.vendorId;
  if (shared.classId !== undefined) manifest.classId = shared.classId;
  if (shared.deviceId !== undefined) manifest.deviceId = shared.deviceId;
  if (shared.imageDigest !== undefined) manifest.imageDigest = shared.imageDigest;
  if (shared.imageSize !== undefined) manifest.imageSize = shared.imageSize;
  const uri = staticParameters(manifest.sequences.install ?? [], 0).uri ?? firstUri(manifest.sequences.install ?? []) ?? firstUri(manifest.sequences.payloadFetch ?? []);
  if (uri !== undefined) manifest.uri = uri;
}

function staticParameters(sequence: SuitSequence, component: number): SuitParameters {
  const out: SuitParameters = {};
  let selected = true;
  for (const command of sequence) {
    if (command.kind === "set-component-index") {
      selected = command.index === true || command.index === component || (Array.isArray(command.index) && command.index.includes(component));
    } else if (command.kind === "override-parameters" && selected) {
      Object.assign(out, command.parameters);
    }
  }
  return out;
}

function firstUri(sequence: SuitSequence): string | undefined {
  for (const command of sequence) if (command.kind === "override-parameters" && command.parameters.uri !== undefined) return command.parameters.uri;
  return undefined;
}

/** Reads an envelope without authenticating it (for inspection: verifyEnvelope is what a
 *  device runs). Severable members in the envelope are checked against their digests. */
export function parseEnvelope(bytes: Uint8Array): SuitEnvelope {
  return guarded(() => {
    const outer = parseOuter(bytes);
    const auth = parseAuthentication(outer.authItem);
    return { tagged: outer.tagged, manifestBytes: outer.manifestItem, ...auth, manifest: parseManifest(outer), integrated: outer.integrated };
  });
}

/** Authenticates an envelope before reading its manifest: the digest over the manifest's bstr
 *  (header included), then a COSE_Sign1 over that digest by one of `keys`. Any manifest. */
export function authenticateEnvelope(bytes: Uint8Array, keys: readonly KeyObject[]): SuitAuthenticated {
  return guarded(() => {
    const outer = parseOuter(bytes);
    const auth = parseAuthentication(outer.authItem);
    if (!bytesEqual(digestOf(auth.digest.alg, outer.manifestItem), auth.digest.bytes)) {
      fail("suit_digest", "the manifest does not match the digest in the authentication wrapper: it was altered");
    }
    if (auth.signatures.length === 0) fail("suit_signature", "the envelope is not signed");
    const reasons: string[] = [];
    for (const signature of auth.signatures) {
      const result = verifySign1Detached(signature, auth.digestBytes, keys);
      if (result.ok) {
        const manifest = parseManifest(outer);
        return { tagged: outer.tagged, manifestBytes: outer.manifestItem, ...auth, manifest, integrated: outer.integrated, alg: result.alg, keyIndex: result.keyIndex };
      }
      reasons.push(result.reason);
    }
    return fail("suit_signature", `signature not verified: ${reasons.join("; ")}`);
  });
}

/** What a device runs on an offer: authenticateEnvelope, and the manifest must name one image
 *  (image-digest and image-size set for component 0 by the shared sequence). */
export function verifyEnvelope(bytes: Uint8Array, keys: readonly KeyObject[]): SuitVerified {
  const authenticated = authenticateEnvelope(bytes, keys);
  const { manifest } = authenticated;
  if (manifest.imageDigest === undefined || manifest.imageSize === undefined) {
    fail("suit_unsupported", "the manifest does not name one image (image-digest and image-size for component 0 in its shared sequence)");
  }
  return authenticated as SuitVerified;
}

/** Bad input must surface as a SuitError and nothing else, whatever a decoder throws. */
function guarded<T>(body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof SuitError) throw error;
    if (error instanceof RangeError && /call stack/i.test(error.message)) throw new SuitError("suit_malformed", "nested too deeply", { cause: error });
    throw new SuitError("suit_malformed", `not a readable envelope: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}

export interface SuitDevice {
  vendorId: Uint8Array;
  classId: Uint8Array;
  deviceId?: Uint8Array;
  /** The sequence number of the manifest the device runs now. */
  currentSequence: number;
}

/** The device's own checks before it downloads anything: the manifest names its vendor and
 *  class (and this device, when it names one) and is newer than what runs (anti-rollback). */
export function checkCandidate(verified: SuitVerified, device: SuitDevice): void {
  const m = verified.manifest;
  if (m.vendorId === undefined || !bytesEqual(m.vendorId, device.vendorId)) {
    fail("suit_condition", `the manifest is for vendor ${m.vendorId === undefined ? "(none)" : hex(m.vendorId)}, this device is ${hex(device.vendorId)}`);
  }
  if (m.classId === undefined || !bytesEqual(m.classId, device.classId)) {
    fail("suit_condition", `the manifest is for class ${m.classId === undefined ? "(none)" : hex(m.classId)}, this device is ${hex(device.classId)}`);
  }
  if (m.deviceId !== undefined && (device.deviceId === undefined || !bytesEqual(m.deviceId, device.deviceId))) {
    fail("suit_condition", `the manifest is for device ${hex(m.deviceId)}, not this one`);
  }
  if (!(m.sequenceNumber > device.currentSequence)) {
    fail("suit_rollback", `sequence number ${m.sequenceNumber} is not greater than ${device.currentSequence}, the one this device runs`);
  }
}

// ---------------------------------------------------------------------------------------------
// Building

export interface BuildOptions {
  image: Uint8Array;
  sequenceNumber: number;
  vendorId: Uint8Array;
  classId: Uint8Array;
  deviceId?: Uint8Array;
  /** Where fetch gets the image; the default says "the update agent's own block download". */
  uri?: string;
  componentId?: Uint8Array[];
  key: KeyObject;
  alg: SignAlg;
  /** Text by name (TEXT_MANIFEST and TEXT_COMPONENT keys), carried severable (23). */
  text?: Record<string, string>;
}

export const DEFAULT_IMAGE_URI = "impeller:block-download";
const DEFAULT_COMPONENT_ID = [Uint8Array.of(0)];
const TEXT_LANGUAGE = "en";

export function buildEnvelope(options: BuildOptions): Uint8Array {
  const { image, sequenceNumber, vendorId, classId, deviceId, key, alg } = options;
  if (!isUint(sequenceNumber)) throw new RangeError(`sequence number must be an unsigned integer, not ${sequenceNumber}`);
  if (vendorId.length !== UUID_BYTES || classId.length !== UUID_BYTES) throw new RangeError("vendor and class IDs are 16-byte UUIDs");
  const componentId = options.componentId ?? DEFAULT_COMPONENT_ID;
  const imageDigest: SuitDigest = { alg: DIGEST_ALG_SHA256, bytes: digestOf(DIGEST_ALG_SHA256, image) };
  const REPORT_ALL = REPORT.all;
  const parameters: SuitParameters = { vendorId, classId, imageDigest, imageSize: image.length };
  const shared: SuitSequence = [
    { kind: "override-parameters", parameters: deviceId === undefined ? parameters : { ...parameters, deviceId } },
    { kind: "condition", code: CONDITION.vendorIdentifier, policy: REPORT_ALL },
    { kind: "condition", code: CONDITION.classIdentifier, policy: REPORT_ALL },
    ...(deviceId === undefined ? [] : [{ kind: "condition", code: CONDITION.deviceIdentifier, policy: REPORT_ALL } as const]),
  ];
  const install: SuitSequence = [
    { kind: "override-parameters", parameters: { uri: options.uri ?? DEFAULT_IMAGE_URI } },
    { kind: "action", code: DIRECTIVE.fetch, policy: REPORT.recordFailure },
    { kind: "condition", code: CONDITION.imageMatch, policy: REPORT_ALL },
  ];
  const validate: SuitSequence = [{ kind: "condition", code: CONDITION.imageMatch, policy: REPORT_ALL }];
  const invoke: SuitSequence = [{ kind: "action", code: DIRECTIVE.invoke, policy: REPORT.recordFailure }];

  const common = encodeCbor(new Map<number, unknown>([[COMMON.components, [componentId]], [COMMON.sharedSequence, encodeSequence(shared)]]));
  const manifestMap = new Map<number, unknown>([
    [MANIFEST.version, 1],
    [MANIFEST.sequenceNumber, sequenceNumber],
    [MANIFEST.common, common],
    [MANIFEST.validate, encodeSequence(validate)],
    [MANIFEST.invoke, encodeSequence(invoke)],
    [MANIFEST.install, encodeSequence(install)],
  ]);
  let textItem: Uint8Array | undefined;
  if (options.text !== undefined && Object.keys(options.text).length > 0) {
    textItem = encodeCbor(encodeCbor(new Map([[TEXT_LANGUAGE, encodeText(options.text, componentId)]])));
    manifestMap.set(MANIFEST.text, [DIGEST_ALG_SHA256, digestOf(DIGEST_ALG_SHA256, textItem)]);
  }
  const manifestItem = encodeCbor(encodeCbor(manifestMap));
  const digestBytes = encodeCbor([DIGEST_ALG_SHA256, digestOf(DIGEST_ALG_SHA256, manifestItem)]);
  const authentication = encodeCbor([digestBytes, signSign1Detached(digestBytes, key, alg)]);
  // The manifest goes in as its encoded item so the bytes the digest covers are the bytes sent.
  const members: Uint8Array[] = [encodeCbor(ENVELOPE.authentication), encodeCbor(authentication), encodeCbor(ENVELOPE.manifest), manifestItem];
  if (textItem !== undefined) members.push(encodeCbor(ENVELOPE.text), textItem);
  return Buffer.concat([Uint8Array.of(0xd8, SUIT_ENVELOPE_TAG, 0xa0 + members.length / 2), ...members]);
}

function encodeText(text: Record<string, string>, componentId: Uint8Array[]): Map<unknown, unknown> {
  const manifestText = new Map<unknown, unknown>();
  const componentText = new Map<number, string>();
  for (const [name, value] of Object.entries(text)) {
    if (name in TEXT_MANIFEST) manifestText.set(TEXT_MANIFEST[name as keyof typeof TEXT_MANIFEST], value);
    else if (name in TEXT_COMPONENT) componentText.set(TEXT_COMPONENT[name as keyof typeof TEXT_COMPONENT], value);
    else throw new RangeError(`unknown text field ${JSON.stringify(name)}; known: ${[...Object.keys(TEXT_MANIFEST), ...Object.keys(TEXT_COMPONENT)].join(", ")}`);
  }
  if (componentText.size > 0) manifestText.set(componentId, componentText);
  return manifestText;
}

/** Strips severable members from an envelope, leaving their digests in the manifest: the
 *  signature still verifies, and the envelope is smaller for a device that needs none of them. */
export function severEnvelope(bytes: Uint8Array, names: readonly SeverableName[]): Uint8Array {
  return guarded(() => {
    const outer = parseOuter(bytes);
    const members: Uint8Array[] = [encodeCbor(ENVELOPE.authentication), outer.authItem, encodeCbor(ENVELOPE.manifest), outer.manifestItem];
    for (const [name, key] of SEVERABLE_KEYS) {
      const item = outer.severable.get(name);
      if (item !== undefined && !names.includes(name)) members.push(encodeCbor(key), item);
    }
    for (const [key, value] of outer.integrated) members.push(encodeCbor(key), encodeCbor(value));
    const count = members.length / 2;
    return Buffer.concat([Uint8Array.of(0xd8, SUIT_ENVELOPE_TAG), count < 24 ? Uint8Array.of(0xa0 + count) : Uint8Array.of(0xb8, count), ...members]);
  });
}

// ---------------------------------------------------------------------------------------------
// The interpreter

type Awaitable<T> = T | Promise<T>;

/** What the device does for the interpreter. Components are indices into the manifest's
 *  component list. Each method may return a promise: runSequence is async so that fetch can
 *  be a block download. Optional methods the manifest needs but the device lacks make the
 *  command fail as suit_unsupported. Any error a method throws fails the command (suit_failed). */
export interface SuitContext {
  readonly vendorId: Uint8Array;
  readonly classId: Uint8Array;
  readonly deviceId?: Uint8Array;
  /** directive-fetch: get the image at `uri` into `component` (the context stores it). If it
   *  returns the bytes, their length is checked against image-size. */
  fetch(uri: string, component: number, parameters: Readonly<SuitParameters>): Awaitable<Uint8Array | void>;
  /** condition-image-match: the digest under `alg` of what `component` holds (its first `size`
   *  bytes when the manifest gives an image-size). */
  imageDigest(component: number, alg: SuitDigestAlg, size: number | undefined): Awaitable<Uint8Array>;
  /** directive-invoke: boot or hand over to `component`. */
  invoke(component: number, args: Uint8Array | undefined): Awaitable<void>;
  /** condition-component-slot: the slot `component` would be written to (e.g. the inactive one). */
  componentSlot?(component: number): Awaitable<number>;
  /** condition-check-content: the first `length` bytes `component` holds. */
  readContent?(component: number, length: number): Awaitable<Uint8Array>;
  write?(component: number, content: Uint8Array): Awaitable<void>;
  copy?(source: number, target: number, parameters: Readonly<SuitParameters>): Awaitable<void>;
  swap?(a: number, b: number): Awaitable<void>;
  /** Each record the reporting policies ask for, as it happens. */
  report?(record: SuitRecord): void;
}

export interface SuitRecord {
  command: string;
  code: number;
  component: number;
  ok: boolean;
  reason?: string;
}

export interface SuitState {
  /** Parameters per component, kept across the sequences of one manifest run. */
  parameters: SuitParameters[];
  /** The components the next command applies to. */
  selected: number[];
}

export type SuitResult =
  | { ok: true; steps: number; records: SuitRecord[] }
  | { ok: false; error: SuitError; steps: number; records: SuitRecord[] };

export function createState(components: number): SuitState {
  if (!Number.isInteger(components) || components < 1 || components > COMPONENTS_MAX) throw new RangeError(`1..${COMPONENTS_MAX} components, not ${components}`);
  return { parameters: Array.from({ length: components }, () => ({})), selected: [0] };
}

/** A failed command inside a sequence, soft when a try-each may move on to its next option. */
class Failure {
  constructor(readonly error: SuitError, readonly soft: boolean) {}
}

interface Run {
  context: SuitContext;
  state: SuitState;
  steps: number;
  records: SuitRecord[];
}

/** Runs one command sequence. Bounded: STEPS_MAX commands, NESTING_MAX levels of try-each and
 *  run-sequence. Never throws for what the manifest or the device does; programming errors do. */
export async function runSequence(sequence: SuitSequence, context: SuitContext, state: SuitState = createState(1)): Promise<SuitResult> {
  return runSequences([sequence], context, state);
}

/** Runs a manifest's step the way SUIT does: the shared sequence, then the step's sequence, on
 *  one parameter state. A step the manifest lacks does nothing; a severed one cannot run. */
export async function runManifest(envelope: { manifest: SuitManifestInfo }, step: StepName, context: SuitContext): Promise<SuitResult> {
  const { manifest } = envelope;
  if (manifest.severed.includes(step as SeverableName)) {
    return { ok: false, error: new SuitError("suit_unsupported", `${step} was severed from this envelope: get the full envelope`), steps: 0, records: [] };
  }
  return runSequences([manifest.sequences.shared, manifest.sequences[step] ?? []], context, createState(manifest.components.length));
}

async function runSequences(sequences: SuitSequence[], context: SuitContext, state: SuitState): Promise<SuitResult> {
  const run: Run = { context, state, steps: 0, records: [] };
  try {
    for (const sequence of sequences) await execute(run, sequence, 0, false);
    return { ok: true, steps: run.steps, records: run.records };
  } catch (error) {
    if (error instanceof Failure) return { ok: false, error: error.error, steps: run.steps, records: run.records };
    throw error;
  }
}

const HARD: ReadonlySet<SuitErrorCode> = new Set(["suit_limit", "suit_unsupported", "suit_malformed"]);

async function execute(run: Run, sequence: SuitSequence, depth: number, softDefault: boolean): Promise<void> {
  if (depth > NESTING_MAX) throw new Failure(new SuitError("suit_limit", `try-each / run-sequence nested deeper than ${NESTING_MAX}`), false);
  for (const command of sequence) {
    if (++run.steps > STEPS_MAX) throw new Failure(new SuitError("suit_limit", `more than ${STEPS_MAX} commands executed`), false);
    const { state } = run;
    switch (command.kind) {
      case "set-component-index": {
        const index = command.index === true ? state.parameters.map((_, i) => i) : Array.isArray(command.index) ? command.index : [command.index];
        const bad = index.find((i) => i >= state.parameters.length);
        if (bad !== undefined) throw new Failure(new SuitError("suit_malformed", `set-component-index ${bad}: the manifest has ${state.parameters.length} components`), false);
        state.selected = index;
        break;
      }
      case "override-parameters":
        for (const component of state.selected) {
          const target = state.parameters[component];
          const { other, ...known } = command.parameters;
          Object.assign(target, known);
          if (other !== undefined) target.other = new Map([...(target.other ?? []), ...other]);
        }
        break;
      case "try-each":
        await tryEach(run, command.options, depth);
        break;
      case "run-sequence":
        await runNested(run, command.sequence, depth);
        break;
      case "unknown":
        throw new Failure(new SuitError("suit_unsupported", `command ${command.code} is not supported`), false);
      default:
        for (const component of state.selected) await perform(run, command, component, softDefault);
    }
  }
}

async function tryEach(run: Run, options: (SuitSequence | null)[], depth: number): Promise<void> {
  const reasons: string[] = [];
  for (const option of options) {
    if (option === null) return;
    try {
      await execute(run, option, depth + 1, true);
      return;
    } catch (error) {
      if (!(error instanceof Failure) || !error.soft) throw error;
      reasons.push(error.error.message);
    }
  }
  throw new Failure(new SuitError("suit_condition", `no option of try-each succeeded: ${reasons.join("; ")}`), false);
}

async function runNested(run: Run, sequence: SuitSequence, depth: number): Promise<void> {
  try {
    await execute(run, sequence, depth + 1, false);
  } catch (error) {
    // soft-failure set for the nested sequence: its failure ends it without failing this one.
    if (error instanceof Failure && error.soft && !HARD.has(error.error.code)) return;
    throw error;
  }
}

async function perform(run: Run, command: { kind: "condition" | "action"; code: number; policy: number }, component: number, softDefault: boolean): Promise<void> {
  const name = COMMAND_NAMES.get(command.code) ?? String(command.code);
  const parameters = run.state.parameters[component];
  let error: SuitError | undefined;
  try {
    error = command.kind === "condition" ? await condition(run.context, command.code, component, parameters) : await action(run.context, command.code, component, parameters);
  } catch (thrown) {
    error = thrown instanceof SuitError ? thrown : new SuitError("suit_failed", `${name} on component ${component} failed: ${(thrown as Error)?.message ?? String(thrown)}`, { cause: thrown });
  }
  const ok = error === undefined;
  if ((ok && command.policy & REPORT.recordSuccess) || (!ok && command.policy & REPORT.recordFailure)) {
    const record: SuitRecord = { command: name, code: command.code, component, ok };
    if (!ok) record.reason = error!.message;
    run.records.push(record);
    run.context.report?.(record);
  }
  if (error !== undefined) throw new Failure(error, !HARD.has(error.code) && (parameters.softFailure ?? softDefault));
}

const missing = (name: string, parameter: string): SuitError => new SuitError("suit_condition", `${name}: parameter ${parameter} is not set`);
const unsupported = (name: string, method: string): SuitError => new SuitError("suit_unsupported", `${name}: this device has no ${method}`);

async function condition(context: SuitContext, code: number, component: number, p: SuitParameters): Promise<SuitError | undefined> {
  const compare = (name: string, want: Uint8Array | undefined, have: Uint8Array | undefined, what: string): SuitError | undefined => {
    if (want === undefined) return missing(name, what);
    if (have === undefined || !bytesEqual(want, have)) return new SuitError("suit_condition", `${name}: the manifest wants ${what} ${hex(want)}, this device is ${have === undefined ? "(none)" : hex(have)}`);
    return undefined;
  };
  switch (code) {
    case CONDITION.vendorIdentifier: return compare("vendor-identifier", p.vendorId, context.vendorId, "vendor-id");
    case CONDITION.classIdentifier: return compare("class-identifier", p.classId, context.classId, "class-id");
    case CONDITION.deviceIdentifier: return compare("device-identifier", p.deviceId, context.deviceId, "device-id");
    case CONDITION.imageMatch: {
      if (p.imageDigest === undefined) return missing("image-match", "image-digest");
      const actual = await context.imageDigest(component, p.imageDigest.alg, p.imageSize);
      return bytesEqual(actual, p.imageDigest.bytes) ? undefined : new SuitError("suit_digest", `image-match: component ${component} holds ${hex(actual).slice(0, 16)}…, the manifest wants ${hex(p.imageDigest.bytes).slice(0, 16)}…`);
    }
    case CONDITION.componentSlot: {
      if (p.componentSlot === undefined) return missing("component-slot", "component-slot");
      if (context.componentSlot === undefined) return unsupported("component-slot", "componentSlot");
      const slot = await context.componentSlot(component);
      return slot === p.componentSlot ? undefined : new SuitError("suit_condition", `component-slot: component ${component} is in slot ${slot}, not ${p.componentSlot}`);
    }
    case CONDITION.checkContent: {
      if (p.content === undefined) return missing("check-content", "content");
      if (context.readContent === undefined) return unsupported("check-content", "readContent");
      const held = await context.readContent(component, p.content.length);
      return bytesEqual(held, p.content) ? undefined : new SuitError("suit_condition", `check-content: component ${component} holds other content`);
    }
    case CONDITION.abort: return new SuitError("suit_abort", "the manifest aborted (condition-abort)");
    default: return new SuitError("suit_unsupported", `condition ${code} is not supported`);
  }
}

async function action(context: SuitContext, code: number, component: number, p: SuitParameters): Promise<SuitError | undefined> {
  switch (code) {
    case DIRECTIVE.fetch: {
      if (p.uri === undefined) return missing("fetch", "uri");
      const fetched = await context.fetch(p.uri, component, p);
      if (fetched instanceof Uint8Array && p.imageSize !== undefined && fetched.length !== p.imageSize) {
        return new SuitError("suit_digest", `fetch: got ${fetched.length} bytes from ${p.uri}, the manifest says ${p.imageSize}`);
      }
      return undefined;
    }
    case DIRECTIVE.write:
      if (p.content === undefined) return missing("write", "content");
      if (context.write === undefined) return unsupported("write", "write");
      await context.write(component, p.content);
      return undefined;
    case DIRECTIVE.copy:
      if (p.sourceComponent === undefined) return missing("copy", "source-component");
      if (context.copy === undefined) return unsupported("copy", "copy");
      await context.copy(p.sourceComponent, component, p);
      return undefined;
    case DIRECTIVE.swap:
      if (p.sourceComponent === undefined) return missing("swap", "source-component");
      if (context.swap === undefined) return unsupported("swap", "swap");
      await context.swap(component, p.sourceComponent);
      return undefined;
    case DIRECTIVE.invoke:
      await context.invoke(component, p.invokeArgs);
      return undefined;
    default: return new SuitError("suit_unsupported", `directive ${code} is not supported`);
  }
}
