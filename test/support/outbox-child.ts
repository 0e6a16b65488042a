// Child process for the outbox kill test (test/host/file-outbox.test.ts): appends and acknowledges
// in a tight loop with fsync "every" until it is killed, and reports on stdout, each step only
// after it returned (a kill can cut the last line short; the test ignores an unfinished line):
//   R <next>              opened; the next sequence it will hand out
//   A <seq> <crc> <len>   append returned <seq> for a payload of <len> bytes with CRC-32C <crc>
//   D <seq>               about to deliver (and then acknowledge) <seq>
//   K <seq> <compactions> acknowledge(<seq>) returned; compactions so far in this process
// Usage: node --import tsx test/support/outbox-child.ts <directory> <seed> <compactBytesMin>

import fs from "node:fs";
import { crc32c } from "../../host/storage/crc32c.js";
import { FileOutbox } from "../../host/outbox/file-outbox.js";

const APPENDS_MAX = 1_000_000; // ends by itself if the parent never kills it
const RUN_MS_MAX = 30_000;
const PENDING_HIGH = 40;
const BODY_BYTES_MAX = 300;

const [directory, seedText, compactText] = process.argv.slice(2);
let state = Number(seedText) >>> 0;
function random(): number {
  // mulberry32
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Writes a whole line before returning; the pipe is non-blocking, so it may take several writes. */
function say(line: string): void {
  const bytes = Buffer.from(`${line}\n`);
  let written = 0;
  while (written < bytes.length) {
    try {
      written += fs.writeSync(1, bytes, written, bytes.length - written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
    }
  }
}

const outbox = FileOutbox.open(directory, { fsync: "every", compactBytesMin: Number(compactText), capacityMessages: 100_000 });
say(`R ${outbox.nextSequence}`);
const started = Date.now();
for (let i = 0; i < APPENDS_MAX && Date.now() - started < RUN_MS_MAX; i++) {
  const body = new Uint8Array(1 + Math.floor(random() * BODY_BYTES_MAX));
  for (let j = 0; j < body.length; j++) body[j] = Math.floor(random() * 256);
  const sequence = outbox.append(random() < 0.8 ? "telemetry" : "event", body);
  if (sequence === undefined) throw new Error("the kill test's outbox refused a message");
  say(`A ${sequence} ${crc32c(body)} ${body.length}`);
  const deliveries = outbox.size > PENDING_HIGH ? 2 : random() < 0.5 ? 1 : 0;
  for (let d = 0; d < deliveries; d++) {
    const oldest = outbox.pending()[0];
    say(`D ${oldest.sequence}`);
    outbox.acknowledge(oldest.sequence);
    say(`K ${oldest.sequence} ${outbox.counters.compactions}`);
  }
}
outbox.close();
