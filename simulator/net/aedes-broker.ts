// The embedded broker's mechanism: aedes in this process on a loopback port, its persistence
// (sessions, queued QoS 1 messages, retained messages) able to outlive it, so a broker outage can
// end in a restart that keeps them, as a broker with durable storage does.

import net from "node:net";
import { Readable } from "node:stream";
import { Aedes } from "aedes";
import { createRequire } from "node:module";
import type { LinkHub } from "./link-hub.js";

// aedes-persistence is CommonJS while its types declare an ES default export; require gives
// its classes themselves.
const require = createRequire(import.meta.url);
const { CallBackPersistence } = require("aedes-persistence/callBackPersistence.js") as {
  CallBackPersistence: new (factory: (options: object) => unknown, options?: object) => unknown;
};
const AsyncPersistence = require("aedes-persistence/asyncPersistence.js") as new (options: object) => MemoryPersistence;

interface RetainedPacket { topic: string; payload: { length: number } }
interface MemoryPersistence {
  storeRetained(packet: RetainedPacket): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): Readable;
  createRetainedStream(pattern: string): Readable;
}

/** aedes' memory persistence with its retained messages also indexed by topic. Its own lookup
 *  tests every retained topic against a subscription's pattern, so a fleet in which each device
 *  subscribes to its own command topic while every device's state is retained costs N² topic
 *  matches to connect (minutes at 10,000 pumps). A pattern without wildcards is one lookup here;
 *  a pattern with wildcards goes the original way. */
class IndexedRetainedPersistence extends AsyncPersistence {
  readonly #retained = new Map<string, RetainedPacket>();

  override async storeRetained(packet: RetainedPacket): Promise<void> {
    await super.storeRetained(packet);
    if (packet.payload.length === 0) this.#retained.delete(packet.topic);
    else this.#retained.set(packet.topic, { ...packet });
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    if (patterns.some(hasWildcard)) return super.createRetainedStreamCombi(patterns);
    return Readable.from(patterns.flatMap((pattern) => this.#exact(pattern)));
  }

  override createRetainedStream(pattern: string): Readable {
    return hasWildcard(pattern) ? super.createRetainedStream(pattern) : Readable.from(this.#exact(pattern));
  }

  #exact(topic: string): RetainedPacket[] {
    const packet = this.#retained.get(topic);
    return packet === undefined ? [] : [packet];
  }
}

const hasWildcard = (pattern: string): boolean => pattern.includes("+") || pattern.includes("#");

function memoryPersistence(): unknown {
  return new CallBackPersistence((options) => new IndexedRetainedPersistence(options));
}

/** Deliveries aedes' message emitter runs at once before it queues the rest. Its default, 100,
 *  overflows the stack in a burst from thousands of devices (births at connect, a step's
 *  telemetry): it drains its queue by recursion, one frame per queued message. Above the
 *  largest fleet a process runs, so a burst never queues. */
const DELIVERIES_IN_FLIGHT_MAX = 65_536;

export interface EmbeddedBroker {
  url: string;
  port: number;
  /** Pass to startEmbeddedBroker to restart with the same sessions and queued messages. */
  persistence: unknown;
  /** Stops the broker; its persistence can start it again. */
  close(): Promise<void>;
  /** Stops it for good (and its process, when it has one of its own). */
  end(): Promise<void>;
  /** Takes the connections devices open over this in-process network (link-hub.ts) from now
   *  until it stops. Not for a broker in a process of its own. */
  serve?(hub: LinkHub): void;
}

/** aedes in this process on `host`:`port` (0: a free port), over `persistence` (a fresh one when
 *  absent: pass a stopped broker's to restart it with its sessions and queued messages). */
export async function startInProcessBroker(host: string, port: number, persistence: unknown = memoryPersistence()): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker({ persistence, concurrency: DELIVERIES_IN_FLIGHT_MAX } as never);
  const server = net.createServer((socket) => {
    holdWritesUntilCheck(socket);
    aedes.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const listening = (server.address() as net.AddressInfo).port;
  let served: LinkHub | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    served?.unlisten();
    closing ??= Promise.all([
      new Promise<void>((resolve) => server.close(() => resolve())),
      new Promise<void>((resolve) => aedes.close(() => resolve())),
    ]).then(() => undefined);
    return closing;
  };
  return {
    url: `mqtt://${host}:${listening}`,
    port: listening,
    persistence,
    close,
    end: close,
    serve: (hub) => {
      served = hub;
      hub.listen((stream) => aedes.handle(stream as never));
    },
  };
}

/** Holds a connection's writes from the first one in a turn of the event loop until its check
 *  phase, so what aedes forwards to one subscriber from a thousand publishers' packets leaves
 *  in a few writes, not a system call each (mqtt-packet corks only within one packet). */
function holdWritesUntilCheck(socket: net.Socket): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let held = false;
  const release = (): void => {
    held = false;
    if (!socket.destroyed) socket.uncork();
  };
  socket.write = ((...args: unknown[]): boolean => {
    if (!held && !socket.destroyed) {
      held = true;
      socket.cork();
      setImmediate(release);
    }
    return write(...args);
  }) as typeof socket.write;
}
