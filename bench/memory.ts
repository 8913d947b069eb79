// Memory: the resident memory that idle SMTP connections add to each system, and tsqmail's whole
// runtime at rest. Each system runs as its own process tree — tsqmail as `tsqmail start` (only
// smtpd, as in accept.ts), Postfix's master with its daemons, Haraka's cluster — and is measured over
// that whole tree (lib/proc-tree.ts) before and while a child process (lib/idle-clients.ts) holds
// 1 000 and then 10 000 greeted, idle connections to it. Both sums are shown: RSS as asked for,
// which counts a page shared by several processes once per process (Postfix runs one smtpd per
// connection, all sharing their code), and PSS, which splits shared pages among their sharers and
// so is what a tree really holds. Postfix's smtpd process limit is raised to 1 000 and Postfix is
// measured at 1 000 only: it serves each connection in its own smtpd process (about 1.2 MB PSS each
// here), so 10 000 would take some 12 GB of a machine others share; the report says so.
// Usage: node --import tsx bench/memory.ts [--quick]

import { setTimeout as sleep } from "node:timers/promises";
import { holdIdleConnections } from "./lib/idle-clients.js";
import { describeMachine, machineLine } from "./lib/machine.js";
import { freePort } from "./lib/ports.js";
import { treeMemory, type TreeMemory } from "./lib/proc-tree.js";
import { writeResults } from "./lib/results.js";
import { median } from "./lib/stats.js";
import { startHaraka } from "./peers/haraka.js";
import { startPostfix } from "./peers/postfix.js";
import { removeTsqmail, startTsqmailOnNewRoot } from "./peers/tsqmail-process.js";

const quick = process.argv.includes("--quick");
const COUNTS = [1000, 10_000] as const;
const POSTFIX_MAX = 1000;
const IDLE_TARGET_MB = 150;
/** The limits on what idle connections may add to tsqmail, in MB. */
const ADDED_TARGET_MB: Record<number, number> = { 1000: 20, 10_000: 200 };
// Readings a figure is the median of, and the pause between them: RSS moves with the collector.
const READINGS = 5;
const READING_GAP_MS = 200;
const MB = 1024 * 1024;
// At rest: V8's memory reducer gives each thread's heap back some 8 s after start-up, or in later
// 8 s steps while the thread still allocates; over twelve threads that takes up to a minute, and a
// figure read before it counts start-up garbage (40 to 60 MB here). So a reading is taken every
// REST_STEP_MS, and the runtime is at rest once the figure has stayed within SETTLED_MB for
// REST_WINDOW_MS (longer than the reducer's steps); the last figure after REST_LIMIT_MS otherwise.
const SETTLED_MB = 1;
const REST_STEP_MS = 5_000;
const REST_WINDOW_MS = 25_000;
const REST_LIMIT_MS = 120_000;

interface Reading {
  readonly processes: number;
  readonly rssMb: number;
  readonly pssMb: number;
}

interface Added {
  readonly connections: number;
  readonly greeted: number;
  readonly before: Reading;
  readonly during: Reading;
  /** during - before. */
  readonly addedRssMb: number;
  readonly addedPssMb: number;
}

interface SystemMemory {
  readonly added: Added[];
  /** Counts not measured, and why. */
  readonly skipped: Record<string, string>;
}

interface Target {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

async function reading(pid: number): Promise<Reading> {
  const samples: TreeMemory[] = [];
  for (let i = 0; i < READINGS; i++) {
    if (i > 0) await sleep(READING_GAP_MS);
    samples.push(treeMemory(pid));
  }
  return {
    processes: median(samples.map((s) => s.processes)),
    rssMb: median(samples.map((s) => s.rssBytes)) / MB,
    pssMb: median(samples.map((s) => s.pssBytes)) / MB,
  };
}

interface RestingReading extends Reading {
  /** Seconds from the first greeting to the reading. */
  readonly afterS: number;
}

/** The tree's figure once it is at rest (see REST_WINDOW_MS): the runtime, not its start-up garbage. */
async function restingReading(pid: number): Promise<RestingReading> {
  const start = performance.now();
  const seen: { at: number; reading: Reading }[] = [];
  for (;;) {
    const latest = await reading(pid);
    const now = performance.now();
    seen.push({ at: now, reading: latest });
    const window = seen.filter((s) => now - s.at <= REST_WINDOW_MS).map((s) => s.reading.rssMb);
    const still = now - seen[0]!.at >= REST_WINDOW_MS && Math.max(...window) - Math.min(...window) < SETTLED_MB;
    if (still || now - start > REST_LIMIT_MS) return { ...latest, afterS: (now - start) / 1000 };
    await sleep(REST_STEP_MS);
  }
}

async function measureAdded(target: Target, counts: readonly number[]): Promise<Added[]> {
  const added: Added[] = [];
  for (const connections of counts) {
    const before = await reading(target.pid);
    const clients = await holdIdleConnections(target.port, connections);
    try {
      if (clients.greeted !== connections) {
        throw new Error(`${clients.greeted} of ${connections} connections greeted (${clients.failed} failed, ${clients.silent} silent; first: ${clients.firstError})`);
      }
      const during = await reading(target.pid);
      added.push({ connections, greeted: clients.greeted, before, during, addedRssMb: during.rssMb - before.rssMb, addedPssMb: during.pssMb - before.pssMb });
    } finally {
      await clients.close();
    }
  }
  return added;
}

/** Starts a system, measures it, stops it; a peer that fails is reported, not fatal. */
async function measureSystem(name: string, start: () => Promise<Target>, counts: readonly number[], skipped: Record<string, string> = {}): Promise<SystemMemory | string> {
  let target: Target;
  try {
    target = await start();
  } catch (error) {
    if (name === "tsqmail") throw error;
    return (error as Error).message;
  }
  try {
    return { added: await measureAdded(target, counts), skipped };
  } catch (error) {
    if (name === "tsqmail") throw error;
    return (error as Error).message;
  } finally {
    await target.stop();
  }
}

const machine = describeMachine();
const nofile = Math.max(...COUNTS) + 1024;

// tsqmail's whole runtime at rest: every service `tsqmail init` sets up.
const idle = await (async () => {
  const port = await freePort();
  const tsqmail = await startTsqmailOnNewRoot(port, { kind: "full" });
  try {
    return await restingReading(tsqmail.pid);
  } finally {
    await removeTsqmail(tsqmail);
  }
})();

const systems: Record<string, SystemMemory | string> = {};
systems.tsqmail = await measureSystem("tsqmail", async () => {
  const port = await freePort();
  // CONCURRENCY is tcpserver's -c (40 by default): room for every idle connection.
  const tsqmail = await startTsqmailOnNewRoot(port, { kind: "accept" }, { CONCURRENCY: String(nofile) }, nofile);
  return { port, pid: tsqmail.pid, stop: () => removeTsqmail(tsqmail) };
}, COUNTS);
const postfixCounts = COUNTS.filter((n) => n <= POSTFIX_MAX);
systems.postfix = await measureSystem("postfix", async () => {
  const postfix = await startPostfix(await freePort(), { kind: "accept" }, { smtpdLimit: POSTFIX_MAX });
  return { port: postfix.port, pid: postfix.pid, stop: postfix.stop };
}, postfixCounts, Object.fromEntries(COUNTS.filter((n) => n > POSTFIX_MAX).map((n) => [String(n), `one smtpd process per connection; not run beyond ${POSTFIX_MAX} on a shared machine`])));
systems.haraka = await measureSystem("haraka", async () => {
  const haraka = await startHaraka(await freePort(), { kind: "queue" });
  return { port: haraka.port, pid: haraka.pid, stop: haraka.stop };
}, COUNTS);

const mb = (n: number | undefined): string => (n === undefined ? "-" : n.toFixed(1));
console.log(`memory: resident memory of each system's whole process tree, medians of ${READINGS} readings`);
console.log(`machine: ${machineLine(machine)}`);
console.log(`tsqmail's whole runtime at rest (every service): RSS ${mb(idle.rssMb)} MB, PSS ${mb(idle.pssMb)} MB, ${idle.processes} process(es), ${idle.afterS.toFixed(0)} s after start; target <= ${IDLE_TARGET_MB} MB: ${idle.rssMb <= IDLE_TARGET_MB ? "met" : "NOT met"}`);
const addedOf = (name: string, n: number): Added | undefined => {
  const s = systems[name];
  return typeof s === "string" ? undefined : s?.added.find((a) => a.connections === n);
};
const names = Object.keys(systems);
const peers = names.filter((n) => n !== "tsqmail");
const width = 16;
console.log(["idle conns", ...names.flatMap((n) => [`${n} RSS`, `${n} PSS`]), ...peers.map((p) => `tsqmail/${p}`)].map((h) => h.padStart(width)).join(""));
for (const n of COUNTS) {
  const ours = addedOf("tsqmail", n);
  const cells = [String(n), ...names.flatMap((name) => [mb(addedOf(name, n)?.addedRssMb), mb(addedOf(name, n)?.addedPssMb)])];
  for (const p of peers) {
    const theirs = addedOf(p, n);
    cells.push(ours === undefined || theirs === undefined ? "-" : `${(ours.addedPssMb / theirs.addedPssMb).toFixed(2)}x`);
  }
  console.log(cells.map((c) => c.padStart(width)).join(""));
}
console.log("(MB added by the connections; ratios on PSS, lower is leaner)");
for (const n of COUNTS) {
  const ours = addedOf("tsqmail", n);
  if (ours !== undefined) console.log(`target: tsqmail's ${n} idle connections add <= ${ADDED_TARGET_MB[n]} MB RSS: ${ours.addedRssMb <= ADDED_TARGET_MB[n]! ? "met" : "NOT met"}`);
}
for (const [name, s] of Object.entries(systems)) {
  if (typeof s === "string") console.log(`${name}: not measured: ${s}`);
  else {
    const perConnection = s.added.map((a) => `${((a.addedPssMb * 1024) / a.connections).toFixed(0)} KB PSS per connection at ${a.connections}`).join(", ");
    for (const [n, why] of Object.entries(s.skipped)) console.log(`${name} at ${n}: not measured: ${why} (${perConnection})`);
  }
}
const file = writeResults("memory", quick, { idle, idleTargetMb: IDLE_TARGET_MB, addedTargetMb: ADDED_TARGET_MB, systems }, machine);
console.log(`results: ${file}`);
