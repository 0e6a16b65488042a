// Hosts for harnesses that run the firmware outside a device: one that records what the release
// firmware publishes and logs, on a clock its caller moves (the golden vectors, the fuzzer, the
// analysis tests), and the silent imports a debug build is instantiated with.

import { Firmware, type FirmwareHost } from "./firmware.js";
import { loadRelease } from "./images.js";
import { MemoryStorage } from "../storage/storage.js";

export interface Published {
  kind: number;
  bytes: Uint8Array;
}

/** A host that records what the firmware does, on a clock the caller moves. */
export class RecordingHost implements FirmwareHost {
  nowMs = 0;
  refuse = false;
  readonly published: Published[] = [];
  readonly logs: { level: number; text: string }[] = [];
  storage = new MemoryStorage();

  clockMs(): number {
    return this.nowMs;
  }

  publish(kind: number, bytes: Uint8Array): boolean {
    if (this.refuse) return false;
    this.published.push({ kind, bytes });
    return true;
  }

  log(level: number, text: string): void {
    this.logs.push({ level, text });
  }
}

let release: ReturnType<typeof loadRelease> | undefined;

/** The release image on `host` (a new RecordingHost unless given); compiled once. */
export async function bootRelease(host = new RecordingHost()): Promise<{ firmware: Firmware; host: RecordingHost }> {
  release ??= loadRelease();
  const firmware = await Firmware.instantiate(await release, host);
  return { firmware, host };
}

/** Host imports for a debug build that records nothing. */
export function silentHostImports(): Record<string, (...args: never[]) => unknown> {
  return {
    clock_ms: () => 0n,
    log: () => {},
    publish: () => 0,
    panic: () => {},
    storage_read: () => -1,
    storage_write: () => 0,
  };
}
