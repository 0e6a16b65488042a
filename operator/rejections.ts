// What devices sent that the operator's side could not take. Everything a device publishes is
// untrusted: a consumer that cannot decode a payload counts it here, against the device whose
// topic it came on and with the reason, and drops it. A broken or hostile pump shows up as a
// count; it cannot end the process or touch another device's records.

import { ProtocolError } from "../protocol/errors.js";

export interface DeviceRejections {
  count: number;
  /** Counts by reason: a ProtocolError's code, or "unexpected" for anything else thrown. */
  reasons: Record<string, number>;
}

/** Devices counted one by one, at most; the rest share OTHER_DEVICES (a fleet is far smaller). */
export const REJECTING_DEVICES_MAX = 100_000;
export const OTHER_DEVICES = "(other devices)";

export class Rejections {
  readonly devices = new Map<string, DeviceRejections>();
  total = 0;

  /** Counts one payload from `device` refused with `error`. */
  add(device: string, error: unknown): void {
    const key = this.devices.has(device) || this.devices.size < REJECTING_DEVICES_MAX ? device : OTHER_DEVICES;
    let entry = this.devices.get(key);
    if (entry === undefined) this.devices.set(key, (entry = { count: 0, reasons: {} }));
    countRejection(entry, error);
    this.total += 1;
  }

  count(device: string): number {
    return this.devices.get(device)?.count ?? 0;
  }

  /** By device, in first-rejected order (for JSON reports). */
  toJSON(): Record<string, DeviceRejections> {
    const out: Record<string, DeviceRejections> = {};
    for (const [device, entry] of this.devices) out[device] = { count: entry.count, reasons: { ...entry.reasons } };
    return out;
  }
}

/** Counts one refused payload in `entry`, under its reason. */
export function countRejection(entry: DeviceRejections, error: unknown): void {
  const reason = error instanceof ProtocolError ? error.code : "unexpected";
  entry.count += 1;
  entry.reasons[reason] = (entry.reasons[reason] ?? 0) + 1;
}
