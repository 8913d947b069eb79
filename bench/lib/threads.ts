// CPU per thread of this process, read from /proc/self/task: to tell one in-process runtime's
// work (its worker threads, and the main thread while it alone is busy) from what every runtime in
// the process shares — libuv's file-system pool, whose fsync time swings with the disk, and V8's
// helper threads.

import { readdirSync, readFileSync } from "node:fs";
import { TICKS_PER_SECOND } from "./cpu.js";
import { statFields } from "./proc-tree.js";

export interface ThreadTimes {
  /** The thread's name (stat's comm field): a worker's name (tsqmail names them after their services), else "node" or V8's. */
  readonly name: string;
  /** utime and stime, in clock ticks. */
  readonly user: number;
  readonly system: number;
}

/** Name, user and system time of each live thread of this process, by thread id. */
export function threadTimes(): Map<number, ThreadTimes> {
  const times = new Map<number, ThreadTimes>();
  for (const entry of readdirSync("/proc/self/task")) {
    try {
      const { name, field } = statFields(readFileSync(`/proc/self/task/${entry}/stat`, "utf8"));
      times.set(Number(entry), { name, user: field(14), system: field(15) });
    } catch {
      // the thread ended while we looked
    }
  }
  return times;
}

/** utime + stime in clock ticks of each live thread of this process, by thread id. */
export function threadTicks(): Map<number, number> {
  return new Map([...threadTimes()].map(([tid, { user, system }]) => [tid, user + system]));
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
