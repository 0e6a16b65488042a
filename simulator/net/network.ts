// A loopback TCP proxy between devices and their broker: the simulator's network. It adds
// latency, and it can cut every connection and refuse new ones for a while (a partition, a
// dead cellular link), then heal. Only loopback addresses are used.

import net from "node:net";

export interface ProxyOptions {
  /** One-way delay added to every chunk, in milliseconds. */
  latencyMs?: number;
}

export interface ProxyCounters {
  connections: number;
  refused: number;
  cuts: number;
  bytesToBroker: number;
  bytesToDevices: number;
}

export class LinkProxy {
  readonly counters: ProxyCounters = { connections: 0, refused: 0, cuts: 0, bytesToBroker: 0, bytesToDevices: 0 };
  private readonly sockets = new Set<net.Socket>();
  private partitioned = false;

  private constructor(private readonly server: net.Server, readonly port: number, private readonly options: ProxyOptions) {}

  static async start(targetPort: number, options: ProxyOptions = {}, targetHost = "127.0.0.1"): Promise<LinkProxy> {
    let proxy: LinkProxy | undefined;
    const server = net.createServer((device) => proxy!.accept(device, targetHost, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    proxy = new LinkProxy(server, (server.address() as net.AddressInfo).port, options);
    return proxy;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  private accept(device: net.Socket, host: string, port: number): void {
    if (this.partitioned) {
      this.counters.refused += 1;
      device.destroy();
      return;
    }
    this.counters.connections += 1;
    const broker = net.connect(port, host);
    for (const socket of [device, broker]) {
      this.sockets.add(socket);
      socket.on("error", () => socket.destroy());
      socket.on("close", () => {
        this.sockets.delete(socket);
        device.destroy();
        broker.destroy();
      });
    }
    this.forward(device, broker, "bytesToBroker");
    this.forward(broker, device, "bytesToDevices");
  }

  private forward(from: net.Socket, to: net.Socket, counter: "bytesToBroker" | "bytesToDevices"): void {
    const latency = this.options.latencyMs ?? 0;
    from.on("data", (chunk: Buffer) => {
      this.counters[counter] += chunk.length;
      // The same delay for every chunk keeps their order.
      if (latency > 0) setTimeout(() => { if (!to.destroyed) to.write(chunk); }, latency);
      else if (!to.destroyed) to.write(chunk);
    });
  }

  /** Drops every connection now and refuses new ones until heal(). */
  cut(): void {
    this.partitioned = true;
    this.counters.cuts += 1;
    for (const socket of this.sockets) socket.destroy();
  }

  heal(): void {
    this.partitioned = false;
  }

  get isCut(): boolean {
    return this.partitioned;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A scenario's network: latency for every pump, and partitions that cut some pumps off the
 *  broker for a time window of the virtual clock. */
export interface NetworkSpec {
  latency_ms?: number;
  partitions?: { start_day: number; minutes: number; pumps: number | string | number[] }[];
}

/** The proxies of one group of pumps: a shared one (latency only) and one per partition for
 *  the pumps it cuts off. A pump in several partitions follows the first that names it. */
export class GroupNetwork {
  private constructor(
    private readonly shared: LinkProxy,
    private readonly partitions: { proxy: LinkProxy; fromMs: number; untilMs: number; members: Set<number> }[],
    private readonly protocol: string,
  ) {}

  static async create(spec: NetworkSpec, startMs: number, members: (i: number) => number[], brokerUrl: string): Promise<GroupNetwork> {
    const target = new URL(brokerUrl);
    const port = Number(target.port);
    const options = { latencyMs: spec.latency_ms ?? 0 };
    const shared = await LinkProxy.start(port, options, target.hostname);
    const partitions = await Promise.all((spec.partitions ?? []).map(async (p, i) => ({
      proxy: await LinkProxy.start(port, options, target.hostname),
      fromMs: startMs + p.start_day * 86_400_000,
      untilMs: startMs + p.start_day * 86_400_000 + p.minutes * 60_000,
      members: new Set(members(i)),
    })));
    return new GroupNetwork(shared, partitions, target.protocol);
  }

  /** The URL pump `index` connects to. */
  urlFor(index: number): string {
    const partition = this.partitions.find((p) => p.members.has(index));
    return `${this.protocol}//127.0.0.1:${(partition?.proxy ?? this.shared).port}`;
  }

  /** Cuts or heals each partition for the virtual time `nowMs`. */
  apply(nowMs: number): void {
    for (const p of this.partitions) {
      if (nowMs >= p.fromMs && nowMs < p.untilMs) {
        if (!p.proxy.isCut) p.proxy.cut();
      } else if (p.proxy.isCut) p.proxy.heal();
    }
  }

  /** Proxy counters: how often partitions cut, and connections refused while they were cut. */
  get counters(): { cuts: number; refused: number } {
    const all = [this.shared, ...this.partitions.map((p) => p.proxy)];
    return { cuts: all.reduce((s, p) => s + p.counters.cuts, 0), refused: all.reduce((s, p) => s + p.counters.refused, 0) };
  }

  async close(): Promise<void> {
    await Promise.all([this.shared, ...this.partitions.map((p) => p.proxy)].map((proxy) => proxy.close()));
  }
}
