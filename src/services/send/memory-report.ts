// The `memory-report` send gives when asked: its worker's live heap after a full garbage
// collection (so the figure is what the queue holds, not garbage waiting for the collector),
// its rss, how many queue-entry actors it holds and its schedulers' counters. The collector is
// reached through V8's flag, once, since a worker cannot be started with --expose-gc here.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { MemoryReportMessage } from "../../messages.js";
/** A scheduling queue's counters (channel schedulers and the activation queue). */
export interface SchedulingCounters {
  readonly comparisons: number;
  readonly decisions: number;
  readonly largestQueue: number;
}

let collect: (() => void) | undefined;

function fullCollection(): void {
  if (collect === undefined) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as () => void;
  }
  collect();
}

export function memoryReport(entries: number, schedulers: readonly SchedulingCounters[]): MemoryReportMessage {
  fullCollection();
  const usage = process.memoryUsage();
  return {
    type: "memory-report",
    heapUsed: usage.heapUsed,
    rss: usage.rss,
    entries,
    schedulerComparisons: schedulers.reduce((sum, s) => sum + s.comparisons, 0),
    schedulerDecisions: schedulers.reduce((sum, s) => sum + s.decisions, 0),
    largestQueue: Math.max(...schedulers.map((s) => s.largestQueue)),
  };
}
