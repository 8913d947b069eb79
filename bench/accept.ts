// SMTP accept into a durable queue: Postfix's smtp-source sends 2 KB and 100 KB messages (one SMTP
// session each) with 20 and with 1 concurrent sessions to tsqmail's smtpd, to Postfix that only queues
// (every transport deferred) and to Haraka that only queues (outbound delivery disabled), all on
// loopback and in the same run, beside the disk's ceiling for qmail's commit protocol with as many
// writers as sessions (lib/disk-ceiling.ts). Each system answers 250 only after its queue file is
// on disk, and at the end every 250 is checked against the messages its queue holds. The systems
// take turns in rounds (lib/rounds.ts); every figure is a median.
// Usage: node --import tsx bench/accept.ts [--quick]

import "./lib/runtime-thread-pool.js";
import { setTimeout as sleep } from "node:timers/promises";
import { describeMachine, machineLine } from "./lib/machine.js";
import { writeResults } from "./lib/results.js";
import { ownCpuMs } from "./lib/cpu.js";
import { openDiskCeiling, type DiskCeiling } from "./lib/disk-ceiling.js";
import { interleavedRounds, type Contender, type RoundsResult } from "./lib/rounds.js";
import { smtpSourceRate } from "./lib/smtp-source.js";
import { printTable } from "./lib/table.js";
import { postfixTools } from "./peers/postfix.js";
import { startSystems, stopSystems, type System } from "./peers/systems.js";
import { BENCH_DOMAIN } from "./peers/tsqmail.js";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 7;
const SLICE_SECONDS = quick ? 1.5 : 3;
const MESSAGE_BYTES = [2048, 102_400] as const;
const SESSIONS = [20, 1] as const;
/** Unmeasured messages per system before the first setting (lib/rounds.ts says why). */
const WARMUP = quick ? 1000 : 3000;

interface SettingResult extends RoundsResult {
  readonly sessions: number;
  readonly bytes: number;
}

const machine = describeMachine();
const tools = postfixTools();

function measure(systems: readonly System[], ceiling: DiskCeiling, sessions: number, bytes: number, warmupMessages: number): Promise<RoundsResult> {
  const contenders: Contender[] = systems.map((system) => ({
    name: system.name,
    cpuMs: () => system.cpuMs(),
    slice: (messages: number) =>
      smtpSourceRate(tools, { port: system.port, sessions, messages, bytes, sender: "bench@sender.test", recipient: `rcpt@${BENCH_DOMAIN}` }),
  }));
  contenders.push({ name: "ceiling", cpuMs: ownCpuMs, slice: (messages) => ceiling.rate(sessions, messages, bytes) });
  const plan = { warmupMessages, rounds: ROUNDS, sliceSeconds: SLICE_SECONDS, calibrationMessages: Math.max(40, sessions * 4), minMessages: sessions * 4, maxMessages: 20_000 };
  return interleavedRounds(contenders, plan);
}

const { systems, missing } = await startSystems({ tsqmail: { kind: "accept" }, postfix: { kind: "accept" }, haraka: { kind: "queue" } });
const ceiling = await openDiskCeiling();
const results: SettingResult[] = [];
const queued: Record<string, { sent: number; queued: number }> = {};
try {
  for (const [name, why] of Object.entries(missing)) console.log(`${name}: not measured: ${why}`);
  for (const bytes of MESSAGE_BYTES) {
    for (const sessions of SESSIONS) results.push({ sessions, bytes, ...(await measure(systems, ceiling, sessions, bytes, results.length === 0 ? WARMUP : 0)) });
  }
  // Postfix's qmgr may still be moving the last messages between its queues.
  await sleep(1000);
  for (const system of systems) {
    const sent = results.reduce((sum, r) => sum + (r.sent[system.name] ?? 0), 0);
    queued[system.name] = { sent, queued: await system.queued() };
  }
} finally {
  await stopSystems(systems);
  await ceiling.remove();
}

console.log(`accept into a durable queue, smtp-source, one session per message, ${WARMUP} messages of warm-up per system, ${ROUNDS} rounds of ~${SLICE_SECONDS} s slices, medians`);
console.log(`machine: ${machineLine(machine)}`);
printTable(
  ["sessions", "size"],
  results.map((r) => ({ labels: [String(r.sessions), `${r.bytes / 1024} KB`], result: r })),
  [...systems.map((s) => s.name), "ceiling"],
);
for (const [name, { sent, queued: held }] of Object.entries(queued)) {
  if (held !== sent) console.log(`WARNING: ${name} answered 250 to ${sent} messages but holds ${held} in its queue`);
}
const file = writeResults("accept", quick, { warmup: WARMUP, rounds: ROUNDS, sliceSeconds: SLICE_SECONDS, missing, settings: results, queued }, machine);
console.log(`results: ${file}`);
