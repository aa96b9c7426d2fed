/**
 * The Redis Cluster slot of a key or sharded channel: CRC16 (XMODEM) of the key, or of its hash
 * tag (the part between the first `{` and the next `}`, if not empty), modulo 16384.
 *
 * @module
 */

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff];
  return crc;
}

/** The number of slots of a Redis Cluster. */
export const SLOTS = 16384;

/** The slot that serves `key` (what `CLUSTER KEYSLOT` answers). */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open >= 0) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(new TextEncoder().encode(key)) % SLOTS;
}
