// A device as its own process, for the kill test (test/host/device-kill.test.ts): durable outbox
// and storage in a directory, the real firmware, an MQTT link. It produces windows until it
// has made `target` of them in all its lives (the count is in its storage), then drains its
// outbox and says "DONE <next sequence>". It may be SIGKILLed at any moment, writes included.
// Usage: node --import tsx test/support/device-child.ts <url> <directory> <device> <target>

import fs from "node:fs";
import path from "node:path";
import { Device } from "../../host/device/device.js";
import { compileFirmware } from "../../host/runtime/firmware.js";
import { FileOutbox } from "../../host/outbox/file-outbox.js";
import { FileStorage } from "../../host/storage/storage.js";

const [url, directory, deviceId, targetText] = process.argv.slice(2);
const target = Number(targetText);
const PROGRESS_KEY = 0x200;
const WINDOW = 256;

const storage = new FileStorage(path.join(directory, "storage"));
const done = (): number => {
  const record = storage.read(PROGRESS_KEY);
  return record === undefined ? 0 : new DataView(record.buffer, record.byteOffset).getUint32(0, true);
};
const firmware = await compileFirmware(new Uint8Array(fs.readFileSync(new URL("../../build/firmware.wasm", import.meta.url))));
const device = await Device.boot({
  tenant: "acme", config: { device: deviceId, rate_hz: 1000, window: WINDOW, units: "g" }, firmware, storage,
  clock: () => Date.now(), outbox: { directory: path.join(directory, "outbox") }, isolation: "inline",
});
await device.connect(url, {}, { backoff: { initialMs: 50, maxMs: 400, jitter: 0.5 } });
process.stdout.write("READY\n");

const samples = Float32Array.from({ length: WINDOW }, (_, i) => 0.1 * Math.sin(i / 3));
const progress = new Uint8Array(4);
for (let i = done(); i < target; i = done()) {
  await device.feed(samples, i * 60_000);
  new DataView(progress.buffer).setUint32(0, i + 1, true);
  storage.write(PROGRESS_KEY, progress);
  await new Promise((resolve) => setTimeout(resolve, 2)); // a device has other things to do
}
await device.link!.drained();
process.stdout.write(`DONE ${(device.outbox as FileOutbox).nextSequence}\n`);
await device.close();
process.exit(0);
