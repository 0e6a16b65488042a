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

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
