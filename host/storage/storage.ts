// Persistent device storage behind the ABI's storage_read/storage_write: small records by
// integer key. MemoryStorage is a simulated device's flash; FileStorage keeps each record in
// its own file, replaced atomically (write to a temporary file, fsync, rename).

import fs from "node:fs";
import path from "node:path";

export interface DeviceStorage {
  read(key: number): Uint8Array | undefined;
  write(key: number, bytes: Uint8Array): void;
}

export const STORAGE_RECORD_BYTES_MAX = 65536;

function checkRecord(key: number, bytes: Uint8Array): void {
  if (!Number.isInteger(key) || key < 0 || key > 0xffff) throw new RangeError(`storage key ${key} is not in 0..65535`);
  if (bytes.length > STORAGE_RECORD_BYTES_MAX) {
    throw new RangeError(`storage record of ${bytes.length} bytes exceeds ${STORAGE_RECORD_BYTES_MAX}`);
  }
}

export class MemoryStorage implements DeviceStorage {
  private readonly records = new Map<number, Uint8Array>();
  /** Records written, in all, and per key: what a flash would have had to program. */
  writes = 0;
  readonly writesByKey = new Map<number, number>();

  read(key: number): Uint8Array | undefined {
    return this.records.get(key);
  }

  write(key: number, bytes: Uint8Array): void {
    checkRecord(key, bytes);
    this.records.set(key, bytes.slice());
    this.writes += 1;
    this.writesByKey.set(key, (this.writesByKey.get(key) ?? 0) + 1);
  }
}

export class FileStorage implements DeviceStorage {
  constructor(private readonly directory: string) {
    fs.mkdirSync(directory, { recursive: true });
  }

  private file(key: number): string {
    return path.join(this.directory, `record-${key}.bin`);
  }

  read(key: number): Uint8Array | undefined {
    try {
      return new Uint8Array(fs.readFileSync(this.file(key)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  write(key: number, bytes: Uint8Array): void {
    checkRecord(key, bytes);
    const target = this.file(key);
    writeFileAtomic(target, bytes, `${target}.tmp`);
  }
}

export function fsyncDirectory(directory: string): void {
  const fd = fs.openSync(directory, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes `target` hold `bytes`, whole or not at all, across a power cut: write a temporary
 *  file, fsync it, rename it over the target, fsync the directory (the rename itself). */
export function writeFileAtomic(target: string, bytes: Uint8Array, temporary: string): void {
  const fd = fs.openSync(temporary, "w");
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, target);
  fsyncDirectory(path.dirname(target));
}
