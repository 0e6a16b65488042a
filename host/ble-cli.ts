// `impeller ble`: the technician's commands over Bluetooth LE (host/ble-central.ts): list the
// pumps in range, read one pump's state, send it a command and print the reply. Exit status
// 0 when it worked, 1 when the pump or the link said no, 2 for a usage mistake.

import { parseArgs } from "node:util";
import { statusName } from "./status.js";
import { BleCentral, BleError, SCAN_TIMEOUT_MS_DEFAULT, REPLY_TIMEOUT_MS_DEFAULT } from "./ble-central.js";
import { formatFirmwareVersion, type PumpState } from "../protocol/ble.js";
import { ProtocolError } from "../protocol/errors.js";
import type { Reply } from "../protocol/messages.js";

export const BLE_USAGE = `Usage:
  impeller ble scan [--timeout S]          list pumps in range (default ${SCAN_TIMEOUT_MS_DEFAULT / 1000} s of scanning)
  impeller ble status ADDRESS              read a pump's state
  impeller ble send ADDRESS --cmd NAME [--args JSON] [--id N] [--timeout S]
                                           send a command and print the reply
`;

class BleUsageError extends Error {}

function seconds(value: string | undefined, name: string, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0 || parsed > 600) throw new BleUsageError(`--${name} needs seconds between 0 and 600, not ${JSON.stringify(value)}`);
  return Math.round(parsed * 1000);
}

function address(positionals: string[], command: string): string {
  if (positionals.length !== 1) throw new BleUsageError(`ble ${command} takes one pump address, e.g. AA:BB:CC:DD:EE:01`);
  const [value] = positionals;
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(value)) throw new BleUsageError(`${JSON.stringify(value)} is not a Bluetooth address like AA:BB:CC:DD:EE:01`);
  return value.toUpperCase();
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function formatState(address: string, mtu: number, state: PumpState): string {
  return [
    `Pump ${address} (ATT MTU ${mtu})`,
    `  device    ${state.device}`,
    `  firmware  ${formatFirmwareVersion(state.fw)} (boot ${state.boot})`,
    `  sampling  ${state.rate_hz} Hz, window ${state.window} samples, units ${state.units}`,
    `  outbox    ${state.outbox} waiting, ${state.published} published since boot`,
  ].join("\n");
}

export function formatReply(reply: Reply): string {
  return reply.ok ? `reply: id ${reply.id} ok` : `reply: id ${reply.id} failed: error ${reply.error} (${statusName(reply.error ?? 0)})`;
}

async function withCentral<T>(run: (central: BleCentral) => Promise<T>): Promise<T> {
  const central = await BleCentral.open();
  try {
    return await run(central);
  } finally {
    central.close();
  }
}

async function scan(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { timeout: { type: "string" } } });
  if (positionals.length > 0) throw new BleUsageError("ble scan takes no positional arguments");
  const timeoutMs = seconds(values.timeout, "timeout", SCAN_TIMEOUT_MS_DEFAULT);
  const found = await withCentral((central) => central.scan(timeoutMs));
  if (found.length === 0) {
    print(`No pumps found in ${timeoutMs / 1000} s. Is the pump powered and within range?`);
    return 1;
  }
  print("address            rssi  name");
  for (const pump of found) print(`${pump.address}  ${(pump.rssi === undefined ? "?" : String(pump.rssi)).padStart(4)}  ${pump.name}`);
  print(`${found.length} pump${found.length === 1 ? "" : "s"} found.`);
  return 0;
}

async function status(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const target = address(positionals, "status");
  await withCentral(async (central) => {
    const link = await central.connect(target);
    try {
      print(formatState(target, link.mtu, await link.readState()));
    } finally {
      await link.disconnect();
    }
  });
  return 0;
}

async function send(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { cmd: { type: "string" }, args: { type: "string" }, id: { type: "string" }, timeout: { type: "string" } },
  });
  const target = address(positionals, "send");
  if (values.cmd === undefined || values.cmd === "") throw new BleUsageError("ble send needs --cmd NAME, e.g. --cmd self_test");
  let commandArgs: unknown;
  if (values.args !== undefined) {
    try {
      commandArgs = JSON.parse(values.args);
    } catch (error) {
      throw new BleUsageError(`--args needs JSON, e.g. '{"window": 128}': ${(error as Error).message}`);
    }
  }
  let id: number | undefined;
  if (values.id !== undefined) {
    id = Number(values.id);
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new BleUsageError(`--id needs an integer in 0..4294967295, not ${JSON.stringify(values.id)}`);
  }
  const timeoutMs = seconds(values.timeout, "timeout", REPLY_TIMEOUT_MS_DEFAULT);
  const reply = await withCentral(async (central) => {
    const link = await central.connect(target);
    try {
      return await link.command({ cmd: values.cmd!, args: commandArgs, id }, timeoutMs);
    } finally {
      await link.disconnect();
    }
  });
  print(formatReply(reply));
  return reply.ok ? 0 : 1;
}

export async function runBle(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "scan":
        return await scan(rest);
      case "status":
        return await status(rest);
      case "send":
        return await send(rest);
      case "help":
      case "--help":
        process.stdout.write(BLE_USAGE);
        return 0;
      case undefined:
        throw new BleUsageError("ble needs a command: scan, status or send");
      default:
        throw new BleUsageError(`unknown ble command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof BleUsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`impeller ble: ${(error as Error).message}\n${BLE_USAGE}`);
      return 2;
    }
    if (error instanceof BleError || error instanceof ProtocolError) {
      process.stderr.write(`impeller ble: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
