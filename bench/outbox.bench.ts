// Times the durable outbox (host/outbox/file-outbox.ts) on this machine's disk: appends per second of
// 200-byte messages under fsync "every" (one fsync per append, before it returns) and "batch"
// (group commit, at most 50 ms between fsyncs), acknowledgements per second of a default-sized
// outbox of 1024 (compactions included), one compaction of a full outbox, and recovery (open) of a log. Medians of several
// runs in this process, each in a fresh directory under the OS temporary directory.
// Run: npx tsx bench/outbox.bench.ts

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FileOutbox, type FileOutboxOptions } from "../host/outbox/file-outbox.js";

const BODY_BYTES = 200;
const RUNS = 7;
const APPENDS_EVERY = 2000;
const APPENDS_BATCH = 20000;
/** Appends between yields to the event loop, so the batch timer can fire as in a device. */
const YIELD_EVERY = 100;
const FULL_OUTBOX = 1024;
const ACK_CYCLES = 20;

const FILE_SYSTEMS = new Map([[0xef53, "ext2/3/4"], [0x58465342, "xfs"], [0x9123683e, "btrfs"], [0x01021994, "tmpfs"], [0x794c7630, "overlayfs"]]);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function freshDirectory(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "impeller-outbox-bench-"));
}

function body(i: number): Uint8Array {
  return Uint8Array.from({ length: BODY_BYTES }, (_, j) => (i + j) & 0xff);
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Run {
  perSecond: number;
  fsyncs: number;
}

/** Appends `count` messages (close() and its final fsync included in the time). */
async function appendRun(options: FileOutboxOptions, count: number): Promise<Run> {
  const directory = freshDirectory();
  const outbox = FileOutbox.open(directory, { ...options, capacityMessages: count, capacityBytes: count * BODY_BYTES });
  const bodies = Array.from({ length: YIELD_EVERY }, (_, i) => body(i));
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    if (outbox.append("telemetry", bodies[i % YIELD_EVERY]) === undefined) throw new Error("bench outbox refused a message");
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
  }
  outbox.close();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  fs.rmSync(directory, { recursive: true, force: true });
  return { perSecond: count / seconds, fsyncs: outbox.counters.fsyncs };
}

/** Fills a default-sized outbox (1024) and acknowledges it all, oldest first, `cycles` times; only the acks are timed. */
function ackRun(cycles: number): { perSecond: number; compactions: number } {
  const directory = freshDirectory();
  const outbox = FileOutbox.open(directory, { fsync: "batch", capacityMessages: FULL_OUTBOX });
  let nanoseconds = 0n;
  for (let cycle = 0; cycle < cycles; cycle++) {
    for (let i = 0; i < FULL_OUTBOX; i++) outbox.append("telemetry", body(i));
    outbox.flush();
    const start = process.hrtime.bigint();
    for (const entry of [...outbox.pending()]) outbox.acknowledge(entry.sequence);
    nanoseconds += process.hrtime.bigint() - start;
  }
  const { compactions } = outbox.counters;
  outbox.close();
  fs.rmSync(directory, { recursive: true, force: true });
  return { perSecond: (cycles * FULL_OUTBOX) / (Number(nanoseconds) / 1e9), compactions };
}

/** One compaction of a full outbox (half its entries acknowledged) and one recovery of it. */
function compactAndOpenRun(): { compactMs: number; openMs: number; liveBytes: number; logBytes: number } {
  const directory = freshDirectory();
  // "every", because a "batch" outbox compacts when it is closed.
  const options: FileOutboxOptions = { fsync: "every", capacityMessages: 2 * FULL_OUTBOX, compactBytesMin: Number.MAX_SAFE_INTEGER };
  const outbox = FileOutbox.open(directory, options);
  for (let i = 0; i < 2 * FULL_OUTBOX; i++) outbox.append("telemetry", body(i));
  for (let i = 0; i < FULL_OUTBOX; i++) outbox.acknowledge(outbox.pending()[0].sequence);
  outbox.close();
  const logBytes = fs.statSync(path.join(directory, "outbox.log")).size;

  let start = process.hrtime.bigint();
  const reopened = FileOutbox.open(directory, options);
  const openMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (reopened.size !== FULL_OUTBOX) throw new Error(`recovered ${reopened.size} entries, expected ${FULL_OUTBOX}`);
  start = process.hrtime.bigint();
  reopened.compact();
  const compactMs = Number(process.hrtime.bigint() - start) / 1e6;
  const liveBytes = reopened.logBytes;
  reopened.close();
  fs.rmSync(directory, { recursive: true, force: true });
  return { compactMs, openMs, liveBytes, logBytes };
}

async function main(): Promise<void> {
  const statfs = fs.statfsSync(os.tmpdir());
  const fileSystem = FILE_SYSTEMS.get(statfs.type) ?? `type 0x${statfs.type.toString(16)}`;
  console.log(`outbox bench: ${BODY_BYTES}-byte telemetry bodies, median of ${RUNS} runs; node ${process.version}, ${os.platform()} ${os.release()}`);
  console.log(`directory ${os.tmpdir()} on ${fileSystem}; ${os.cpus()[0]?.model ?? "unknown cpu"} x${os.cpus().length}`);
  console.log("");

  await appendRun({ fsync: "every" }, 200); // warm up
  const every: Run[] = [];
  const batch: Run[] = [];
  for (let run = 0; run < RUNS; run++) {
    every.push(await appendRun({ fsync: "every" }, APPENDS_EVERY));
    batch.push(await appendRun({ fsync: "batch", batchIntervalMs: 50 }, APPENDS_BATCH));
  }
  const acks = Array.from({ length: RUNS }, () => ackRun(ACK_CYCLES));
  const compactions = Array.from({ length: RUNS }, () => compactAndOpenRun());

  const rows: [string, string, string][] = [
    ["append, fsync \"every\" (fsync before each append returns)", `${median(every.map((r) => r.perSecond)).toFixed(0)} /s`, `${APPENDS_EVERY} appends, ${median(every.map((r) => r.fsyncs))} fsyncs per run`],
    ["append, fsync \"batch\" (group commit, <= 50 ms between fsyncs)", `${median(batch.map((r) => r.perSecond)).toFixed(0)} /s`, `${APPENDS_BATCH} appends, ${median(batch.map((r) => r.fsyncs))} fsyncs per run`],
    ["acknowledge (ACK record, not fsynced; compactions included)", `${median(acks.map((r) => r.perSecond)).toFixed(0)} /s`, `${ACK_CYCLES} x ${FULL_OUTBOX} acks, ${median(acks.map((r) => r.compactions))} compactions per run`],
    ["compact a log to 1024 pending entries (write, fsync, rename, fsync dir)", `${median(compactions.map((r) => r.compactMs)).toFixed(2)} ms`, `${compactions[0].logBytes} -> ${compactions[0].liveBytes} bytes`],
    ["open and recover that log (scan, CRC-32C every record)", `${median(compactions.map((r) => r.openMs)).toFixed(2)} ms`, `${3 * FULL_OUTBOX} records`],
  ];
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column].length), 10));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 1 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join("  ");
  console.log(line(["operation", "median", "per run"]));
  console.log(line(widths.map((width) => "-".repeat(width))));
  for (const row of rows) console.log(line(row));
  console.log("");
  console.log('"every" is the default: the firmware hears "accepted" only after the fsync. "batch" loses');
  console.log("nothing to a killed process but up to the last 50 ms of messages to a power cut.");
}

await main();
