// Supervision: the time from a crash of the service that serves SMTP to serving again, under each
// system's own supervision. A client holds a greeted connection; the service is killed — tsqmail:
// `tsqmail svc -k smtpd` (its supervise terminates smtpd's worker thread and starts a new one, at
// most one start per second); Postfix: SIGKILL to every smtpd process (master forks new ones on
// demand); Haraka: SIGKILL to every cluster worker (its master forks replacements) — and the clock
// starts when the held connection dies, i.e. when the crash is visible to a client, and stops at the
// first 220 on a new connection (lib/ports.ts's untilGreeted, tried every 10 ms). Cycles are spaced by more than a second, so
// supervise's one-start-per-second rule never holds a restart back.
// Usage: node --import tsx bench/supervision.ts [--quick]

import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { describeMachine, machineLine } from "./lib/machine.js";
import { freePort, untilGreeted } from "./lib/ports.js";
import { processTree } from "./lib/proc-tree.js";
import { writeResults } from "./lib/results.js";
import { median } from "./lib/stats.js";
import { startHaraka } from "./peers/haraka.js";
import { startPostfix } from "./peers/postfix.js";
import { removeTsqmail, startTsqmailOnNewRoot, tsqmailCommand } from "./peers/tsqmail-process.js";

const quick = process.argv.includes("--quick");
const CYCLES = quick ? 3 : 7;
const TARGET_MS = 1500;
// More than supervise's one second between starts, counted from the last restart.
const CYCLE_GAP_MS = 1500;
const CRASH_SEEN_MS = 10_000;
const SERVE_TIMEOUT_MS = 30_000;

interface Crashable {
  readonly port: number;
  /** Kills the service that serves SMTP, the system's own way. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

/** A greeted connection, and a promise of the moment it dies (performance.now()). */
function holdConnection(port: number): Promise<{ socket: Socket; died: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const died = new Promise<number>((dead) => socket.once("close", () => dead(performance.now())));
    socket.on("error", () => {}); // a reset is how the crash may show; "close" follows
    socket.once("data", (data) => (data.toString("latin1").startsWith("220") ? resolve({ socket, died }) : reject(new Error(`greeting: ${data}`))));
    socket.setTimeout(SERVE_TIMEOUT_MS, () => reject(new Error("no greeting")));
  });
}

/** Milliseconds from the held connection's death to the next 220. */
async function cycle(system: Crashable): Promise<number> {
  const { socket, died } = await holdConnection(system.port);
  socket.setTimeout(0);
  await system.crash();
  const crashed = await Promise.race([died, sleep(CRASH_SEEN_MS).then(() => undefined)]);
  if (crashed === undefined) {
    socket.destroy();
    throw new Error(`the held connection outlived the crash by ${CRASH_SEEN_MS / 1000} s`);
  }
  return untilGreeted(system.port, crashed, SERVE_TIMEOUT_MS);
}

function killAll(pids: readonly number[], what: string): void {
  if (pids.length === 0) throw new Error(`no ${what} process to kill`);
  for (const pid of pids) process.kill(pid, "SIGKILL");
}

async function tsqmail(): Promise<Crashable> {
  const port = await freePort();
  const started = await startTsqmailOnNewRoot(port, { kind: "accept" });
  return {
    port,
    crash: () => tsqmailCommand(started.root, ["svc", "-k", "smtpd"]),
    stop: () => removeTsqmail(started),
  };
}

async function postfix(): Promise<Crashable> {
  const started = await startPostfix(await freePort(), { kind: "accept" });
  return {
    port: started.port,
    crash: async () => killAll(processTree(started.pid).filter((p) => p.name === "smtpd").map((p) => p.pid), "smtpd"),
    stop: started.stop,
  };
}

async function haraka(): Promise<Crashable> {
  const started = await startHaraka(await freePort(), { kind: "queue" });
  return {
    port: started.port,
    crash: async () => killAll(processTree(started.pid).filter((p) => p.pid !== started.pid).map((p) => p.pid), "Haraka worker"),
    stop: started.stop,
  };
}

async function measure(start: () => Promise<Crashable>): Promise<number[]> {
  const system = await start();
  try {
    const ms: number[] = [];
    for (let i = 0; i < CYCLES; i++) {
      if (i > 0) await sleep(CYCLE_GAP_MS);
      ms.push(await cycle(system));
    }
    return ms;
  } finally {
    await system.stop();
  }
}

const machine = describeMachine();
const results: Record<string, number[] | string> = { tsqmail: await measure(tsqmail) };
for (const [name, start] of [["postfix", postfix], ["haraka", haraka]] as const) {
  try {
    results[name] = await measure(start);
  } catch (error) {
    results[name] = (error as Error).message;
  }
}

console.log(`supervision: crash of the SMTP service (seen by a client) to the next 220, ${CYCLES} cycles, medians`);
console.log(`machine: ${machineLine(machine)}`);
const ours = median(results.tsqmail as number[]);
console.log(`${"system".padEnd(10)}${"ms".padStart(8)}${"tsqmail/peer".padStart(14)}  every cycle (ms)`);
for (const [name, r] of Object.entries(results)) {
  if (typeof r === "string") {
    console.log(`${name}: not measured: ${r}`);
    continue;
  }
  const ratio = name === "tsqmail" ? "" : `${(ours / median(r)).toFixed(2)}x`;
  console.log(`${name.padEnd(10)}${median(r).toFixed(0).padStart(8)}${ratio.padStart(14)}  ${r.map((m) => m.toFixed(0)).join(" ")}`);
}
console.log(`(lower is faster; target: tsqmail < ${TARGET_MS} ms: ${ours < TARGET_MS ? "met" : "NOT met"})`);
const file = writeResults("supervision", quick, { cycles: CYCLES, targetMs: TARGET_MS, systems: Object.fromEntries(Object.entries(results).map(([n, r]) => [n, typeof r === "string" ? r : { ms: r, medianMs: median(r) }])) }, machine);
console.log(`results: ${file}`);
