// Test harness for the configuration tests: temporary roots (removed afterwards), running a
// tsqmail command in-process with captured output, running a Debian tool, and a small seeded
// random generator for the property tests (fast-check is not a dependency).

import { spawnSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterEach } from "vitest";
import type { Command } from "../../src/cli/command.js";

const made: string[] = [];

afterEach(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
});

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tsqmail-config-"));
  made.push(dir);
  return dir;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCommand(command: Command, args: string[], options: { stdin?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (chunk: Buffer) => out.push(chunk));
  stderr.on("data", (chunk: Buffer) => err.push(chunk));
  const code = await command.run(args, { stdin: Readable.from([options.stdin ?? ""]), stdout, stderr, env: options.env ?? {} });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** Runs a real tool; returns its exit status and output (never throws on a non-zero exit). */
export function tool(file: string, args: string[], options: { input?: string | Buffer; stdinFile?: string; env?: NodeJS.ProcessEnv } = {}): RunResult {
  // cdbget and cdbdump seek on stdin, so a file is passed as stdin itself, not through a pipe.
  const fd = options.stdinFile === undefined ? undefined : openSync(options.stdinFile, "r");
  const stdio = fd === undefined ? undefined : ([fd, "pipe", "pipe"] as const);
  const result = spawnSync(file, args, { input: options.input ?? "", env: options.env ?? {}, ...(stdio ? { stdio: [...stdio] } : {}) });
  if (fd !== undefined) closeSync(fd);
  if (result.error !== undefined) throw result.error;
  return { code: result.status ?? -1, stdout: result.stdout.toString("latin1"), stderr: result.stderr.toString() };
}

/** mulberry32 (src/chaos/prng.ts): a tiny seeded generator, so a failing property run can be replayed. */
export { mulberry32 as seeded } from "../../src/chaos/prng.js";
