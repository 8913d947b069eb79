// cdb writer: builds a constant database in D. J. Bernstein's format (2048-byte header of 256
// table pointers, records, then 256 linear-probing hash tables), laid out exactly as cdbmake
// does, so our files are byte-identical to theirs for the same input. writeCdbAtomic replaces
// a cdb the way tcprules and qmail-newu do (temporary file, fsync, rename, fsync directory).
// Writes: the temporary file and the target, through the "config" file-system site.

import type { SiteFs } from "../io/fs.js";
import { writeFileAtomic } from "./atomic-write.js";
import { cdbBytes, cdbHash } from "./cdb-hash.js";

const HEADER_BYTES = 2048;
const MAX_POSITION = 0xffffffff;

export type CdbRecord = readonly [key: Uint8Array | string, data: Uint8Array | string];

interface Placed {
  readonly hash: number;
  readonly pos: number;
}

export function buildCdb(records: Iterable<CdbRecord>): Buffer {
  const chunks: Uint8Array[] = [Buffer.alloc(HEADER_BYTES)];
  const tables: Placed[][] = Array.from({ length: 256 }, () => []);
  let pos = HEADER_BYTES;
  for (const [rawKey, rawData] of records) {
    const key = cdbBytes(rawKey);
    const data = cdbBytes(rawData);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(key.length, 0);
    head.writeUInt32LE(data.length, 4);
    chunks.push(head, key, data);
    const hash = cdbHash(key);
    tables[hash & 255]!.push({ hash, pos });
    pos = advance(pos, 8 + key.length + data.length);
  }

  const header = chunks[0] as Buffer;
  tables.forEach((entries, i) => {
    const slots = entries.length * 2;
    header.writeUInt32LE(pos, i * 8);
    header.writeUInt32LE(slots, i * 8 + 4);
    const table = Buffer.alloc(slots * 8);
    // Records are placed in the order they were added, so the first record with a key is the
    // first one a lookup meets (cdbget's "first record" rule, qmail-newu's "first line wins").
    for (const { hash, pos: recordPos } of entries) {
      let slot = (hash >>> 8) % slots;
      while (table.readUInt32LE(slot * 8 + 4) !== 0) slot = slot + 1 === slots ? 0 : slot + 1;
      table.writeUInt32LE(hash, slot * 8);
      table.writeUInt32LE(recordPos, slot * 8 + 4);
    }
    chunks.push(table);
    pos = advance(pos, table.length);
  });
  return Buffer.concat(chunks);
}

function advance(pos: number, by: number): number {
  if (pos + by > MAX_POSITION) throw new RangeError("cdb would exceed 4 GiB");
  return pos + by;
}

/** Writes `records` to `tmp`, fsyncs it, renames it to `target` and fsyncs the directory. */
export async function writeCdbAtomic(
  target: string,
  tmp: string,
  records: Iterable<CdbRecord>,
  fs?: SiteFs,
): Promise<void> {
  await writeFileAtomic(target, tmp, buildCdb(records), 0o644, fs);
}
