import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { decodeStatus, encodeStatus, writeStatusFile } from "../../supervisors/daemontools/status-file.js";
import { tempDir } from "./debian-tools.js";

describe("supervise/status", () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it("lays out TAI64N big-endian, the pid little-endian, then paused and want", () => {
    const bytes = encodeStatus({ sinceMs: 1_700_000_000_123, pid: 0x01020304, paused: true, want: "up" });
    // 2^62 + 10 + 1700000000 = 0x400000006553f10a; 123 ms = 123000 µs → 123000500 ns = 0x0754d6b4.
    expect(bytes.toString("hex")).toBe("400000006553f10a" + "0754d6b4" + "04030201" + "01" + "75");
    expect(encodeStatus({ sinceMs: 0, pid: 0, paused: false, want: "down" })[17]).toBe(0x64);
    expect(encodeStatus({ sinceMs: 0, pid: 0, paused: false, want: "none" })[17]).toBe(0);
  });

  it("decodes what it encodes, to the millisecond", () => {
    const status = { sinceMs: 1_763_765_432_987, pid: 4_000_000, paused: false, want: "none" as const };
    expect(decodeStatus(encodeStatus(status))).toEqual(status);
  });

  it("rejects a record shorter than 18 bytes and ignores bytes after it, as svstat does", () => {
    const bytes = encodeStatus({ sinceMs: 5_000, pid: 7, paused: false, want: "down" });
    expect(decodeStatus(bytes.subarray(0, 17))).toBeUndefined();
    expect(decodeStatus(Buffer.concat([bytes, Buffer.from("xyz")]))?.pid).toBe(7);
  });

  it("replaces status through status.new", () => {
    const temp = tempDir("status");
    cleanup = temp.remove;
    writeStatusFile(temp.dir, { sinceMs: 1_000, pid: 1, paused: false, want: "up" });
    writeStatusFile(temp.dir, { sinceMs: 2_000, pid: 2, paused: true, want: "down" });
    expect(decodeStatus(readFileSync(join(temp.dir, "status")))).toEqual({
      sinceMs: 2_000,
      pid: 2,
      paused: true,
      want: "down",
    });
    expect(existsSync(join(temp.dir, "status.new"))).toBe(false);
  });
});
