// Must reach: 10 000 queued messages. The queue is filled with 10 000 preprocessed messages
// (mess + info + remote files), written directly as send would have left them: 500 due now, the
// rest with next tries spread over the coming day. send runs with a fake rspawn that asks it for
// memory reports (live heap after a full collection). Checked, once every entry has been derived
// from its files and the waiting ones have gone dormant: the send worker's heap grows < 100 MB
// over the same worker with an empty queue, and each scheduling decision (activation queue and
// channel heaps) costs O(log n) heap comparisons — counted by the heaps, not timed.

import { readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { MemoryReportMessage } from "../../src/messages.js";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { logText, waitFor } from "../runtime/test-root.js";
import { deliveredLines, sendTestBed } from "./send-root.js";

const MESSAGES = 10_000;
const FIRST_ID = 1_000_000;
const DUE = 500;
/** 10 000 entered, 10 000 activated, 9 500 gone dormant again. */
const DECISIONS_WHEN_LOADED = 2 * MESSAGES + (MESSAGES - DUE);

const bed = sendTestBed();

function reports(root: string): MemoryReportMessage[] {
  return [...logText(root, "rspawn").matchAll(/ memory (\{.*\})$/gm)].map((m) => JSON.parse(m[1]!) as MemoryReportMessage);
}

function fillQueue(queueDir: string): void {
  const layout = queueLayout(queueDir);
  const now = Date.now() / 1000;
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let id = FIRST_ID; id < FIRST_ID + MESSAGES; id++) {
    writeFileSync(layout.file("mess", id), `Subject: message ${id}\n\nbody\n`);
    writeFileSync(layout.file("info", id), "Fsender@example.test\0");
    const remote = layout.file("remote", id);
    writeFileSync(remote, `Tok-${id}@far.test\0`);
    const nextTry = id < FIRST_ID + DUE ? now - 1 - random() * 86_400 : now + 60 + random() * 86_400;
    utimesSync(remote, nextTry, nextTry);
    utimesSync(layout.file("info", id), now - 86_400 * 2, now - 86_400 * 2);
  }
}

async function runAndProbe(root: string, until: (report: MemoryReportMessage) => boolean): Promise<MemoryReportMessage[]> {
  await bed.start({ readyTimeoutMs: 60_000 });
  await waitFor(() => reports(root).some(until), 60_000, "memory report");
  const seen = reports(root);
  await bed.stop();
  return seen;
}

describe("10 000 queued messages", () => {
  it("send's heap grows < 100 MB and each scheduling decision costs O(log n) comparisons", async () => {
    const made = await bed.makeRoot({ spawners: ["rspawn"], spawnEnv: { PROBE_MEMORY: "1", SLOW_MS: "0" } });
    const empty = await runAndProbe(made.root, () => true);
    const baseline = empty[0]!.heapUsed;

    fillQueue(made.queueDir);
    writeFileSync(join(made.root, "log", "rspawn", "current"), "");
    const loaded = await runAndProbe(made.root, (report) => report.schedulerDecisions >= DECISIONS_WHEN_LOADED);
    const peakHeap = Math.max(...loaded.map((report) => report.heapUsed));
    const last = loaded.at(-1)!;
    const delivered = deliveredLines(made.deliveries).length;
    const perDecision = last.schedulerComparisons / last.schedulerDecisions;
    const growthMb = (peakHeap - baseline) / 2 ** 20;
    console.log(
      `10k: baseline heap ${(baseline / 2 ** 20).toFixed(1)} MB, peak ${(peakHeap / 2 ** 20).toFixed(1)} MB (growth ${growthMb.toFixed(1)} MB), ` +
        `rss ${(last.rss / 2 ** 20).toFixed(0)} MB, largest queue ${last.largestQueue}, ${last.schedulerDecisions} decisions, ` +
        `${perDecision.toFixed(2)} comparisons per decision (log2 n = ${Math.log2(MESSAGES).toFixed(1)}), ${delivered} delivered meanwhile`,
    );
    // Up to 1000 entries are live at once; the rest waited in the activation heap.
    expect(last.largestQueue).toBeGreaterThanOrEqual(MESSAGES - 1000);
    expect(growthMb).toBeLessThan(100);
    expect(perDecision).toBeLessThanOrEqual(2 * Math.log2(MESSAGES) + 2);
    expect(readFileSync(made.deliveries, "utf8")).toMatch(/^ok-\d+@far\.test \d+\n/);
  }, 120_000);
});
