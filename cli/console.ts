// `impeller console`: a live browser console on localhost for any broker carrying impeller
// topics (every tenant on it, or one), or for one tenant of a provisioned fleet as its
// collector and operator (their certificates, from --identities). It serves until interrupted.
// `impeller simulate --console` starts one beside a run (simulate.ts).

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { identityBrokerUrl, identityOptions } from "../host/link/identity.js";
import { RELEASE_IMAGE } from "../host/runtime/images.js";
import { ConsoleLink } from "../operator/console/console-link.js";
import { checkImageCampaign, imageCampaignStarter, type ImageCampaign } from "../operator/console/image-campaign.js";
import { CONTRACT_DEFAULT, ConsoleServer, type ConsoleOptions } from "../operator/console/console-server.js";
import { collectorName, operatorName } from "../operator/provision.js";
import { isValidId } from "../protocol/topics.js";
import { integerOption, numberOption, UsageError } from "./options.js";

export const CONSOLE_PORT_DEFAULT = 8080;

/** The options the console shares with simulate --console: its port and the contract. */
export function consoleSettings(port: string | undefined, contract: string | undefined): { port: number; contract: number } {
  const portNumber = integerOption(port, "port", 0, 65535) ?? CONSOLE_PORT_DEFAULT;
  const percent = numberOption(contract, "contract", 0, 100) ?? CONTRACT_DEFAULT * 100;
  return { port: portNumber, contract: percent / 100 };
}

/** Starts the console's web server on the release firmware image (the page runs it). */
export async function startConsole(options: Omit<ConsoleOptions, "firmwarePath">): Promise<ConsoleServer> {
  const firmwarePath = fileURLToPath(RELEASE_IMAGE);
  if (!fs.existsSync(firmwarePath)) throw new UsageError(`the console's page runs ${firmwarePath}, which is not built: npm run build`);
  return ConsoleServer.start({ ...options, firmwarePath });
}

/** A campaign of a signed image the page may start: --image and --envelope (impeller sign),
 *  --waves as cumulative shares, --campaign its name (default: the envelope file's name). */
export function imageCampaignOption(values: { image?: string; envelope?: string; campaign?: string; waves?: string }, tenant: string | undefined): ImageCampaign | undefined {
  const { image, envelope } = values;
  if (image === undefined && envelope === undefined) {
    if (values.campaign !== undefined || values.waves !== undefined) throw new UsageError("--campaign and --waves go with --image and --envelope");
    return undefined;
  }
  if (image === undefined || envelope === undefined) throw new UsageError("a campaign needs both --image IMAGE and --envelope ENVELOPE (impeller sign)");
  if (tenant === undefined) throw new UsageError("a campaign needs --tenant: it offers the image to one tenant's pumps");
  const waves = (values.waves ?? "0.1,0.5,1").split(",").map((share) => (share.trim() === "" ? NaN : Number(share)));
  const read = (file: string, what: string): Uint8Array => {
    try {
      return new Uint8Array(fs.readFileSync(file));
    } catch (error) {
      throw new UsageError(`--${what} ${file} cannot be read: ${(error as Error).message}`);
    }
  };
  const spec: ImageCampaign = {
    name: values.campaign ?? path.basename(envelope).replace(/\.[^.]*$/, ""), image: read(image, "image"), envelope: read(envelope, "envelope"), waves,
    successThreshold: 0.9, errorThreshold: 0.2, onError: "abort",
  };
  try {
    checkImageCampaign(spec);
  } catch (error) {
    throw new UsageError(`--waves ${values.waves ?? ""}: ${(error as Error).message}`);
  }
  return spec;
}

/** Resolves when the process is asked to stop (Ctrl-C, SIGTERM). */
export function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

export async function runConsole(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      broker: { type: "string" }, identities: { type: "string" }, tenant: { type: "string" }, port: { type: "string" }, contract: { type: "string" },
      image: { type: "string" }, envelope: { type: "string" }, campaign: { type: "string" }, waves: { type: "string" },
    },
  });
  if (positionals.length > 0) throw new UsageError(`console takes no file, not ${JSON.stringify(positionals[0])}`);
  const { broker, identities, tenant } = values;
  if (broker === undefined && identities === undefined) throw new UsageError("console needs --broker URL, or --identities DIR --tenant T");
  if (broker !== undefined && !/^mqtts?:\/\/[^/]+$/.test(broker)) throw new UsageError(`--broker needs a URL like mqtt://127.0.0.1:1883, not ${JSON.stringify(broker)}`);
  if (identities !== undefined && tenant === undefined) throw new UsageError("--identities needs --tenant: the console is one tenant's collector and operator");
  if (tenant !== undefined && !isValidId(tenant)) throw new UsageError(`--tenant needs an id of 1 to 64 of A-Z a-z 0-9 . _ : -, not ${JSON.stringify(tenant)}`);
  const settings = consoleSettings(values.port, values.contract);
  const campaign = imageCampaignOption(values, tenant);
  const url = broker ?? identityBrokerUrl(identities!);
  const operator = identities === undefined ? undefined : identityOptions(identities, operatorName(tenant!));
  const link = await ConsoleLink.connect(url, tenant, identities === undefined ? {} : identityOptions(identities, collectorName(tenant!)), operator);
  const server = await startConsole({ port: settings.port, contract: settings.contract, title: `impeller console: ${tenant ?? "every tenant"} on ${url}` });
  server.attach(link);
  if (campaign !== undefined) server.desk.plan(campaign.name, 0, campaign.waves.length, null, imageCampaignStarter(campaign, link, url, tenant!, operator));
  process.stdout.write(`Console: ${server.url} (${tenant !== undefined ? `tenant ${tenant}` : "every tenant"} on ${url}); Ctrl-C stops it\n`);
  await interrupted();
  await server.close();
  await link.close();
  return 0;
}
