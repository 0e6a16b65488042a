// One device's native side: boots the firmware with its configuration under a supervisor
// (reboots on faults, gives up on a firmware that keeps faulting), feeds it samples, puts what
// it publishes into the outbox, reports faults and outbox drops as events through that same
// outbox, and carries the outbox over an MQTT link.

import type { IClientOptions } from "mqtt";
import { encodeCbor } from "../../protocol/cbor.js";
import { framable } from "../../protocol/framing.js";
import {
  decodeEvent, decodeFirmwareConfig, encodeFirmwareConfig, encodeHostEvent, MESSAGE_KINDS, type DeviceEvent, type FirmwareConfig,
} from "../../protocol/messages.js";
import type { DataPolicy } from "../../protocol/state.js";
import type { TopicKind } from "../../protocol/topics.js";
import { MqttLink, type DeviceLink, type MqttLinkOptions } from "../link/mqtt-link.js";
import type { ChannelOptions, Gateway } from "../link/shared-link.js";
import { FileOutbox, type FileOutboxOptions, type OutboxDrop } from "../outbox/file-outbox.js";
import { MemoryOutbox, type Outbox } from "../outbox/outbox.js";
import { ABI_VERSION } from "../runtime/abi.js";
import { FirmwareError, type CompiledFirmware, type FaultKind, type FirmwareHost } from "../runtime/firmware.js";
import { InlineRuntime, type FirmwareRuntime, type Isolation, type RuntimeCall } from "../runtime/runtime.js";
import { Supervisor, type FailureReport, type FaultReport } from "../runtime/supervisor.js";
import { WorkerRuntime } from "../runtime/worker-runtime.js";
import type { DeviceStorage } from "../storage/storage.js";
import { commandId, STATUS_BAD_ARGUMENT, STATUS_NO_ROOM, STATUS_NOT_RUNNING, STATUS_REBOOT_REQUESTED, updateCommand } from "./commands.js";
import { HostEventQueue, outboxDropEvent } from "./host-events.js";
import { countFault, HOST_STORAGE_SENSORS, nextSession } from "./host-records.js";

/** A refused command's error event is published at most once per this interval. */
const REFUSAL_EVENT_INTERVAL_MS = 1000;

export type LogSink = (device: string, level: number, text: string) => void;

export interface DeviceOptions {
  tenant: string;
  config: FirmwareConfig;
  firmware: CompiledFirmware;
  /** The device's persistent records: FileStorage on a real device, MemoryStorage simulated. */
  storage: DeviceStorage;
  /** Milliseconds: the device's clock (real or virtual). */
  clock: () => number;
  /** "memory" (default), a durable FileOutbox in `directory` (its onDrop is the device's), or
   *  an outbox of the caller's. */
  outbox?: "memory" | { directory: string; options?: Omit<FileOutboxOptions, "onDrop"> } | Outbox;
  /** "worker" (default): supervised, every call under a time budget. "inline": this thread,
   *  fastest, traps contained but a firmware that never returns blocks the process. */
  isolation?: Isolation;
  /** Worker time budget of a call, and of particular calls (host/runtime/worker-runtime.ts). */
  budgetMs?: number;
  budgetsMs?: Partial<Record<RuntimeCall, number>>;
  /** Fault limit before the device is failed (host/runtime/supervisor.ts). */
  faultsMax?: number;
  faultWindowMs?: number;
  /** The firmware boots on trial (host/update/update-agent.ts): its first fault stops it (the
   *  supervisor's limit is 1) until endTrial() restores faultsMax. */
  trial?: boolean;
  log?: LogSink;
  /** Told every message the firmware publishes, once it is in the outbox (a local observer,
   *  such as a simulated maintenance planner). */
  onMessage?: (kind: TopicKind, bytes: Uint8Array) => void;
}

/** Where the update agent hooks in: commands "update" and "block" go to it, not to the
 *  firmware (also when the firmware is failed: a new image is how a failed device recovers). */
export interface UpdateHook {
  handleCommand(command: Map<unknown, unknown>, bytes: Uint8Array): Promise<number>;
}

export interface DeviceCounters {
  published: number;
  refused: number;
  processErrors: number;
  /** Reboots asked for by the firmware's "reboot" command. */
  reboots: number;
  /** Faults since this Device started (the totals across restarts are in storage). */
  faults: Record<FaultKind, number>;
  /** Batches and ticks not run because the device is failed. */
  skipped: number;
  /** Commands the host answered itself (too large, empty, or the firmware not running). */
  commandsRefused: number;
  /** Host events the outbox refused; they stay queued and go out once there is room. */
  reportsDeferred: number;
}

export class Device {
  readonly counters: DeviceCounters = {
    published: 0, refused: 0, processErrors: 0, reboots: 0, faults: { trap: 0, memory: 0, hang: 0 },
    skipped: 0, commandsRefused: 0, reportsDeferred: 0,
  };
  readonly outbox: Outbox;
  /** Replaced when the update agent swaps the image (swapFirmware). */
  supervisor: Supervisor;
  /** Its own MQTT connection (connect), or a channel of a gateway's (connectVia). */
  link: DeviceLink | undefined;
  /** The update agent, when the device has one. */
  update: UpdateHook | undefined;
  /** The image running (or last booted). */
  firmware: CompiledFirmware;
  /** The last fault the supervisor handled, with how long its call ran. */
  lastFault: FaultReport | undefined;
  /** Host events not yet in the outbox, oldest first. */
  private readonly reports = new HostEventQueue();
  /** Where the replies of the command running now go, when it came over a local link. */
  private replyTo: ((reply: Uint8Array) => void) | undefined;

  private constructor(readonly options: DeviceOptions) {
    this.outbox = this.openOutbox();
    this.firmware = options.firmware;
    this.supervisor = this.createSupervisor(this.createRuntime(options.firmware), options.trial === true ? 1 : options.faultsMax);
  }

  private createSupervisor(runtime: FirmwareRuntime, faultsMax: number | undefined): Supervisor {
    const { options } = this;
    return new Supervisor({
      runtime,
      config: () => encodeFirmwareConfig(options.config),
      clock: options.clock,
      faultsMax,
      faultWindowMs: options.faultWindowMs,
      onFault: (fault) => this.onFault(fault),
      onFailed: (failure) => this.onFailed(failure),
    });
  }

  get id(): string {
    return this.options.config.device;
  }

  get isolation(): Isolation {
    return this.supervisor.runtime.isolation;
  }

  /** The supervisor gave up on the firmware: nothing runs until reset(). */
  get failed(): boolean {
    return this.supervisor.state === "failed";
  }

  /** The running firmware's version. */
  get firmwareVersion(): number {
    return this.supervisor.version;
  }

  /**
   * Opens the outbox, starts the firmware and initialises it with the device's configuration.
   * The host checks the configuration first, as the firmware will: one out of range throws
   * ProtocolError "bad_message" naming the field and its range (the firmware would only answer
   * bad_config). One the firmware still refuses throws FirmwareError "status"; a firmware that
   * faults is rebooted and, if it keeps faulting, leaves the device failed (see `failed`).
   */
  static async boot(options: DeviceOptions): Promise<Device> {
    decodeFirmwareConfig(encodeFirmwareConfig(options.config)); // the bytes the firmware will read, checked as it will
    const device = new Device(options);
    try {
      await device.supervisor.boot();
    } catch (error) {
      await device.shutdown();
      throw error;
    }
    device.flushReports();
    return device;
  }

  private openOutbox(): Outbox {
    const { outbox } = this.options;
    if (outbox === undefined || outbox === "memory") return new MemoryOutbox();
    if ("directory" in outbox) {
      return FileOutbox.open(outbox.directory, { ...outbox.options, onDrop: (drop) => this.onDrop(drop) });
    }
    return outbox;
  }

  private createRuntime(firmware: CompiledFirmware): FirmwareRuntime {
    const { options } = this;
    const host: FirmwareHost = {
      clockMs: options.clock,
      log: (level, text) => options.log?.(options.config.device, level, text),
      publish: (kind, bytes) => this.accept(kind, bytes),
      // The sensor mailbox lives in memory beside the storage: a reading is not worth a flash write.
      storage: {
        read: (key) => (key === HOST_STORAGE_SENSORS ? this.sensors : options.storage.read(key)),
        write: (key, bytes) => {
          if (key === HOST_STORAGE_SENSORS) throw new RangeError("the sensor mailbox is the host's to write");
          options.storage.write(key, bytes);
        },
      },
    };
    if (options.isolation === "inline") return new InlineRuntime(firmware, host);
    if (options.isolation !== undefined && options.isolation !== "worker") throw new RangeError(`isolation ${String(options.isolation)} is not "worker" or "inline"`);
    return new WorkerRuntime(firmware, host, { budgetMs: options.budgetMs, budgetsMs: options.budgetsMs });
  }

  private accept(kind: number, bytes: Uint8Array): boolean {
    const topicKind = MESSAGE_KINDS.get(kind);
    if (topicKind === undefined) {
      this.options.log?.(this.id, 3, `firmware published unknown message kind ${kind}; refused`);
      return false;
    }
    if (!framable(topicKind, bytes)) {
      // Its sequence number travels inside the pack's first record: without one it cannot be sent.
      this.options.log?.(this.id, 3, "firmware published telemetry that is not a SenML pack whose first record is a map; refused");
      this.counters.refused += 1;
      return false;
    }
    if (topicKind === "reply" && this.replyTo !== undefined) {
      try {
        this.replyTo(bytes.slice());
      } catch (error) {
        this.options.log?.(this.id, 3, `a reply for the local link was lost: ${(error as Error).message}`);
      }
      this.counters.published += 1;
      return true;
    }
    const sequence = this.outbox.append(topicKind, bytes);
    if (sequence === undefined) {
      this.counters.refused += 1;
      return false;
    }
    this.counters.published += 1;
    if (topicKind === "event") this.notePolicy(bytes);
    this.options.onMessage?.(topicKind, bytes);
    // Only appended here, inside the firmware's own call (on the worker path the worker waits
    // in Atomics.wait for this answer): the link is pumped once the call has returned.
    this.appended = true;
    return true;
  }

  /** Messages the firmware appended during a call, not pumped to the link yet. */
  private appended = false;

  /** A firmware call through the supervisor, then the link pumped for what it appended. */
  private async runFirmware<T>(name: RuntimeCall, call: (runtime: FirmwareRuntime) => Promise<T>): Promise<T | undefined> {
    try {
      return await this.supervisor.run(name, call);
    } finally {
      this.pumpAppended();
    }
  }

  private pumpAppended(): void {
    if (!this.appended) return;
    this.appended = false;
    this.link?.pump();
  }

  /** The latest readings besides vibration, in the sensor mailbox's layout. */
  private sensors: Uint8Array | undefined;

  /** The bearing-housing temperature in °C read at `atMs` (Unix ms): the next window the
   *  firmware analyses within an hour of it publishes it, and its rise over the baseline. */
  sense(temperatureC: number, atMs: number): void {
    if (!Number.isFinite(temperatureC) || !Number.isFinite(atMs)) throw new RangeError(`a temperature reading needs finite numbers, not ${temperatureC} at ${atMs}`);
    this.sensors ??= new Uint8Array(16);
    const view = new DataView(this.sensors.buffer);
    view.setFloat64(0, temperatureC, true);
    view.setFloat64(8, atMs, true);
  }

  /** The owner's data policy the firmware last reported; the birth carries it. */
  policy: DataPolicy | undefined;

  private notePolicy(bytes: Uint8Array): void {
    let event: DeviceEvent;
    try {
      event = decodeEvent(bytes);
    } catch {
      return; // not every event is for the host to read; the collector will say what is wrong
    }
    if (event.event !== "policy" || !event.provisioned) return;
    this.policy = { waveform: event.waveform, detail: event.detail };
    this.link?.announce(); // the retained birth says what may leave this device now
  }

  /** Feeds samples taken from `timestampMs` on; returns the messages the firmware published
   *  (0 when the batch was refused, the firmware faulted on it, or the device is failed). */
  async feed(samples: Float32Array, timestampMs: number): Promise<number> {
    this.flushReports();
    if (this.failed) {
      this.counters.skipped += 1;
      return 0;
    }
    try {
      const published = await this.runFirmware("process", (runtime) => runtime.process(samples, timestampMs, this.options.config.rate_hz));
      return published ?? 0;
    } catch (error) {
      if (error instanceof FirmwareError && error.code === "status") {
        this.counters.processErrors += 1;
        return 0;
      }
      throw error;
    } finally {
      this.flushReports();
    }
  }

  /**
   * Hands a command to the firmware and returns its status; the firmware replies itself. The
   * host answers instead, with the same reply shape, when the command cannot reach the firmware:
   * larger than its inbox (-6 no room), or the firmware not running (failed, or it faulted on
   * this command: -1). Like the firmware, it replies only when the command's id is readable.
   * A "reboot" (status 1) restarts the firmware once its reply is out.
   *
   * `replyTo`: the command came over a local link (BLE), so its replies go back there instead
   * of into the outbox; what else the firmware publishes meanwhile (events) still goes out.
   */
  async handleCommand(bytes: Uint8Array, replyTo?: (reply: Uint8Array) => void): Promise<number> {
    this.flushReports();
    try {
      if (bytes.length === 0) return this.refuseCommand(bytes, STATUS_BAD_ARGUMENT, "an empty command", replyTo);
      const update = this.update === undefined ? undefined : updateCommand(bytes);
      if (update !== undefined && this.update !== undefined) return await this.update.handleCommand(update, bytes);
      if (this.failed) return this.refuseCommand(bytes, STATUS_NOT_RUNNING, "the firmware is not running (the device is failed)", replyTo);
      let status: number | undefined;
      try {
        // Calls run one at a time: only this command's replies are published while it runs.
        status = await this.runFirmware("handleMessage", async (runtime) => {
          this.replyTo = replyTo;
          try {
            return await runtime.handleMessage(bytes);
          } finally {
            this.replyTo = undefined;
          }
        });
      } catch (error) {
        if (error instanceof FirmwareError && error.code === "bad_input") return this.refuseCommand(bytes, STATUS_NO_ROOM, error.message, replyTo);
        throw error;
      }
      if (status === undefined) return this.refuseCommand(bytes, STATUS_NOT_RUNNING, "the firmware faulted on the command", replyTo);
      if (status === STATUS_REBOOT_REQUESTED) await this.reboot();
      return status;
    } finally {
      this.flushReports();
    }
  }

  private refuseCommand(bytes: Uint8Array, status: number, why: string, replyTo?: (reply: Uint8Array) => void): number {
    this.counters.commandsRefused += 1;
    const id = commandId(bytes);
    this.options.log?.(this.id, 2, `command ${id ?? "without a readable id"} of ${bytes.length} bytes refused (${status}): ${why}`);
    if (id !== undefined) {
      const reply = encodeCbor(new Map<string, unknown>([["id", id], ["ok", false], ["error", status]]));
      if (replyTo !== undefined) replyTo(reply);
      else if (this.outbox.append("reply", reply) === undefined) this.counters.refused += 1;
      else this.link?.pump();
    }
    // And an error event, at most one a second: a flood of bad commands is not a flood of events.
    const now = this.options.clock();
    if (now - this.lastRefusalEventMs >= REFUSAL_EVENT_INTERVAL_MS) {
      this.lastRefusalEventMs = now;
      this.reports.queue({ event: "error", code: status, what: "command" });
      this.flushReports();
    }
    return status;
  }

  private lastRefusalEventMs = -Infinity;

  /** Restarts the firmware: a new instance of the same module, the same storage and outbox. */
  async reboot(): Promise<void> {
    await this.supervisor.reboot();
    this.counters.reboots += 1;
    this.flushReports();
  }

  /**
   * Stops the running firmware and boots `firmware` in its place: a new runtime (a fresh worker)
   * and supervisor, the same configuration, storage, outbox and link; the update agent's reboot
   * into another image. `trial`: the first fault stops it (see DeviceOptions.trial). Resolves
   * to whether it runs; the birth on the link is published again with its version.
   */
  async swapFirmware(firmware: CompiledFirmware, options: { trial?: boolean } = {}): Promise<boolean> {
    const previous = this.supervisor;
    await previous.run("version", async () => undefined); // let a call under way finish
    await previous.runtime.close();
    this.firmware = firmware;
    this.supervisor = this.createSupervisor(this.createRuntime(firmware), options.trial === true ? 1 : this.options.faultsMax);
    try {
      await this.supervisor.boot();
      this.pumpAppended();
    } catch (error) {
      if (!(error instanceof FirmwareError)) throw error;
      this.options.log?.(this.id, 3, `the new image did not start: ${error.message}`);
      this.supervisor.state = "failed";
    }
    this.counters.reboots += 1;
    this.flushReports();
    this.link?.announce();
    return this.supervisor.state === "running";
  }

  /** The trial is over (the image was confirmed): the supervisor's usual fault limit again,
   *  for the instance that runs (no reboot). */
  endTrial(): void {
    const previous = this.supervisor;
    const next = this.createSupervisor(previous.runtime, this.options.faultsMax);
    next.state = previous.state;
    next.version = previous.version;
    this.supervisor = next;
  }

  /** Boots a failed device again, its fault history forgotten (an operator's decision). */
  async reset(): Promise<void> {
    await this.supervisor.reset();
    this.flushReports();
  }

  async tick(): Promise<void> {
    this.flushReports();
    if (this.failed) {
      this.counters.skipped += 1;
      return;
    }
    try {
      await this.runFirmware("tick", (runtime) => runtime.tick(this.options.clock()));
    } finally {
      this.flushReports();
    }
  }

  async selfTest(): Promise<number | undefined> {
    try {
      return await this.runFirmware("selfTest", (runtime) => runtime.selfTest());
    } finally {
      this.flushReports();
    }
  }

  private onFault(fault: FaultReport): void {
    this.counters.faults[fault.kind] += 1;
    this.lastFault = fault;
    const count = countFault(this.options.storage, fault.kind, (error) => {
      this.options.log?.(this.id, 3, `fault counter could not be stored: ${(error as Error).message}`);
    });
    const after = fault.rebooted ? "rebooted" : "not rebooted";
    this.options.log?.(this.id, 3, `firmware fault (${fault.kind}) in ${fault.call} after ${fault.elapsedMs.toFixed(0)} ms, ${after}: ${fault.reason}`);
    this.reports.queue({ event: "fault", fault: fault.kind, reason: fault.reason, count });
  }

  private onFailed(failure: FailureReport): void {
    this.options.log?.(this.id, 3, `firmware failed, no more reboots: ${failure.reason}`);
    this.reports.queue({ event: "failed", faults: failure.faults, window_s: Math.round(failure.windowMs / 1000), reason: failure.reason });
  }

  /** Called by the FileOutbox from inside append(): only queued here, published by flushReports. */
  private onDrop(drop: OutboxDrop): void {
    if (this.reports.appending && drop.reason !== "thinned") return; // our own report refused: it stays queued
    const report = outboxDropEvent(drop);
    this.options.log?.(this.id, 2, `outbox ${drop.reason}: ${report.messages} messages, ${drop.bytes} bytes`);
    this.reports.queue(report);
  }

  /** The update agent refused an offer: an error event (code -13, forbidden) on the event topic
   *  besides the update status, so a forged offer is as visible as a forged command. */
  reportRefusedOffer(): void {
    this.reports.queue({ event: "error", code: -13, what: "update" });
    this.flushReports();
  }

  /** Appends queued host events to the outbox, oldest first, while it takes them. */
  private flushReports(): void {
    const ran = this.reports.drain(
      (event) => this.outbox.append("event", encodeHostEvent(event)) !== undefined,
      () => (this.counters.published += 1),
      () => (this.counters.reportsDeferred += 1),
    );
    if (ran) this.link?.pump();
  }

  /** What either kind of link needs of the device. */
  private linkOptions(): ChannelOptions {
    return {
      tenant: this.options.tenant,
      device: this.id,
      nextSession: () => nextSession(this.options.storage),
      firmwareVersion: () => this.firmwareVersion,
      policy: () => this.policy,
      abiVersion: ABI_VERSION,
      outbox: this.outbox,
      onLog: (level, text) => this.options.log?.(this.id, level, text),
      onCommand: (payload) => {
        this.handleCommand(payload).catch((error: unknown) => {
          this.options.log?.(this.id, 3, `command could not be handled: ${(error as Error).message}`);
        });
      },
    };
  }

  /** Opens the MQTT link: birth, then the outbox, then whatever the firmware publishes next. */
  async connect(url: string, client?: IClientOptions, extra: Partial<Pick<MqttLinkOptions, "backoff" | "random" | "inFlightMax" | "sentUpTo" | "stream" | "timers">> = {}): Promise<MqttLink> {
    const link = new MqttLink({ ...this.linkOptions(), url, client, ...extra });
    this.link = link;
    await link.connect();
    return link;
  }

  /** Goes through a gateway's shared connection instead of one of its own (host/link/shared-link.ts):
   *  the same topics, outbox and sequence numbers; the gateway publishes its birth and death. */
  connectVia(gateway: Gateway, extra: Partial<Pick<ChannelOptions, "inFlightMax" | "sentUpTo">> = {}): DeviceLink {
    const link = gateway.attach({ ...this.linkOptions(), ...extra });
    this.link = link;
    return link;
  }

  /** Closes the link, stops the firmware (and its worker) and closes a FileOutbox. */
  async close(): Promise<void> {
    await this.link?.close();
    this.link = undefined;
    await this.shutdown();
  }

  /**
   * The power is gone: the link drops without a goodbye (on its own connection the broker
   * publishes the Will; through a gateway the gateway publishes the death), the firmware stops,
   * and what was only in memory is lost (host events not yet in the outbox among it). What
   * survives is what the caller keeps: the storage, and an outbox in flash (a FileOutbox, or an
   * Outbox object passed in that outlives this Device); Device.boot on them is the next life.
   */
  async powerOff(): Promise<void> {
    this.link?.abort();
    this.link = undefined;
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    await this.supervisor.runtime.close();
    if (this.outbox instanceof FileOutbox) this.outbox.close();
  }
}

