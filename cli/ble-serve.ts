// `impeller ble serve`: a pump run by this host on the release firmware (host/ble/local-pump.ts),
// advertised and served over Bluetooth LE (host/ble/ble-peripheral.ts) so a technician's tool finds
// it, reads its state, sends it commands and commissions it; with --state DIR what it was
// commissioned as survives a restart. Runs until interrupted or for --duration seconds.

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { CONFIG_RANGES, type FirmwareConfig } from "../protocol/messages.js";
import { isValidId } from "../protocol/topics.js";
import { integerOption, numberOption, UsageError } from "./options.js";
import { BlePeripheral } from "../host/ble/ble-peripheral.js";
import { BROKER_URL_CHARS_MAX, BROKER_URL_PATTERN } from "../host/ble/commissioning.js";
import { loadRelease, RELEASE_IMAGE } from "../host/runtime/images.js";
import { describeCommissioning, LocalPump } from "../host/ble/local-pump.js";
import { FileStorage, MemoryStorage } from "../host/storage/storage.js";

export const SERVE_DEFAULTS = { device: "pump", tenant: "demo", rate_hz: 25_600, window: 4096 } as const;
/** --duration: at most a year. */
const DURATION_S_MAX = 365 * 86_400;

/** Something on this host keeps the pump from running (no firmware build, a state folder it
 *  cannot use): exit 1 with the message. */
export class ServeError extends Error {}

export interface ServeOptions {
  config: FirmwareConfig;
  tenant: string;
  broker?: string;
  stateDirectory?: string;
  adapter?: string;
  durationMs?: number;
}

function idOption(value: string | undefined, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (!isValidId(value)) throw new UsageError(`--${name} needs 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit, not ${JSON.stringify(value)}`);
  return value;
}

/** Checks a broker URL the way a pump will take it in a commission. */
export function brokerOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length > BROKER_URL_CHARS_MAX || !BROKER_URL_PATTERN.test(value)) {
    throw new UsageError(`--broker needs a URL like mqtt://192.168.1.10:1883 (at most ${BROKER_URL_CHARS_MAX} characters), not ${JSON.stringify(value)}`);
  }
  return value;
}

export function parseServeOptions(args: string[]): ServeOptions {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      device: { type: "string" }, tenant: { type: "string" }, broker: { type: "string" }, rate: { type: "string" },
      window: { type: "string" }, units: { type: "string" }, state: { type: "string" }, adapter: { type: "string" },
      duration: { type: "string" },
    },
  });
  if (positionals.length > 0) throw new UsageError("ble serve takes no positional arguments");
  if (values.units !== undefined && values.units !== "g" && values.units !== "m/s2") throw new UsageError(`--units is g or m/s2, not ${JSON.stringify(values.units)}`);
  const config: FirmwareConfig = {
    device: idOption(values.device, "device", SERVE_DEFAULTS.device),
    rate_hz: numberOption(values.rate, "rate", ...CONFIG_RANGES.rate_hz) ?? SERVE_DEFAULTS.rate_hz,
    window: integerOption(values.window, "window", ...CONFIG_RANGES.window) ?? SERVE_DEFAULTS.window,
  };
  if (values.units !== undefined) config.units = values.units;
  const durationS = numberOption(values.duration, "duration", 0, DURATION_S_MAX, true);
  if (values.adapter !== undefined && !/^[A-Za-z0-9_]{1,32}$/.test(values.adapter)) throw new UsageError(`--adapter needs a BlueZ adapter name like hci0, not ${JSON.stringify(values.adapter)}`);
  return {
    config,
    tenant: idOption(values.tenant, "tenant", SERVE_DEFAULTS.tenant),
    broker: brokerOption(values.broker),
    stateDirectory: values.state,
    adapter: values.adapter,
    durationMs: durationS === undefined ? undefined : Math.round(durationS * 1000),
  };
}

/** Until `durationMs` has passed, or SIGINT or SIGTERM. */
function stopped(durationMs: number | undefined): Promise<string> {
  return new Promise((resolve) => {
    const timer = durationMs === undefined ? undefined : setTimeout(() => finish(`after ${durationMs / 1000} s`), durationMs);
    const onSignal = (signal: NodeJS.Signals): void => finish(`on ${signal}`);
    function finish(why: string): void {
      clearTimeout(timer);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve(why);
    }
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
}

export async function serve(options: ServeOptions, print: (line: string) => void, warn: (line: string) => void): Promise<number> {
  if (!fs.existsSync(RELEASE_IMAGE)) throw new ServeError("build/firmware.wasm is missing: run npm run build first");
  const firmware = await loadRelease();
  let storage: FileStorage | MemoryStorage;
  try {
    storage = options.stateDirectory === undefined ? new MemoryStorage() : new FileStorage(path.join(options.stateDirectory, "storage"));
  } catch (error) {
    throw new ServeError(`--state ${options.stateDirectory} cannot hold the pump's storage: ${(error as Error).message}`);
  }
  const pump = await LocalPump.start({
    config: options.config,
    tenant: options.tenant,
    broker: options.broker,
    firmware,
    storage,
    outboxDirectory: options.stateDirectory === undefined ? undefined : path.join(options.stateDirectory, "outbox"),
    log: (device, level, text) => { if (level >= 2) warn(`${device}: ${level >= 3 ? "error" : "warn"}: ${text}`); },
    onCommissioned: (record) => print(`Commissioned: ${describeCommissioning(record)}`),
  });
  let peripheral: BlePeripheral;
  try {
    peripheral = await BlePeripheral.start(pump, { adapter: options.adapter, log: (level, text) => { if (level >= 2) warn(`ble: ${text}`); } });
  } catch (error) {
    await pump.close();
    throw error;
  }
  const adapterName = peripheral.adapter.path.split("/").pop();
  print(`Pump ${pump.id} (${describeCommissioning(pump.commissioning)}) advertising as ${peripheral.localName} on ${adapterName} (${peripheral.adapter.address})` +
    `${options.stateDirectory === undefined ? "; its storage is in memory, so commissioning lasts until it stops" : `; state in ${options.stateDirectory}`}`);
  const why = await stopped(options.durationMs);
  await peripheral.stop();
  await pump.close();
  print(`Stopped ${why}: ${peripheral.counters.commands} commands over BLE, ${peripheral.counters.linkErrors} link errors.`);
  return 0;
}
