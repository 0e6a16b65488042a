// The firmware's running-state record (storage key 9, firmware/persist.ts) as a test reads it:
// its header and its sections, each in the layout ABI.md gives it.

import type { DeviceStorage } from "../../host/storage/storage.js";

export const STORAGE_KEY_STATE = 9;
export const STATE_MAGIC = 0x31415453; // "STA1"
export const STATE_HEADER_BYTES = 24;
/** The sections in the record's order, with the most bytes each can hold. */
export const SECTIONS = [
  ["baseline", 24], ["trend", 1144], ["advice", 44], ["temperature", 16], ["history", 792],
] as const;
export type SectionName = (typeof SECTIONS)[number][0];

export interface StateRecord {
  /** When the firmware wrote it: the Unix ms of the window or tick that wrote it. */
  writtenMs: number;
  /** Each section present, its bytes. */
  sections: Partial<Record<SectionName, Uint8Array>>;
}

/** Decodes record 9 as the firmware reads it back, throwing on anything it would refuse. */
export function decodeStateRecord(bytes: Uint8Array): StateRecord {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (bytes.length < STATE_HEADER_BYTES || view.getUint32(0, true) !== STATE_MAGIC) throw new Error("not a state record");
  const sections: StateRecord["sections"] = {};
  let at = STATE_HEADER_BYTES;
  SECTIONS.forEach(([name, capacity], i) => {
    const length = view.getUint16(4 + 2 * i, true);
    if (length > capacity) throw new Error(`section ${name} of ${length} bytes in a place of ${capacity}`);
    if (length > 0) sections[name] = bytes.slice(at, at + length);
    at += capacity;
  });
  const historyAt = at - SECTIONS[SECTIONS.length - 1][1];
  if (bytes.length !== historyAt + (sections.history?.length ?? 0)) throw new Error(`state record of ${bytes.length} bytes does not end where its history does`);
  return { writtenMs: Number(view.getBigInt64(16, true)), sections };
}

/** The stored record, or undefined when there is none. */
export function stateRecord(storage: DeviceStorage): StateRecord | undefined {
  const bytes = storage.read(STORAGE_KEY_STATE);
  return bytes === undefined ? undefined : decodeStateRecord(bytes);
}

/** One section of the stored record, or undefined when the record or the section is absent. */
export function stateSection(storage: DeviceStorage, name: SectionName): Uint8Array | undefined {
  return stateRecord(storage)?.sections[name];
}
