// The simulator's in-process network between pumps and the embedded broker: every device still
// opens an MQTT connection of its own and the broker handles it as any other (aedes.handle on a
// stream), but the bytes cross threads in batches over a MessagePort instead of through the
// kernel's loopback sockets. A thousand devices on loopback TCP cost a system call and a wake-up
// of the other thread per packet each way; here one message per turn of the event loop carries
// every packet of that turn. The broker's side (LinkHub) lives in the broker's thread and hands
// out one port per thread of devices; a device's side (LinkDialer) opens connections over it.
//
// Wire format of a batch: one transferred ArrayBuffer of records
//   u32 connection id | u8 op | u32 length | length bytes,  little-endian,
// with op OPEN (a device dials; no bytes), DATA (a chunk of the MQTT byte stream) or CLOSE
// (either side hung up; no bytes). A connection's records keep their order, as TCP's bytes do.

import { Duplex } from "node:stream";
import { MessageChannel, type MessagePort } from "node:worker_threads";

const OP_OPEN = 1;
const OP_DATA = 2;
const OP_CLOSE = 3;
const RECORD_HEADER_BYTES = 9;
/** A batch's size at which it is sent at once rather than at the end of the turn. */
const BATCH_BYTES_MAX = 1 << 20;

/** One side of a port: records queued during a turn, sent as one transferred buffer. */
class PortEnd {
  private queued: { id: number; op: number; bytes: Uint8Array | undefined }[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private closed = false;
  /** Records sent and received on this port, so far: the fleet compares both ends' to know
   *  that nothing is on its way between them. */
  readonly counters = { sent: 0, received: 0 };
  private readonly flushLater = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly port: MessagePort, onRecord: (id: number, op: number, bytes: Buffer) => void) {
    port.on("message", (batch: ArrayBuffer) => {
      const view = new DataView(batch);
      for (let at = 0; at + RECORD_HEADER_BYTES <= batch.byteLength;) {
        const id = view.getUint32(at, true);
        const op = view.getUint8(at + 4);
        const length = view.getUint32(at + 5, true);
        at += RECORD_HEADER_BYTES;
        this.counters.received += 1;
        onRecord(id, op, Buffer.from(batch, at, length));
        at += length;
      }
    });
  }

  send(id: number, op: number, bytes?: Uint8Array): void {
    if (this.closed) return;
    this.counters.sent += 1;
    this.queued.push({ id, op, bytes });
    this.queuedBytes += RECORD_HEADER_BYTES + (bytes?.length ?? 0);
    if (this.queuedBytes >= BATCH_BYTES_MAX) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushLater);
    }
  }

  private flush(): void {
    if (this.queued.length === 0 || this.closed) return;
    const batch = new ArrayBuffer(this.queuedBytes);
    const view = new DataView(batch);
    const bytes = new Uint8Array(batch);
    let at = 0;
    for (const record of this.queued) {
      const length = record.bytes?.length ?? 0;
      view.setUint32(at, record.id, true);
      view.setUint8(at + 4, record.op);
      view.setUint32(at + 5, length, true);
      at += RECORD_HEADER_BYTES;
      if (record.bytes !== undefined) bytes.set(record.bytes, at);
      at += length;
    }
    this.queued = [];
    this.queuedBytes = 0;
    this.port.postMessage(batch, [batch]);
  }

  close(): void {
    this.flush();
    this.closed = true;
    this.port.close();
  }

  unref(): void {
    this.port.unref();
  }
}

/** One connection's end: what is written goes to the peer, what the peer wrote is read. */
class LinkStream extends Duplex {
  private peerClosed = false;

  constructor(private readonly portEnd: PortEnd, readonly id: number, private readonly onGone: () => void) {
    super({ allowHalfOpen: false });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.portEnd.send(this.id, OP_DATA, chunk);
    callback();
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    for (const { chunk } of chunks) this.portEnd.send(this.id, OP_DATA, chunk);
    callback();
  }

  /** end(): a CLOSE is the whole connection's end (the peer reads no more either), so the
   *  stream closes once its last writes are out, as a socket does after both FINs. */
  override _final(callback: (error?: Error | null) => void): void {
    this.hangUp();
    callback();
    process.nextTick(() => this.destroy());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.hangUp();
    callback(error);
  }

  /** The peer hung up: nothing more to read, and the stream is done (as a reset socket is). */
  peerHungUp(): void {
    this.peerClosed = true;
    this.onGone();
    this.push(null);
    this.destroy();
  }

  private hangUp(): void {
    this.onGone();
    if (this.peerClosed) return;
    this.peerClosed = true;
    this.portEnd.send(this.id, OP_CLOSE);
  }
}

/** The broker's side: accepts the connections devices open over its ports while it listens. */
export class LinkHub {
  private accept: ((stream: Duplex) => void) | undefined;
  private readonly streams = new Map<PortEnd, Map<number, LinkStream>>();
  /** Each port's end here, in the order the ports were handed out. */
  private readonly ends: PortEnd[] = [];
  /** Connections opened and refused (dialled while nothing listened) since the hub was made. */
  readonly counters = { opened: 0, refused: 0 };

  /** A new port for one thread of devices (transfer it to the thread's LinkDialer). */
  port(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    const streams = new Map<number, LinkStream>();
    const end: PortEnd = new PortEnd(port1, (id, op, bytes) => {
      if (op === OP_OPEN) {
        if (this.accept === undefined || streams.has(id)) {
          this.counters.refused += 1;
          end.send(id, OP_CLOSE);
          return;
        }
        this.counters.opened += 1;
        const stream = new LinkStream(end, id, () => streams.delete(id));
        streams.set(id, stream);
        this.accept(stream);
      } else if (op === OP_DATA) streams.get(id)?.push(bytes);
      else if (op === OP_CLOSE) streams.get(id)?.peerHungUp();
    });
    end.unref(); // the hub keeps no process alive: the broker's own listener does
    this.streams.set(end, streams);
    this.ends.push(end);
    return port2;
  }

  /** The broker is up: every connection opened from now on goes to `accept`. */
  listen(accept: (stream: Duplex) => void): void {
    this.accept = accept;
  }

  /** The broker is down: new connections are refused (the broker closes those it had). */
  unlisten(): void {
    this.accept = undefined;
  }

  /** Records sent and received on each port here, in the order the ports were handed out. */
  get portCounters(): { sent: number; received: number }[] {
    return this.ends.map((end) => ({ ...end.counters }));
  }

  /** Connections open now. */
  get connections(): number {
    let count = 0;
    for (const streams of this.streams.values()) count += streams.size;
    return count;
  }

  close(): void {
    this.accept = undefined;
    for (const [end, streams] of this.streams) {
      for (const stream of streams.values()) stream.destroy();
      end.close();
    }
    this.streams.clear();
  }
}

/** A thread's side: opens connections to the hub's broker over one port. */
export class LinkDialer {
  private readonly end: PortEnd;
  private readonly streams = new Map<number, LinkStream>();
  private nextId = 1;

  constructor(port: MessagePort) {
    this.end = new PortEnd(port, (id, op, bytes) => {
      if (op === OP_DATA) this.streams.get(id)?.push(bytes);
      else if (op === OP_CLOSE) this.streams.get(id)?.peerHungUp();
    });
    this.end.unref();
  }

  /** Records sent and received on this thread's port, so far. */
  get counters(): { sent: number; received: number } {
    return { ...this.end.counters };
  }

  /** A new connection to the broker; closed at once when the broker is not listening. */
  dial(): Duplex {
    const id = this.nextId++;
    const stream = new LinkStream(this.end, id, () => this.streams.delete(id));
    this.streams.set(id, stream);
    this.end.send(id, OP_OPEN);
    return stream;
  }

  close(): void {
    for (const stream of this.streams.values()) stream.destroy();
    this.end.close();
  }
}
