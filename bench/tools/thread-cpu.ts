// Where a scenario's CPU goes, thread by thread: runs tsqmail alone in one mode of the benches
// (accept, maildir or relay to Postfix's smtp-sink), sends a warm-up, then a measured batch with
// smtp-source (20 sessions, 2 KB), and prints the rate, the CPU per message of the whole process,
// how idle the machine was, and each service thread's user and system time per message (the
// worker threads are named after their services), the rest (libuv's pool, V8's helpers, the main
// thread) as one sum. The benches say how tsqmail compares; this says which thread limits it.
// Not a bench: bench/run.ts does not run it, and it measures no peer.
// When the measured batch starts it prints each service thread's id, so a profiler can be pointed
// at one thread, e.g. `perf record -g -t <tid>` (bench/README.md, "Finding what limits a figure").
// Usage: node --import tsx bench/tools/thread-cpu.ts accept|maildir|relay [--messages N] [--warmup N]

import "../lib/runtime-thread-pool.js";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ownCpuMs, TICKS_PER_SECOND } from "../lib/cpu.js";
import { drainedRate } from "../lib/drain.js";
import { freePort } from "../lib/ports.js";
import { smtpSourceRate, type SourceLoad } from "../lib/smtp-source.js";
import { startSink, type Sink } from "../lib/smtp-sink.js";
import { threadTimes } from "../lib/threads.js";
import { postfixTools } from "../peers/postfix.js";
import { BENCH_DOMAIN, BENCH_USER, RELAY_DOMAIN, startTsqmail, tsqmailQueued } from "../peers/tsqmail.js";

const MODES = ["accept", "maildir", "relay"] as const;
type Mode = (typeof MODES)[number];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { messages: { type: "string", default: "6000" }, warmup: { type: "string", default: "3000" } },
});
const mode = positionals[0] as Mode;
if (!MODES.includes(mode)) throw new Error(`usage: thread-cpu.ts ${MODES.join("|")} [--messages N] [--warmup N]`);
const messages = Number(values.messages);
const warmup = Number(values.warmup);

const RECIPIENT: Record<Mode, string> = { accept: `rcpt@${BENCH_DOMAIN}`, maildir: `${BENCH_USER}@${BENCH_DOMAIN}`, relay: `rcpt@${RELAY_DOMAIN}` };

/** Busy and idle ticks of the whole machine (/proc/stat's first line). */
function machineTicks(): { busy: number; idle: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3]! + fields[4]!; // idle + iowait
  return { busy: fields.reduce((sum, n) => sum + n, 0) - idle, idle };
}

const tools = postfixTools();
const sink: Sink | undefined = mode === "relay" ? await startSink(tools, await freePort()) : undefined;
const port = await freePort();
const tsqmail = await startTsqmail(port, mode === "relay" ? { kind: "relay", sinkPort: sink!.port } : { kind: mode });
try {
  const send = (count: number): Promise<number> => {
    const load: SourceLoad = { port, sessions: 20, messages: count, bytes: 2048, sender: "bench@sender.test", recipient: RECIPIENT[mode] };
    return mode === "accept" ? smtpSourceRate(tools, load) : drainedRate(tools, load, () => tsqmailQueued(tsqmail));
  };
  if (warmup > 0) await send(warmup);

  const before = threadTimes();
  // Service threads are those the runtime named after their services; the rest is summed.
  const services = [...before].filter(([, t]) => /^[a-z][a-z0-9-]*$/.test(t.name) && t.name !== "node");
  console.log(`measuring; thread ids: ${services.map(([tid, t]) => `${t.name}=${tid}`).join(" ")}`);
  const cpuBefore = ownCpuMs();
  const machineBefore = machineTicks();
  const rate = await send(messages);
  const machineAfter = machineTicks();
  const cpu = ownCpuMs() - cpuBefore;
  const after = threadTimes();

  const perMessage = (ticks: number): string => ((ticks * 1000) / TICKS_PER_SECOND / messages).toFixed(3);
  const idle = machineAfter.idle - machineBefore.idle;
  const busy = machineAfter.busy - machineBefore.busy;
  console.log(`${mode}: ${messages} messages at ${rate.toFixed(0)} msg/s, ${(cpu / messages).toFixed(3)} ms of CPU each (whole process), machine ${((100 * idle) / (idle + busy)).toFixed(1)} % idle`);
  console.log("thread           user ms/msg  system ms/msg");
  for (const [tid, was] of services) {
    const now = after.get(tid);
    if (now === undefined) continue;
    console.log(`${was.name.padEnd(16)} ${perMessage(now.user - was.user).padStart(11)}  ${perMessage(now.system - was.system).padStart(13)}`);
  }
  const serviceIds = new Set(services.map(([tid]) => tid));
  let rest = 0;
  for (const [tid, now] of after) {
    if (serviceIds.has(tid)) continue;
    const was = before.get(tid);
    rest += now.user + now.system - (was === undefined ? 0 : was.user + was.system);
  }
  console.log(`${"other threads".padEnd(16)} ${perMessage(rest).padStart(11)}  (user + system: libuv's pool, V8's helpers, the main thread)`);
} finally {
  await tsqmail.stop();
  await sink?.stop();
}
