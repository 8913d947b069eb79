import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Cdb, CdbFormatError, readCdb, readCdbIfExists } from "../../src/config/cdb-reader.js";
import { buildCdb, writeCdbAtomic, type CdbRecord } from "../../src/config/cdb-writer.js";
import { cdbHash } from "../../src/config/cdb-hash.js";
import { seeded, tempDir, tool } from "./harness.js";

/** cdbmake's input format: `+klen,dlen:key->data` lines and an empty line. */
function cdbmakeInput(records: Array<[Buffer, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, data] of records) parts.push(Buffer.from(`+${key.length},${data.length}:`), key, Buffer.from("->"), data, Buffer.from("\n"));
  parts.push(Buffer.from("\n"));
  return Buffer.concat(parts);
}

function randomRecords(random: () => number, count: number): Array<[Buffer, Buffer]> {
  const bytes = (max: number) => Buffer.from(Array.from({ length: Math.floor(random() * max) }, () => Math.floor(random() * 256)));
  const records: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i < count; i++) {
    // Some keys repeat, to exercise duplicate handling and probing.
    const key = i > 0 && random() < 0.1 ? records[Math.floor(random() * i)]![0] : bytes(12);
    records.push([key, bytes(40)]);
  }
  return records;
}

describe("cdb hash", () => {
  it("matches the reference value for 127.0.0.1", () => {
    expect(cdbHash(Buffer.from("127.0.0.1"))).toBe(0x5478120e);
  });
});

describe("cdb writer and reader", () => {
  it("writes byte-for-byte what cdbmake writes", async () => {
    const dir = await tempDir();
    const records = randomRecords(seeded(7), 300);
    const made = tool("cdbmake", [join(dir, "theirs.cdb"), join(dir, "theirs.tmp")], { input: cdbmakeInput(records) });
    expect(made.code).toBe(0);
    expect(buildCdb(records).equals(await readFile(join(dir, "theirs.cdb")))).toBe(true);
  });

  it("reads cdbmake's files: first match and all matches (property, seeded)", async () => {
    const dir = await tempDir();
    for (const seed of [1, 2, 3, 4, 5]) {
      const records = randomRecords(seeded(seed), 200);
      tool("cdbmake", [join(dir, "r.cdb"), join(dir, "r.tmp")], { input: cdbmakeInput(records) });
      const cdb = await readCdb(join(dir, "r.cdb"));
      for (const [key] of records) {
        const all = records.filter(([k]) => k.equals(key)).map(([, data]) => data);
        expect(cdb.getAll(key)).toEqual(all);
        expect(cdb.get(key)).toEqual(all[0]);
      }
      expect([...cdb.entries()]).toEqual(records);
    }
  });

  it("writes files that tinycdb and freecdb read back (property, seeded)", async () => {
    const dir = await tempDir();
    const target = join(dir, "ours.cdb");
    for (const seed of [11, 12, 13]) {
      const random = seeded(seed);
      // Printable keys, so they can be passed to cdbget on the command line.
      const records: CdbRecord[] = Array.from({ length: 150 }, (_, i) => [`k${i}-${Math.floor(random() * 1e6)}`, `value ${random()}`]);
      await writeCdbAtomic(target, join(dir, "ours.tmp"), records);
      const dump = tool("cdb", ["-d", target]);
      expect(dump.code).toBe(0);
      expect(dump.stdout).toBe(records.map(([k, v]) => `+${Buffer.byteLength(k)},${Buffer.byteLength(v)}:${k}->${v}\n`).join("") + "\n");
      for (const [key, value] of records.slice(0, 20)) {
        expect(tool("cdbget", [key as string], { stdinFile: target }).stdout).toBe(value);
        expect(tool("cdb", ["-q", target, key as string]).stdout).toBe(value);
      }
      expect(tool("cdbget", ["absent-key"], { stdinFile: target }).code).toBe(100);
    }
  });

  it("agrees with cdbdump on a file with duplicate keys and an empty key", async () => {
    const dir = await tempDir();
    const records: CdbRecord[] = [["a", "1"], ["", "empty"], ["a", "2"], ["b", ""]];
    await writeCdbAtomic(join(dir, "d.cdb"), join(dir, "d.tmp"), records);
    const dump = tool("cdbdump", [], { stdinFile: join(dir, "d.cdb") });
    expect(dump.stdout).toBe("+1,1:a->1\n+0,5:->empty\n+1,1:a->2\n+1,0:b->\n\n");
    const cdb = await readCdb(join(dir, "d.cdb"));
    expect(cdb.get("a")?.toString()).toBe("1");
    expect(cdb.getAll("a").map(String)).toEqual(["1", "2"]);
    expect(cdb.get("")?.toString()).toBe("empty");
    expect(cdb.get("c")).toBeUndefined();
  });

  it("replaces atomically: the tmp file is gone and the old file is replaced", async () => {
    const dir = await tempDir();
    const target = join(dir, "x.cdb");
    await writeCdbAtomic(target, join(dir, "x.tmp"), [["k", "old"]]);
    await writeCdbAtomic(target, join(dir, "x.tmp"), [["k", "new"]]);
    expect((await readCdb(target)).get("k")?.toString()).toBe("new");
    await expect(readFile(join(dir, "x.tmp"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses truncated files instead of reading garbage", async () => {
    expect(() => Cdb.fromBuffer(Buffer.alloc(100))).toThrow(CdbFormatError);
    const whole = buildCdb([["key", "value"]]);
    const cut = Cdb.fromBuffer(whole.subarray(0, whole.length - 8));
    expect(() => cut.get("key")).toThrow(CdbFormatError);
  });

  it("reports a missing optional cdb as undefined", async () => {
    const dir = await tempDir();
    expect(await readCdbIfExists(join(dir, "none.cdb"))).toBeUndefined();
    await writeFile(join(dir, "short.cdb"), "x");
    await expect(readCdbIfExists(join(dir, "short.cdb"))).rejects.toThrow(CdbFormatError);
  });
});
