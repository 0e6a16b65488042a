// `impeller keygen`, `impeller sign` and `impeller inspect`: make a signing key, sign a firmware
// image into a SUIT envelope, and look into an envelope (and verify it) before it is sent.

import crypto, { type KeyObject } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { algForKey } from "../protocol/cose.js";
import { authenticateEnvelope, parseEnvelope } from "../protocol/suit/envelope.js";
import { buildEnvelope } from "../protocol/suit/build.js";
import { digestOf, SuitError, type SuitEnvelope } from "../protocol/suit/model.js";
import { suitDiagnostic } from "../protocol/suit/diagnostic.js";
import { classUuid, deviceUuid, formatUuid, isUuidText, parseUuid, vendorUuid } from "../protocol/uuid.js";

export class SuitUsageError extends Error {}

export const PRIVATE_KEY_FILE = "signing-key.pem";
export const PUBLIC_KEY_FILE = "signing-key.pub.pem";

/** A vendor as a UUID, or a domain name turned into one (UUIDv5 in the DNS namespace). */
function vendorOption(text: string): Uint8Array {
  return isUuidText(text) ? parseUuid(text) : vendorUuid(text);
}
/** A class as a UUID, or a model name turned into one (UUIDv5 in the vendor's namespace). */
function classOption(text: string, vendorId: Uint8Array): Uint8Array {
  return isUuidText(text) ? parseUuid(text) : classUuid(vendorId, text);
}

function readKey(file: string, kind: "private" | "public"): KeyObject {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new SuitUsageError(`cannot read key ${file}: ${(error as Error).message}`);
  }
  try {
    return kind === "private" ? crypto.createPrivateKey(text) : crypto.createPublicKey(text);
  } catch (error) {
    throw new SuitUsageError(`${file} is not a ${kind} key in PEM: ${(error as Error).message}`);
  }
}

function readFile(file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (error) {
    throw new SuitUsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

const keyId = (key: KeyObject): string => crypto.createHash("sha256").update(key.export({ type: "spki", format: "der" })).digest("hex").slice(0, 16);

export function runKeygen(args: string[]): number {
  const { values, positionals } = parseArgs({ args, options: { alg: { type: "string", default: "eddsa" }, out: { type: "string" }, force: { type: "boolean", default: false } } });
  if (positionals.length > 0) throw new SuitUsageError("keygen takes no file names; use --out DIR");
  if (values.out === undefined) throw new SuitUsageError("keygen needs --out DIR");
  const alg = values.alg.toLowerCase();
  if (alg !== "es256" && alg !== "eddsa") throw new SuitUsageError(`--alg is es256 or eddsa, not ${JSON.stringify(values.alg)}`);
  const { privateKey, publicKey } = alg === "es256" ? crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }) : crypto.generateKeyPairSync("ed25519");
  const privatePath = path.join(values.out, PRIVATE_KEY_FILE);
  const publicPath = path.join(values.out, PUBLIC_KEY_FILE);
  if (!values.force && (fs.existsSync(privatePath) || fs.existsSync(publicPath))) {
    throw new SuitUsageError(`${privatePath} or ${publicPath} exists already; --force replaces them (the old key is lost)`);
  }
  fs.mkdirSync(values.out, { recursive: true });
  fs.writeFileSync(privatePath, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  fs.writeFileSync(publicPath, publicKey.export({ type: "spki", format: "pem" }));
  process.stdout.write(`${alg === "es256" ? "ES256 (P-256)" : "EdDSA (Ed25519)"} key ${keyId(publicKey)}\n  private: ${privatePath} (keep it secret)\n  public:  ${publicPath} (give it to the devices)\n`);
  return 0;
}

export function runSign(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      seq: { type: "string" }, key: { type: "string" }, vendor: { type: "string" }, class: { type: "string" },
      device: { type: "string" }, uri: { type: "string" }, out: { type: "string" }, description: { type: "string" },
      version: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new SuitUsageError("sign takes one image file");
  for (const name of ["seq", "key", "vendor", "class", "out"] as const) {
    if (values[name] === undefined) throw new SuitUsageError(`sign needs --${name}`);
  }
  const sequenceNumber = Number(values.seq);
  if (!Number.isSafeInteger(sequenceNumber) || sequenceNumber < 0) throw new SuitUsageError(`--seq needs an unsigned integer, not ${JSON.stringify(values.seq)}`);
  const key = readKey(values.key!, "private");
  let alg: -7 | -8;
  try {
    alg = algForKey(key);
  } catch (error) {
    throw new SuitUsageError((error as Error).message);
  }
  const vendorId = vendorOption(values.vendor!);
  const classId = classOption(values.class!, vendorId);
  const deviceId = values.device === undefined ? undefined : isUuidText(values.device) ? parseUuid(values.device) : deviceUuid(classId, values.device);
  const image = readFile(positionals[0]);
  const text: Record<string, string> = {};
  if (values.description !== undefined) text["manifest-description"] = values.description;
  if (values.version !== undefined) text["component-version"] = values.version;
  const envelope = buildEnvelope({ image, sequenceNumber, vendorId, classId, deviceId, uri: values.uri, key, alg, text });
  fs.writeFileSync(values.out!, envelope);
  process.stdout.write([
    `${values.out}: SUIT envelope, ${envelope.length} bytes, sequence number ${sequenceNumber}, ${alg === -7 ? "ES256" : "EdDSA"}`,
    `  image ${positionals[0]}: ${image.length} bytes, sha-256 ${Buffer.from(digestOf(-16, image)).toString("hex")}`,
    `  vendor ${formatUuid(vendorId)}  class ${formatUuid(classId)}${deviceId ? `  device ${formatUuid(deviceId)}` : ""}`,
    "",
  ].join("\n"));
  return 0;
}

function summary(envelope: SuitEnvelope): string[] {
  const m = envelope.manifest;
  const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
  const id = (bytes: Uint8Array | undefined): string => (bytes === undefined ? "(not set)" : bytes.length === 16 ? formatUuid(bytes) : hex(bytes));
  return [
    `sequence number: ${m.sequenceNumber}`,
    `components: ${m.components.map((c) => `[${c.map(hex).join(", ")}]`).join(" ")}`,
    `vendor: ${id(m.vendorId)}   class: ${id(m.classId)}${m.deviceId ? `   device: ${id(m.deviceId)}` : ""}`,
    `image: ${m.imageSize ?? "?"} bytes, digest ${m.imageDigest ? `${m.imageDigest.alg === -16 ? "sha-256" : m.imageDigest.alg} ${hex(m.imageDigest.bytes)}` : "(not one image)"}`,
    ...(m.uri ? [`uri: ${m.uri}`] : []),
    ...(m.severed.length > 0 ? [`severed: ${m.severed.join(", ")}`] : []),
  ];
}

export function runInspect(args: string[]): number {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, options: { key: { type: "string", multiple: true }, image: { type: "string" } },
  });
  if (positionals.length !== 1) throw new SuitUsageError("inspect takes one envelope file");
  const bytes = readFile(positionals[0]);
  const keys = (values.key ?? []).map((file) => readKey(file, "public"));
  const out = process.stdout;
  out.write(`${suitDiagnostic(bytes)}\n\n`);
  let envelope: SuitEnvelope;
  try {
    envelope = keys.length > 0 ? authenticateEnvelope(bytes, keys) : parseEnvelope(bytes);
  } catch (error) {
    if (!(error instanceof SuitError)) throw error;
    out.write(`${keys.length > 0 ? "NOT VERIFIED" : "NOT READABLE"}: ${error.code}: ${error.message}\n`);
    return 1;
  }
  out.write(`${summary(envelope).join("\n")}\n`);
  let ok = true;
  if (keys.length > 0) {
    const { alg, keyIndex } = envelope as SuitEnvelope & { alg: number; keyIndex: number };
    out.write(`digest: ok   signature: ok (${alg === -7 ? "ES256" : alg === -8 ? "EdDSA" : `alg ${alg}`}, ${values.key![keyIndex]})\n`);
  } else {
    out.write("signature: not checked (give --key PUBLIC_KEY.pem)\n");
  }
  if (values.image !== undefined) {
    const image = readFile(values.image);
    const { imageDigest, imageSize } = envelope.manifest;
    if (imageDigest === undefined || imageSize === undefined) {
      out.write("image: NOT CHECKED: the manifest does not name one image\n");
      ok = false;
    } else {
      const digestOk = Buffer.compare(digestOf(imageDigest.alg, image), imageDigest.bytes) === 0;
      const sizeOk = image.length === imageSize;
      out.write(`image ${values.image}: size ${sizeOk ? "ok" : `WRONG (${image.length}, the manifest says ${imageSize})`}   digest ${digestOk ? "ok" : "WRONG"}\n`);
      ok &&= digestOk && sizeOk;
    }
  }
  return ok ? 0 : 1;
}
