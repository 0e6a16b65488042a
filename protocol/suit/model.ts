// SUIT manifests (draft-ietf-suit-manifest, the subset and labels in DESIGN.md): the model every
// part of protocol/suit/ shares. Labels and limits, the types of an envelope, a manifest and its
// command sequences, and SuitError: everything a peer can get wrong surfaces as one, and
// nothing else is thrown for bad input.

import crypto from "node:crypto";
import { decodeCbor } from "../cbor.js";

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
export const CONDITIONS = new Set<number>(Object.values(CONDITION));
export const ACTIONS = new Set<number>([DIRECTIVE.write, DIRECTIVE.fetch, DIRECTIVE.copy, DIRECTIVE.invoke, DIRECTIVE.swap]);

/** Envelopes travel in one update-offer message (impeller.cddl), which is at most 64 KiB. */
export const ENVELOPE_BYTES_MAX = 65536;
export const COMPONENTS_MAX = 16;
export const COMPONENT_ID_PARTS_MAX = 8;
/** Commands in one sequence (a pair of CBOR items each). */
export const SEQUENCE_COMMANDS_MAX = 128;
/** try-each and run-sequence inside one another, at most this deep. */
export const NESTING_MAX = 4;
/** Commands the interpreter executes per run, nested ones and each component counted. */
export const STEPS_MAX = 1024;
export const TRY_EACH_OPTIONS_MAX = 8;
export const CBOR_DEPTH_MAX = 16;

// ---------------------------------------------------------------------------------------------
// Types

export type SuitDigestAlg = -16 | -43 | -44;
export interface SuitDigest { alg: SuitDigestAlg; bytes: Uint8Array }
export const DIGEST_HASHES = new Map<number, [string, number]>([[-16, ["sha256", 32]], [-43, ["sha384", 48]], [-44, ["sha512", 64]]]);

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

export const fail = (code: SuitErrorCode, message: string): never => {
  throw new SuitError(code, message);
};
export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;
export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
export const copy = (bytes: Uint8Array): Uint8Array => Uint8Array.from(bytes);
export const isUint = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
export const isInt = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value);

export function digestOf(alg: SuitDigestAlg, data: Uint8Array): Uint8Array {
  const [hash] = DIGEST_HASHES.get(alg)!;
  return new Uint8Array(crypto.createHash(hash).update(data).digest());
}

export function decode(bytes: Uint8Array, what: string): unknown {
  if (bytes.length === 0) fail("suit_malformed", `${what} is empty`);
  try {
    return decodeCbor(bytes, ENVELOPE_BYTES_MAX);
  } catch (error) {
    throw new SuitError("suit_malformed", `${what} is not well-formed CBOR: ${(error as Error).message}`, { cause: error });
  }
}
