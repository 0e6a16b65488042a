// The embedded broker: aedes in this process on a loopback port, so a simulation needs nothing
// installed. Any other broker is used by URL instead. Its persistence (sessions, queued QoS 1
// messages, retained messages) can outlive it, so a broker outage can end in a restart that
// keeps them, as a broker with durable storage does.

import net from "node:net";
import { Aedes } from "aedes";
import { createRequire } from "node:module";

// aedes-persistence is CommonJS (module.exports = factory) while its types declare an ES
// default export; require gives the factory itself.
const memoryPersistence = createRequire(import.meta.url)("aedes-persistence") as () => unknown;

export interface EmbeddedBroker {
  url: string;
  port: number;
  /** Pass to startEmbeddedBroker to restart with the same sessions and queued messages. */
  persistence: unknown;
  close(): Promise<void>;
}

export interface BrokerOptions {
  host?: string;
  /** 0 (the default): a free port. */
  port?: number;
  persistence?: unknown;
}

export async function startEmbeddedBroker(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? "127.0.0.1";
  const persistence = options.persistence ?? memoryPersistence();
  const aedes = await Aedes.createBroker({ persistence } as never);
  const server = net.createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `mqtt://${host}:${port}`,
    port,
    persistence,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await closed;
    },
  };
}
