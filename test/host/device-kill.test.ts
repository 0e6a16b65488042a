// A device process killed at random moments, writes included, and started again on the same
// directory: afterwards every message it produced in all its lives has been delivered exactly
// once after de-duplication, in order (its durable outbox continues the sequence), and the
// firmware's state record reads back whole after every kill.

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startEmbeddedBroker } from "../../simulator/net/broker.js";
import { Collector } from "../../operator/collector.js";
import { Random } from "../../simulator/physics/random.js";
import { FileStorage } from "../../host/storage/storage.js";
import { decodeStateRecord, STORAGE_KEY_STATE } from "../support/state-record.js";

const ROUNDS = 5;
const TARGET_WINDOWS = 1000;
const CHILD = new URL("../support/device-child.ts", import.meta.url).pathname;

interface Life {
  output: string;
  killed: boolean;
}

/** Runs one life of the device; SIGKILLs it `killAfterMs` after it is ready, unless null. */
function life(url: string, directory: string, killAfterMs: number | null): Promise<Life> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, url, directory, "pump-k", String(TARGET_WINDOWS)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (killAfterMs !== null && output.includes("READY")) setTimeout(() => child.kill("SIGKILL"), killAfterMs).unref();
    });
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve({ output, killed: true });
      else if (code === 0) resolve({ output, killed: false });
      else reject(new Error(`device process exited with ${code}: ${stderr}`));
    });
  });
}

describe("device process killed mid-run", () => {
  it(`${ROUNDS} SIGKILLs at random moments: every message produced is delivered exactly once, in order`, async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-device-kill-"));
    const broker = await startEmbeddedBroker();
    const collector = await Collector.connect(broker.url, "acme", { durable: true });
    const random = new Random(2026);
    try {
      let kills = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const { killed, output } = await life(broker.url, directory, 100 + Math.floor(random.next() * 400));
        if (killed) kills += 1;
        else expect(output).toMatch(/DONE/); // it finished before the kill came
        // Killed in the middle of anything, its state record's write included: the record is
        // the one before or the one after, and it reads back whole.
        const state = new FileStorage(path.join(directory, "storage")).read(STORAGE_KEY_STATE);
        if (state !== undefined) expect(() => decodeStateRecord(state)).not.toThrow();
      }
      const last = await life(broker.url, directory, null);
      const next = Number(/DONE (\d+)/.exec(last.output)![1]);
      const produced = next - 1;
      await collector.waitFor(() => (collector.devices.get("pump-k")?.releasedThrough ?? 0) >= produced, 20_000);
      const ledger = collector.devices.get("pump-k")!;
      expect(kills).toBe(ROUNDS);
      expect(collector.errors).toEqual([]);
      expect([ledger.releasedThrough, ledger.received]).toEqual([produced, produced]);
      expect(ledger.held.size).toBe(0);
      // Every window was analysed and delivered at least once (a window cut off by a kill
      // before its progress was stored is produced again, as a new message).
      expect(ledger.telemetry.length).toBeGreaterThanOrEqual(TARGET_WINDOWS);
      console.log(`device kill test: ${kills} kills, ${produced} messages produced in ${ROUNDS + 1} lives, ` +
        `${ledger.releasedThrough} delivered once, ${ledger.duplicates} duplicates dropped`);
    } finally {
      await collector.close();
      await broker.close();
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});
