// A process and all its live descendants, read from /proc: to sum a peer's CPU time and resident
// memory, to SIGKILL a system whole, and to make sure stopping a peer leaves none of its processes behind.

import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** The command name (stat's comm field, at most 15 bytes), e.g. "smtpd". */
  readonly name: string;
  /** utime + stime + cutime + cstime, in clock ticks: its own CPU and its reaped children's. */
  readonly ticks: number;
}

/** A /proc stat line's numeric field `n` (stat(5) numbering, from 1), and the command name. */
export function statFields(text: string): { readonly name: string; field(n: number): number } {
  // The command name may hold spaces and parentheses: fields are counted after its last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { name: text.slice(text.indexOf("(") + 1, text.lastIndexOf(")")), field: (n) => Number(fields[n - 3]) };
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const { name, field } = statFields(readFileSync(`/proc/${pid}/stat`, "utf8"));
    return { pid, ppid: field(4), name, ticks: field(14) + field(15) + field(16) + field(17) };
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

/** A field of /proc/PID/status or smaps_rollup given in kB ("VmRSS:  1234 kB"), in bytes; 0 if gone. */
function kbField(file: string, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(file, "utf8"));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0; // exited while we looked
  }
}

export interface TreeMemory {
  readonly processes: number;
  /** Sum of every process's resident set: pages shared between them (libraries, a forked parent's) count once per process. */
  readonly rssBytes: number;
  /** Sum of proportional set sizes: a shared page is split among its sharers, so the sum is what the tree holds. */
  readonly pssBytes: number;
}

/** Resident memory of `root` and its live descendants (PSS needs root or the same user). */
export function treeMemory(root: number): TreeMemory {
  const tree = processTree(root);
  let rssBytes = 0;
  let pssBytes = 0;
  for (const { pid } of tree) {
    rssBytes += kbField(`/proc/${pid}/status`, "VmRSS");
    pssBytes += kbField(`/proc/${pid}/smaps_rollup`, "Pss");
  }
  return { processes: tree.length, rssBytes, pssBytes };
}

/**
 * SIGKILL to `root` and every descendant, the root first: a master killed first cannot replace the
 * children it loses (none of the peers' children fork). Returns the pids killed.
 */
export function killTree(root: number): number[] {
  const killed: number[] = [];
  for (const { pid } of processTree(root)) {
    try {
      process.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      // Exited in between.
    }
  }
  return killed;
}
