// `impeller provision`: the command line of operator/provision.ts. It reads the options, makes
// the fleet's identities and the broker's configuration, and says where everything went.

import path from "node:path";
import { parseArgs } from "node:util";
import {
  CERTIFICATE_DAYS_MAX, collectorName, DEVICES_MAX, operatorName, provision, ProvisionError,
} from "../operator/provision.js";
import { integerOption } from "./options.js";

function choice<T extends string>(value: string | undefined, name: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new ProvisionError("bad_argument", `--${name} is one of ${allowed.join(", ")}, not ${JSON.stringify(value)}`);
  return value as T;
}

/** A whole-number option within min..max, refused as a bad_argument that names it and its range. */
function wholeNumber(value: string | undefined, name: string, min: number, max: number): number | undefined {
  try {
    return integerOption(value, name, min, max);
  } catch (error) {
    throw new ProvisionError("bad_argument", (error as Error).message);
  }
}

/** impeller provision --tenant T --devices N --out DIR [--port P] [--host H] [--bind A] [--first K] [--days D] */
export async function runProvision(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tenant: { type: "string" }, devices: { type: "string" }, out: { type: "string" }, port: { type: "string" },
      host: { type: "string" }, bind: { type: "string" }, first: { type: "string" }, days: { type: "string" },
      waveform: { type: "string" }, detail: { type: "string" },
    },
  });
  if (positionals.length > 0) throw new ProvisionError("bad_argument", `provision takes no file arguments, not ${JSON.stringify(positionals[0])}`);
  if (values.tenant === undefined || values.devices === undefined || values.out === undefined) {
    throw new ProvisionError("bad_argument", "provision needs --tenant T --devices N --out DIR");
  }
  const result = await provision({
    tenant: values.tenant, devices: wholeNumber(values.devices, "devices", 0, DEVICES_MAX)!, out: values.out,
    port: wholeNumber(values.port, "port", 1, 65535), host: values.host, bind: values.bind,
    first: wholeNumber(values.first, "first", 0, Infinity), days: wholeNumber(values.days, "days", 1, CERTIFICATE_DAYS_MAX),
    waveform: choice(values.waveform, "waveform", ["on_request", "never"] as const),
    detail: choice(values.detail, "detail", ["full", "summary"] as const),
  });
  const { manifest, directory } = result;
  const devices = manifest.tenants[values.tenant].devices;
  process.stdout.write([
    `Provisioned tenant ${values.tenant} in ${directory}: ${devices.length} devices (${devices[0] ?? "none"}…${devices.at(-1) ?? ""}), ` +
      `${collectorName(values.tenant)}, ${operatorName(values.tenant)}; ${result.issued.length} certificates issued now.`,
    `CA: ${path.join(directory, "ca.pem")} (its key ca.key stays here, 0600)`,
    `Owner policy: ${path.join(directory, "owner", `${values.tenant}.json`)} (0600: the owner's token; devices store the policy at their first boot)`,
    `Broker: mosquitto -c ${path.join(directory, "mosquitto.conf")}   (mqtts://${manifest.host}:${manifest.port}, client certificates required)`,
    `Passwords: mqtts://${manifest.host}:${manifest.port + 1} with the identity's name and DIR/<devices|clients>/<name>/password (0600), same ACL`,
    `Simulate: impeller simulate --identities ${directory}`,
    "",
  ].join("\n"));
  if (result.brokerProblems.length === 0) return 0;
  process.stderr.write(`impeller: mosquitto, started as root, runs as the mosquitto user and could not read this broker's files:\n${result.brokerProblems.map((p) => `  ${p}\n`).join("")}`);
  return 1;
}

