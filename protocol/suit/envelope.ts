// Reading a SUIT envelope: its outer structure, authentication wrapper and manifest, from any
// SUIT tool; authenticated (digest, then a COSE_Sign1 by a trusted key) before its manifest is
// read; checked against the device (vendor, class, device, anti-rollback); and stripped of
// severable members.

import type { KeyObject } from "node:crypto";
import { encodeCbor } from "../cbor.js";
import { verifySign1Detached } from "../cose.js";
import { bstrContent, head, itemEnd, parseDigest, readMap } from "./cbor-spans.js";
import {
  bytesEqual, COMMON, COMPONENT_ID_PARTS_MAX, COMPONENTS_MAX, copy, decode, digestOf, ENVELOPE, ENVELOPE_BYTES_MAX, fail, hex, isInt, isUint,
  MANIFEST, SUIT_ENVELOPE_TAG, SuitError, TEXT_COMPONENT, TEXT_MANIFEST, type SeverableName, type SuitAuthenticated, type SuitDigest,
  type SuitEnvelope, type SuitManifestInfo, type SuitParameters, type SuitSequence, type SuitText, type SuitVerified,
} from "./model.js";
import { parseSequence } from "./sequence.js";

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
