// CPU per thread of this process, read from /proc/self/task: to tell one in-process runtime's
// work (its worker threads, and the main thread while it alone is busy) from what every runtime in
// the process shares — libuv's file-system pool, whose fsync time swings with the disk, and V8's
// helper threads.

import { readdirSync, readFileSync } from "node:fs";
import { TICKS_PER_SECOND } from "./cpu.js";
import { statFields } from "./proc-tree.js";

/** utime + stime in clock ticks of each live thread of this process, by thread id. */
export function threadTicks(): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const entry of readdirSync("/proc/self/task")) {
    try {
      const { field } = statFields(readFileSync(`/proc/self/task/${entry}/stat`, "utf8"));
      ticks.set(Number(entry), field(14) + field(15)); // utime + stime
    } catch {
      // the thread ended while we looked
    }
  }
  return ticks;
}

/** Runs `start` and returns its result with the ids of the threads that appeared meanwhile. */
export async function withNewThreads<T>(start: () => Promise<T>): Promise<{ readonly value: T; readonly threads: ReadonlySet<number> }> {
  const before = threadTicks();
  const value = await start();
  const threads = new Set([...threadTicks().keys()].filter((tid) => !before.has(tid)));
  return { value, threads };
}

/** Milliseconds of CPU used so far by the given threads (ended threads count no more). */
export function threadsCpuMs(threads: ReadonlySet<number>): number {
  let ticks = 0;
  for (const [tid, used] of threadTicks()) if (threads.has(tid)) ticks += used;
  return (ticks * 1000) / TICKS_PER_SECOND;
}
