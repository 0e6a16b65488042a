// The device's durable outbox: the same contract as MemoryOutbox (host/outbox/outbox.ts), kept in an
// append-only log file so that a message the firmware was told "accepted" survives a kill of
// the process (and, with the default fsync policy, a power cut) and is sent exactly once after
// the collector drops duplicates by sequence number.
//
// fsync policy (option `fsync`):
//   "every" (default): append() writes its record and fsyncs before it returns a sequence, so
//     the firmware is told "accepted" only once the message is on stable storage. Costs one
//     fsync per message (see bench/outbox.bench.ts for the rate).
//   "batch": group commit. append() returns after write(); the file is fsynced at most every
//     `batchIntervalMs` (default 50 ms). A killed process loses nothing (write() reached the
//     OS); a power cut can lose the messages of the last interval. Sequence numbers are still
//     never reused: a RESERVE record for the next `sequenceBlock` numbers is fsynced before the
//     first of them is handed out, and recovery after a crash continues above it (the collector
//     sees a gap); close() compacts the reservation away, so a clean restart leaves none.
// ACK records are not fsynced on their own under either policy: losing one costs a duplicate
// delivery after a power cut, which the collector removes by sequence; the next fsync (the
// next append under "every", the timer under "batch", close()) makes them durable.
//
// When full, telemetry is thinned to make room (thinning.ts); events and replies never are.
// The log's files, formats and recovery are outbox-log.ts's.

import fs from "node:fs";
import path from "node:path";
import { TOPIC_KINDS, type TopicKind } from "../../protocol/topics.js";
import { fsyncDirectory, writeFileAtomic } from "../storage/storage.js";
import type { Outbox, OutboxEntry } from "./outbox.js";
import {
  APPEND_BYTES_MAX, CORRUPT_FILE, decodeHeader, encodeHeader, encodeRecord, HEADER_BYTES, LOG_FILE, RECORD_ACK, RECORD_APPEND, RECORD_DROP,
  RECORD_OVERHEAD_BYTES, RECORD_RESERVE, recordBytes, scanLog, TEMPORARY_FILE, type LogDamage, type Scan,
} from "./outbox-log.js";
import { chooseThinning } from "./thinning.js";

export type FsyncPolicy = "every" | "batch";

export type OutboxDropReason =
  /** Old telemetry removed to make room for a new message. */
  | "thinned"
  /** The new message was refused: only events and replies left, and still no room. */
  | "full"
  /** The new message is larger than the outbox's byte capacity or APPEND_BYTES_MAX. */
  | "too_large"
  /** The new message was refused because writing or fsyncing the log failed. */
  | "write_failed"
  /** Found on open: the log was corrupt from `offset` on and was cut there. */
  | "corrupt_log";

export interface OutboxDrop {
  reason: OutboxDropReason;
  /** Kind of the message being appended when it happened (absent for "corrupt_log"). */
  kind?: TopicKind;
  /** Sequences removed ("thinned"); empty when the new message was refused instead. */
  sequences: readonly number[];
  /** Payload bytes removed or refused; for "corrupt_log", bytes cut off the log. */
  bytes: number;
}

export interface FileOutboxOptions {
  /** Default "every"; see the header of this file for the trade-off. */
  fsync?: FsyncPolicy;
  /** "batch" only: longest time a written record waits for its fsync. Default 50. */
  batchIntervalMs?: number;
  /** "batch" only: sequence numbers reserved by one fsynced RESERVE record. Default 4096. */
  sequenceBlock?: number;
  /** Most messages pending at once. Default 1024. */
  capacityMessages?: number;
  /** Most payload bytes pending at once. Default 4 MiB. */
  capacityBytes?: number;
  /** Compact once dead bytes exceed both the live bytes and this. Default 64 KiB. */
  compactBytesMin?: number;
  /** What open() does with a corrupt record followed by more data. Default "truncate". */
  onCorrupt?: "truncate" | "throw";
  /** Told about every thinning, refusal and corruption, after the outbox's state is updated. */
  onDrop?: (drop: OutboxDrop) => void;
}

export interface OutboxRecovery {
  /** Valid records read from the log. */
  records: number;
  pending: number;
  nextSequence: number;
  damage: LogDamage;
  /** Where the first bad record started (the log's length after recovery); undefined if none. */
  damageOffset: number | undefined;
  truncatedBytes: number;
  /** A compaction's temporary file was found and removed: a crash before its rename. */
  removedTemporary: boolean;
}

export interface FileOutboxCounters {
  appended: number;
  acknowledged: number;
  thinned: number;
  refusedFull: number;
  refusedTooLarge: number;
  refusedWriteFailed: number;
  /** ACK records that could not be written: those messages go again after a restart. */
  ackWriteFailures: number;
  fsyncs: number;
  compactions: number;
  /** Compactions abandoned (the old log stays in use). */
  compactionFailures: number;
}

export type OutboxErrorCode = "bad_header" | "corrupt_log";

export class OutboxError extends Error {
  readonly code: OutboxErrorCode;

  constructor(code: OutboxErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OutboxError";
    this.code = code;
  }
}

interface Settings {
  fsync: FsyncPolicy;
  batchIntervalMs: number;
  sequenceBlock: number;
  capacityMessages: number;
  capacityBytes: number;
  compactBytesMin: number;
  onCorrupt: "truncate" | "throw";
  onDrop: ((drop: OutboxDrop) => void) | undefined;
}

function settingsOf(options: FileOutboxOptions): Settings {
  const settings: Settings = {
    fsync: options.fsync ?? "every",
    batchIntervalMs: options.batchIntervalMs ?? 50,
    sequenceBlock: options.sequenceBlock ?? 4096,
    capacityMessages: options.capacityMessages ?? 1024,
    capacityBytes: options.capacityBytes ?? 4 * 1024 * 1024,
    compactBytesMin: options.compactBytesMin ?? 64 * 1024,
    onCorrupt: options.onCorrupt ?? "truncate",
    onDrop: options.onDrop,
  };
  if (settings.fsync !== "every" && settings.fsync !== "batch") throw new RangeError(`fsync policy ${String(settings.fsync)} is not "every" or "batch"`);
  if (settings.onCorrupt !== "truncate" && settings.onCorrupt !== "throw") throw new RangeError(`onCorrupt ${String(settings.onCorrupt)} is not "truncate" or "throw"`);
  const positive: [string, number][] = [
    ["batchIntervalMs", settings.batchIntervalMs],
    ["sequenceBlock", settings.sequenceBlock],
    ["capacityMessages", settings.capacityMessages],
    ["capacityBytes", settings.capacityBytes],
  ];
  for (const [name, value] of positive) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} ${value} is not a positive integer`);
  }
  if (!Number.isSafeInteger(settings.compactBytesMin) || settings.compactBytesMin < 0) {
    throw new RangeError(`compactBytesMin ${settings.compactBytesMin} is not a non-negative integer`);
  }
  return settings;
}

export class FileOutbox implements Outbox {
  /** Pending entries, oldest (lowest sequence) first. */
  private readonly entries: OutboxEntry[];
  private readonly settings: Settings;
  private readonly logPath: string;
  private fd: number;
  private closed = false;
  private fileBytes: number;
  /** Bytes of the APPEND records of pending entries: what a compaction keeps. */
  private liveBytes = 0;
  private payloadBytes = 0;
  private telemetryCount = 0;
  private telemetryBytes = 0;
  private next: number;
  /** "batch": sequences below this are covered by a fsynced RESERVE record or header. */
  private reservedNext: number;
  private unsynced = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly count: FileOutboxCounters = {
    appended: 0, acknowledged: 0, thinned: 0, refusedFull: 0, refusedTooLarge: 0, refusedWriteFailed: 0,
    ackWriteFailures: 0, fsyncs: 0, compactions: 0, compactionFailures: 0,
  };

  private constructor(
    readonly directory: string,
    settings: Settings,
    fd: number,
    scan: Scan,
    readonly recovery: OutboxRecovery,
  ) {
    this.settings = settings;
    this.logPath = path.join(directory, LOG_FILE);
    this.fd = fd;
    this.fileBytes = scan.end;
    this.entries = scan.entries;
    this.next = scan.nextSequence;
    this.reservedNext = scan.nextSequence;
    for (const entry of this.entries) this.track(entry, +1);
  }

  /**
   * Opens (or creates) the outbox in `directory` and recovers it: removes a leftover compaction
   * file, cuts a torn or corrupt tail, rebuilds the pending entries and the next sequence.
   * Throws OutboxError "bad_header" when outbox.log is not an outbox log, and "corrupt_log"
   * when it is corrupt and `onCorrupt` is "throw".
   */
  static open(directory: string, options: FileOutboxOptions = {}): FileOutbox {
    const settings = settingsOf(options);
    fs.mkdirSync(directory, { recursive: true });
    const logPath = path.join(directory, LOG_FILE);
    const temporary = path.join(directory, TEMPORARY_FILE);
    const removedTemporary = fs.existsSync(temporary);
    if (removedTemporary) {
      // Compaction renames only a complete, fsynced file, so the old log is still the truth.
      fs.rmSync(temporary, { force: true });
      fsyncDirectory(directory);
    }
    if (!fs.existsSync(logPath)) writeFileAtomic(logPath, encodeHeader(1), path.join(directory, TEMPORARY_FILE));
    const bytes = new Uint8Array(fs.readFileSync(logPath));
    const floor = decodeHeader(bytes);
    if (floor === undefined) {
      throw new OutboxError(
        "bad_header",
        `${logPath} does not start with a valid outbox header; move it away to start an empty outbox (its messages would be lost)`,
      );
    }
    const scan = scanLog(bytes, floor);
    const truncatedBytes = bytes.length - scan.end;
    if (scan.damage === "corrupt") {
      if (settings.onCorrupt === "throw") {
        throw new OutboxError(
          "corrupt_log",
          `${logPath} is corrupt at byte ${scan.end} of ${bytes.length}; open with onCorrupt "truncate" to keep the records before it and set the rest aside in ${CORRUPT_FILE}`,
        );
      }
      writeFileAtomic(path.join(directory, CORRUPT_FILE), bytes.subarray(scan.end), path.join(directory, TEMPORARY_FILE));
    }
    const fd = fs.openSync(logPath, "r+");
    try {
      if (truncatedBytes > 0) {
        fs.ftruncateSync(fd, scan.end);
        fs.fsyncSync(fd);
      }
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
    const recovery: OutboxRecovery = {
      records: scan.records,
      pending: scan.entries.length,
      nextSequence: scan.nextSequence,
      damage: scan.damage,
      damageOffset: scan.damage === "none" ? undefined : scan.end,
      truncatedBytes,
      removedTemporary,
    };
    const outbox = new FileOutbox(directory, settings, fd, scan, recovery);
    if (scan.damage === "corrupt") settings.onDrop?.({ reason: "corrupt_log", sequences: [], bytes: truncatedBytes });
    return outbox;
  }

  /** Queues a message; its sequence number once the record is written (and fsynced, under "every"), or undefined when refused. */
  append(kind: TopicKind, body: Uint8Array): number | undefined {
    this.checkOpen();
    const kindIndex = TOPIC_KINDS.indexOf(kind);
    if (kindIndex < 0) throw new RangeError(`unknown topic kind ${JSON.stringify(kind)}`);
    if (body.length > Math.min(this.settings.capacityBytes, APPEND_BYTES_MAX)) {
      this.count.refusedTooLarge += 1;
      return this.refuse("too_large", kind, body.length);
    }
    let victims: OutboxEntry[] = [];
    if (!this.fits(0, 0, body.length)) {
      const thinnable = this.telemetryCount > 0 && this.fits(this.telemetryCount, this.telemetryBytes, body.length);
      if (!thinnable) {
        this.count.refusedFull += 1;
        return this.refuse("full", kind, body.length);
      }
      victims = chooseThinning(this.entries, (count, bytes) => this.fits(count, bytes, body.length));
    }

    const sequence = this.next;
    const reserve = this.settings.fsync === "batch" && sequence >= this.reservedNext;
    const total = victims.length * RECORD_OVERHEAD_BYTES + (reserve ? RECORD_OVERHEAD_BYTES : 0) + RECORD_OVERHEAD_BYTES + body.length;
    const buffer = new Uint8Array(total);
    let offset = 0;
    for (const victim of victims) offset = encodeRecord(buffer, offset, RECORD_DROP, 0, victim.sequence);
    const reservedNext = sequence + this.settings.sequenceBlock;
    if (reserve) offset = encodeRecord(buffer, offset, RECORD_RESERVE, 0, reservedNext);
    encodeRecord(buffer, offset, RECORD_APPEND, kindIndex, sequence, body);
    if (!this.writeRecords(buffer, this.settings.fsync === "every" || reserve)) {
      this.count.refusedWriteFailed += 1;
      return this.refuse("write_failed", kind, body.length);
    }

    if (reserve) this.reservedNext = reservedNext;
    this.next = sequence + 1;
    if (victims.length > 0) this.remove(new Set(victims.map((victim) => victim.sequence)));
    const entry: OutboxEntry = { sequence, kind, body: body.slice() };
    this.entries.push(entry);
    this.track(entry, +1);
    this.count.appended += 1;
    this.count.thinned += victims.length;
    this.maybeCompact();
    if (victims.length > 0) {
      const bytes = victims.reduce((sum, victim) => sum + victim.body.length, 0);
      this.settings.onDrop?.({ reason: "thinned", kind, sequences: victims.map((victim) => victim.sequence), bytes });
    }
    return sequence;
  }

  /** Unacknowledged entries, oldest first. The array is the outbox's own: do not modify it. */
  pending(): readonly OutboxEntry[] {
    return this.entries;
  }

  /** Removes an entry the broker acknowledged and logs that; unknown sequences are ignored. */
  acknowledge(sequence: number): void {
    this.checkOpen();
    const index = this.indexOf(sequence);
    if (index < 0) return;
    const record = new Uint8Array(RECORD_OVERHEAD_BYTES);
    encodeRecord(record, 0, RECORD_ACK, 0, sequence);
    // Not written: the message is sent again after a restart, a duplicate the collector drops.
    if (!this.writeRecords(record, false)) this.count.ackWriteFailures += 1;
    this.track(this.entries[index], -1);
    if (index === 0) this.entries.shift(); // the usual case, and V8 trims the array's front in place
    else this.entries.splice(index, 1);
    this.count.acknowledged += 1;
    this.maybeCompact();
  }

  get size(): number {
    return this.entries.length;
  }

  /** Payload bytes pending. */
  get bytes(): number {
    return this.payloadBytes;
  }

  /** Messages refused, for any reason (full, too large, write failed). */
  get refused(): number {
    return this.count.refusedFull + this.count.refusedTooLarge + this.count.refusedWriteFailed;
  }

  /** Telemetry messages dropped to make room. */
  get thinned(): number {
    return this.count.thinned;
  }

  /** The sequence the next accepted message gets. */
  get nextSequence(): number {
    return this.next;
  }

  /** The log's current length, header included. */
  get logBytes(): number {
    return this.fileBytes;
  }

  get counters(): Readonly<FileOutboxCounters> {
    return { ...this.count };
  }

  /** Fsyncs whatever was written since the last fsync ("batch" does this on its timer). */
  flush(): void {
    this.checkOpen();
    if (!this.unsynced) return;
    fs.fsyncSync(this.fd);
    this.count.fsyncs += 1;
    this.unsynced = false;
  }

  /**
   * Rewrites the log with only the pending entries, behind a header that keeps the sequence
   * high-water mark: temporary file, fsync, rename over the log, fsync the directory. A crash
   * at any point leaves either the old log or the new one, each complete. Runs by itself when
   * dead bytes exceed both the live bytes and compactBytesMin; returns whether it succeeded.
   */
  compact(): boolean {
    this.checkOpen();
    return this.rewrite(Math.max(this.next, this.reservedNext));
  }

  private rewrite(floor: number): boolean {
    const bytes = new Uint8Array(HEADER_BYTES + this.liveBytes);
    bytes.set(encodeHeader(floor), 0);
    let offset = HEADER_BYTES;
    for (const entry of this.entries) {
      offset = encodeRecord(bytes, offset, RECORD_APPEND, TOPIC_KINDS.indexOf(entry.kind), entry.sequence, entry.body);
    }
    const temporary = path.join(this.directory, TEMPORARY_FILE);
    let fd: number | undefined;
    try {
      fd = fs.openSync(temporary, "w+");
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } catch {
      // Compaction only saves space: keep appending to the old log, which is still complete.
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(temporary, { force: true });
      this.count.compactionFailures += 1;
      return false;
    }
    try {
      fs.renameSync(temporary, this.logPath);
    } catch {
      fs.closeSync(fd);
      fs.rmSync(temporary, { force: true });
      this.count.compactionFailures += 1;
      return false;
    }
    // From the rename on, the new file is the log: the old descriptor points at a replaced file.
    fs.closeSync(this.fd);
    this.fd = fd;
    fsyncDirectory(this.directory);
    this.fileBytes = bytes.length;
    this.reservedNext = floor;
    this.unsynced = false;
    this.count.compactions += 1;
    return true;
  }

  /**
   * Fsyncs what is written and closes the log. Under "batch" it also compacts, with the next
   * sequence as the floor: every number handed out is now on disk, so the reservation can go
   * and a clean restart leaves no gap. Further use throws; closing twice does nothing.
   */
  close(): void {
    if (this.closed) return;
    if (this.syncTimer !== undefined) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    try {
      this.flush();
      if (this.settings.fsync === "batch" && this.reservedNext > this.next) this.rewrite(this.next);
    } finally {
      this.closed = true;
      fs.closeSync(this.fd);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`outbox in ${this.directory} is closed`);
  }

  /** Whether a message of `bodyBytes` fits once `freedCount` messages of `freedBytes` are gone. */
  private fits(freedCount: number, freedBytes: number, bodyBytes: number): boolean {
    return (
      this.entries.length - freedCount + 1 <= this.settings.capacityMessages &&
      this.payloadBytes - freedBytes + bodyBytes <= this.settings.capacityBytes
    );
  }

  private remove(sequences: ReadonlySet<number>): void {
    let kept = 0;
    for (const entry of this.entries) {
      if (sequences.has(entry.sequence)) this.track(entry, -1);
      else this.entries[kept++] = entry;
    }
    this.entries.length = kept;
  }

  private track(entry: OutboxEntry, sign: 1 | -1): void {
    this.liveBytes += sign * recordBytes(entry);
    this.payloadBytes += sign * entry.body.length;
    if (entry.kind === "telemetry") {
      this.telemetryCount += sign;
      this.telemetryBytes += sign * entry.body.length;
    }
  }

  private indexOf(sequence: number): number {
    let low = 0;
    let high = this.entries.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const found = this.entries[mid].sequence;
      if (found === sequence) return mid;
      if (found < sequence) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }

  /** Writes records at the log's end; on failure cuts the log back so no partial record stays. */
  private writeRecords(bytes: Uint8Array, sync: boolean): boolean {
    try {
      let written = 0;
      while (written < bytes.length) {
        written += fs.writeSync(this.fd, bytes, written, bytes.length - written, this.fileBytes + written);
      }
      if (sync) {
        fs.fsyncSync(this.fd);
        this.count.fsyncs += 1;
        this.unsynced = false;
      } else {
        this.markUnsynced();
      }
    } catch {
      try {
        fs.ftruncateSync(this.fd, this.fileBytes);
      } catch {
        // The next write lands at fileBytes anyway and recovery stops at a torn record.
      }
      return false;
    }
    this.fileBytes += bytes.length;
    return true;
  }

  private markUnsynced(): void {
    this.unsynced = true;
    if (this.settings.fsync !== "batch" || this.syncTimer !== undefined) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      if (!this.closed) this.flush();
    }, this.settings.batchIntervalMs);
    this.syncTimer.unref();
  }

  private maybeCompact(): void {
    const deadBytes = this.fileBytes - HEADER_BYTES - this.liveBytes;
    if (deadBytes > this.liveBytes && deadBytes >= this.settings.compactBytesMin) this.compact();
  }

  private refuse(reason: "full" | "too_large" | "write_failed", kind: TopicKind, bytes: number): undefined {
    this.settings.onDrop?.({ reason, kind, sequences: [], bytes });
    return undefined;
  }
}
