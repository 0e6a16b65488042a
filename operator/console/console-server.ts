// The console's web server, on localhost: the page and its assets (served from the package, with
// the release firmware image the page runs), the fleet pushed to every open page as
// Server-Sent Events whenever it changed (at most every PUSH_MS), a pump's twin and its latest
// waveform on request, and the operator's commands and campaign actions by POST. The server
// is the tenant's collector and operator on the broker (console-link.ts): the page never
// holds a credential or talks to the broker itself.

import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { CampaignDesk, ConsoleError } from "./campaign-desk.js";
import { checkCommand } from "./console-commands.js";
import type { ConsoleLink } from "./console-link.js";
import { FleetView, twin } from "./fleet-view.js";

/** How often, at most, a changed fleet is pushed to the pages (wall ms). */
const PUSH_MS = 250;
/** Feed entries in each push. */
const FEED_PUSHED_MAX = 60;
/** The largest request body the console reads. */
const BODY_BYTES_MAX = 16_384;
export const CONTRACT_DEFAULT = 0.995;

const PAGE_DIR = new URL("./page/", import.meta.url);
const ASSETS: Record<string, string> = {
  "/": "index.html", "/console.js": "console.js", "/charts.js": "charts.js", "/firmware-page.js": "firmware-page.js", "/console.css": "console.css",
};
const TYPES: Record<string, string> = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" };

/** A simulation running beside the console: how far it is. */
export interface RunStatus {
  simulatedMs: number;
  totalMs: number;
  done: boolean;
}

export interface ConsoleOptions {
  /** Port on 127.0.0.1 (0: any free one). */
  port: number;
  /** The release firmware image the page runs on a pump's waveform. */
  firmwarePath: string;
  /** What the page calls the fleet. */
  title: string;
  /** Fleet availability the service contract promises (0..1). */
  contract?: number;
  desk?: CampaignDesk;
  run?: () => RunStatus | undefined;
}

export class ConsoleServer {
  readonly desk: CampaignDesk;
  private link: ConsoleLink | undefined;
  private view: FleetView | undefined;
  private readonly clients = new Set<http.ServerResponse>();
  private dirty = true;
  private lastPushed = "";
  private readonly timer: NodeJS.Timeout;
  private readonly firmware: Buffer;

  private constructor(private readonly server: http.Server, private readonly options: ConsoleOptions) {
    this.desk = options.desk ?? new CampaignDesk();
    this.firmware = fs.readFileSync(options.firmwarePath);
    this.timer = setInterval(() => this.push(), PUSH_MS);
    this.timer.unref();
  }

  static async start(options: ConsoleOptions): Promise<ConsoleServer> {
    const server = http.createServer();
    const console = new ConsoleServer(server, options);
    server.on("request", (request, response) => void console.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, "127.0.0.1", resolve);
    });
    return console;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  /** The broker connection whose pumps the console shows (a simulation knows its broker late). */
  attach(link: ConsoleLink): void {
    this.link = link;
    this.view = new FleetView(link, this.options.contract ?? CONTRACT_DEFAULT);
    link.onChange((what, device) => {
      this.dirty = true;
      if (what === "waveform") this.send("waveform", { device });
      if (what === "reply") this.send("reply", { device });
    });
  }

  /** The fleet as the page draws it. */
  snapshot(): Record<string, unknown> {
    this.view?.refresh();
    return {
      title: this.options.title,
      tenant: this.link?.tenant ?? null,
      connected: this.link?.connected ?? false,
      run: this.options.run?.() ?? null,
      pumps: this.view?.rows() ?? [],
      feed: this.view?.feed.slice(0, FEED_PUSHED_MAX) ?? [],
      availability: this.view?.availability() ?? null,
      campaigns: this.desk.views(),
    };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const client of this.clients) client.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private push(): void {
    if (this.clients.size === 0) return;
    const campaigns = JSON.stringify([this.desk.views(), this.options.run?.()]);
    if (!this.dirty && campaigns === this.lastPushed) return;
    this.dirty = false;
    this.lastPushed = campaigns;
    this.send("fleet", this.snapshot());
  }

  private send(event: string, data: unknown): void {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of this.clients) client.write(text);
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://console");
    try {
      if (request.method === "GET") return this.get(url, response);
      if (request.method === "POST" && url.pathname === "/api/command") return json(response, 200, await this.command(await readJson(request)));
      if (request.method === "POST" && url.pathname === "/api/campaign") {
        const body = (await readJson(request)) as Record<string, unknown> | null;
        return json(response, 200, this.desk.act(body?.name, body?.action));
      }
      throw new ConsoleError("not_found", `no ${request.method} ${url.pathname} here`);
    } catch (error) {
      if (!(error instanceof ConsoleError)) return json(response, 500, { error: String((error as Error)?.message ?? error), code: "internal" });
      const status = { bad_request: 400, not_found: 404, conflict: 409, unavailable: 503 }[error.code];
      json(response, status, { error: error.message, code: error.code });
    }
  }

  private get(url: URL, response: http.ServerResponse): void {
    const asset = ASSETS[url.pathname];
    if (asset !== undefined) {
      const body = fs.readFileSync(fileURLToPath(new URL(asset, PAGE_DIR)));
      response.writeHead(200, { "content-type": TYPES[asset.split(".").pop()!], "cache-control": "no-store" });
      response.end(body);
      return;
    }
    if (url.pathname === "/firmware.wasm") {
      response.writeHead(200, { "content-type": "application/wasm" });
      response.end(this.firmware);
      return;
    }
    if (url.pathname === "/events") return this.subscribe(response);
    if (url.pathname === "/api/fleet") return json(response, 200, this.snapshot());
    if (url.pathname === "/api/pump") return json(response, 200, this.pump(url.searchParams));
    if (url.pathname === "/api/waveform") return json(response, 200, this.waveform(url.searchParams));
    throw new ConsoleError("not_found", `nothing at ${url.pathname}`);
  }

  private subscribe(response: http.ServerResponse): void {
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    this.clients.add(response);
    response.on("close", () => this.clients.delete(response));
    response.write(`event: fleet\ndata: ${JSON.stringify(this.snapshot())}\n\n`);
  }

  private ledgerOf(params: URLSearchParams): { tenant: string; device: string } {
    const device = params.get("device") ?? "";
    const tenant = params.get("tenant") ?? "";
    if (this.link?.collectors.get(tenant)?.devices.get(device) === undefined) {
      throw new ConsoleError("not_found", `no pump ${JSON.stringify(device)} of tenant ${JSON.stringify(tenant)} has been heard from`);
    }
    return { tenant, device };
  }

  private pump(params: URLSearchParams): unknown {
    const { tenant, device } = this.ledgerOf(params);
    const ledger = this.link!.collectors.get(tenant)!.devices.get(device)!;
    const replies = this.link!.replies.get(`${tenant}/${device}`) ?? [];
    return { ...twin(tenant, device, ledger, this.link!.waveforms.get(`${tenant}/${device}`)?.length ?? 0), replies: replies.slice(-10) };
  }

  /** The pump's latest complete waveform, its samples as base64 float32 LE; null before any. */
  private waveform(params: URLSearchParams): unknown {
    const { tenant, device } = this.ledgerOf(params);
    const latest = this.link!.waveforms.get(`${tenant}/${device}`)?.at(-1);
    if (latest === undefined) return { waveform: null };
    const { samples, ...rest } = latest;
    const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    const log = this.link!.collectors.get(tenant)!.devices.get(device)!.telemetry;
    // The pack the pump published for this very window (its base time is the window's first sample).
    let window: Record<string, number | string> | null = null;
    for (let row = log.length - 1; row >= 0 && window === null; row--) {
      if (Math.abs(log.time(row) * 1000 - latest.t) >= 1) continue;
      const pack = log.at(row)!;
      window = { ...Object.fromEntries(pack.values), ...Object.fromEntries(pack.texts) };
    }
    return { waveform: { ...rest, samples: bytes.toString("base64"), count: samples.length }, window };
  }

  private async command(body: unknown): Promise<unknown> {
    if (this.link === undefined) throw new ConsoleError("unavailable", "the console is not connected to a broker yet");
    const command = checkCommand(body, this.link);
    try {
      const id = await this.link.send(command.tenant, command.device, command.cmd, command.args);
      return { id, tenant: command.tenant, device: command.device, cmd: command.cmd };
    } catch (error) {
      throw new ConsoleError("unavailable", (error as Error).message);
    }
  }
}

function json(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  response.end(JSON.stringify(body));
}

async function readJson(request: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request) {
    bytes += (chunk as Buffer).length;
    if (bytes > BODY_BYTES_MAX) throw new ConsoleError("bad_request", `a request body is at most ${BODY_BYTES_MAX} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new ConsoleError("bad_request", "the request body is not JSON");
  }
}
