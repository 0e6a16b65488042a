// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum on every record of the
// durable outbox's log. Table-driven, one byte per step; a 256-entry table built once. Chosen
// over CRC-32 (zlib) because it detects more error patterns at these record sizes and is the
// checksum MCUs with a CRC unit (and ext4, iSCSI) already compute.

const POLYNOMIAL_REFLECTED = 0x82f63b78;

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL_REFLECTED : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C of `bytes[start, end)`; pass a previous result as `seed` to continue it. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length, seed = 0): number {
  let crc = ~seed >>> 0;
  for (let i = start; i < end; i++) crc = TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
