// Instructions a firmware image executes per window when windows follow one another, as a
// pump monitored continuously sends them (the fleet's windows, minutes apart, are
// bench/instructions.bench.ts): the envelope stream and the streamed speed estimate then run in
// every window. Each recording's consecutive 4096-sample windows, with the manifest's rpm and
// without it, counted exactly (bench/wasm-count.ts); with --a, an older image beside it and the
// ratios. Both images' telemetry is compared window by window: the count of windows whose
// telemetry differs is printed (0 for a change that keeps the results).
// Run: npx tsx bench/stream-instructions.bench.ts [--a old.wasm] [--b build/firmware.wasm] [--data ../shared/data]

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { compileFirmware, Firmware } from "../host/runtime/firmware.js";
import { MemoryStorage } from "../host/storage/storage.js";
import { encodeFirmwareConfig } from "../protocol/messages.js";
import { readRecording, BEARINGS } from "../simulator/replay/replay.js";
import { DATA_DIR_DEFAULT } from "../simulator/replay/recordings.js";
import { instrument } from "./wasm-count.js";

const { values } = parseArgs({
  options: { a: { type: "string" }, b: { type: "string", default: "build/firmware.wasm" }, data: { type: "string", default: DATA_DIR_DEFAULT } },
});
const WINDOW = 4096;
/** A ball and an outer race at 12 kHz, an inner and an outer race at 48 kHz (drive end, SKF 6205). */
const RECORDS = [
  { file: "cwru-187-ball-12k.f32", rateHz: 12_000, rpm: 1796 },
  { file: "cwru-130-outer-12k.f32", rateHz: 12_000, rpm: 1797 },
  { file: "cwru-213-inner-48k.f32", rateHz: 48_000, rpm: 1796 },
  { file: "cwru-250-outer-48k.f32", rateHz: 48_000, rpm: 1796 },
];

interface Run { label: string; perWindow: number[]; telemetry: string[] }

async function count(image: string): Promise<Run[]> {
  const compiled = await compileFirmware(instrument(new Uint8Array(fs.readFileSync(image))));
  const runs: Run[] = [];
  for (const record of RECORDS) {
    const samples = readRecording(path.join(values.data!, "cwru", record.file));
    for (const rpm of [record.rpm, undefined]) {
      const telemetry: string[] = [];
      const device = await Firmware.instantiate(compiled, {
        clockMs: () => 0, publish: (_kind: number, bytes: Uint8Array) => { telemetry.push(Buffer.from(bytes).toString("hex")); return true; },
        log: () => {}, storage: new MemoryStorage(),
      });
      device.init(encodeFirmwareConfig({ device: "bench", rate_hz: record.rateHz, window: WINDOW, units: "g", bearing: BEARINGS["6205"], ...(rpm ? { rpm } : {}) }));
      const counter = (device as unknown as { exports: Record<string, WebAssembly.Global | undefined> }).exports.__instructions;
      const perWindow: number[] = [];
      const windowMs = (WINDOW / record.rateHz) * 1000;
      for (let w = 0; (w + 1) * WINDOW <= samples.length; w++) {
        const before = Number(counter?.value ?? 0n);
        device.process(samples.subarray(w * WINDOW, (w + 1) * WINDOW), Math.round(w * windowMs), record.rateHz);
        perWindow.push(Number(counter?.value ?? 0n) - before);
      }
      runs.push({ label: `${record.file} ${rpm ? "rpm" : "no rpm"}`, perWindow, telemetry });
    }
  }
  return runs;
}

const mean = (list: number[]): number => list.reduce((a, b) => a + b, 0) / list.length;
const b = await count(values.b!);
const a = values.a === undefined ? null : await count(values.a);
console.log(`instructions per window, consecutive 4096-sample windows (mean over each recording's windows); B ${values.b}${a ? `, A ${values.a}` : ""}`);
for (const [i, run] of b.entries()) {
  const other = a?.[i];
  const differ = other === undefined ? "" : `; telemetry differs in ${run.telemetry.filter((t, k) => t !== other.telemetry[k]).length} of ${run.telemetry.length} messages`;
  const ratio = other === undefined ? "" : `, A ${Math.round(mean(other.perWindow)).toLocaleString("en-US")}, B / A ${(mean(run.perWindow) / mean(other.perWindow)).toFixed(3)}`;
  console.log(`  ${run.label.padEnd(34)} ${run.perWindow.length} windows: B ${Math.round(mean(run.perWindow)).toLocaleString("en-US")}${ratio}${differ}`);
}
