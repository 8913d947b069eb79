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
// figures are printed too, to show whether the cost stays flat over the run. The goal
// (issue 11): off loses nothing measurable, on with a page attached < 10 %.
// Usage: node --import tsx bench/inspector.ts [--quick]

import { fork } from "node:child_process";
import { once } from "node:events";
import { WebSocket } from "ws";
import { unpackFrames } from "../dist/src/inspect/inspector-frame.js";
import { ownCpuMs } from "./lib/cpu.js";
import { describeMachine, machineLine } from "./lib/machine.js";
import { freePort } from "./lib/ports.js";
import { writeResults } from "./lib/results.js";
import { interleavedRounds, type Contender } from "./lib/rounds.js";
import { smtpSourceRate } from "./lib/smtp-source.js";
import { median } from "./lib/stats.js";
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
  const WARMUP = quick ? 600 : 2000;
  // A slice of a few dozen messages (calibrated on a loaded machine) measures noise, not cost.
  const MIN_MESSAGES = quick ? 200 : 400;
  const SESSIONS = 20;
  const MESSAGE_BYTES = 2048;
  const machine = describeMachine();
  const tools = postfixTools();

  const instances: Record<string, TsqmailInstance> = {};
  try {
    instances.off = await startTsqmail(await freePort(), { kind: "accept" });
    instances.on = await startTsqmail(await freePort(), { kind: "accept" }, { port: 0 });
    instances.page = await startTsqmail(await freePort(), { kind: "accept" }, { port: 0 });
    const page = fork(new URL(import.meta.url), [PAGE_FLAG, instances.page.inspectorUrl!]);
    const [opened] = (await Promise.race([once(page, "message"), once(page, "exit")])) as unknown[];
    if (opened !== "open") throw new Error("the page client did not connect");

    const send = (instance: TsqmailInstance, messages: number): Promise<number> =>
      smtpSourceRate(tools, { port: instance.port, sessions: SESSIONS, messages, bytes: MESSAGE_BYTES, sender: "bench@sender.test", recipient: `rcpt@${BENCH_DOMAIN}` });
    for (const instance of Object.values(instances)) await send(instance, WARMUP);
    const contenders: Contender[] = Object.entries(instances).map(([name, instance]) => ({ name, cpuMs: ownCpuMs, slice: (messages: number) => send(instance, messages) }));
    const plan = { rounds: ROUNDS, sliceSeconds: SLICE_SECONDS, calibrationMessages: SESSIONS * 4, minMessages: MIN_MESSAGES, maxMessages: 20_000 };
    const result = await interleavedRounds(contenders, plan);

    page.send("report");
    const [counts] = (await once(page, "message")) as [PageCounts];
    const queued: Record<string, { sent: number; queued: number }> = {};
    for (const [name, instance] of Object.entries(instances)) queued[name] = { sent: result.sent[name]! + WARMUP, queued: await tsqmailQueued(instance) };

    // Ratios of neighbouring slices, as lib/rounds.ts takes them for msg/s: CPU per message too.
    const ratio = (name: string): number => median(result.rates[name]!.map((rate, round) => rate / result.rates.off![round]!));
    const cpuRatio = (name: string): number => median(result.cpuPerMessage[name]!.map((cpu, round) => cpu / result.cpuPerMessage.off![round]!));
    console.log(`inspector cost on accept, smtp-source, ${SESSIONS} sessions, ${MESSAGE_BYTES / 1024} KB, ${ROUNDS} rounds of ~${SLICE_SECONDS} s slices, medians`);
    console.log(`machine: ${machineLine(machine)}`);
    console.log(`${"".padEnd(22)}${"msg/s".padStart(9)}${"vs off".padStart(9)}${"CPU ms/msg".padStart(12)}${"vs off".padStart(9)}`);
    const labels: Record<string, string> = { off: "inspector off", on: "on, no page", page: "on, page attached" };
    for (const name of Object.keys(instances)) {
      const vs = name === "off" ? "" : `${ratio(name).toFixed(3)}x`;
      const cpuVs = name === "off" ? "" : `${cpuRatio(name).toFixed(3)}x`;
      console.log(`${labels[name]!.padEnd(22)}${result.medians[name]!.toFixed(0).padStart(9)}${vs.padStart(9)}${result.cpuMedians[name]!.toFixed(2).padStart(12)}${cpuVs.padStart(9)}`);
    }
    console.log("CPU ms/msg by round (then each round's ratio to off): is the cost flat over the run?");
    for (const name of Object.keys(instances)) {
      const cpu = result.cpuPerMessage[name]!;
      const ratios = name === "off" ? "" : `   ${cpu.map((value, round) => (value / result.cpuPerMessage.off![round]!).toFixed(2)).join(" ")}`;
      console.log(`  ${name.padEnd(5)} ${cpu.map((value) => value.toFixed(2)).join(" ")}${ratios}`);
    }
    console.log(`page: ${counts.frames} frames in ${counts.messages} WebSocket messages, ${(counts.bytes / 1e6).toFixed(1)} MB, ${counts.open ? "still attached" : "DROPPED by the server"}`);
    for (const [name, { sent, queued: held }] of Object.entries(queued)) {
      if (held !== sent) console.log(`WARNING: ${name} answered 250 to ${sent} messages but holds ${held} in its queue`);
    }
    const versusOff = Object.fromEntries(["on", "page"].map((name) => [name, { rate: ratio(name), cpuPerMessage: cpuRatio(name) }]));
    const file = writeResults("inspector", quick, { rounds: ROUNDS, sliceSeconds: SLICE_SECONDS, warmup: WARMUP, sessions: SESSIONS, bytes: MESSAGE_BYTES, ...result, versusOff, page: counts, queued }, machine);
    console.log(`results: ${file}`);
  } finally {
    for (const instance of Object.values(instances)) await instance.stop();
  }
}

if (process.argv[2] === PAGE_FLAG) runPageClient(process.argv[3]!);
else await main();
