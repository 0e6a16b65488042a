// Building a signed SUIT envelope for a firmware image: the manifest our update agent runs
// (vendor, class and optionally device conditions, a fetch into the slot, image-match), its
// digest, and a COSE_Sign1 over that digest (ES256 or EdDSA).

import type { KeyObject } from "node:crypto";
import { encodeCbor } from "../cbor.js";
import { signSign1Detached, type SignAlg } from "../cose.js";
import { UUID_BYTES } from "../uuid.js";
import {
  COMMON, CONDITION, DIGEST_ALG_SHA256, digestOf, DIRECTIVE, ENVELOPE, isUint, MANIFEST, REPORT, SUIT_ENVELOPE_TAG, TEXT_COMPONENT, TEXT_MANIFEST,
  type SuitDigest, type SuitParameters, type SuitSequence,
} from "./model.js";
import { encodeSequence } from "./sequence.js";

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
