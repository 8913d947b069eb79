// Enqueue throughput with full durability, beside this disk's own ceiling measured in the same
// run. Ceiling: per message, create + write 2 KB + fsync + link + fsync of the link's directory —
// the least any durable queue must do. Enqueue: qmail-queue's whole commit sequence (queue-writer.ts).
// A virtual disk's speed drifts by several times within a minute, so the two are measured in
// adjacent short slices (order swapped every pair) and the ratio is the median of the per-pair
// ratios; throughputs are medians too. Each slice is bounded in messages and seconds. Enqueue
// writes into one queue and the ceiling into one directory for the whole run, both removed at the
// end (lib/disk-ceiling.ts says why not sooner). Both first take WARMUP messages unmeasured, as a
// long-lived server's code and queue would be warm.
// Usage: node --import tsx bench/enqueue.ts [--quick]

import "./lib/runtime-thread-pool.js";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createQueue } from "../dist/src/queue/create-queue.js";
import { enqueue } from "../dist/src/queue/enqueue.js";
import { boundedLoad } from "./lib/bounded-load.js";
import { openDiskCeiling, type DiskCeiling } from "./lib/disk-ceiling.js";
import { describeMachine } from "./lib/machine.js";
import { writeResults } from "./lib/results.js";
import { median } from "./lib/stats.js";

const quick = process.argv.includes("--quick");
const PAIRS = quick ? 5 : 9;
const MESSAGE_BYTES = 2048;
const TARGET_RATIO = 0.6;
const WARMUP = 1000;
const settings = [
  { concurrency: 1, messages: 2000, seconds: quick ? 1 : 1.5 },
  { concurrency: 20, messages: 10_000, seconds: quick ? 1 : 1.5 },
] as const;

const body = randomBytes(MESSAGE_BYTES);
async function* message(): AsyncGenerator<Uint8Array> {
  yield body;
}
const envelope = { sender: "bench@example.org", recipients: ["rcpt@example.net"] };

/** A queue in a new temp dir, and its removal. */
async function openQueue(): Promise<{ readonly queueDir: string; remove(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), "tsqmail-bench-queue-"));
  const queueDir = join(root, "queue");
  await createQueue(queueDir);
  return { queueDir, remove: () => rm(root, { recursive: true, force: true }) };
}

function enqueueRun(queueDir: string, concurrency: number, messages: number, seconds: number): Promise<number> {
  return boundedLoad(concurrency, messages, seconds, async () => {
    const result = await enqueue(queueDir, message(), envelope, { invokedBy: "network" });
    if (!result.ok) throw new Error(`enqueue failed: ${result.text}`);
  });
}

interface EnqueueBenchRow {
  readonly concurrency: number;
  readonly ceiling: number;
  readonly enqueue: number;
  readonly ratio: number;
}

async function benchEnqueue(queueDir: string, disk: DiskCeiling): Promise<EnqueueBenchRow[]> {
  const rows: EnqueueBenchRow[] = [];
  await enqueueRun(queueDir, 20, WARMUP, Infinity);
  await disk.rate(20, WARMUP, MESSAGE_BYTES);
  for (const { concurrency, messages, seconds } of settings) {
    const ceiling: number[] = [];
    const queued: number[] = [];
    for (let pair = 0; pair < PAIRS; pair++) {
      if (pair % 2 === 0) {
        ceiling.push(await disk.rate(concurrency, messages, MESSAGE_BYTES, seconds));
        queued.push(await enqueueRun(queueDir, concurrency, messages, seconds));
      } else {
        queued.push(await enqueueRun(queueDir, concurrency, messages, seconds));
        ceiling.push(await disk.rate(concurrency, messages, MESSAGE_BYTES, seconds));
      }
    }
    const ratios = queued.map((q, i) => q / ceiling[i]!);
    rows.push({ concurrency, ceiling: median(ceiling), enqueue: median(queued), ratio: median(ratios) });
  }
  return rows;
}

const machine = describeMachine();
const queue = await openQueue();
const disk = await openDiskCeiling();
let rows: EnqueueBenchRow[];
try {
  rows = await benchEnqueue(queue.queueDir, disk);
} finally {
  await queue.remove();
  await disk.remove();
}
const fmt = (n: number): string => n.toFixed(0).padStart(8);
console.log(`enqueue, ${MESSAGE_BYTES}-byte messages, full durability (${PAIRS} slice pairs of ${settings[0].seconds} s, medians; ${tmpdir()})`);
console.log("concurrency  disk ceiling msg/s  enqueue msg/s  median ratio");
for (const r of rows) {
  console.log(`${String(r.concurrency).padStart(11)}  ${fmt(r.ceiling)}            ${fmt(r.enqueue)}       ${(r.ratio * 100).toFixed(0).padStart(3)} %`);
}
const at20 = rows.find((r) => r.concurrency === 20);
if (at20 !== undefined) {
  console.log(`target: enqueue at concurrency 20 >= ${TARGET_RATIO * 100} % of the ceiling: ${at20.ratio >= TARGET_RATIO ? "met" : "NOT met"}`);
}
const file = writeResults("enqueue", quick, { bytes: MESSAGE_BYTES, pairs: PAIRS, targetRatio: TARGET_RATIO, rows }, machine);
console.log(`results: ${file}`);
