// Provisioning (`impeller provision`): the identities of a fleet and the broker configuration that enforces
// them. A CA (kept here, private), a certificate and key per device (CN = device id), a
// collector and an operator per tenant, a server certificate for the broker, and a mosquitto
// configuration: TLS with client certificates only, the certificate's CN as the username, and
// an ACL that gives every identity exactly its own topics. Certificates are made with the
// openssl command (Node 20 cannot sign X.509 itself).

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { OwnerPolicy } from "../protocol/messages.js";
import { isValidId, TOPIC_ROOT, type TopicKind } from "../protocol/topics.js";

/** Version of identities.json. */
export const MANIFEST_VERSION = 1;
export const MANIFEST_FILE = "identities.json";
export const PORT_DEFAULT = 8883;
/** Devices one provision call makes: a bound on the openssl runs and the ACL's size. */
export const DEVICES_MAX = 100_000;
export const LEAF_DAYS_DEFAULT = 825;
/** At most a century: openssl takes more, no certificate should. */
export const CERTIFICATE_DAYS_MAX = 36_500;
/** openssl processes at a time (at most one per core): about 45 ms of CPU per identity. */
const OPENSSL_PARALLEL_MAX = 16;
const CA_DAYS = 3650;

/** What a device publishes; it reads its own command (and its own retained state). */
export const DEVICE_WRITES: readonly TopicKind[] = ["telemetry", "event", "reply", "waveform", "update", "state"];
/** What an operator reads of every device of its tenant; it writes only commands. */
export const OPERATOR_READS: readonly TopicKind[] = ["reply", "update", "state"];

export const OPENSSL = ["/usr/bin/openssl", "/usr/local/bin/openssl"].find((file) => fs.existsSync(file));

export class ProvisionError extends Error {
  constructor(readonly code: "no_openssl" | "bad_argument" | "device_taken" | "bad_manifest", message: string) {
    super(message);
  }
}

export interface TenantIdentities {
  devices: string[];
  collector: string;
  operator: string;
}

/** DIR/identities.json: what has been provisioned, the source of mosquitto.conf and acl. */
export interface Manifest {
  version: number;
  /** The host name or IP the clients connect to (in the server certificate too). */
  host: string;
  port: number;
  /** Address the listener binds to; all interfaces when absent. */
  bind?: string;
  tenants: Record<string, TenantIdentities>;
}

export interface ProvisionOptions {
  tenant: string;
  devices: number;
  out: string;
  port?: number;
  host?: string;
  bind?: string;
  /** Index of the first device: ids run from deviceName(first) on. */
  first?: number;
  days?: number;
  /** The owner's data policy for the tenant's devices (owner/<tenant>.json; the token is made
   *  once per tenant and kept). Defaults: waveforms on request, full telemetry. */
  waveform?: "on_request" | "never";
  detail?: "full" | "summary";
}

/** DIR/owner/<tenant>.json (0600): the owner's token, hex, and the policy devices start with. */
interface OwnerFile {
  token: string;
  waveform: "on_request" | "never";
  detail: "full" | "summary";
}

const OWNER_TOKEN_BYTES = 32;

function ownerFile(directory: string, tenant: string): string {
  return path.join(directory, "owner", `${tenant}.json`);
}

/** The owner policy a tenant's devices are provisioned with (their first boot stores it), or
 *  undefined when the tenant has none in DIR. */
export function ownerPolicy(directory: string, tenant: string): OwnerPolicy | undefined {
  const file = ownerFile(directory, tenant);
  if (!fs.existsSync(file)) return undefined;
  const owner = JSON.parse(fs.readFileSync(file, "utf8")) as OwnerFile;
  return { token: Uint8Array.from(Buffer.from(owner.token, "hex")), waveform: owner.waveform, detail: owner.detail };
}

function writeOwner(directory: string, options: ProvisionOptions): void {
  const file = ownerFile(directory, options.tenant);
  const previous = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as OwnerFile) : undefined;
  const owner: OwnerFile = {
    token: previous?.token ?? randomBytes(OWNER_TOKEN_BYTES).toString("hex"),
    waveform: options.waveform ?? previous?.waveform ?? "on_request",
    detail: options.detail ?? previous?.detail ?? "full",
  };
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(owner, null, 2)}\n`, { mode: 0o600 });
}

export interface ProvisionResult {
  directory: string;
  manifest: Manifest;
  /** Identities issued by this call (those already present are kept as they are). */
  issued: string[];
  config: string;
  acl: string;
  /** What keeps mosquitto, run as root and so as its own user, from the files (with the fix). */
  brokerProblems: string[];
}

/** The simulator's device ids (simulator/fleet/pump-group.ts deviceId): pump-0001 for index 0. */
export function deviceName(index: number): string {
  return `pump-${String(index + 1).padStart(4, "0")}`;
}

export const collectorName = (tenant: string): string => `collector.${tenant}`;
export const operatorName = (tenant: string): string => `operator.${tenant}`;

/** Where an identity's cert.pem and key.pem live under DIR. */
export function identityDirectory(directory: string, name: string): string {
  return path.join(directory, name.startsWith("collector.") || name.startsWith("operator.") ? "clients" : "devices", name);
}

const execFileAsync = promisify(execFile);

async function openssl(args: string[], cwd: string): Promise<void> {
  if (OPENSSL === undefined) throw new ProvisionError("no_openssl", "the openssl command is needed to make certificates: apt-get install -y openssl");
  await execFileAsync(OPENSSL, args, { cwd });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

async function createCa(directory: string): Promise<void> {
  await openssl(["req", "-x509", ...EC_KEY, "-days", String(CA_DAYS), "-subj", "/O=impeller/CN=impeller fleet CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout", "ca.key", "-out", "ca.pem"], directory);
  fs.chmodSync(path.join(directory, "ca.key"), 0o600);
  fs.chmodSync(path.join(directory, "ca.pem"), 0o644);
}

/** A key and a certificate signed by DIR's CA in `target` (cert.pem, key.pem 0600). The
 *  serial is random (RFC 5280: unique per CA), so certificates can be issued in parallel. */
async function issue(directory: string, target: string, commonName: string, extensions: string, days: number): Promise<void> {
  fs.mkdirSync(target, { recursive: true, mode: 0o755 });
  const csr = path.join(target, "request.csr");
  const ext = path.join(target, "extensions.cnf");
  await openssl(["req", ...EC_KEY, "-subj", `/CN=${commonName}`, "-keyout", path.join(target, "key.pem"), "-out", csr], directory);
  fs.writeFileSync(ext, extensions);
  await openssl(["x509", "-req", "-in", csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", `0x${randomBytes(16).toString("hex").replace(/^./, "1")}`,
    "-days", String(days), "-extfile", ext, "-out", path.join(target, "cert.pem")], directory);
  fs.rmSync(csr);
  fs.rmSync(ext);
  fs.chmodSync(path.join(target, "key.pem"), 0o600);
  fs.chmodSync(path.join(target, "cert.pem"), 0o644);
}

const CLIENT_EXTENSIONS = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";

function serverExtensions(host: string): string {
  const names = new Set(["IP:127.0.0.1", "DNS:localhost", /^[\d.]+$|:/.test(host) ? `IP:${host}` : `DNS:${host}`]);
  return `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${[...names].join(",")}\n`;
}

export function readManifest(directory: string): Manifest | undefined {
  const file = path.join(directory, MANIFEST_FILE);
  if (!fs.existsSync(file)) return undefined;
  const manifest = JSON.parse(fs.readFileSync(file, "utf8")) as Manifest;
  if (manifest.version !== MANIFEST_VERSION || typeof manifest.tenants !== "object") {
    throw new ProvisionError("bad_manifest", `${file} is not an impeller identities file of version ${MANIFEST_VERSION}`);
  }
  return manifest;
}

/** The ACL: one block per identity, by its certificate's CN. No `pattern` lines: a pattern
 *  applies to every user, so a device of one tenant could publish under its own name in
 *  another tenant's namespace. */
export function aclText(manifest: Manifest): string {
  const lines = ["# impeller ACL, written by `impeller provision` from identities.json: edit that, not this.",
    "# Usernames are the client certificates' CN (use_identity_as_username). Anything not granted is denied.", ""];
  for (const [tenant, identities] of Object.entries(manifest.tenants).sort(([a], [b]) => a.localeCompare(b))) {
    const base = `${TOPIC_ROOT}/${tenant}`;
    lines.push(`# tenant ${tenant}`, `user ${identities.collector}`, `topic read ${base}/#`, "");
    lines.push(`user ${identities.operator}`, `topic write ${base}/+/command`, ...OPERATOR_READS.map((kind) => `topic read ${base}/+/${kind}`), "");
    for (const device of identities.devices) {
      lines.push(`user ${device}`);
      for (const kind of DEVICE_WRITES) lines.push(`topic ${kind === "state" ? "readwrite" : "write"} ${base}/${device}/${kind}`);
      lines.push(`topic read ${base}/${device}/command`, "");
    }
  }
  return `${lines.join("\n")}`;
}

/** mosquitto.conf with absolute paths, so `mosquitto -c DIR/mosquitto.conf` works from anywhere. */
export function configText(directory: string, manifest: Manifest): string {
  const at = (...parts: string[]): string => path.join(directory, ...parts);
  return [
    "# mosquitto configuration, written by `impeller provision`. Run: mosquitto -c " + at("mosquitto.conf"),
    "per_listener_settings false",
    "allow_anonymous false",
    `acl_file ${at("acl")}`,
    "# The default of 1000 drops QoS 1 messages to a slow subscriber.",
    "max_queued_messages 0",
    "persistence true",
    `persistence_location ${at("data")}/`,
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "",
    `listener ${manifest.port}${manifest.bind !== undefined ? ` ${manifest.bind}` : ""}`,
    `cafile ${at("ca.pem")}`,
    `certfile ${at("broker", "cert.pem")}`,
    `keyfile ${at("broker", "key.pem")}`,
    "tls_version tlsv1.2",
    "# Every client shows a certificate from the CA above; its CN is its username in the ACL.",
    "require_certificate true",
    "use_identity_as_username true",
    "",
    "# For clients that cannot hold a certificate: TLS with the broker's certificate and the",
    "# identity's password (DIR/<devices|clients>/<name>/password), under the same ACL.",
    `password_file ${at("passwords")}`,
    `listener ${manifest.port + 1}${manifest.bind !== undefined ? ` ${manifest.bind}` : ""}`,
    `cafile ${at("ca.pem")}`,
    `certfile ${at("broker", "cert.pem")}`,
    `keyfile ${at("broker", "key.pem")}`,
    "tls_version tlsv1.2",
    "require_certificate false",
    "",
  ].join("\n");
}

function checkOptions(options: ProvisionOptions): void {
  const bad = (message: string): never => { throw new ProvisionError("bad_argument", message); };
  if (!isValidId(options.tenant)) bad(`tenant ${JSON.stringify(options.tenant)} is not valid: use 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit`);
  if (!Number.isInteger(options.devices) || options.devices < 0 || options.devices > DEVICES_MAX) bad(`--devices needs a whole number from 0 to ${DEVICES_MAX}`);
  const first = options.first ?? 0;
  if (!Number.isInteger(first) || first < 0) bad("--first needs a whole number from 0");
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)) bad("--port needs a port number from 1 to 65535");
  if (options.days !== undefined && (!Number.isInteger(options.days) || options.days < 1)) bad("--days needs a whole number of days");
  if (options.host !== undefined && !/^[A-Za-z0-9.:-]+$/.test(options.host)) bad(`--host ${JSON.stringify(options.host)} is not a host name or IP address`);
}

/** mosquitto started as root drops to the mosquitto user before it reads its key and writes
 *  its persistence: when we are root and that user exists, the server key (still 0600) and
 *  the data directory become its own. */
const PASSWORD_BYTES = 24;
export const MOSQUITTO_PASSWD = ["/usr/bin/mosquitto_passwd", "/usr/local/bin/mosquitto_passwd"].find((file) => fs.existsSync(file));

/** A password per identity (made once, kept 0600 beside its key), and DIR/passwords with all
 *  of them hashed by mosquitto_passwd for the broker's password listener. */
async function writePasswords(directory: string, manifest: Manifest): Promise<string> {
  const names = Object.values(manifest.tenants).flatMap((t) => [t.collector, t.operator, ...t.devices]);
  const lines = names.map((name) => {
    const file = path.join(identityDirectory(directory, name), "password");
    if (!fs.existsSync(file)) fs.writeFileSync(file, `${randomBytes(PASSWORD_BYTES).toString("base64url")}\n`, { mode: 0o600 });
    return `${name}:${fs.readFileSync(file, "utf8").trim()}`;
  });
  const target = path.join(directory, "passwords");
  fs.writeFileSync(target, `${lines.join("\n")}\n`, { mode: 0o600 });
  if (MOSQUITTO_PASSWD === undefined) {
    throw new ProvisionError("bad_argument", "mosquitto_passwd is not installed (apt-get install -y mosquitto): it hashes the password file");
  }
  await execFileAsync(MOSQUITTO_PASSWD, ["-U", target]);
  return target;
}

/** The mosquitto user's uid and gid, when we are root and it exists (mosquitto then drops to
 *  it); undefined otherwise (the broker runs as whoever starts it). */
function brokerUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs.existsSync("/etc/passwd") ? fs.readFileSync("/etc/passwd", "utf8").split("\n").find((entry) => entry.startsWith("mosquitto:")) : undefined;
  if (line === undefined) return undefined;
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

function giveToBroker(files: string[]): void {
  const user = brokerUser();
  if (user === undefined) return;
  for (const file of files) fs.chownSync(file, user.uid, user.gid);
}

/** Whether `user` may do `want` (4 read, 2 write, 1 search/execute) on `file`, by its mode bits. */
function allowed(file: string, user: { uid: number; gid: number }, want: number): boolean {
  const stat = fs.statSync(file);
  const bits = stat.uid === user.uid ? (stat.mode >> 6) & 7 : stat.gid === user.gid ? (stat.mode >> 3) & 7 : stat.mode & 7;
  return (bits & want) === want;
}

/** What keeps the broker, run as the mosquitto user, from its files: every directory on the way
 *  to `directory` must let it through, and it must read its configuration, ACL, passwords,
 *  certificates and key and write its data directory. Each problem comes with its fix. */
export function brokerAccessProblems(directory: string): string[] {
  const user = brokerUser();
  if (user === undefined) return [];
  const problems: string[] = [];
  const ancestors: string[] = [];
  for (let at = path.resolve(directory); ; at = path.dirname(at)) {
    ancestors.unshift(at);
    if (path.dirname(at) === at) break;
  }
  for (const folder of ancestors) {
    if (!allowed(folder, user, 1)) {
      const mode = (fs.statSync(folder).mode & 0o777).toString(8).padStart(4, "0");
      problems.push(`${folder} (mode ${mode}) does not let the mosquitto user through: chmod o+x ${folder}, or provision under a directory it can reach`);
      return problems; // nothing below it can be reached either
    }
  }
  const reads = ["mosquitto.conf", "acl", "passwords", "ca.pem", "broker/cert.pem", "broker/key.pem"].map((name) => path.join(directory, name));
  for (const file of reads) {
    if (fs.existsSync(file) && !allowed(file, user, 4)) problems.push(`${file} is not readable by the mosquitto user: chown mosquitto ${file}, or chmod o+r (not for a key)`);
  }
  const data = path.join(directory, "data");
  if (fs.existsSync(data) && !allowed(data, user, 7)) problems.push(`${data} is not writable by the mosquitto user: chown mosquitto ${data}`);
  return problems;
}

/** Provisions a tenant into `out` (made if absent; a CA already there is reused, so several
 *  tenants share one broker). Device ids are the broker's usernames: they must be unique
 *  across the tenants of one directory. */
export async function provision(options: ProvisionOptions): Promise<ProvisionResult> {
  checkOptions(options);
  const directory = path.resolve(options.out);
  try {
    fs.mkdirSync(directory, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new ProvisionError("bad_argument", `--out ${options.out} cannot be made a directory: ${(error as Error).message}`);
  }
  const previous = readManifest(directory);
  const manifest: Manifest = previous ?? { version: MANIFEST_VERSION, host: "127.0.0.1", port: PORT_DEFAULT, tenants: {} };
  if (options.port !== undefined) manifest.port = options.port;
  if (options.host !== undefined) manifest.host = options.host;
  if (options.bind !== undefined) manifest.bind = options.bind;
  const { tenant } = options;
  const first = options.first ?? 0;
  const wanted = Array.from({ length: options.devices }, (_, i) => deviceName(first + i));
  for (const [other, identities] of Object.entries(manifest.tenants)) {
    if (other === tenant) continue;
    const theirs = new Set(identities.devices);
    const taken = wanted.filter((device) => theirs.has(device));
    if (taken.length > 0) {
      throw new ProvisionError("device_taken", `device id ${taken[0]} already belongs to tenant ${other} in ${directory}: ` +
        "a device id is the broker's username and must be unique across tenants; choose other ids with --first N");
    }
  }
  const days = options.days ?? LEAF_DAYS_DEFAULT;
  const issued: string[] = [];
  if (!fs.existsSync(path.join(directory, "ca.key"))) {
    await createCa(directory);
    issued.push("ca");
  }
  const server = path.join(directory, "broker");
  if (!fs.existsSync(path.join(server, "cert.pem")) || previous?.host !== manifest.host) {
    await issue(directory, server, manifest.host, serverExtensions(manifest.host), days);
    issued.push("broker");
  }
  const entry = manifest.tenants[tenant] ?? { devices: [], collector: collectorName(tenant), operator: operatorName(tenant) };
  const missing = [entry.collector, entry.operator, ...wanted].filter((name) => !fs.existsSync(path.join(identityDirectory(directory, name), "cert.pem")));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < missing.length) {
      const name = missing[next++];
      await issue(directory, identityDirectory(directory, name), name, CLIENT_EXTENSIONS, days);
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPENSSL_PARALLEL_MAX, os.availableParallelism()) }, worker));
  issued.push(...missing);
  entry.devices = [...new Set([...entry.devices, ...wanted])].sort();
  manifest.tenants[tenant] = entry;
  const data = path.join(directory, "data");
  fs.mkdirSync(data, { recursive: true, mode: 0o700 });
  const passwords = await writePasswords(directory, manifest);
  giveToBroker([data, path.join(server, "key.pem"), passwords]);
  const acl = aclText(manifest);
  const config = configText(directory, manifest);
  writeOwner(directory, options);
  fs.writeFileSync(path.join(directory, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.writeFileSync(path.join(directory, "acl"), acl, { mode: 0o644 });
  fs.writeFileSync(path.join(directory, "mosquitto.conf"), config, { mode: 0o644 });
  return { directory, manifest, issued, config, acl, brokerProblems: brokerAccessProblems(directory) };
}

/** Before a simulated fleet connects with identities: its tenant and every one of its pumps
 *  (pump-0001 … for `pumps`) must have been provisioned in DIR for that tenant; a device id of
 *  another tenant would connect and then be refused every publish. */
export function checkFleetIdentities(directory: string, tenant: string, pumps: number): void {
  const manifest = readManifest(directory);
  const remedy = `impeller provision --tenant ${tenant} --devices ${pumps} --out ${directory}`;
  if (manifest === undefined) throw new ProvisionError("bad_manifest", `${path.join(directory, MANIFEST_FILE)} is missing: make the identities with ${remedy}`);
  const devices = manifest.tenants[tenant]?.devices;
  if (devices === undefined) throw new ProvisionError("bad_argument", `tenant ${tenant} has no identities in ${directory}: ${remedy}`);
  const known = new Set(devices);
  const missing = Array.from({ length: pumps }, (_, i) => deviceName(i)).filter((device) => !known.has(device));
  if (missing.length > 0) {
    throw new ProvisionError("bad_argument", `${missing.length} of the ${pumps} pumps have no identity of tenant ${tenant} in ${directory} (first: ${missing[0]}): ${remedy}`);
  }
}
