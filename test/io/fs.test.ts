// The file-system seam (src/io/fs.ts) on real files: writes land whole and where asked, reads
// report what they read, and a handle once closed fails every call with EBADF instead of reaching
// the descriptor number the system hands to the next file opened. Calls that cannot wait for the
// disk are made without libuv's thread pool: they complete while every pool thread is held up,
// and the ones that may wait (fsync, large reads and writes, exclusive creates) queue for a pool
// thread.

import { closeSync, openSync, read, readFileSync, rmSync, writeFileSync, writeSync, constants, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { O_EXCL_CREATE, siteFs } from "../../src/io/fs.js";

const fs = siteFs("test");
let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const fresh = (): string => (dir = mkdtempSync(join(tmpdir(), "tsqmail-fs-")));

describe("siteFs", () => {
  it("writes all of the data, at the current position or at the one given, and reads it back", async () => {
    const path = join(fresh(), "f");
    const fh = await fs.open(path, O_EXCL_CREATE, 0o600);
    await fs.write(fh, Buffer.from("hello, "));
    await fs.write(fh, Buffer.alloc(300_000, 0x61));
    await fs.write(fh, Buffer.from("H"), 0);
    await fs.sync(fh);
    expect((await fs.fstat(fh)).size).toBe(300_007);
    await fs.truncate(fh, 5);
    await fs.close(fh);
    expect(readFileSync(path, "latin1")).toBe("Hello");
    const reader = await fs.open(path, "r");
    const buffer = Buffer.alloc(16);
    expect(await fs.read(reader, buffer, 1)).toBe(4);
    expect(buffer.subarray(0, 4).toString()).toBe("ello");
    expect(await fs.read(reader, buffer, 5)).toBe(0);
    await fs.close(reader);
  });

  it("refuses every call on a closed handle with EBADF and leaves the next file opened alone", async () => {
    const base = fresh();
    const first = await fs.open(join(base, "first"), O_EXCL_CREATE, 0o600);
    await fs.close(first);
    // The system gives the lowest free descriptor: most likely the one `first` had.
    const second = await fs.open(join(base, "second"), O_EXCL_CREATE, 0o600);
    for (const call of [() => fs.write(first, Buffer.from("stray")), () => fs.sync(first), () => fs.fstat(first), () => fs.truncate(first, 0), () => fs.read(first, Buffer.alloc(4)), () => fs.close(first)]) {
      await expect(call()).rejects.toMatchObject({ code: "EBADF" });
    }
    await fs.write(second, Buffer.from("mine"));
    await fs.close(second);
    expect(readFileSync(join(base, "second"), "latin1")).toBe("mine");
    expect(readFileSync(join(base, "first"), "latin1")).toBe("");
  });

  it("reports the system's errors with their codes", async () => {
    const base = fresh();
    await expect(fs.open(join(base, "missing", "f"), O_EXCL_CREATE, 0o600)).rejects.toMatchObject({ code: "ENOENT" });
    const fh = await fs.open(join(base, "f"), O_EXCL_CREATE, 0o600);
    await fs.close(fh);
    await expect(fs.open(join(base, "f"), O_EXCL_CREATE, 0o600)).rejects.toMatchObject({ code: "EEXIST" });
    await expect(fs.link(join(base, "f"), join(base, "f"))).rejects.toMatchObject({ code: "EEXIST" });
    await expect(fs.unlink(join(base, "nothing"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("reads whole files, small and large", async () => {
    const base = fresh();
    const small = Buffer.from("one line\n");
    const large = Buffer.alloc(200_000, 0x62);
    writeFileSync(join(base, "small"), small);
    writeFileSync(join(base, "large"), large);
    expect(await fs.readFile(join(base, "small"))).toEqual(small);
    // Buffer.compare: vitest's deep equality takes a second over 200 000 bytes.
    expect(Buffer.compare(await fs.readFile(join(base, "large")), large)).toBe(0);
    await expect(fs.readFile(join(base, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("makes its small calls while every thread of the pool is held up, and queues fsync, large writes and exclusive creates for it", async () => {
    const base = fresh();
    writeFileSync(join(base, "f"), "");
    // Each pool thread blocks in a read of a FIFO that nobody writes to until the end.
    const poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const fifos: number[] = [];
    for (let i = 0; i < poolSize; i++) {
      await fs.mkfifo(join(base, `fifo${i}`), 0o600);
      fifos.push(openSync(join(base, `fifo${i}`), constants.O_RDWR));
    }
    const held = fifos.map((fd) => new Promise<void>((resolve) => read(fd, Buffer.alloc(1), 0, 1, null, () => resolve())));
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      for (const fd of fifos) writeSync(fd, "x");
    };
    const deadline = setTimeout(release, 5000);
    try {
      const fh = await fs.open(join(base, "f"), "r+");
      const created = fs.open(join(base, "new"), O_EXCL_CREATE, 0o600);
      const waiting = [
        fs.sync(fh).then(() => released),
        fs.write(fh, Buffer.alloc(100_000, 0x63), 0).then(() => released),
        created.then(() => released),
      ];
      await fs.write(fh, Buffer.from("small"));
      expect((await fs.fstat(fh)).size).toBeGreaterThanOrEqual(5);
      await fs.link(join(base, "f"), join(base, "g"));
      await fs.rename(join(base, "g"), join(base, "h"));
      expect((await fs.stat(join(base, "h"))).isFile()).toBe(true);
      expect((await fs.readFile(join(base, "h"))).subarray(0, 5).toString()).toBe("small");
      await fs.unlink(join(base, "h"));
      expect(released).toBe(false);
      release();
      // Each waited for a pool thread, so it finished only once the pool was free again.
      expect(await Promise.all(waiting)).toEqual([true, true, true]);
      await fs.close(fh);
      await fs.close(await created);
      await Promise.all(held);
    } finally {
      clearTimeout(deadline);
      release();
      for (const fd of fifos) closeSync(fd);
    }
  });
});
