// Lookups in users/virtual share one parse per version of the file (src/config/virtual-users.ts
// through config/file-cache.ts): once the file has been still for two seconds, lookups stop
// reading it; any change — an in-place rewrite of the same size with its mtime put back, a rename
// over it, an append — is seen by the next lookup, so a changed password never stays valid from
// memory.

import { execFileSync } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { siteFs, type SiteFs } from "../../src/io/fs.js";
import { hashPassword } from "../../src/config/password-hash.js";
import { addVirtualUser, checkVirtualPassword } from "../../src/config/virtual-users.js";
import { waitFor } from "../runtime/test-root.js";
import { tempDir } from "./harness.js";

/** The config site's file system, counting whole-file reads. */
function countingFs(): { fs: SiteFs; reads: () => number } {
  const real = siteFs("config");
  let reads = 0;
  const fs: SiteFs = { ...real, readFile: (path) => (reads++, real.readFile(path)) };
  return { fs, reads: () => reads };
}

/** Waits until the file's last change (its ctime) is past file-cache.ts's racy 2 s, so its parse may be kept. */
const settledFile = (path: string) => waitFor(() => Date.now() - statSync(path).ctimeMs > 2100, 10_000, `${path} settled`);

describe("virtual user lookups", () => {
  it("stop reading an unchanged users/virtual, and see every change to it", async () => {
    const root = await tempDir();
    const file = join(root, "users", "virtual");
    const { fs, reads } = countingFs();
    const check = (user: string, password: string) => checkVirtualPassword(root, user, password, fs);
    await addVirtualUser(root, "alice", { password: "first" });
    await settledFile(file);
    expect(await check("alice", "first")).toBe(true);
    const afterFirst = reads();
    expect(await check("alice", "first")).toBe(true);
    expect(reads()).toBe(afterFirst);

    // In place, same length (a new hash of the same cost), times put back to the nanosecond by
    // touch -r: only ctime tells.
    const saved = join(root, "times");
    execFileSync("touch", ["-r", file, saved]);
    writeFileSync(file, `alice:${await hashPassword("other")}:\n`);
    execFileSync("touch", ["-r", saved, file]);
    expect(statSync(file).mtimeMs).toBe(statSync(saved).mtimeMs);
    await settledFile(file);
    expect(await check("alice", "first")).toBe(false);
    expect(await check("alice", "other")).toBe(true);

    // Replaced by rename (adduser's atomic write), then appended to.
    await addVirtualUser(root, "bob", { password: "b" });
    expect(await check("bob", "b")).toBe(true);
    writeFileSync(file, `carol:${await hashPassword("c")}:\n`, { flag: "a" });
    expect(await check("carol", "c")).toBe(true);
    expect(await check("alice", "other")).toBe(true);
  }, 30_000);
});
