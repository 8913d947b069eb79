// A process and all its live descendants, read from /proc: to sum a peer's CPU time and to make
// sure stopping a peer leaves none of its processes behind.

import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks: its own CPU and its reaped children's. */
  readonly ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: fields are counted after its last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const field = (n: number): number => Number(fields[n - 3]);
    return { pid, ppid: field(4), ticks: field(14) + field(15) + field(16) + field(17) };
  } catch {
    return undefined; // exited while we looked
  }
}

/** `root` and its descendants alive now; empty if `root` is gone. */
export function processTree(root: number): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  let top: ProcStat | undefined;
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat === undefined) continue;
    if (pid === root) top = stat;
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  }
  const tree: ProcStat[] = [];
  const walk = (stat: ProcStat): void => {
    tree.push(stat);
    for (const child of children.get(stat.pid) ?? []) walk(child);
  };
  if (top !== undefined) walk(top);
  return tree;
}
