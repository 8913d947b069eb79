// Fault plans: what a chaos run (or a user's own test) injects, as plain data so a plan can be
// structured-cloned to every worker, msgpack'd, printed and replayed. A plan is a seed, rules
// (at fault points matching seam/site/op, with probability p: fail with an errno or a plain
// Error standing for a bug inside an actor, or bend the call: delay it, truncate a write) and
// actions on a schedule (kill a service's worker, jump the clock, SIGKILL the whole runtime). Decisions depend only on the seed, the rule and how many times
// this thread has passed that seam/site/op before: the same seed replays the same decisions,
// whatever the interleaving of unrelated points.

import type { FaultPoint, FaultSeam } from "../io/faults.js";
import { hash32, mulberry32 } from "./prng.js";

export const FAULT_KINDS = [
  "fs-eio",
  "fs-enospc",
  "fs-edquot",
  "net-reset",
  "net-delay",
  "net-truncate",
  "dns-servfail",
  "dns-timeout",
  "dns-slow",
  "actor-throw",
  "kill-worker",
  "clock-jump",
  "sigkill",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultRule {
  /** What the injection is counted as. */
  readonly kind: FaultKind;
  readonly seam: FaultSeam;
  /** A site name, or "*" for every site of the seam. */
  readonly site: string;
  /** An operation name, or "*" for every operation. */
  readonly op: string;
  readonly probability: number;
  /** The errno-style code of the thrown error; absent (and no action below): a plain Error with no code (a bug). */
  readonly code?: string;
  /** Instead of failing, the call waits this long (net and dns seams). */
  readonly delayMs?: number;
  /** Instead of failing, a socket write sends this many bytes, then the connection is reset. */
  readonly truncateAfter?: number;
}

export type ScheduledAction =
  | { readonly atMs: number; readonly kind: "kill-worker"; readonly service: string }
  // Every thread's clock (supervisors/clock.ts) moves by byMs, for good: clearing the plan keeps it.
  | { readonly atMs: number; readonly kind: "clock-jump"; readonly byMs: number }
  // Only a driver that runs the runtime in a child process can carry this one out.
  | { readonly atMs: number; readonly kind: "sigkill" };

export interface FaultPlan {
  readonly seed: number;
  readonly rules: readonly FaultRule[];
  /** Times are from the moment the plan is installed. */
  readonly actions: readonly ScheduledAction[];
}

export type FaultCounts = Partial<Record<FaultKind, number>>;

/** Decides, point by point, which rule (if any) fires. One per thread: it counts passages. */
export class FaultDecider {
  private readonly passages = new Map<string, number>();

  constructor(private readonly plan: FaultPlan) {}

  decide(point: FaultPoint): FaultRule | undefined {
    const key = `${point.seam}/${point.site}/${point.op}`;
    const n = (this.passages.get(key) ?? 0) + 1;
    this.passages.set(key, n);
    for (const [index, rule] of this.plan.rules.entries()) {
      if (rule.seam !== point.seam || !matches(rule.site, point.site) || !matches(rule.op, point.op)) continue;
      if (draw(this.plan.seed, `${index}|${key}|${n}`) < rule.probability) return rule;
    }
    return undefined;
  }
}

const matches = (pattern: string, value: string): boolean => pattern === "*" || pattern === value;

const draw = (seed: number, label: string): number => mulberry32(hash32(label, seed))();

/**
 * The file-system sites where mail is written or taken away: the queue, todo processing (send),
 * mailboxes, bounces, and POP3's reading and deleting in a maildir.
 */
export const MAIL_FS_SITES = ["enqueue", "send", "maildir", "mbox", "bounce", "clean", "pop3"] as const;

export interface PlanRequest {
  readonly seed: number;
  readonly durationMs: number;
  readonly kinds: readonly FaultKind[];
  /** Services whose workers `kill-worker` may kill. */
  readonly services: readonly string[];
  /** Sites of the net seam (listening and connecting services). */
  readonly netSites: readonly string[];
}

const FS_CODES: Partial<Record<FaultKind, string>> = { "fs-eio": "EIO", "fs-enospc": "ENOSPC", "fs-edquot": "EDQUOT" };

/**
 * The plan a chaos run uses for `kinds`: low per-call probabilities (a message passes dozens of
 * fault points) and a handful of scheduled kills spread over the run, all drawn from the seed.
 */
export function buildPlan(request: PlanRequest): FaultPlan {
  const random = mulberry32(hash32("schedule", request.seed));
  const rules: FaultRule[] = [];
  const actions: ScheduledAction[] = [];
  const at = (): number => Math.round((0.1 + 0.8 * random()) * request.durationMs);
  for (const kind of request.kinds) {
    const code = FS_CODES[kind];
    if (code !== undefined) {
      for (const site of MAIL_FS_SITES) rules.push({ kind, seam: "fs", site, op: "*", probability: 0.01, code });
      continue;
    }
    switch (kind) {
      case "net-reset":
        for (const site of request.netSites) rules.push({ kind, seam: "net", site, op: "*", probability: 0.01, code: "ECONNRESET" });
        break;
      case "net-delay": {
        const delayMs = 50 + Math.round(450 * random());
        for (const site of request.netSites) rules.push({ kind, seam: "net", site, op: "*", probability: 0.02, delayMs });
        break;
      }
      case "net-truncate": {
        // A few bytes: the peer sees a command or reply cut short, never a whole one.
        const truncateAfter = 1 + Math.floor(8 * random());
        for (const site of request.netSites) rules.push({ kind, seam: "net", site, op: "write", probability: 0.01, truncateAfter });
        break;
      }
      case "dns-servfail":
        rules.push({ kind, seam: "dns", site: "*", op: "*", probability: 0.2, code: "ESERVFAIL" });
        break;
      case "dns-timeout":
        rules.push({ kind, seam: "dns", site: "*", op: "*", probability: 0.2, code: "ETIMEOUT" });
        break;
      case "dns-slow":
        rules.push({ kind, seam: "dns", site: "*", op: "*", probability: 0.2, delayMs: 100 + Math.round(1900 * random()) });
        break;
      case "actor-throw":
        for (const site of MAIL_FS_SITES) rules.push({ kind, seam: "fs", site, op: "*", probability: 0.003 });
        break;
      case "kill-worker": {
        const kills = Math.max(1, Math.round(request.durationMs / 5000));
        for (let i = 0; i < kills; i++) {
          const service = request.services[Math.floor(random() * request.services.length)]!;
          actions.push({ atMs: at(), kind, service });
        }
        break;
      }
      case "clock-jump": {
        // Forward by minutes: retries come due early, far short of queuelifetime's bounces.
        const jumps = Math.max(1, Math.round(request.durationMs / 10_000));
        for (let i = 0; i < jumps; i++) actions.push({ atMs: at(), kind, byMs: Math.round((1 + 9 * random()) * 60_000) });
        break;
      }
      case "sigkill": {
        // One a minute: a restart of the whole runtime takes seconds on a loaded machine, and a
        // runtime that spends its time starting serves no load.
        const kills = Math.max(1, Math.round(request.durationMs / 60_000));
        for (let i = 0; i < kills; i++) actions.push({ atMs: at(), kind });
        break;
      }
    }
  }
  actions.sort((a, b) => a.atMs - b.atMs);
  return { seed: request.seed, rules, actions };
}

/** Parses `--faults`: a comma-separated list of kinds; "all" (or nothing) is every kind. */
export function parseFaultKinds(list: string | undefined): FaultKind[] {
  if (list === undefined || list === "all") return [...FAULT_KINDS];
  return list.split(",").map((name) => {
    const kind = FAULT_KINDS.find((k) => k === name.trim());
    if (kind === undefined) throw new Error(`unknown fault kind ${JSON.stringify(name)} (kinds: ${FAULT_KINDS.join(", ")})`);
    return kind;
  });
}

export function addCounts(into: Map<FaultKind, number>, counts: FaultCounts): void {
  for (const [kind, n] of Object.entries(counts) as [FaultKind, number][]) into.set(kind, (into.get(kind) ?? 0) + n);
}
