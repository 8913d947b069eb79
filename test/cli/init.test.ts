import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const cli = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));
const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: "utf8", stdio: "pipe" });

describe("tsqmail init", () => {
  it("creates control files, the queue and the layout, and never overwrites", () => {
    const parent = mkdtempSync(join(tmpdir(), "tsqmail-init-"));
    const root = join(parent, "r");
    try {
      expect(run("init", root, "--domain", "example.org")).toMatch(/created .*control\/me/);
      expect(readFileSync(join(root, "control/me"), "utf8")).toBe("mail.example.org\n");
      expect(readFileSync(join(root, "control/locals"), "utf8")).toBe("example.org\nmail.example.org\n");
      expect(readFileSync(join(root, "control/rcpthosts"), "utf8")).toBe("example.org\nmail.example.org\n");
      for (const dir of ["queue/mess/22", "queue/todo", "queue/lock", "alias", "home", "users", "service", "log"]) {
        expect(statSync(join(root, dir)).isDirectory()).toBe(true);
      }
      expect(statSync(join(root, "queue/lock/trigger")).isFIFO()).toBe(true);

      writeFileSync(join(root, "control/me"), "custom.example\n");
      expect(run("init", root, "--domain", "other.example")).toBe(`${root}: already complete, nothing changed\n`);
      expect(readFileSync(join(root, "control/me"), "utf8")).toBe("custom.example\n");
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it("rejects a bad domain or a base port that overflows, with qmail's usage exit code", () => {
    const root = mkdtempSync(join(tmpdir(), "tsqmail-init-"));
    try {
      for (const args of [["--domain", "bad domain"], ["--base-port=-5"], ["--base-port", "70000"]]) {
        let status = 0;
        let stderr = "";
        try {
          run("init", root, ...args);
        } catch (error) {
          status = (error as { status: number }).status;
          stderr = String((error as { stderr: string }).stderr);
        }
        expect(status).toBe(100);
        expect(stderr).toMatch(/^tsqmail init: (not a domain name|not a port offset|base port)/);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
