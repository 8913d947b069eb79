// Helpers for the tools' tests: a fresh tsqmail root made by the real `tsqmail init`, the compiled
// CLI run as a child process with a given stdin and environment, and the queued messages read
// back from todo/ and mess/ as the queue holds them.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { queueLayout } from "../../src/queue/queue-layout.js";

export const cli = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A clean environment, so the runner's USER, NAME or MAILHOST cannot leak into a test. */
export function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", ...extra };
}

export function runCli(args: readonly string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; program?: string } = {}): Run {
  const result = spawnSync(process.execPath, [opts.program ?? cli, ...args], {
    input: opts.input ?? "",
    env: opts.env ?? baseEnv(),
    encoding: "latin1",
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface TempRoot {
  readonly parent: string;
  readonly root: string;
  remove(): void;
}

export function tempRoot(domain = "example.org"): TempRoot {
  const parent = mkdtempSync(join(tmpdir(), "tsqmail-tools-"));
  const root = join(parent, "r");
  const init = runCli(["init", root, "--domain", domain]);
  if (init.status !== 0) throw new Error(`init failed: ${init.stderr}`);
  return { parent, root, remove: () => rmSync(parent, { recursive: true, force: true }) };
}

export interface Queued {
  readonly id: number;
  readonly uid: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  /** The mess file: qmail-queue's Received line, then the message. */
  readonly message: string;
}

/** Every message waiting in todo/, with its envelope and text. */
export function queuedMessages(root: string): Queued[] {
  const queueDir = join(root, "queue");
  const layout = queueLayout(queueDir);
  return readdirSync(join(queueDir, "todo")).map((name) => {
    const id = Number(name);
    const records = readFileSync(layout.file("todo", id), "latin1").split("\0");
    const uid = records.find((r) => r.startsWith("u"))!.slice(1);
    const sender = records.find((r) => r.startsWith("F"))!.slice(1);
    const recipients = records.filter((r) => r.startsWith("T")).map((r) => r.slice(1));
    return { id, uid, sender, recipients, message: readFileSync(layout.file("mess", id), "latin1") };
  });
}

/** The message without qmail-queue's Received line. */
export function withoutReceived(message: string): string {
  return message.replace(/^Received: \(qmail \d+ invoked by uid \d+\); [^\n]+\n/, "");
}
