// CPU time a system spends, so a figure taken on a busy machine can still say how much work each
// message costs. For a peer running as a process tree (Postfix's master and its daemons, Haraka's
// cluster): the sum over the live tree of each process's user + system time plus what its reaped
// children left in cutime/cstime. For tsqmail, which runs in this process's worker threads:
// process.cpuUsage().

import { execFileSync } from "node:child_process";
import { processTree } from "./proc-tree.js";

export const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** Milliseconds of CPU used so far by the process tree rooted at `root`. */
export function treeCpuMs(root: number): number {
  const ticks = processTree(root).reduce((sum, stat) => sum + stat.ticks, 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** Milliseconds of CPU used so far by this process, all threads. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
