// What must hold after a chaos run, checked against the disk and the sink, never against what
// the runtime says of itself: every message smtpd accepted (2xx after the dot) is in a Maildir,
// at the sink, or in a bounce to its sender; a duplicate is allowed only when a fault that can
// strike between a delivery and its done mark happened; the queue passes qmaint's scan; every
// service wanted up is up; resident memory stayed under the bound; no session got a 5xx.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { scanQueue } from "../queue/queue-scan.js";
import { rootPaths } from "../root/paths.js";
import type { FaultKind, FaultPlan } from "./fault-plan.js";
import type { ServiceUp } from "./runtime-child.js";
import type { SessionResult } from "./smtp-load.js";

/** The run's Maildir users: recipients of the local load, and the sender (bounces come back to it). */
export const LOCAL_USERS = ["alice", "bob"];
export const BOUNCE_USER = "chaos";

export interface InvariantInput {
  readonly root: string;
  readonly seed: number;
  readonly plan?: FaultPlan;
  readonly sinkReceived: ReadonlyMap<string, number>;
  readonly results: readonly { id: string; recipient: string; result: SessionResult }[];
  readonly counts: ReadonlyMap<FaultKind, number>;
  readonly services: readonly ServiceUp[];
  readonly peakRss: number;
  readonly maxRssBytes: number;
}

export interface ChaosReport {
  readonly seed: number;
  readonly sessions: Record<SessionResult["outcome"], number>;
  readonly delivered: { readonly local: number; readonly remote: number; readonly bounced: number };
  readonly duplicates: { readonly local: number; readonly remote: number };
  readonly counts: Record<string, number>;
  readonly peakRssMb: number;
  /** Accepted messages found nowhere (yet). */
  readonly unaccounted: readonly string[];
  readonly violations: readonly string[];
}

// A delivery done twice needs a crash or a failed write between the delivery and the done mark.
const LOCAL_DUPLICATE_CAUSES: readonly FaultKind[] = ["kill-worker", "sigkill", "actor-throw", "fs-eio", "fs-enospc", "fs-edquot"];
// Remotely also a reset after the sink took the data but before its 250 arrived (RFC 1047).
const REMOTE_DUPLICATE_CAUSES: readonly FaultKind[] = [...LOCAL_DUPLICATE_CAUSES, "net-reset"];

/** How many times each X-Chaos-Id occurs in the messages of a Maildir. */
function maildirIds(maildir: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const sub of ["new", "cur"]) {
    let names: string[];
    try {
      names = readdirSync(join(maildir, sub));
    } catch {
      continue;
    }
    for (const name of names) {
      const text = readFileSync(join(maildir, sub, name), "latin1");
      for (const match of text.matchAll(/^X-Chaos-Id: (\S+)/gm)) found.set(match[1]!, (found.get(match[1]!) ?? 0) + 1);
    }
  }
  return found;
}

const extra = (ids: ReadonlyMap<string, number>): number => [...ids.values()].reduce((sum, n) => sum + n - 1, 0);

export async function checkInvariants(input: InvariantInput): Promise<ChaosReport> {
  const paths = rootPaths(input.root);
  const local = new Map<string, number>();
  for (const user of LOCAL_USERS) for (const [id, n] of maildirIds(join(paths.home, user, "Maildir"))) local.set(id, (local.get(id) ?? 0) + n);
  const bounced = maildirIds(join(paths.home, BOUNCE_USER, "Maildir"));

  const sessions = { accepted: 0, deferred: 0, rejected: 0, dropped: 0, refused: 0 };
  const violations: string[] = [];
  const unaccounted: string[] = [];
  for (const { id, recipient, result } of input.results) {
    sessions[result.outcome]++;
    if (result.outcome === "rejected") violations.push(`5xx for valid mail: message ${id} to ${recipient}: ${result.detail}`);
    if (result.outcome !== "accepted") continue;
    const remote = recipient.endsWith("@sink.test");
    if (!(remote ? input.sinkReceived.has(id) : local.has(id)) && !bounced.has(id)) unaccounted.push(id);
  }
  const duplicates = { local: extra(local), remote: extra(input.sinkReceived) };
  const happened = (causes: readonly FaultKind[]): boolean => causes.some((kind) => (input.counts.get(kind) ?? 0) > 0);

  if (input.plan !== undefined) {
    for (const id of unaccounted) violations.push(`accepted but neither delivered nor bounced after the drain: message ${id}`);
    if (duplicates.local > 0 && !happened(LOCAL_DUPLICATE_CAUSES)) violations.push(`${duplicates.local} duplicate Maildir deliveries with no crash or write failure to explain them`);
    if (duplicates.remote > 0 && !happened(REMOTE_DUPLICATE_CAUSES)) violations.push(`${duplicates.remote} duplicate remote deliveries with no crash, write failure or reset to explain them`);
    const scan = await scanQueue(paths.queue);
    for (const problem of scan.problems) violations.push(`qmaint: ${problem.kind}: ${problem.path}: ${problem.detail}`);
    for (const service of input.services) if (service.wanted && !service.up) violations.push(`service ${service.name} is not up at the end`);
    if (input.peakRss > input.maxRssBytes) violations.push(`resident memory reached ${mb(input.peakRss)} MB, over the bound of ${mb(input.maxRssBytes)} MB`);
  }
  return {
    seed: input.seed,
    sessions,
    delivered: { local: local.size, remote: input.sinkReceived.size, bounced: bounced.size },
    duplicates,
    counts: Object.fromEntries(input.counts),
    peakRssMb: mb(input.peakRss),
    unaccounted,
    violations,
  };
}

const mb = (bytes: number): number => Math.round(bytes / 1048576);
