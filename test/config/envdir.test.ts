import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { applyEnv, readEnvDir } from "../../src/config/envdir.js";
import { tempDir } from "./harness.js";

describe("envdir", () => {
  it("follows daemontools: first line, trailing blanks, NUL → newline, empty file unsets, dot files skipped", async () => {
    const dir = join(await tempDir(), "env");
    await mkdir(dir);
    await writeFile(join(dir, "RELAYCLIENT"), "\n");
    await writeFile(join(dir, "DATABYTES"), "1000 \t\nignored second line\n");
    await writeFile(join(dir, "MULTI"), "a\0b\n");
    await writeFile(join(dir, "KEEPCR"), "x\r\n");
    await writeFile(join(dir, "REMOVED"), "");
    await writeFile(join(dir, ".hidden"), "no\n");
    const changes = await readEnvDir(dir, "service/smtpd/env");
    expect(Object.fromEntries(changes)).toEqual({ DATABYTES: "1000", KEEPCR: "x\r", MULTI: "a\nb", RELAYCLIENT: "", REMOVED: undefined });
    expect(applyEnv({ REMOVED: "old", PATH: "/bin", DATABYTES: "5" }, changes)).toEqual({
      PATH: "/bin",
      DATABYTES: "1000",
      KEEPCR: "x\r",
      MULTI: "a\nb",
      RELAYCLIENT: "",
    });
  });

  it("treats a missing directory as no changes, and refuses a name with =", async () => {
    const base = await tempDir();
    expect((await readEnvDir(join(base, "none"), "x")).size).toBe(0);
    await writeFile(join(base, "A=B"), "1\n");
    await expect(readEnvDir(base, "service/x/env")).rejects.toThrow(new ConfigError("service/x/env/A=B", undefined, "variable name contains ="));
  });
});
