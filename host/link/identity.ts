// A client's provisioned identity (operator/provision.ts wrote it): the mqtt.js options that
// make it connect over TLS with its own certificate, trusting only the fleet's CA, and the
// broker's mqtts URL. A device, the tenant's collector and its operator load theirs alike.

import fs from "node:fs";
import path from "node:path";
import type { IClientOptions } from "mqtt";

export interface Identity {
  /** The certificate's CN: the broker's username for this client. */
  name: string;
  /** mqtts://host:port of the provisioned broker. */
  url: string;
  client: IClientOptions;
}

export class IdentityError extends Error {
  readonly code = "no_identity";
}

/** Reads DIR/devices/<name> or DIR/clients/<name> (collector.T, operator.T) and the broker's
 *  address from DIR/identities.json. */
export function loadIdentity(directory: string, name: string): Identity {
  const url = identityBrokerUrl(directory);
  const folder = ["devices", "clients"].map((kind) => path.join(directory, kind, name)).find((candidate) => fs.existsSync(path.join(candidate, "cert.pem")));
  if (folder === undefined) {
    throw new IdentityError(`no identity ${JSON.stringify(name)} in ${directory}: provision it (impeller provision --tenant T --devices N --out ${directory})`);
  }
  return {
    name,
    url,
    client: {
      key: fs.readFileSync(path.join(folder, "key.pem")),
      cert: fs.readFileSync(path.join(folder, "cert.pem")),
      ca: fs.readFileSync(path.join(directory, "ca.pem")),
      rejectUnauthorized: true,
    },
  };
}

/** The client options of `name` when a fleet runs with identities (DIR), none without. */
export function identityOptions(directory: string | undefined, name: string): IClientOptions {
  return directory === undefined ? {} : loadIdentity(directory, name).client;
}

/** The provisioned broker's mqtts URL from DIR/identities.json. */
export function identityBrokerUrl(directory: string): string {
  const manifestFile = path.join(directory, "identities.json");
  if (!fs.existsSync(manifestFile)) {
    throw new IdentityError(`${manifestFile} is missing: make the identities with impeller provision --tenant T --devices N --out ${directory}`);
  }
  const { host, port } = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as { host: string; port: number };
  return `mqtts://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
