// CI's chaos run: the compiled `tsqmail chaos` for 60 seconds with a fixed seed and every fault kind (file-system
// errnos at the mail sites and POP3's maildir, socket resets, delays and truncated writes, DNS
// failures and slow answers, bugs thrown inside actors, killed workers, clock jumps, a SIGKILL of
// the whole runtime), with the POP3 reader in the load. It must report every invariant held and
// exit 0.

import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(repo, "dist/src/cli/main.js");

function chaos(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, "chaos", ...args], { timeout: 280_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr }),
    );
  });
}

describe("tsqmail chaos", () => {
  it("holds every invariant under every fault kind, with a fixed seed", async () => {
    // The drain is a bound: the run ends as soon as every accepted message is accounted for.
    const run = await chaos(["--seed", "1", "--duration", "60", "--drain", "100", "--faults", "all"]);
    expect(run.stdout, run.stdout + run.stderr).toMatch(/all invariants held/);
    expect(run.code).toBe(0);
    // The POP3 reader took part: it retrieved mail, and what it took is in the accounting.
    expect(run.stdout).toMatch(/^pop3: \d+ sessions .*; [1-9]\d* messages retrieved/m);
    // Every kind was actually injected (the load reaches every seam the plan aims at).
    for (const kind of ["fs-eio", "fs-enospc", "fs-edquot", "net-reset", "net-delay", "net-truncate", "dns-slow", "actor-throw", "kill-worker", "clock-jump", "sigkill"]) {
      expect(run.stdout).toMatch(new RegExp(`${kind} [1-9]`));
    }
  }, 300_000);

  it("refuses an unknown fault kind with qmail's usage exit code", async () => {
    const run = await chaos(["--seed", "1", "--faults", "meteor"]);
    expect(run.code).toBe(100);
    expect(run.stderr).toMatch(/unknown fault kind "meteor"/);
  });
});
