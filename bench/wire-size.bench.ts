// Size of one full-feature telemetry pack (every record a window publishes, bearing
// geometry and vanes configured) as the firmware sends it, SenML CBOR, against the same
// records as SenML JSON. Run: npx tsx bench/wire-size.bench.ts

import fs from "node:fs";
import { compileFirmware, Firmware } from "../host/runtime/firmware.js";
import { MemoryStorage } from "../host/storage/storage.js";
import { encodeFirmwareConfig } from "../protocol/messages.js";
import { decodeSenml } from "../protocol/senml.js";
import { senmlToJson } from "../protocol/senml-json.js";
import { frame } from "../protocol/framing.js";

const firmware = await Firmware.instantiate(await compileFirmware(new Uint8Array(fs.readFileSync(new URL("../build/firmware.wasm", import.meta.url)))), {
  clockMs: () => 0, log: () => {}, storage: new MemoryStorage(),
  publish: (kind, bytes) => { if (kind === 1) packs.push(bytes); return true; },
});
const packs: Uint8Array[] = [];
firmware.init(encodeFirmwareConfig({ device: "pump-0001", rate_hz: 12800, window: 4096, units: "g", rpm: 2960, vanes: 6, bearing: [9, 7.94, 39.04, 0] }));
const window = Float32Array.from({ length: 4096 }, (_, i) => 0.05 * Math.sin(i * 0.0723) + 0.02 * Math.sin(i * 0.434) + 0.01 * Math.cos(i * 1.7));
firmware.process(window, 1_767_225_600_000, 12800);
const cbor = packs[0];
const records = decodeSenml(cbor);
const json = Buffer.from(senmlToJson(records));
const framed = frame("telemetry", 123456, cbor);
// JSON writes a float32 as its full double expansion; 7 significant digits is what a JSON
// producer that knows the values are float32 would write.
const rounded = Buffer.from(senmlToJson(records.map((r) => (r.v === undefined ? r : { ...r, v: Number(r.v.toPrecision(7)) }))));
console.log(`full-feature telemetry pack: ${records.length} records`);
console.log(`  SenML CBOR (as published)      ${String(cbor.length).padStart(5)} bytes`);
console.log(`  with the outbox sequence in it ${String(framed.length).padStart(5)} bytes (the MQTT payload)`);
console.log(`  SenML JSON (same records)      ${String(json.length).padStart(5)} bytes`);
console.log(`  SenML JSON, 7 digits per value ${String(rounded.length).padStart(5)} bytes`);
console.log(`  CBOR / JSON                    ${(cbor.length / json.length).toFixed(2)} (${(cbor.length / rounded.length).toFixed(2)} against the 7-digit JSON)`);
