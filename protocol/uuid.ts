// UUIDs as SUIT names vendors, device classes and devices: 16 bytes on the wire, RFC 4122 text
// for people, and name-based UUIDv5 so a vendor domain and a model name give the same IDs
// everywhere (the SUIT draft's examples: vendor-id = uuid5(DNS namespace, "arm.com")).

import crypto from "node:crypto";

export const UUID_BYTES = 16;
const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuidText(text: string): boolean {
  return UUID_TEXT.test(text);
}

/** 16 bytes from the 8-4-4-4-12 hex form; a RangeError for anything else. */
export function parseUuid(text: string): Uint8Array {
  if (!isUuidText(text)) throw new RangeError(`not a UUID (8-4-4-4-12 hex digits): ${JSON.stringify(text)}`);
  return Uint8Array.from(Buffer.from(text.replace(/-/g, ""), "hex"));
}

export function formatUuid(bytes: Uint8Array): string {
  if (bytes.length !== UUID_BYTES) throw new RangeError(`a UUID is ${UUID_BYTES} bytes, not ${bytes.length}`);
  const hex = Buffer.from(bytes).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** RFC 4122 §4.3 name-based UUID, version 5 (SHA-1). */
export function uuidV5(namespace: Uint8Array, name: string): Uint8Array {
  if (namespace.length !== UUID_BYTES) throw new RangeError(`a UUID namespace is ${UUID_BYTES} bytes, not ${namespace.length}`);
  const hash = crypto.createHash("sha1").update(namespace).update(name, "utf8").digest();
  const uuid = Uint8Array.from(hash.subarray(0, UUID_BYTES));
  uuid[6] = (uuid[6] & 0x0f) | 0x50;
  uuid[8] = (uuid[8] & 0x3f) | 0x80;
  return uuid;
}

/** RFC 4122 Appendix C: the DNS namespace, for vendor IDs made from a domain name. */
export const NAMESPACE_DNS = parseUuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8");

/** A vendor ID from the vendor's domain name; a class ID from the vendor ID and a model name;
 *  a device ID from the class ID and the device's name (e.g. "pump-0001"). */
export const vendorUuid = (domain: string): Uint8Array => uuidV5(NAMESPACE_DNS, domain);
export const classUuid = (vendorId: Uint8Array, model: string): Uint8Array => uuidV5(vendorId, model);
export const deviceUuid = (classId: Uint8Array, device: string): Uint8Array => uuidV5(classId, device);
