// The file-system seam (src/io/fs.ts) on real files: writes land whole and where asked, reads
// report what they read, and a handle once closed fails every call with EBADF instead of reaching
// the descriptor number the system hands to the next file opened.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
});
