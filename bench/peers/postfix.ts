// Debian's Postfix as a benchmark peer, never installed as the system's mail daemon: the package
// is fetched with `apt-get download` into bench/.cache/ and unpacked there with `dpkg -x`. Each
// instance lives in its own temp dir (config, queue, mailboxes, log) and listens on one loopback
// port, in one of three modes: accept-only (queues durably, defers every transport), Maildir
// delivery to one virtual user, or relay to a sink on loopback. `launchPostfix` starts master again
// on an instance's dir after `kill` (a SIGKILL of the whole tree), for the recovery bench. Needs
// root: master runs the daemons as the `postfix` user, created here with the `postdrop` group if missing.
//
// The machine has no network and an unreachable resolver, so every setting that could make
// Postfix ask DNS or NIS is turned off (client name lookup, MX lookup, alias and recipient maps);
// otherwise sessions stall in resolver timeouts. There is no syslog socket: daemons log through
// postlogd into the instance's maillog file (`lastLogLines` reads it while the instance runs).

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { unpackPostfixInto } from "../../test/net/postfix-tools.js";
import { serving, type Launched } from "../lib/launched.js";
import { killTree } from "../lib/proc-tree.js";

const CACHE = fileURLToPath(new URL("../.cache/", import.meta.url));
const UNPACKED = join(CACHE, "postfix");

export type PostfixMode =
  | { readonly kind: "accept" }
  | { readonly kind: "maildir"; readonly domain: string }
  | { readonly kind: "relay"; readonly sinkPort: number };

export interface PostfixInstance extends Launched {
  /** master's pid: the root of the instance's process tree. */
  readonly pid: number;
  readonly dir: string;
  readonly queueDir: string;
  /** The Maildir every message for the maildir mode's domain goes to. */
  readonly maildir: string;
  readonly logFile: string;
  /** A graceful stop; removes the dir. */
  stop(): Promise<void>;
}

export interface PostfixOptions {
  /** master.cf's process limit for smtpd: Postfix serves each SMTP connection in its own smtpd. */
  readonly smtpdLimit?: number;
}

export interface PostfixTools {
  readonly smtpSource: string;
  readonly smtpSink: string;
  readonly qmqpSource: string;
  /** Environment the tools need: LD_LIBRARY_PATH at Postfix's private libraries. */
  readonly env: NodeJS.ProcessEnv;
}

/** Unpacks the package once into bench/.cache/postfix, the way the tests do (one unpacker for both). */
export const unpackPostfix = (): string => unpackPostfixInto(UNPACKED);

const libDir = (tree: string): string => join(tree, "usr", "lib", "postfix");
const toolEnv = (tree: string): NodeJS.ProcessEnv => ({ ...process.env, LD_LIBRARY_PATH: libDir(tree) });

export function postfixTools(): PostfixTools {
  const tree = unpackPostfix();
  const sbin = join(tree, "usr", "sbin");
  return { smtpSource: join(sbin, "smtp-source"), smtpSink: join(sbin, "smtp-sink"), qmqpSource: join(sbin, "qmqp-source"), env: toolEnv(tree) };
}

function ensureAccounts(): void {
  const has = (db: string, name: string): boolean => {
    try {
      execFileSync("getent", [db, name], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  if (!has("group", "postdrop")) execFileSync("groupadd", ["--system", "postdrop"]);
  if (!has("passwd", "postfix")) execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "postfix"]);
}

const idOf = (flag: "-u" | "-g", name: string): number => Number(execFileSync("id", [flag, name], { encoding: "utf8" }).trim());

function mainCf(tree: string, dir: string, mode: PostfixMode, postfixUid: number, postfixGid: number): string {
  const common = [
    "compatibility_level = 3.6",
    `queue_directory = ${join(dir, "queue")}`,
    `data_directory = ${join(dir, "data")}`,
    `daemon_directory = ${join(libDir(tree), "sbin")}`,
    `command_directory = ${join(tree, "usr", "sbin")}`,
    `shlib_directory = ${libDir(tree)}`,
    `meta_directory = ${join(tree, "etc", "postfix")}`,
    "mail_owner = postfix",
    "setgid_group = postdrop",
    // Daemons must find Postfix's private libraries too; master passes on only what is listed.
    "import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LD_LIBRARY_PATH",
    `maillog_file = ${join(dir, "maillog")}`,
    `maillog_file_prefixes = ${dir}`,
    "inet_interfaces = 127.0.0.1",
    "inet_protocols = ipv4",
    "myhostname = postfix.bench.test",
    "mydomain = bench.test",
    "mynetworks = 127.0.0.0/8",
    "smtpd_relay_restrictions = permit_mynetworks, reject",
    "smtpd_recipient_restrictions =",
    // No DNS and no NIS: this machine's resolver is unreachable, and each lookup would stall.
    "smtpd_peername_lookup = no",
    "smtp_dns_support_level = disabled",
    "smtp_host_lookup = native",
    "alias_maps =",
    "alias_database =",
    "local_recipient_maps =",
    "smtpd_reject_unlisted_recipient = no",
    "biff = no",
    // smtp-source sends as fast as it can; anvil's limits and the flow delay would throttle it.
    "smtpd_client_connection_count_limit = 0",
    "smtpd_client_connection_rate_limit = 0",
    "smtpd_client_message_rate_limit = 0",
    "in_flow_delay = 0s",
    "smtpd_error_sleep_time = 0s",
  ];
  switch (mode.kind) {
    case "accept":
      return [...common, "mydestination =", "defer_transports = smtp, relay, local, virtual, error, discard"].join("\n");
    case "maildir":
      return [
        ...common,
        "mydestination =",
        `virtual_mailbox_domains = ${mode.domain}`,
        `virtual_mailbox_base = ${join(dir, "mail")}`,
        // Every recipient of the domain lands in one Maildir (the trailing slash means Maildir).
        "virtual_mailbox_maps = static:bench/Maildir/",
        `virtual_uid_maps = static:${postfixUid}`,
        `virtual_gid_maps = static:${postfixGid}`,
        "virtual_minimum_uid = 1",
      ].join("\n");
    case "relay":
      return [...common, "mydestination =", `relayhost = [127.0.0.1]:${mode.sinkPort}`].join("\n");
  }
}

function masterCf(port: number, smtpdLimit: number): string {
  const services = [
    `127.0.0.1:${port} inet n - n - ${smtpdLimit} smtpd`,
    "postlog unix-dgram n - n - 1 postlogd",
    "pickup unix n - n 60 1 pickup",
    "cleanup unix n - n - 0 cleanup",
    "qmgr unix n - n 300 1 qmgr",
    "rewrite unix - - n - - trivial-rewrite",
    "bounce unix - - n - 0 bounce",
    "defer unix - - n - 0 bounce",
    "trace unix - - n - 0 bounce",
    "verify unix - - n - 1 verify",
    "flush unix n - n 1000? 0 flush",
    "proxymap unix - - n - - proxymap",
    "smtp unix - - n - - smtp",
    "relay unix - - n - - smtp",
    "showq unix n - n - - showq",
    "error unix - - n - - error",
    "retry unix - - n - - error",
    "discard unix - - n - - discard",
    "local unix - n n - - local",
    "virtual unix - n n - - virtual",
    "anvil unix - - n - 1 anvil",
    "scache unix - - n - 1 scache",
  ];
  return services.join("\n");
}

/** Makes an instance's temp dir: config, queue, mailboxes. Returns the dir. */
function preparePostfix(tree: string, port: number, mode: PostfixMode, options: PostfixOptions): string {
  ensureAccounts();
  const uid = idOf("-u", "postfix");
  const gid = idOf("-g", "postfix");
  const postdrop = Number(execFileSync("getent", ["group", "postdrop"], { encoding: "utf8" }).split(":")[2]);

  const dir = mkdtempSync(join(tmpdir(), "tsqmail-bench-postfix-"));
  // mkdtemp makes 0700; the postfix user must reach the queue and mailboxes inside.
  chmodSync(dir, 0o755);
  const conf = join(dir, "conf");
  const queue = join(dir, "queue");
  mkdirSync(conf);
  writeFileSync(join(conf, "main.cf"), `${mainCf(tree, dir, mode, uid, gid)}\n`);
  writeFileSync(join(conf, "master.cf"), `${masterCf(port, options.smtpdLimit ?? 100)}\n`);
  mkdirSync(queue);
  for (const sub of ["active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved", "trace"]) {
    mkdirSync(join(queue, sub), { mode: 0o700 });
    chownSync(join(queue, sub), uid, 0);
  }
  mkdirSync(join(queue, "pid"), { mode: 0o755 });
  mkdirSync(join(queue, "maildrop"), { mode: 0o730 });
  chownSync(join(queue, "maildrop"), uid, postdrop);
  mkdirSync(join(queue, "public"), { mode: 0o710 });
  chownSync(join(queue, "public"), uid, postdrop);
  for (const owned of ["data", "mail"]) {
    mkdirSync(join(dir, owned), { mode: 0o700 });
    chownSync(join(dir, owned), uid, gid);
  }
  return dir;
}

/** Starts master in the foreground (-d) on a prepared dir; does not wait for it to serve. */
export function launchPostfix(port: number, dir: string): PostfixInstance {
  const tree = unpackPostfix();
  const conf = join(dir, "conf");
  const logFile = join(dir, "maillog");
  const master = spawn(join(libDir(tree), "sbin", "master"), ["-c", conf, "-d"], { env: toolEnv(tree), stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  master.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => master.once("exit", () => resolve()));
  const instance: PostfixInstance = {
    port,
    pid: master.pid ?? -1,
    dir,
    queueDir: join(dir, "queue"),
    maildir: join(dir, "mail", "bench", "Maildir"),
    logFile,
    exited,
    kill: async () => {
      // Only while it runs: a pid that has exited may already name another process.
      if (master.exitCode === null && master.signalCode === null) killTree(master.pid!);
      await exited;
    },
    stop: () => stopMaster(master, exited, dir),
    exitReason: () => `Postfix master exited: ${stderr.trim()}\n${lastLogLines(logFile)}`,
  };
  return instance;
}

/** Starts master in a fresh temp dir; resolves once smtpd greets. */
export async function startPostfix(port: number, mode: PostfixMode, options: PostfixOptions = {}): Promise<PostfixInstance> {
  const tree = unpackPostfix();
  return serving(launchPostfix(port, preparePostfix(tree, port, mode, options)), "Postfix smtpd", 20_000);
}

export function lastLogLines(file: string): string {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-10).join("\n") : "";
}

/** SIGTERM makes master stop its children and exit; KILL only if it does not within 10 s. */
async function stopMaster(master: ChildProcess, exited: Promise<void>, dir: string): Promise<void> {
  if (master.exitCode === null && master.signalCode === null) {
    master.kill("SIGTERM");
    const timer = setTimeout(() => master.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Messages in the instance's queue (incoming, active, deferred), counted from the file system. */
export function postfixQueued(instance: PostfixInstance): number {
  let count = 0;
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(path, entry.name));
      else count++;
    }
  };
  for (const sub of ["incoming", "active", "deferred"]) walk(join(instance.queueDir, sub));
  return count;
}
