// The records the device's host keeps in its storage, beside the firmware's own: the MQTT session
// counter and the faults by kind across restarts; and the sensor mailbox's key, which the host
// writes and the firmware reads.

import { FAULT_KINDS, type FaultKind } from "../runtime/firmware.js";
import type { DeviceStorage } from "../storage/storage.js";

/** Host-side storage record: the MQTT session counter (4 bytes, little endian). */
export const HOST_STORAGE_SESSION = 0x100;
/** Host-side storage record: faults by kind, u32 little endian each, in FAULT_KINDS order. */
export const HOST_STORAGE_FAULTS = 0x101;
/** The host's sensor mailbox: its latest readings besides vibration (f64 °C, f64 Unix ms of
 *  the reading), read by the firmware at each window; the firmware cannot write it. */
export const HOST_STORAGE_SENSORS = 0x200;


/** Faults of `kind` ever recorded in `storage`, this one included, stored again; a storage that
 *  cannot write it is told to `onWriteError` (the count returned is still right). */
export function countFault(storage: DeviceStorage, kind: FaultKind, onWriteError: (error: unknown) => void): number {
  const record = storage.read(HOST_STORAGE_FAULTS);
  const counts = FAULT_KINDS.map((_, i) => (record?.length === 4 * FAULT_KINDS.length ? new DataView(record.buffer, record.byteOffset).getUint32(i * 4, true) : 0));
  const index = FAULT_KINDS.indexOf(kind);
  counts[index] = Math.min(counts[index] + 1, 0xffffffff);
  const bytes = new Uint8Array(4 * FAULT_KINDS.length);
  const view = new DataView(bytes.buffer);
  counts.forEach((count, i) => view.setUint32(i * 4, count, true));
  try {
    storage.write(HOST_STORAGE_FAULTS, bytes);
  } catch (error) {
    onWriteError(error);
  }
  return counts[index];
}

/** The next MQTT session: one more than the stored counter (1 on a new device), stored. */
export function nextSession(storage: DeviceStorage): number {
  const record = storage.read(HOST_STORAGE_SESSION);
  const session = record?.length === 4 ? new DataView(record.buffer, record.byteOffset).getUint32(0, true) + 1 : 1;
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, session, true);
  storage.write(HOST_STORAGE_SESSION, bytes);
  return session;
}
