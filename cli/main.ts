// The impeller command line: one command per word (help.ts lists them), each in a file of its
// own here; errors a user can cause end in one line and exit 2, a system's error (a file, a
// socket) in one line and exit 1.

import { IdentityError } from "../host/link/identity.js";
import { ProvisionError } from "../operator/provision.js";
import { ProtocolError } from "../protocol/errors.js";
import { ValidateError } from "../simulator/replay/recordings.js";
import { ReplayError } from "../simulator/replay/replay.js";
import { ScenarioError } from "../simulator/scenario/scenario.js";
import { MergeError } from "../simulator/verdict/merge.js";
import { runAnalyze } from "./analyze.js";
import { BLE_USAGE, runBle } from "./ble.js";
import { runConsole } from "./console.js";
import { commandUsage, HELP } from "./help.js";
import { UsageError } from "./options.js";
import { runMerge } from "./merge.js";
import { runProvision } from "./provision.js";
import { runSimulate } from "./simulate.js";
import { runInspect, runKeygen, runSign, SuitUsageError } from "./suit.js";
import { runValidate } from "./validate.js";

const COMMANDS = ["simulate", "console", "merge", "analyze", "validate", "ble", "keygen", "sign", "inspect", "provision"];

/** Whether the arguments ask for help (before any "--", after which everything is a file name). */
function asksHelp(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

/** An error of the system (a file, a socket) rather than of the program: one line says what. */
function systemErrorLine(error: unknown): string | undefined {
  const e = error as { code?: unknown; syscall?: unknown; address?: unknown; port?: unknown; message?: string; errors?: unknown[] };
  if (typeof e?.code !== "string" || !/^E[A-Z]+$/.test(e.code)) return undefined;
  if (e.syscall === "connect" || e.errors !== undefined) {
    const first = (e.errors?.[0] ?? e) as { address?: unknown; port?: unknown };
    const where = first.address !== undefined ? `${String(first.address)}:${String(first.port)}` : "the broker";
    return `cannot connect to ${where} (${e.code}): is the broker running and the address right?`;
  }
  return e.message ?? e.code;
}

/** "--days -1" as "--days=-1": parseArgs would take the "-1" for an option and answer that the
 *  value is ambiguous, where the user meant a (negative) number that the option's check names. */
function joinNegativeValues(args: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (/^--[a-z][a-z-]*$/.test(args[i]) && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(`${args[i]}=${next}`);
      i++;
    } else {
      joined.push(args[i]);
    }
  }
  return joined;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = joinNegativeValues(argv);
  if (command !== undefined && COMMANDS.includes(command) && asksHelp(rest)) {
    process.stdout.write(command === "ble" ? BLE_USAGE : commandUsage(command));
    return 0;
  }
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(HELP);
        return 0;
      case "simulate":
        return await runSimulate(rest);
      case "console":
        return await runConsole(rest);
      case "merge":
        return await runMerge(rest);
      case "ble":
        return await runBle(rest);
      case "analyze":
        return await runAnalyze(rest);
      case "validate":
        return await runValidate(rest);
      case "keygen":
        return runKeygen(rest);
      case "sign":
        return runSign(rest);
      case "inspect":
        return runInspect(rest);
      case "provision":
        return await runProvision(rest);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}; see impeller --help`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof SuitUsageError || error instanceof ProvisionError || error instanceof IdentityError || error instanceof ScenarioError || error instanceof MergeError || error instanceof ReplayError || error instanceof ValidateError || error instanceof ProtocolError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`impeller: ${(error as Error).message.replaceAll("\n", " ")}\n`);
      return 2;
    }
    const line = systemErrorLine(error);
    if (line === undefined) throw error;
    process.stderr.write(`impeller: ${line}\n`);
    return 1;
  }
}
