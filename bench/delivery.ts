// Delivery throughput, SMTP in to the final place, 20 sessions of 2 KB messages from smtp-source,
// timed from the first connection until the system's queue is empty again (lib/drain.ts):
//   maildir: delivered into one user's Maildir — tsqmail (a virtual user) against Postfix
//            (virtual(8)); Haraka has no local delivery of its own, so it is not in this one;
//   relay:   relayed to Postfix's smtp-sink on loopback — tsqmail (smtproutes), Postfix
//            (relayhost) and Haraka's durable outbound queue.
// At the end each Maildir must hold every message sent. Systems take turns in rounds
// (lib/rounds.ts); every figure is a median.
// Usage: node --import tsx bench/delivery.ts [--quick]

import "./lib/runtime-thread-pool.js";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { drainedRate } from "./lib/drain.js";
import { describeMachine, machineLine } from "./lib/machine.js";
import { freePort } from "./lib/ports.js";
import { writeResults } from "./lib/results.js";
import { interleavedRounds, type RoundsResult } from "./lib/rounds.js";
import { startSink } from "./lib/smtp-sink.js";
import { printTable } from "./lib/table.js";
import { postfixTools } from "./peers/postfix.js";
import { startSystems, stopSystems, type System, type SystemModes } from "./peers/systems.js";
import { BENCH_DOMAIN, BENCH_USER, RELAY_DOMAIN } from "./peers/tsqmail.js";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 7;
const SLICE_SECONDS = quick ? 1.5 : 3;
const MESSAGE_BYTES = 2048;
const SESSIONS = 20;
/** Unmeasured messages per system before each scenario's rounds (lib/rounds.ts says why). */
const WARMUP = quick ? 1000 : 3000;

interface ScenarioResult extends RoundsResult {
  readonly scenario: string;
  readonly missing: Record<string, string>;
  /** Per system, for the maildir scenario: messages sent and files in Maildir/new. */
  readonly delivered?: Record<string, { sent: number; inMaildir: number }>;
}

const machine = describeMachine();
const tools = postfixTools();

async function runScenario(scenario: string, modes: SystemModes, recipient: string): Promise<ScenarioResult> {
  const { systems, missing } = await startSystems(modes);
  try {
    for (const [name, why] of Object.entries(missing)) console.log(`${scenario}: ${name} not measured: ${why}`);
    const contenders = systems.map((system: System) => ({
      name: system.name,
      cpuMs: () => system.cpuMs(),
      slice: (messages: number) =>
        drainedRate(tools, { port: system.port, sessions: SESSIONS, messages, bytes: MESSAGE_BYTES, sender: "bench@sender.test", recipient }, () => system.queued()),
    }));
    const plan = { warmupMessages: WARMUP, rounds: ROUNDS, sliceSeconds: SLICE_SECONDS, calibrationMessages: SESSIONS * 4, minMessages: SESSIONS * 4, maxMessages: 20_000 };
    const result = await interleavedRounds(contenders, plan);
    if (scenario !== "maildir") return { scenario, missing, ...result };
    const delivered: Record<string, { sent: number; inMaildir: number }> = {};
    for (const system of systems) {
      delivered[system.name] = { sent: result.sent[system.name] ?? 0, inMaildir: (await readdir(join(system.maildir!, "new"))).length };
    }
    return { scenario, missing, delivered, ...result };
  } finally {
    await stopSystems(systems);
  }
}

const results: ScenarioResult[] = [];
results.push(await runScenario("maildir", { tsqmail: { kind: "maildir" }, postfix: { kind: "maildir", domain: BENCH_DOMAIN } }, `${BENCH_USER}@${BENCH_DOMAIN}`));
const sink = await startSink(tools, await freePort());
try {
  const relay = { kind: "relay", sinkPort: sink.port } as const;
  results.push(await runScenario("relay", { tsqmail: relay, postfix: relay, haraka: relay }, `rcpt@${RELAY_DOMAIN}`));
} finally {
  await sink.stop();
}

console.log(`delivery, smtp-source, ${SESSIONS} sessions, one message per session, ${WARMUP} messages of warm-up per system, ${ROUNDS} rounds of ~${SLICE_SECONDS} s slices, medians`);
console.log(`machine: ${machineLine(machine)}`);
printTable(
  ["scenario", "size"],
  results.map((r) => ({ labels: [r.scenario, `${MESSAGE_BYTES / 1024} KB`], result: r })),
  ["tsqmail", "postfix", "haraka"],
);
for (const r of results) {
  for (const [name, { sent, inMaildir }] of Object.entries(r.delivered ?? {})) {
    if (inMaildir !== sent) console.log(`WARNING: ${r.scenario}: ${name} was sent ${sent} messages but its Maildir holds ${inMaildir}`);
  }
}
const file = writeResults("delivery", quick, { warmup: WARMUP, rounds: ROUNDS, sliceSeconds: SLICE_SECONDS, sessions: SESSIONS, bytes: MESSAGE_BYTES, scenarios: results }, machine);
console.log(`results: ${file}`);
