// Times BLE command round trips through node-ble, a private dbus-daemon and the fake BlueZ to
// the product's peripheral (host/ble/ble-peripheral.ts) in front of a pump running the release
// firmware: a self_test command (one chunk each way) and a 1 KiB config command (many chunks
// out, one reply back) at ATT MTU 23 and 247. Every chunk is a write with response: one D-Bus
// call from the central to BlueZ and one from BlueZ to the pump's application; the reply comes
// back as PropertiesChanged signals the fake BlueZ turns into notifications. What it measures
// is the host side of the link (D-Bus, node-ble, framing, firmware), not radio time: a real
// link adds one connection interval or more per write.
// Run: npx tsx bench/ble.bench.ts   (needs /usr/bin/dbus-daemon)

import { BleCentral, type PumpLink } from "../operator/ble-central.js";
import { BlePeripheral } from "../host/ble/ble-peripheral.js";
import { LocalPump } from "../host/ble/local-pump.js";
import { MemoryStorage } from "../host/storage/storage.js";
import { chunkMessage } from "../protocol/ble.js";
import { encodeCommand } from "../protocol/messages.js";
import { dbusDaemonAvailable, DBUS_DAEMON, startPrivateBus } from "../simulator/net/bluez/dbus-daemon.js";
import { FakeBluez } from "../simulator/net/bluez/fake-bluez.js";
import { loadRelease } from "../host/runtime/images.js";

const RUNS = 200;
const WARMUP_RUNS = 20;
const KIB_COMMAND_BYTES = 1024;

function percentile(values: number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A config command padded to exactly `bytes` with an unknown key: the firmware parses all of
 *  it and answers -4 (bad configuration), so the whole message crosses the link every time. */
function paddedConfig(id: number, bytes: number): { id: number; cmd: string; args: Record<string, unknown> } {
  const args: Record<string, unknown> = { device: "pump-1", rate_hz: 1000, window: 256, pad: "" };
  const base = encodeCommand({ id, cmd: "config", args }).length;
  // Text up to 23 bytes has a 1-byte head, up to 255 a 2-byte head, beyond that 3 bytes.
  for (let pad = Math.max(0, bytes - base - 2); pad >= 0; pad--) {
    args.pad = "x".repeat(pad);
    if (encodeCommand({ id, cmd: "config", args }).length <= bytes) break;
  }
  return { id, cmd: "config", args };
}

interface Row {
  what: string;
  mtu: number;
  bytes: number;
  chunks: number;
  medianMs: number;
  p90Ms: number;
  expected: string;
}

async function time(link: PumpLink, what: string, make: (id: number) => { id: number; cmd: string; args?: unknown }, expectOk: boolean): Promise<Row> {
  const samples: number[] = [];
  let bytes = 0;
  for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
    const command = make(run + 1);
    bytes = encodeCommand(command).length;
    const start = process.hrtime.bigint();
    const reply = await link.command(command);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (reply.ok !== expectOk || reply.id !== command.id) throw new Error(`unexpected reply ${JSON.stringify(reply)} to ${what}`);
    if (run >= WARMUP_RUNS) samples.push(ms);
  }
  return {
    what,
    mtu: link.mtu,
    bytes,
    chunks: chunkMessage(encodeCommand(make(1)), link.mtu, 0).length,
    medianMs: median(samples),
    p90Ms: percentile(samples, 0.9),
    expected: expectOk ? "ok" : "error -4",
  };
}

async function main(): Promise<void> {
  if (!dbusDaemonAvailable()) {
    console.log(`skipped: ${DBUS_DAEMON} is missing (Debian package dbus-daemon)`);
    return;
  }
  const bus = await startPrivateBus();
  process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
  const bluez = await FakeBluez.start(bus.address);
  const config = { device: "pump-1", rate_hz: 1000, window: 256 };
  const served: { address: string; pump: LocalPump; peripheral: BlePeripheral }[] = [];
  for (const [adapter, address, mtu] of [["hci1", "AA:BB:CC:DD:EE:17", 23], ["hci2", "AA:BB:CC:DD:EE:F7", 247]] as const) {
    bluez.addAdapter(adapter, address, { mtu });
    const pump = await LocalPump.start({ config, tenant: "bench", firmware: await loadRelease(), storage: new MemoryStorage() });
    served.push({ address, pump, peripheral: await BlePeripheral.start(pump, { adapter }) });
  }
  const central = await BleCentral.open();
  const rows: Row[] = [];
  try {
    for (const { address } of served) {
      const link = await central.connect(address);
      rows.push(await time(link, "self_test", (id) => ({ id, cmd: "self_test" }), true));
      rows.push(await time(link, "config 1 KiB", (id) => paddedConfig(id, KIB_COMMAND_BYTES), false));
      await link.disconnect();
    }
  } finally {
    central.close();
    for (const { pump, peripheral } of served) {
      await peripheral.stop();
      await pump.close();
    }
    await bluez.stop();
    await bus.stop();
  }
  console.log(`BLE command round trip (write chunks → firmware → reply notifications), ${RUNS} runs after ${WARMUP_RUNS} warm-up, Node ${process.version}`);
  const header = ["command", "bytes", "ATT MTU", "chunks out", "reply", "median ms", "p90 ms"];
  const cells = rows.map((row) => [row.what, String(row.bytes), String(row.mtu), String(row.chunks), row.expected, row.medianMs.toFixed(3), row.p90Ms.toFixed(3)]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column].length)));
  const line = (row: string[]): string => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join("  ");
  console.log(line(header));
  for (const row of cells) console.log(line(row));
}

await main();
