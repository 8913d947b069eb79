// What the inspector costs: the accept scenario (smtp-source, 20 sessions, 2 KB messages, one
// session each) against three tsqmail runtimes in this process — inspector off; inspector on
// (serving its page) with no page open; inspector on with a page attached. The page is a
// WebSocket client in a child process that decodes every batch as the browser page does, so
// its decoding is not counted as tsqmail's CPU (a browser would do it in its own process). The
// three take turns in rounds (lib/rounds.ts); figures are medians, ratios (msg/s and CPU ms per
// message, each against "off") medians of per-round ratios. Each runtime first takes WARMUP
// messages unmeasured: a cold runtime's CPU per message falls by half over its first few
// thousand messages as it warms up (V8 optimising its code), so rounds measured from a cold start drift, and a
// constant cost from the inspector reads as a growing share of a shrinking whole. The per-round
// figures are printed too, to show whether the cost stays flat over the run. CPU is read two ways:
// the whole process, and each runtime's own threads (its workers and the main thread, which runs
// the inspector's server) without the threads all three share — libuv's file-system pool, whose
// fsync time swings with the disk by more than the inspector's cost, and V8's helpers. The second
// excludes a cost every runtime pays alike from the denominator, so its ratio is the stricter
// one. The goal (issue 11): off loses nothing measurable, on with a page attached < 10 %.
// Usage: node --import tsx bench/inspector.ts [--quick]

import "./lib/runtime-thread-pool.js";
import { fork } from "node:child_process";
import { once } from "node:events";
import { WebSocket } from "ws";
import { unpackFrames } from "../dist/src/inspect/inspector-frame.js";
import { stat } from "node:fs/promises";
import { ownCpuMs } from "./lib/cpu.js";
import { describeMachine, machineLine } from "./lib/machine.js";
import { freePort } from "./lib/ports.js";
import { writeResults } from "./lib/results.js";
import { interleavedRounds, type Contender } from "./lib/rounds.js";
import { smtpSourceRate } from "./lib/smtp-source.js";
import { median } from "./lib/stats.js";
import { threadsCpuMs, withNewThreads } from "./lib/threads.js";
import { postfixTools } from "./peers/postfix.js";
import { BENCH_DOMAIN, startTsqmail, tsqmailQueued, type TsqmailInstance } from "./peers/tsqmail.js";

const PAGE_FLAG = "--page-client";

interface PageCounts {
  readonly messages: number;
  readonly frames: number;
  readonly bytes: number;
  readonly open: boolean;
}

/** The child process's job: read the stream as the page does and report counts when asked. */
function runPageClient(pageUrl: string): void {
  const url = new URL("stream", pageUrl);
  url.protocol = "ws:";
  const ws = new WebSocket(url);
  let counts = { messages: 0, frames: 0, bytes: 0 };
  ws.on("message", (data: Buffer) => {
    counts = { messages: counts.messages + 1, frames: counts.frames + unpackFrames(data).length, bytes: counts.bytes + data.length };
  });
  ws.once("open", () => process.send!("open"));
  ws.once("error", (error) => {
    console.error(`page client: ${error.message}`);
    process.exit(1);
  });
  process.on("message", () => {
    const report: PageCounts = { ...counts, open: ws.readyState === WebSocket.OPEN };
    process.send!(report, () => process.exit(0));
  });
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const ROUNDS = quick ? 3 : 7;
  const SLICE_SECONDS = quick ? 1.5 : 3;
  const WARMUP = quick ? 600 : 6000;
  // A slice of a few dozen messages (calibrated on a loaded machine) measures noise, not cost.
  const MIN_MESSAGES = quick ? 200 : 400;
  const SESSIONS = 20;
  const MESSAGE_BYTES = 2048;
  const machine = describeMachine();
  const tools = postfixTools();

  const instances: Record<string, TsqmailInstance> = {};
  /** Each runtime's own threads: its workers, and the main thread. */
  const ownThreads: Record<string, Set<number>> = {};
  const start = async (name: string, inspector?: { port: number }): Promise<void> => {
    const port = await freePort();
    const { value, threads } = await withNewThreads(() => startTsqmail(port, { kind: "accept" }, inspector));
    instances[name] = value;
    ownThreads[name] = new Set([process.pid, ...threads]);
  };
  try {
    await stat("."); // libuv starts its pool on the first file call: not one runtime's threads
    await start("off");
    await start("on", { port: 0 });
    await start("page", { port: 0 });
    const page = fork(new URL(import.meta.url), [PAGE_FLAG, instances.page!.inspectorUrl!]);
    const [opened] = (await Promise.race([once(page, "message"), once(page, "exit")])) as unknown[];
    if (opened !== "open") throw new Error("the page client did not connect");

    const send = (instance: TsqmailInstance, messages: number): Promise<number> =>
      smtpSourceRate(tools, { port: instance.port, sessions: SESSIONS, messages, bytes: MESSAGE_BYTES, sender: "bench@sender.test", recipient: `rcpt@${BENCH_DOMAIN}` });
    const processCpuPerMessage: Record<string, number[]> = Object.fromEntries(Object.keys(instances).map((name) => [name, []]));
    const measuredSlice = async (name: string, messages: number): Promise<number> => {
      const before = ownCpuMs();
      const rate = await send(instances[name]!, messages);
      processCpuPerMessage[name]!.push((ownCpuMs() - before) / messages);
      return rate;
    };
    const contenders: Contender[] = Object.keys(instances).map((name) => ({ name, cpuMs: () => threadsCpuMs(ownThreads[name]!), slice: (messages: number) => measuredSlice(name, messages) }));
    const plan = { warmupMessages: WARMUP, rounds: ROUNDS, sliceSeconds: SLICE_SECONDS, calibrationMessages: SESSIONS * 4, minMessages: MIN_MESSAGES, maxMessages: 20_000 };
    const result = await interleavedRounds(contenders, plan);

    page.send("report");
    const [counts] = (await once(page, "message")) as [PageCounts];
    const queued: Record<string, { sent: number; queued: number }> = {};
    for (const [name, instance] of Object.entries(instances)) queued[name] = { sent: result.sent[name]!, queued: await tsqmailQueued(instance) };

    // The process's CPU per slice of the rounds: the last ROUNDS, after the unmeasured ones lib/rounds.ts runs first.
    const processCpu = Object.fromEntries(Object.entries(processCpuPerMessage).map(([name, slices]) => [name, slices.slice(-ROUNDS)]));
    const threadCpu = result.cpuPerMessage;
    // Ratios of neighbouring slices, as lib/rounds.ts takes them for msg/s: CPU per message too.
    const perRound = (series: Record<string, number[]>, name: string): number[] => series[name]!.map((value, round) => value / series.off![round]!);
    const ratio = (name: string): number => median(perRound(result.rates, name));
    const processCpuRatio = (name: string): number => median(perRound(processCpu, name));
    const threadCpuRatio = (name: string): number => median(perRound(threadCpu, name));
    console.log(`inspector cost on accept, smtp-source, ${SESSIONS} sessions, ${MESSAGE_BYTES / 1024} KB, ${ROUNDS} rounds of ~${SLICE_SECONDS} s slices, medians`);
    console.log(`machine: ${machineLine(machine)}`);
    console.log("CPU ms/msg: the whole process, and the runtime's own threads (its workers and main; no file-system pool)");
    console.log(`${"".padEnd(20)}${"msg/s".padStart(8)}${"vs off".padStart(8)}${"process".padStart(9)}${"vs off".padStart(8)}${"own".padStart(7)}${"vs off".padStart(8)}`);
    const labels: Record<string, string> = { off: "inspector off", on: "on, no page", page: "on, page attached" };
    const versus = (name: string, value: number): string => (name === "off" ? "" : `${value.toFixed(3)}x`);
    for (const name of Object.keys(instances)) {
      const cells = [
        result.medians[name]!.toFixed(0).padStart(8),
        versus(name, ratio(name)).padStart(8),
        median(processCpu[name]!).toFixed(2).padStart(9),
        versus(name, processCpuRatio(name)).padStart(8),
        result.cpuMedians[name]!.toFixed(2).padStart(7),
        versus(name, threadCpuRatio(name)).padStart(8),
      ];
      console.log(`${labels[name]!.padEnd(20)}${cells.join("")}`);
    }
    console.log("CPU ms/msg by round (then each round's ratio to off): is the cost flat over the run?");
    for (const [reading, series] of [["process", processCpu], ["own", threadCpu]] as const) {
      for (const name of Object.keys(instances)) {
        const ratios = name === "off" ? "" : `   ${perRound(series, name).map((value) => value.toFixed(2)).join(" ")}`;
        console.log(`  ${reading.padEnd(8)}${name.padEnd(5)} ${series[name]!.map((value) => value.toFixed(2)).join(" ")}${ratios}`);
      }
    }
    console.log(`page: ${counts.frames} frames in ${counts.messages} WebSocket messages, ${(counts.bytes / 1e6).toFixed(1)} MB, ${counts.open ? "still attached" : "DROPPED by the server"}`);
    for (const [name, { sent, queued: held }] of Object.entries(queued)) {
      if (held !== sent) console.log(`WARNING: ${name} answered 250 to ${sent} messages but holds ${held} in its queue`);
    }
    const versusOff = Object.fromEntries(["on", "page"].map((name) => [name, { rate: ratio(name), cpuPerMessage: processCpuRatio(name), ownThreadsCpuPerMessage: threadCpuRatio(name) }]));
    const file = writeResults("inspector", quick, { rounds: ROUNDS, sliceSeconds: SLICE_SECONDS, warmup: WARMUP, sessions: SESSIONS, bytes: MESSAGE_BYTES, ...result, processCpuPerMessage: processCpu, versusOff, page: counts, queued }, machine);
    console.log(`results: ${file}`);
  } finally {
    for (const instance of Object.values(instances)) await instance.stop();
  }
}

if (process.argv[2] === PAGE_FLAG) runPageClient(process.argv[3]!);
else await main();
