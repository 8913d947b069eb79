// cdb reader: answers lookups in a constant database (D. J. Bernstein's format, as written by
// cdbmake, tcprules, qmail-newu and our cdb-writer). The files tsqmail reads are small, so the
// whole file is loaded into one Buffer and every lookup is bounds-checked against it: a
// truncated or corrupt file raises an error instead of reading garbage.
// Reads: the cdb file, once, through the "config" file-system site.

import { siteFs, type SiteFs } from "../io/fs.js";
import { cdbBytes, cdbHash } from "./cdb-hash.js";

const HEADER_BYTES = 2048;

export class CdbFormatError extends Error {
  override readonly name = "CdbFormatError";
}

export class Cdb {
  private constructor(private readonly buf: Buffer) {}

  static fromBuffer(buf: Buffer): Cdb {
    if (buf.length < HEADER_BYTES) throw new CdbFormatError(`cdb too short: ${buf.length} bytes`);
    return new Cdb(buf);
  }

  /** The data of the first record with this key (the one cdbget finds), if any. */
  get(key: Uint8Array | string): Buffer | undefined {
    for (const data of this.find(cdbBytes(key))) return data;
    return undefined;
  }

  /** The data of every record with this key, in the order they were added. */
  getAll(key: Uint8Array | string): Buffer[] {
    return [...this.find(cdbBytes(key))];
  }

  /** Every record in file order, as cdbdump lists them. */
  *entries(): Generator<[Buffer, Buffer]> {
    // The records end where the first hash table begins (table 0's position in the header).
    const end = this.word(0);
    let pos = HEADER_BYTES;
    while (pos < end) {
      const klen = this.word(pos);
      const dlen = this.word(pos + 4);
      const key = this.slice(pos + 8, klen);
      const data = this.slice(pos + 8 + klen, dlen);
      yield [key, data];
      pos += 8 + klen + dlen;
    }
  }

  private *find(key: Uint8Array): Generator<Buffer> {
    const h = cdbHash(key);
    const table = this.word((h & 255) * 8);
    const slots = this.word((h & 255) * 8 + 4);
    if (slots === 0) return;
    let slot = (h >>> 8) % slots;
    for (let probes = 0; probes < slots; probes++) {
      const at = table + slot * 8;
      const pos = this.word(at + 4);
      if (pos === 0) return;
      if (this.word(at) === h) {
        const klen = this.word(pos);
        if (klen === key.length && this.slice(pos + 8, klen).equals(key)) {
          yield this.slice(pos + 8 + klen, this.word(pos + 4));
        }
      }
      slot = slot + 1 === slots ? 0 : slot + 1;
    }
  }

  private word(pos: number): number {
    if (pos < 0 || pos + 4 > this.buf.length) throw new CdbFormatError(`cdb truncated at offset ${pos}`);
    return this.buf.readUInt32LE(pos);
  }

  private slice(pos: number, length: number): Buffer {
    if (pos + length > this.buf.length) throw new CdbFormatError(`cdb truncated at offset ${pos}`);
    return this.buf.subarray(pos, pos + length);
  }
}

export async function readCdb(path: string, fs: SiteFs = siteFs("config")): Promise<Cdb> {
  return Cdb.fromBuffer(await fs.readFile(path));
}

/** Like readCdb, but a missing file is `undefined` (many cdbs are optional). */
export async function readCdbIfExists(path: string, fs: SiteFs = siteFs("config")): Promise<Cdb | undefined> {
  try {
    return await readCdb(path, fs);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
