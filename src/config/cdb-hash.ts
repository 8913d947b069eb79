// The cdb hash (D. J. Bernstein): h = 5381; h = ((h << 5) + h) ^ byte, modulo 2^32. Shared by
// the reader and the writer so both agree with every other cdb tool byte for byte.

export function cdbHash(key: Uint8Array): number {
  let h = 5381;
  for (const byte of key) h = (((h << 5) + h) ^ byte) >>> 0;
  return h;
}

/** Keys and values given as strings are stored as their UTF-8 bytes. */
export function cdbBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}
