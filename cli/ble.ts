// `impeller ble`: Bluetooth LE for technicians and for pumps run by this host. The technician's
// commands (operator/ble-central.ts) list the pumps in range, read one pump's state, send it a
// command and print the reply, and commission it (identity, broker, owner's policy); `serve`
// runs a pump here that they can find (cli/ble-serve.ts). Exit status 0 when it worked, 1
// when the pump or the link said no, 2 for a usage mistake.

import fs from "node:fs";
import { parseArgs } from "node:util";
import { statusName } from "../host/runtime/status.js";
import { BleCentral, SCAN_TIMEOUT_MS_DEFAULT, REPLY_TIMEOUT_MS_DEFAULT } from "../operator/ble-central.js";
import { BleError } from "../protocol/ble.js";
import { brokerOption, parseServeOptions, serve, SERVE_DEFAULTS, ServeError } from "./ble-serve.js";
import { formatFirmwareVersion, type PumpState } from "../protocol/ble.js";
import { ProtocolError } from "../protocol/errors.js";
import type { OwnerPolicy, Reply } from "../protocol/messages.js";
import { isValidId } from "../protocol/topics.js";
import { integerOption, UsageError } from "./options.js";

export const BLE_USAGE = `Usage:
  impeller ble scan [--timeout S]          list pumps in range (default ${SCAN_TIMEOUT_MS_DEFAULT / 1000} s of scanning)
  impeller ble status ADDRESS              read a pump's state
  impeller ble send ADDRESS --cmd NAME [--args JSON] [--id N] [--seq N] [--timeout S]
                                           send a command and print the reply (--seq: the
                                           command counter a pump with an owner asks for)
  impeller ble commission ADDRESS [--tenant T] [--device ID] [--broker URL] [--owner FILE]
                          [--seq N] [--id N] [--timeout S]
                                           set what a pump is (tenant, device id), where it
                                           reports (an MQTT broker) and whose it is (FILE: the
                                           owner's policy and token, DIR/owner/T.json from
                                           impeller provision); a pump with an owner takes it
                                           only with the owner's FILE and a --seq above the last
  impeller ble serve [--device ID] [--tenant T] [--broker URL] [--rate HZ] [--window N]
                     [--units g|m/s2] [--state DIR] [--adapter NAME] [--duration S]
                                           run a pump on this host's release firmware that the
                                           commands above can find and commission (BlueZ on
                                           the system bus); it keeps its storage, outbox and
                                           what it was commissioned as in --state DIR (else in
                                           memory); until Ctrl-C or for --duration seconds
                                           (defaults: --device ${SERVE_DEFAULTS.device} --tenant ${SERVE_DEFAULTS.tenant} --rate ${SERVE_DEFAULTS.rate_hz} --window ${SERVE_DEFAULTS.window})
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
  const lines = [
    `Pump ${address} (ATT MTU ${mtu})`,
    `  device    ${state.device}`,
    `  firmware  ${formatFirmwareVersion(state.fw)} (boot ${state.boot})`,
    `  sampling  ${state.rate_hz} Hz, window ${state.window} samples, units ${state.units}`,
    `  outbox    ${state.outbox} waiting, ${state.published} published since boot`,
  ];
  if (state.tenant !== undefined) {
    const broker = state.broker === undefined || state.broker === "" ? "no broker" : `broker ${state.broker}`;
    lines.push(`  fleet     tenant ${state.tenant}, ${broker}, ${state.owned === true ? "owner's policy in force" : "no owner"}`);
  }
  return lines.join("\n");
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

function commandId(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const id = Number(value);
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new BleUsageError(`--id needs an integer in 0..4294967295, not ${JSON.stringify(value)}`);
  return id;
}

function seqOption(value: string | undefined): number | undefined {
  return integerOption(value, "seq", 0, Number.MAX_SAFE_INTEGER);
}

async function sendCommand(target: string, command: { cmd: string; args?: unknown; id?: number; seq?: number }, timeoutMs: number): Promise<number> {
  const reply = await withCentral(async (central) => {
    const link = await central.connect(target);
    try {
      return await link.command(command, timeoutMs);
    } finally {
      await link.disconnect();
    }
  });
  print(formatReply(reply));
  return reply.ok ? 0 : 1;
}

async function send(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { cmd: { type: "string" }, args: { type: "string" }, id: { type: "string" }, seq: { type: "string" }, timeout: { type: "string" } },
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
  const id = commandId(values.id);
  const seq = seqOption(values.seq);
  const timeoutMs = seconds(values.timeout, "timeout", REPLY_TIMEOUT_MS_DEFAULT);
  return sendCommand(target, { cmd: values.cmd, args: commandArgs, id, seq }, timeoutMs);
}

/** The owner's file from impeller provision (DIR/owner/T.json): the token (hex) and the policy. */
function ownerFile(file: string): OwnerPolicy {
  let owner: { token?: unknown; waveform?: unknown; detail?: unknown };
  try {
    owner = JSON.parse(fs.readFileSync(file, "utf8")) as typeof owner;
  } catch (error) {
    throw new BleUsageError(`--owner ${file} cannot be read as the owner's JSON file: ${(error as Error).message}`);
  }
  const token = typeof owner.token === "string" && /^([0-9a-f]{2}){16,32}$/i.test(owner.token) ? owner.token : undefined;
  if (token === undefined) throw new BleUsageError(`--owner ${file} needs "token": 16 to 32 bytes in hex`);
  const policy: OwnerPolicy = { token: Uint8Array.from(Buffer.from(token, "hex")) };
  if (owner.waveform !== undefined) {
    if (owner.waveform !== "on_request" && owner.waveform !== "never") throw new BleUsageError(`--owner ${file}: "waveform" is "on_request" or "never"`);
    policy.waveform = owner.waveform;
  }
  if (owner.detail !== undefined) {
    if (owner.detail !== "full" && owner.detail !== "summary") throw new BleUsageError(`--owner ${file}: "detail" is "full" or "summary"`);
    policy.detail = owner.detail;
  }
  return policy;
}

async function commission(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tenant: { type: "string" }, device: { type: "string" }, broker: { type: "string" }, owner: { type: "string" },
      seq: { type: "string" }, id: { type: "string" }, timeout: { type: "string" },
    },
  });
  const target = address(positionals, "commission");
  const commissionArgs: Record<string, unknown> = {};
  for (const name of ["tenant", "device"] as const) {
    const value = values[name];
    if (value === undefined) continue;
    if (!isValidId(value)) throw new BleUsageError(`--${name} needs 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit, not ${JSON.stringify(value)}`);
    commissionArgs[name] = value;
  }
  const broker = brokerOption(values.broker);
  if (broker !== undefined) commissionArgs.broker = broker;
  if (values.owner !== undefined) commissionArgs.owner = ownerFile(values.owner);
  if (Object.keys(commissionArgs).length === 0) throw new BleUsageError("ble commission needs at least one of --tenant, --device, --broker, --owner");
  const timeoutMs = seconds(values.timeout, "timeout", REPLY_TIMEOUT_MS_DEFAULT);
  return sendCommand(target, { cmd: "commission", args: commissionArgs, id: commandId(values.id), seq: seqOption(values.seq) }, timeoutMs);
}

export async function runBle(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(BLE_USAGE);
    return 0;
  }
  try {
    switch (command) {
      case "scan":
        return await scan(rest);
      case "status":
        return await status(rest);
      case "send":
        return await send(rest);
      case "commission":
        return await commission(rest);
      case "serve":
        return await serve(parseServeOptions(rest), print, (line) => process.stderr.write(`impeller ble: ${line}\n`));
      case "help":
      case "--help":
        process.stdout.write(BLE_USAGE);
        return 0;
      case undefined:
        throw new BleUsageError("ble needs a command: scan, status, send, commission or serve");
      default:
        throw new BleUsageError(`unknown ble command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof BleUsageError || error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`impeller ble: ${(error as Error).message}\n${BLE_USAGE}`);
      return 2;
    }
    if (error instanceof BleError || error instanceof ProtocolError || error instanceof ServeError) {
      process.stderr.write(`impeller ble: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
