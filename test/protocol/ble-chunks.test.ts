// The BLE chunking and reassembly rules on their own (protocol/ble.ts): every chunk fits
// MTU − 3 bytes, messages of every size come back whole, and lost, reordered, foreign, stalled
// and malformed chunks are refused with typed errors, one per broken message.

import { describe, expect, it } from "vitest";
import {
  BLE_MESSAGE_BYTES_MAX, chunkMessage, chunkPayloadBytes, CHUNK_FIRST, CHUNK_LAST, decodeBleReply, encodeLinkError, Reassembler,
} from "../../protocol/ble.js";
import { encodeCbor } from "../../protocol/cbor.js";
import { ProtocolError } from "../../protocol/errors.js";

function bytes(count: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => (i * 31 + seed * 7) & 0xff);
}

function reassembleAll(reassembler: Reassembler, chunks: Uint8Array[]): Uint8Array[] {
  const messages: Uint8Array[] = [];
  for (const chunk of chunks) {
    const message = reassembler.push(chunk);
    if (message !== undefined) messages.push(message);
  }
  return messages;
}

function protocolError(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof ProtocolError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a ProtocolError");
}

describe("chunking and reassembly", () => {
  it("fits every chunk in MTU − 3 bytes and puts messages of every size back together", () => {
    for (const mtu of [23, 24, 185, 247, 517]) {
      const reassembler = new Reassembler();
      for (const size of [1, 2, chunkPayloadBytes(mtu) - 2, chunkPayloadBytes(mtu) - 1, chunkPayloadBytes(mtu) + 5, 1000, BLE_MESSAGE_BYTES_MAX]) {
        const message = bytes(size, size);
        const chunks = chunkMessage(message, mtu, size & 0xff);
        expect(chunks.every((chunk) => chunk.length <= mtu - 3)).toBe(true);
        expect(reassembleAll(reassembler, chunks)).toEqual([message]);
      }
    }
  });

  it("frames a message as flags, counter, index, then the length on the first chunk", () => {
    const chunks = chunkMessage(bytes(40), 23, 9);
    expect(chunks.map((chunk) => [...chunk.subarray(0, 3), chunk.length])).toEqual([
      [CHUNK_FIRST, 9, 0, 20], [0, 9, 1, 20], [CHUNK_LAST, 9, 2, 11],
    ]);
    expect([...chunks[0].subarray(3, 5)]).toEqual([0, 40]);
    expect([...chunkMessage(bytes(3), 23, 1)[0]]).toEqual([CHUNK_FIRST | CHUNK_LAST, 1, 0, 0, 3, ...bytes(3)]);
  });

  it("refuses to chunk an empty or oversized message", () => {
    expect(protocolError(() => chunkMessage(new Uint8Array(0), 23, 0))).toEqual({ code: "bad_message", message: "an empty message cannot be sent: a CBOR item was expected" });
    expect(protocolError(() => chunkMessage(new Uint8Array(2049), 23, 0))).toEqual({ code: "oversized", message: "message of 2049 bytes exceeds the BLE limit of 2048 bytes" });
    expect(() => chunkMessage(bytes(4), 22, 0)).toThrow(RangeError);
  });

  it("rejects lost, reordered, foreign and malformed chunks with typed errors, one per broken message", () => {
    const reassembler = new Reassembler();
    const [a0, a1, a2] = chunkMessage(bytes(40), 23, 5);
    const [b0] = chunkMessage(bytes(40), 23, 6);
    const cases: [Uint8Array[], string, string][] = [
      [[Uint8Array.of(0, 9, 1, 0xaa)], "ble_out_of_order", "chunk 1 of message 9 arrived but no message was started: its first chunk was lost"],
      [[a0, a2], "ble_out_of_order", "chunk 2 of message 5 arrived where chunk 1 was expected: a chunk was lost or reordered"],
      [[b0, a1], "ble_out_of_order", "chunk of message 5 arrived inside message 6"],
      [[Uint8Array.of(1, 2)], "ble_bad_chunk", "chunk of 2 bytes is shorter than the 3-byte header"],
      [[Uint8Array.of(0x81, 7, 0, 0, 1, 0)], "ble_bad_chunk", "chunk flags 0x81 set reserved bits: only first (0x01) and last (0x02) exist"],
      [[Uint8Array.of(CHUNK_FIRST, 7, 0, 0)], "ble_bad_chunk", "first chunk of message 7 has no 2-byte length after its header"],
      [[Uint8Array.of(CHUNK_FIRST, 7, 3, 0, 1, 0)], "ble_bad_chunk", "first chunk of message 7 has index 3, not 0"],
      [[Uint8Array.of(CHUNK_FIRST | CHUNK_LAST, 7, 0, 0, 0)], "ble_bad_chunk", "message 7 declares a length of 0 bytes"],
      [[Uint8Array.of(CHUNK_FIRST | CHUNK_LAST, 7, 0, 0, 2, 0xf5)], "ble_bad_chunk", "message 7 ends at 1 of its declared 2 bytes"],
      [[Uint8Array.of(CHUNK_FIRST, 7, 0, 0, 1, 0xf5)], "ble_bad_chunk", "message 7 is complete at 1 bytes but its chunk is not marked last"],
      [[Uint8Array.of(CHUNK_FIRST | CHUNK_LAST, 7, 0, 0, 1, 0xf5, 0xf6)], "ble_bad_chunk", "message 7 runs past its declared 1 bytes"],
      [[Uint8Array.of(CHUNK_FIRST, 7, 0, 0x08, 0x01)], "oversized", "message 7 of 2049 bytes exceeds the limit of 2048 bytes"],
    ];
    for (const [chunks, code, message] of cases) {
      expect(protocolError(() => reassembleAll(reassembler, chunks))).toEqual({ code, message });
      expect(reassembler.pending).toBe(false);
    }
    // The rest of a failed message is dropped quietly; the next message goes through.
    const oversized = chunkMessage(bytes(3000), 23, 8, 65535);
    expect(protocolError(() => reassembler.push(oversized[0])).code).toBe("oversized");
    expect(reassembleAll(reassembler, oversized.slice(1))).toEqual([]);
    expect(reassembler.discardedChunks).toBe(oversized.length - 1);
    expect(reassembleAll(reassembler, [a0, a1, a2])).toEqual([bytes(40)]);
  });

  it("drops a message that stalls longer than the timeout", () => {
    let nowMs = 0;
    const reassembler = new Reassembler({ timeoutMs: 1000, clock: () => nowMs });
    const [c0, c1, c2] = chunkMessage(bytes(40), 23, 3);
    expect(reassembler.msToExpiry).toBeUndefined();
    reassembler.push(c0);
    expect(reassembler.msToExpiry).toBe(1000);
    nowMs = 999;
    // A timer that fires a millisecond early by this clock finds what is left, not the end.
    expect(reassembler.expire()).toBeUndefined();
    expect(reassembler.msToExpiry).toBe(1);
    reassembler.push(c1);
    nowMs = 1000;
    expect(reassembler.msToExpiry).toBe(0);
    const expired = reassembler.expire();
    expect([expired?.code, expired?.message]).toEqual(["ble_timeout", "message 3 stalled at 32 of 40 bytes for 1000 ms; send it again"]);
    expect(reassembler.msToExpiry).toBeUndefined();
    expect(reassembler.push(c2)).toBeUndefined(); // its tail is dropped quietly
    reassembler.push(c0);
    nowMs = 2500;
    expect(protocolError(() => reassembler.push(c1))).toEqual({ code: "ble_timeout", message: "message 3 took longer than 1000 ms; send it again" });
  });

  it("a new first chunk replaces an unfinished message", () => {
    const reassembler = new Reassembler();
    const [a0] = chunkMessage(bytes(40), 23, 1);
    reassembler.push(a0);
    expect(reassembleAll(reassembler, chunkMessage(bytes(30, 2), 23, 2))).toEqual([bytes(30, 2)]);
    expect(reassembler.abandoned).toBe(1);
  });

  it("tells a link error reply from a firmware reply", () => {
    expect(decodeBleReply(encodeLinkError("oversized", "too big"))).toEqual({ kind: "link_error", error: { ok: false, error: "oversized", msg: "too big" } });
    expect(decodeBleReply(encodeCbor(new Map<string, unknown>([["id", 3], ["ok", false], ["error", -9]])))).toEqual({ kind: "reply", reply: { id: 3, ok: false, error: -9 } });
    expect(protocolError(() => decodeBleReply(encodeCbor(new Map<string, unknown>([["ok", true], ["error", "x"], ["msg", "y"]])))).code).toBe("bad_message");
  });
});
