// tsqmail as a process of its own — `tsqmail start` (the command as installed, running the built
// CLI in dist/) on a root made by prepareRoot — for the scenarios that need what an in-process
// runtime cannot give: its memory apart from the bench's, a SIGKILL of the whole system, a restart
// on the same root.

import { execFile, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { killTree } from "../lib/proc-tree.js";
import { serving, type Launched } from "../lib/launched.js";
import { prepareRoot, type TsqmailMode } from "./tsqmail.js";

/** The command as installed (package.json's bin): it sets the process's malloc arenas and execs node. */
const COMMAND = fileURLToPath(new URL("../../src/cli/tsqmail", import.meta.url));
const CLI = fileURLToPath(new URL("../../dist/src/cli/launch.cjs", import.meta.url));

export interface TsqmailProcess extends Launched {
  readonly pid: number;
  readonly root: string;
  /** SIGTERM (a graceful stop), SIGKILL after 10 s; the root stays. */
  stop(): Promise<void>;
}

/** `tsqmail start --root ROOT`, with `nofile` descriptors if given; does not wait for it to serve. */
export function launchTsqmail(root: string, port: number, nofile?: number): TsqmailProcess {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const logFile = join(root, "start.log");
  const log = openSync(logFile, "a");
  const start = [COMMAND, "start", "--root", root];
  // sh sets the limit (root may raise it) and execs node, so the pid is tsqmail's own.
  const [file, ...args] = nofile === undefined ? start : ["sh", "-c", `ulimit -n ${nofile} && exec "$0" "$@"`, ...start];
  const child = spawn(file!, args, { stdio: ["ignore", log, log] });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid ?? -1,
    root,
    port,
    exited,
    kill: async () => {
      if (running()) killTree(child.pid!);
      await exited;
    },
    stop: async () => {
      if (!running()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => killTree(child.pid!), 10_000);
      await exited;
      clearTimeout(timer);
    },
    exitReason: () => `tsqmail start exited:\n${readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n")}`,
  };
}

/** Launches on `root` and resolves once smtpd greets on `port`; fails with the log's tail if it exits first. */
export function startTsqmailProcess(root: string, port: number, nofile?: number): Promise<TsqmailProcess> {
  const tsqmail = launchTsqmail(root, port, nofile);
  return serving(tsqmail, "tsqmail smtpd", 30_000, tsqmail.kill);
}

/** prepareRoot, then startTsqmailProcess on it; the root is removed if the start fails. */
export async function startTsqmailOnNewRoot(port: number, mode: TsqmailMode, smtpdEnv?: Readonly<Record<string, string>>, nofile?: number): Promise<TsqmailProcess> {
  const root = await prepareRoot(port, mode, smtpdEnv);
  try {
    return await startTsqmailProcess(root, port, nofile);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** Stops the process and removes its root. */
export async function removeTsqmail(tsqmail: TsqmailProcess): Promise<void> {
  await tsqmail.stop();
  await rm(tsqmail.root, { recursive: true, force: true });
}

/** Runs `tsqmail ARGS --root ROOT` (e.g. svc -k smtpd) to the end; throws with its stderr if it fails. */
export async function tsqmailCommand(root: string, args: readonly string[]): Promise<void> {
  await promisify(execFile)(COMMAND, [...args, "--root", root]);
}
