// A chaos run (docs/chaos.md): a fresh root on a temporary directory with smtpd, send, lspawn,
// rspawn and pop3d up; its runtime in a child process (runtime-child.ts) so it can be SIGKILLed
// whole; a load of SMTP sessions to local Maildir users and to a remote sink, and a POP3 reader
// emptying one user's Maildir; the seeded fault plan for `durationMs`; then no faults, retries
// forced until every promised message is accounted for (bounded by `drainMs`), a graceful stop,
// and the invariants (invariants.ts).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ownModule, runningFromSource } from "../../supervisors/project-files.js";
import { addVirtualUser } from "../config/virtual-users.js";
import { initRoot } from "../root/init.js";
import { rootPaths } from "../root/paths.js";
import { BUILTIN_SERVICES } from "../runtime/builtin-services.js";
import { drainNotes } from "./drain-notes.js";
import { addCounts, buildPlan, type FaultKind, type FaultPlan } from "./fault-plan.js";
import { BOUNCE_USER, checkInvariants, LOCAL_USERS, POP3_PASSWORD, POP3_USER, type ChaosReport } from "./invariants.js";
import { addPop3Session, emptyPop3Tally, popMailbox } from "./pop3-load.js";
import { mulberry32, hash32 } from "./prng.js";
import type { FromRuntimeChild, ServiceUp, ToRuntimeChild } from "./runtime-child.js";
import { sendMessage, type SessionResult } from "./smtp-load.js";
import { startSmtpSink } from "./smtp-sink.js";

export interface ChaosOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly kinds: readonly FaultKind[];
  readonly drainMs: number;
  readonly maxRssBytes: number;
  /** Called every few seconds with a one-line summary. */
  readonly progress: (line: string) => void;
  /** Keep the temporary root (for a post-mortem). */
  readonly keepRoot: boolean;
}

const SERVICES = ["smtpd", "send", "lspawn", "rspawn", "pop3d"];
// kill-worker's targets. Not pop3d: a killed pop3d worker leaves its maildrop locked for three
// minutes (its lock names the runtime's live pid), so the reader would mostly read -ERR [IN-USE].
const KILLED_SERVICES = ["smtpd", "send", "lspawn", "rspawn"];
// A SIGKILL waits until the runtime has served this long since it was ready: on a loaded machine a
// restart can outlast the gap to the next scheduled kill, and kills that catch up at once would
// leave a runtime that only ever starts.
const MIN_UP_MS = 10_000;
// Sites of the net seam the plan aims at: the listeners the load talks to, and rspawn's client.
const NET_SITES = ["smtpd", "rspawn", "pop3d"];
const POP3_PAUSE_MS = 500;
const CLIENTS = 3;

const childScript = fileURLToPath(ownModule("src/chaos/runtime-child"));

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const root = mkdtempSync(join(tmpdir(), "tsqmail-chaos-"));
  const sink = await startSmtpSink();
  try {
    const basePort = await prepareRoot(root, sink.port);
    return await drive(root, { smtp: basePort + 25, pop3: basePort + 110 }, sink.received, options);
  } finally {
    await sink.close();
    if (!options.keepRoot) rmSync(root, { recursive: true, force: true });
  }
}

/** Makes `root` a chaos run's root (its users, routes to the sink, services wanted up); returns its base port. */
export async function prepareRoot(root: string, sinkPort: number): Promise<number> {
  const basePort = await freeBasePort();
  await initRoot({ root, domain: "example.test", listen: "127.0.0.1", basePort });
  for (const user of [...LOCAL_USERS, BOUNCE_USER]) await addVirtualUser(root, user, user === POP3_USER ? { password: POP3_PASSWORD } : {});
  const paths = rootPaths(root);
  writeFileSync(paths.controlFile("smtproutes"), `sink.test:[127.0.0.1]:${sinkPort}\n`);
  writeFileSync(paths.controlFile("timeoutconnect"), "2\n");
  writeFileSync(paths.controlFile("timeoutremote"), "10\n");
  // The load relays to sink.test: smtpd trusts it as qmail trusts a RELAYCLIENT.
  writeFileSync(join(paths.serviceDir("smtpd"), "env", "RELAYCLIENT"), "\n");
  for (const service of BUILTIN_SERVICES) if (!SERVICES.includes(service.name)) writeFileSync(join(paths.serviceDir(service.name), "down"), "");
  return basePort;
}

/**
 * A base port under which every built-in listener's port is free now. All of them lie below the
 * kernel's ephemeral range: a port in it can be taken by any outgoing connection between this check
 * and the runtime's bind (a parallel test's client did exactly that once).
 */
async function freeBasePort(): Promise<number> {
  const highest = Math.max(...BUILTIN_SERVICES.map((s) => s.port ?? 0));
  const span = Math.max(ephemeralLow() - highest - 10_000, 1_000);
  for (;;) {
    const base = 10_000 + Math.floor(Math.random() * span);
    const free = await Promise.all(BUILTIN_SERVICES.filter((s) => s.port !== undefined).map((s) => portFree(base + s.port!)));
    if (free.every(Boolean)) return base;
  }
}

/** The first port of the kernel's ephemeral range (Linux's default where it cannot be read). */
function ephemeralLow(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

interface RuntimeProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  tell(message: ToRuntimeChild): void;
  status(): Promise<readonly ServiceUp[]>;
  output(): string;
}

function startRuntime(root: string, onStats: (counts: Record<string, number>, rss: number) => void): RuntimeProcess {
  const args = runningFromSource ? ["--import", "tsx", childScript, root] : [childScript, root];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe", "ipc"], serialization: "advanced" });
  let output = "";
  const keep = (chunk: Buffer): void => void (output = (output + chunk.toString()).slice(-4000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const waiting: ((services: readonly ServiceUp[]) => void)[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.on("message", (message: FromRuntimeChild) => {
      if (message.type === "ready") resolve();
      else if (message.type === "stats") onStats(message.counts, message.rss);
      else waiting.shift()?.(message.services);
    });
    child.on("exit", (code) => reject(new Error(`the runtime exited (${code}) before it was ready: ${output}`)));
  });
  ready.catch(() => {});
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return {
    child,
    ready,
    exited,
    tell: (message) => void (child.connected && child.send(message)),
    status: () => new Promise((resolve) => {
      waiting.push(resolve);
      child.send({ type: "status" } satisfies ToRuntimeChild);
    }),
    output: () => output,
  };
}

/** The plan's schedule from `elapsedMs` on, for a runtime started again after a SIGKILL. */
const remainder = (plan: FaultPlan, elapsedMs: number): FaultPlan => ({
  ...plan,
  actions: plan.actions.filter((a) => a.atMs > elapsedMs).map((a) => ({ ...a, atMs: a.atMs - elapsedMs })),
});

async function drive(root: string, ports: { smtp: number; pop3: number }, sinkReceived: Map<string, number>, options: ChaosOptions): Promise<ChaosReport> {
  const plan = buildPlan({ seed: options.seed, durationMs: options.durationMs, kinds: options.kinds, services: KILLED_SERVICES, netSites: NET_SITES });
  // Counts of runtimes already gone, plus the latest of the one running.
  const counted = new Map<FaultKind, number>();
  let latest: Record<string, number> = {};
  let peakRss = 0;
  const onStats = (counts: Record<string, number>, rss: number): void => {
    latest = counts;
    peakRss = Math.max(peakRss, rss);
  };
  const retire = (): void => {
    addCounts(counted, latest);
    latest = {};
  };
  const faultTotal = (): number => [...counted.values(), ...Object.values(latest)].reduce((a, b) => a + b, 0);

  let runtime = startRuntime(root, onStats);
  await runtime.ready;
  const started = Date.now();
  runtime.tell({ type: "plan", plan });

  const results: { id: string; recipient: string; result: SessionResult }[] = [];
  const random = mulberry32(hash32("load", options.seed));
  let next = 0;
  const loadUntil = started + options.durationMs;
  const client = async (): Promise<void> => {
    while (Date.now() < loadUntil) {
      const id = `${options.seed}-${++next}`;
      const pick = Math.floor(random() * (LOCAL_USERS.length + 1));
      const recipient = pick < LOCAL_USERS.length ? `${LOCAL_USERS[pick]}@example.test` : `user${next}@sink.test`;
      const result = await sendMessage(ports.smtp, { sender: `${BOUNCE_USER}@example.test`, recipient, id });
      results.push({ id, recipient, result });
      if (result.outcome !== "accepted") await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  // The reader empties POP3_USER's Maildir through the load and the drain.
  const pop3 = emptyPop3Tally();
  let reading = true;
  const reader = async (): Promise<void> => {
    while (reading) {
      addPop3Session(pop3, await popMailbox(ports.pop3, POP3_USER, POP3_PASSWORD));
      await new Promise((resolve) => setTimeout(resolve, POP3_PAUSE_MS));
    }
  };
  const readerDone = reader();
  const sigkills = plan.actions.filter((a) => a.kind === "sigkill");
  let kills = 0;
  // The first runtime was ready before the load began; later ones serve MIN_UP_MS before a kill.
  let readyAt = started - MIN_UP_MS;
  const killer = (async () => {
    for (const action of sigkills) {
      const at = Math.max(started + action.atMs, readyAt + MIN_UP_MS);
      if (at >= loadUntil) break;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
      runtime.child.kill("SIGKILL");
      await runtime.exited;
      kills++;
      retire();
      runtime = startRuntime(root, onStats);
      await runtime.ready;
      readyAt = Date.now();
      runtime.tell({ type: "plan", plan: remainder(plan, Date.now() - started) });
    }
  })();
  const ticker = setInterval(() => {
    const accepted = results.filter((r) => r.result.outcome === "accepted").length;
    options.progress(`${Math.round((Date.now() - started) / 1000)}s: ${results.length} SMTP sessions, ${accepted} accepted, ${pop3.retrieved.size} retrieved by POP3, ${faultTotal() + kills} faults injected`);
  }, 5000);
  try {
    await Promise.all([...Array.from({ length: CLIENTS }, client), killer]);
    runtime.tell({ type: "clear" });
    counted.set("sigkill", kills);

    const promised = results.filter((r) => r.result.outcome === "accepted");
    const drainUntil = Date.now() + options.drainMs;
    let report = await checkInvariants({ root, sinkReceived, results, pop3, counts: new Map(), peakRss, maxRssBytes: options.maxRssBytes, services: [], seed: options.seed });
    while (report.unaccounted.length > 0 && Date.now() < drainUntil) {
      runtime.tell({ type: "alarm" });
      options.progress(`draining: ${report.unaccounted.length} of ${promised.length} accepted messages not yet delivered or bounced`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      report = await checkInvariants({ root, sinkReceived, results, pop3, counts: new Map(), peakRss, maxRssBytes: options.maxRssBytes, services: [], seed: options.seed });
    }
    reading = false;
    await readerDone;
    // Up means serving: with the faults long cleared, a POP3 session must go through cleanly.
    const pop3AtEnd = await popMailbox(ports.pop3, POP3_USER, POP3_PASSWORD);
    addPop3Session(pop3, pop3AtEnd);
    const services = await runtime.status();
    runtime.tell({ type: "stop" });
    await runtime.exited;
    retire();
    const final = await checkInvariants({ root, sinkReceived, results, pop3, counts: counted, peakRss, maxRssBytes: options.maxRssBytes, services, pop3AtEnd, seed: options.seed, plan });
    return final.unaccounted.length === 0 ? final : { ...final, notes: drainNotes(root) };
  } finally {
    reading = false;
    clearInterval(ticker);
    if (runtime.child.exitCode === null) runtime.child.kill("SIGKILL");
  }
}
