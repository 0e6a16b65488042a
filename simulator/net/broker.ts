// The embedded broker: aedes on a loopback port, so a simulation needs nothing installed (any
// other broker is used by URL instead); in this process (aedes-broker.ts), or in a process of its
// own for more connections than this process has file descriptors for (broker-process.ts).

import { startInProcessBroker, type EmbeddedBroker } from "./aedes-broker.js";
import { BrokerProcess } from "./broker-process.js";

export type { EmbeddedBroker };

export interface BrokerOptions {
  host?: string;
  /** 0 (the default): a free port. */
  port?: number;
  persistence?: unknown;
  /** Run it in a process of its own (broker-process.ts): for more connections than this
   *  process has file descriptors for. A restart with its persistence stays in that process. */
  ownProcess?: boolean;
}

export async function startEmbeddedBroker(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? "127.0.0.1";
  if (options.persistence instanceof BrokerProcess) return options.persistence.listen(host, options.port ?? 0);
  if (options.ownProcess === true) return BrokerProcess.start(host, options.port ?? 0);
  return startInProcessBroker(host, options.port ?? 0, options.persistence);
}
