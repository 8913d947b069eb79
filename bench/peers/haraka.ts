// Haraka 3.3.4 as a benchmark peer, installed from npm under bench/.cache/haraka only (never in
// the project's dependencies). 3.3.4 installs on Node 20 only with two of its dependencies pinned
// back by npm overrides (encoding-japanese 2.4.0, libqp 2.1.2). Each instance lives in a temp dir
// with its config, a one-file plugin and its outbound queue, listening on one loopback port with
// `nodes=cpus` (Haraka's own advice for throughput). Every client is a relay client, so each message
// goes through Haraka's durable outbound queue (written with an fsync per file, then renamed):
// mode "queue" keeps it there (outbound delivery disabled), mode "relay" delivers it to a sink on
// loopback (the plugin answers get_mx, so no DNS is asked). `launchHaraka` starts it again on an
// instance's dir after `kill` (a SIGKILL of the whole tree), for the recovery bench.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serving, type Launched } from "../lib/launched.js";
import { killTree, processTree } from "../lib/proc-tree.js";

const INSTALL = fileURLToPath(new URL("../.cache/haraka/", import.meta.url));
const VERSION = "3.3.4";

export type HarakaMode = { readonly kind: "queue" } | { readonly kind: "relay"; readonly sinkPort: number };

export interface HarakaInstance extends Launched {
  /** The cluster master's pid: the root of the instance's process tree. */
  readonly pid: number;
  readonly dir: string;
  readonly queueDir: string;
  readonly logFile: string;
  /** A graceful stop; removes the dir. */
  stop(): Promise<void>;
}

/** Installs Haraka into bench/.cache/haraka on first use; returns its bin/haraka. */
export function installHaraka(): string {
  const bin = join(INSTALL, "node_modules", "Haraka", "bin", "haraka");
  if (existsSync(bin)) return bin;
  mkdirSync(INSTALL, { recursive: true });
  const manifest = { private: true, dependencies: { Haraka: VERSION }, overrides: { "encoding-japanese": "2.4.0", libqp: "2.1.2" } };
  writeFileSync(join(INSTALL, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  execFileSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: INSTALL, stdio: "inherit" });
  return bin;
}

// Relaying for every client sends each message to queue_outbound, i.e. the durable queue. The
// client's name is given, not looked up: this machine's resolver is unreachable.
const PLUGIN = `
exports.hook_lookup_rdns = function (next) {
  next(OK, "localhost");
};
exports.hook_connect = function (next, connection) {
  connection.relaying = true;
  next();
};
exports.hook_rcpt = function (next) {
  next(OK);
};
exports.hook_get_mx = function (next, hmail, domain) {
  const port = Number(process.env.BENCH_SINK_PORT);
  if (!port) return next();
  next(OK, { exchange: "127.0.0.1", port: port, priority: 10 });
};
`;

/** Makes an instance's temp dir: Haraka's shipped config with the bench's changes, the plugin, the queue. */
function prepareHaraka(bin: string, port: number, mode: HarakaMode): string {
  const dir = mkdtempSync(join(tmpdir(), "tsqmail-bench-haraka-"));
  const config = join(dir, "config");
  // Haraka's shipped config first: its code reads defaults (the greeting, limits) from these files.
  cpSync(join(dirname(bin), "..", "config"), config, { recursive: true });
  mkdirSync(join(dir, "plugins"));
  mkdirSync(join(dir, "queue"));
  writeFileSync(join(dir, "plugins", "bench.js"), PLUGIN);
  writeFileSync(join(config, "plugins"), "bench\n");
  writeFileSync(join(config, "smtp.ini"), `listen=127.0.0.1:${port}\nnodes=cpus\n`);
  writeFileSync(join(config, "me"), "haraka.bench.test\n");
  writeFileSync(join(config, "outbound.ini"), mode.kind === "queue" ? "disabled=true\n" : "enable_tls=false\n");
  writeFileSync(join(config, "queue_dir"), `${join(dir, "queue")}\n`);
  // Haraka logs every transaction at info; warn keeps its log to what went wrong.
  writeFileSync(join(config, "log.ini"), "[main]\nlevel=warn\n");
  // The sink's port for get_mx, read by the plugin ("relay" mode only).
  writeFileSync(join(dir, "sink-port"), mode.kind === "relay" ? String(mode.sinkPort) : "");
  return dir;
}

/** Starts Haraka's cluster master on a prepared dir; does not wait for it to serve. */
export function launchHaraka(port: number, dir: string): HarakaInstance {
  const bin = installHaraka();
  const logFile = join(dir, "haraka.log");
  const log = openSync(logFile, "a");
  const env = { ...process.env, BENCH_SINK_PORT: readFileSync(join(dir, "sink-port"), "utf8") };
  // In this process's group, so an interrupted bench (Ctrl-C) takes Haraka down with it.
  const master = spawn(process.execPath, [bin, "-c", dir], { env, stdio: ["ignore", log, log] });
  closeSync(log);
  const exited = new Promise<void>((resolve) => master.once("exit", () => resolve()));
  return {
    port,
    pid: master.pid ?? -1,
    dir,
    queueDir: join(dir, "queue"),
    logFile,
    exited,
    kill: async () => {
      // Only while it runs: a pid that has exited may already name another process.
      if (master.exitCode === null && master.signalCode === null) killTree(master.pid!);
      await exited;
    },
    stop: () => stopTree(master, exited, dir),
    exitReason: () => `Haraka exited:\n${tail(logFile)}`,
  };
}

export async function startHaraka(port: number, mode: HarakaMode): Promise<HarakaInstance> {
  return serving(launchHaraka(port, prepareHaraka(installHaraka(), port, mode)), "Haraka", 30_000);
}

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-15).join("\n") : "";
}

/**
 * SIGTERM to the master (it stops its workers), SIGKILL after 5 s; then SIGKILL to any worker
 * still there, so none outlives the instance. Removes the dir.
 */
async function stopTree(master: ChildProcess, exited: Promise<void>, dir: string): Promise<void> {
  const tree = master.pid === undefined ? [] : processTree(master.pid);
  if (master.exitCode === null && master.signalCode === null) {
    master.kill("SIGTERM");
    const timer = setTimeout(() => master.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
  for (const { pid } of tree) {
    // Only a process still running this instance (workers share the master's command line): the
    // pid of one that exited may already belong to someone else.
    if (!commandLine(pid).includes(dir)) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Exited in between.
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

/** Messages in the outbound queue (temp files start with a dot and are not counted). */
export function harakaQueued(instance: HarakaInstance): number {
  return readdirSync(instance.queueDir).filter((name) => !name.startsWith(".")).length;
}
