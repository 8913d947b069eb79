// Runs Debian's daemontools programs (svstat, svc, supervise, tai64n, tai64nlocal, multilog) for
// the compatibility tests, and makes the temporary directories they work on.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { svstatLine } from "../../supervisors/daemontools/svstat-format.js";

export interface ToolRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runTool(program: string, args: readonly string[], input?: string): Promise<ToolRun> {
  return new Promise((resolve) => {
    const child = execFile(program, args, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
    // A program that never reads its input closes the pipe: that EPIPE is no failure.
    child.stdin?.on("error", () => {});
    child.stdin?.end(input ?? "");
  });
}

/** A new temporary directory for each test of the calling suite: call the result for its path. */
export function tempDirPerTest(prefix: string): () => string {
  let current: { dir: string; remove: () => void } | undefined;
  beforeEach(() => {
    current = tempDir(prefix);
  });
  afterEach(() => current?.remove());
  return () => current!.dir;
}

/** A fresh temporary directory, and the function that removes it. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `tsqmail-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Debian's svstat and ours, run in the same second so their ages must agree. svstat reads the
 * time with time(2), which glibc serves from the kernel's coarse clock: for up to a tick after a
 * second begins it still says the second before. So svstat is not started in a second's first
 * COARSE_LAG_MS.
 */
export async function svstatBoth(dir: string): Promise<{ debian: string; ours: string; nowMs: number }> {
  const COARSE_LAG_MS = 50;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const intoSecond = Date.now() % 1000;
    if (intoSecond < COARSE_LAG_MS) await new Promise((resolve) => setTimeout(resolve, COARSE_LAG_MS - intoSecond));
    const before = Date.now();
    const debian = await runTool("svstat", [dir]);
    if (Math.floor(Date.now() / 1000) === Math.floor(before / 1000)) {
      return { debian: debian.stdout, ours: `${svstatLine(dir, before)}\n`, nowMs: before };
    }
  }
  throw new Error("svstat never ran within one second");
}
