// Rewrites a WebAssembly module's memory section, for tests of the host's memory cap: the same
// firmware with no declared maximum, or with a larger one.

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function readUleb(bytes: Uint8Array, offset: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[offset++];
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result >>> 0, offset];
    shift += 7;
  }
}

/** `bytes` with its one memory declared as `initial` pages and `maximum` (none when undefined). */
export function withMemoryLimits(bytes: Uint8Array, initial: number, maximum: number | undefined): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let offset = 8;
  let replaced = false;
  while (offset < bytes.length) {
    const id = bytes[offset];
    const [size, start] = readUleb(bytes, offset + 1);
    const end = start + size;
    if (id === 5) {
      const limits = maximum === undefined ? [0x00, ...uleb(initial)] : [0x01, ...uleb(initial), ...uleb(maximum)];
      const content = [0x01, ...limits];
      parts.push(Uint8Array.from([5, ...uleb(content.length), ...content]));
      replaced = true;
    } else {
      parts.push(bytes.subarray(offset, end));
    }
    offset = end;
  }
  if (!replaced) throw new Error("the module has no memory section");
  return new Uint8Array(Buffer.concat(parts));
}
