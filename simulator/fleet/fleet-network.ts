// The network a fleet runs on: the broker (any by URL, or the embedded one, in this process or
// its own), the embedded broker's in-process network for the pumps' connections when no socket
// is needed, and the independent collector that decodes what arrives. It takes the embedded
// broker down and back up for a scenario's broker outages, keeping its sessions. On the
// in-process network the operator's side (the collector, campaigns' update servers) connects
// over it too, from a port of its own: then every byte to and from the broker is counted.

import type { Duplex } from "node:stream";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { MessagePort } from "node:worker_threads";
import { identityBrokerUrl, identityOptions } from "../../host/link/identity.js";
import { Collector } from "../../operator/collector.js";
import { brokerUrlsOrSelf } from "../../protocol/brokers.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../net/broker.js";
import { LinkDialer, LinkHub } from "../net/link-hub.js";
import type { Scenario } from "../scenario/scenario.js";

export const DELIVERY_TIMEOUT_MS = 30_000;
/** Turns of the event loop the operator's side must be seen quiet in a row before it closes. */
const QUIET_TURNS = 3;
const CLOSE_TURNS_MAX = 10_000;
/** Connections (devices or gateways) the embedded broker takes inside this process; more, and
 *  it runs in a process of its own: both ends of a loopback connection in one process cost two
 *  file descriptors, and 20,000 is a common limit. */
const CONNECTIONS_WITH_BROKER_IN_PROCESS_MAX = 4000;

/** The run's options that choose the network (fleet.ts, SimulationOptions). */
export interface NetworkOptions {
  brokerUrl?: string;
  collectorUrl?: string;
  identities?: string;
  brokerProcess?: boolean;
  transport?: "hub" | "tcp";
}

export class FleetNetwork {
  private constructor(
    readonly brokerUrl: string,
    readonly collector: Collector,
    private embedded: EmbeddedBroker | undefined,
    private readonly hub: LinkHub | undefined,
    /** The operator's side's port onto the in-process network (the hub's first). */
    private readonly dialer: LinkDialer | undefined,
  ) {}

  /** Starts the embedded broker unless a broker is given (by URL, or the provisioned one of
   *  `identities`), and connects the collector of `shard` (SimulationOptions says what each
   *  option means). */
  static async open(scenario: Scenario, options: NetworkOptions, shard: { index: number; count: number }): Promise<FleetNetwork> {
    const externalUrl = options.brokerUrl ?? (options.identities !== undefined ? identityBrokerUrl(options.identities) : undefined);
    const connections = Math.ceil(Math.ceil(scenario.pumps / shard.count) / Math.max(1, scenario.devices_per_connection ?? 1));
    // On the embedded broker, devices connect over its in-process network (net/link-hub.ts) unless the
    // scenario's network (a TCP proxy) or their certificates (TLS) need sockets, or TCP is asked for.
    const hub = externalUrl === undefined && scenario.network === undefined && options.transport !== "tcp" && options.brokerProcess !== true
      ? new LinkHub() : undefined;
    const embedded = externalUrl === undefined
      ? await startEmbeddedBroker({ ownProcess: options.brokerProcess ?? (hub === undefined && connections > CONNECTIONS_WITH_BROKER_IN_PROCESS_MAX) })
      : undefined;
    if (hub !== undefined) embedded!.serve!(hub);
    const dialer = hub === undefined ? undefined : new LinkDialer(hub.port());
    const brokerUrl = externalUrl ?? embedded!.url;
    if (brokerUrlsOrSelf(brokerUrl).length > 1 && (scenario.network !== undefined || scenario.campaigns.length > 0)) {
      throw new Error("a scenario's network and campaigns need a single broker, not a list of a cluster's nodes");
    }
    if (scenario.broker_outages.length > 0 && embedded === undefined) {
      throw new Error("broker_outages need the embedded broker: an external broker cannot be stopped from here");
    }
    // Durable: what arrives while the collector is reconnecting after a broker outage waits for
    // it. Each shard's collector needs a session of its own on a shared broker.
    const collector = await Collector.connect(options.collectorUrl ?? brokerUrl, scenario.tenant, {
      durable: true, ...(shard.count > 1 ? { clientId: `collector.${scenario.tenant}.shard-${shard.index}-of-${shard.count}` } : {}),
      ...identityOptions(options.identities, `collector.${scenario.tenant}`),
      ...(dialer !== undefined ? { stream: () => dialer.dial() } : {}),
    });
    return new FleetNetwork(brokerUrl, collector, embedded, hub, dialer);
  }

  /** How the operator's side opens a connection on the in-process network; none over sockets. */
  get operatorStream(): (() => Duplex) | undefined {
    const dialer = this.dialer;
    return dialer === undefined ? undefined : () => dialer.dial();
  }

  /** Nothing on its way between the operator's side and the broker (always, over sockets:
   *  there is nothing here to count). */
  get operatorBalanced(): boolean {
    if (this.dialer === undefined || this.hub === undefined) return true;
    const mine = this.dialer.counters;
    const theirs = this.hub.portCounters[0];
    return mine.sent === theirs.received && mine.received === theirs.sent;
  }

  /** Records sent and received on each port of the in-process network (in the order they were
   *  handed out: one per group); none when devices use sockets. */
  get hubCounters(): { sent: number; received: number }[] | undefined {
    return this.hub?.portCounters.slice(1);
  }

  /** A port for a group's devices onto the in-process network; none when they use sockets. */
  hubPort(): MessagePort | undefined {
    return this.hub?.port();
  }

  /** The embedded broker goes down (its sessions kept), and the collector knows, as the pumps do. */
  async stopBroker(): Promise<void> {
    await this.embedded!.close();
    await this.collector.connection(false, DELIVERY_TIMEOUT_MS);
  }

  /** The embedded broker comes back on its port with its sessions and queued messages. */
  async restartBroker(): Promise<void> {
    this.embedded = await startEmbeddedBroker({ port: this.embedded!.port, persistence: this.embedded!.persistence });
    // The collector is back before the pumps are let in: what they say on reconnecting (deaths
    // of lost sessions, births) reaches it live and in order. From its offline queue, aedes
    // delivers it after newer messages, and a retained topic's older message can be lost. On
    // the in-process network the collector comes over it as well: the pumps' reconnections are
    // timers of the virtual clock, which stands still until the world has settled after this.
    if (this.hub !== undefined) this.embedded.serve!(this.hub);
    await this.collector.connection(true, DELIVERY_TIMEOUT_MS);
  }

  /** What is on its way to the operator's side over the in-process network (the deaths the
   *  pumps said last) has arrived: its port balanced, and the collector's count unchanged, for
   *  QUIET_TURNS turns in a row (at most CLOSE_TURNS_MAX turns). */
  private async quiet(): Promise<void> {
    if (this.dialer === undefined) return;
    let last = -1;
    for (let turn = 0, quiet = 0; turn < CLOSE_TURNS_MAX && quiet < QUIET_TURNS; turn++) {
      await yieldToEventLoop();
      const received = this.collector.received;
      quiet = this.operatorBalanced && received === last ? quiet + 1 : 0;
      last = received;
    }
  }

  async close(): Promise<void> {
    await this.quiet();
    await this.collector.close();
    await this.embedded?.end();
    this.dialer?.close();
    this.hub?.close();
  }
}
