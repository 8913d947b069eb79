// What must hold after a chaos run, checked against the disk, the sink and what the POP3 reader
// took, never against what the runtime says of itself: every message smtpd accepted (2xx after
// the dot) is in a Maildir, retrieved whole by POP3, at the sink, or in a bounce to its sender; a
// duplicate (two copies — maildir files, by unique name — of one message) is allowed only when a
// fault that can strike between a delivery and its done mark happened; the queue passes qmaint's
// scan; every service wanted up is up, and pop3d serves a clean session after the drain; resident
// memory stayed under the bound; no SMTP session got a 5xx; no POP3 reply was wrong and no
// deletion POP3 confirmed was undone.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { scanQueue } from "../queue/queue-scan.js";
import { rootPaths } from "../root/paths.js";
import type { FaultKind, FaultPlan } from "./fault-plan.js";
import type { Pop3Session, Pop3Tally } from "./pop3-load.js";
import type { ServiceUp } from "./runtime-child.js";
import type { SessionResult } from "./smtp-load.js";

/** The run's Maildir users: recipients of the local load, and the sender (bounces come back to it). */
export const LOCAL_USERS = ["alice", "bob"];
export const BOUNCE_USER = "chaos";
/** The local user whose Maildir the POP3 reader empties, and the password it logs in with. */
export const POP3_USER = "bob";
export const POP3_PASSWORD = "chaos-pop3";

export interface InvariantInput {
  readonly root: string;
  readonly seed: number;
  readonly plan?: FaultPlan;
  readonly sinkReceived: ReadonlyMap<string, number>;
  readonly results: readonly { id: string; recipient: string; result: SessionResult }[];
  readonly pop3: Pop3Tally;
  readonly counts: ReadonlyMap<FaultKind, number>;
  readonly services: readonly ServiceUp[];
  readonly peakRss: number;
  readonly maxRssBytes: number;
  /** A POP3 session made after the drain, with no faults: it must have gone through cleanly. */
  readonly pop3AtEnd?: Pop3Session;
}

export interface ChaosReport {
  readonly seed: number;
  readonly sessions: Record<SessionResult["outcome"], number>;
  readonly delivered: { readonly local: number; readonly remote: number; readonly bounced: number };
  readonly duplicates: { readonly local: number; readonly remote: number };
  readonly pop3: { readonly sessions: Pop3Tally["sessions"]; readonly retrieved: number; readonly deleted: number };
  readonly counts: Record<string, number>;
  readonly peakRssMb: number;
  /** Accepted messages found nowhere (yet). */
  readonly unaccounted: readonly string[];
  readonly violations: readonly string[];
  /** When messages were unaccounted for: what may have held them (drain-notes.ts). */
  readonly notes?: readonly string[];
}

// A delivery done twice needs a crash or a failed write between the delivery and the done mark.
const LOCAL_DUPLICATE_CAUSES: readonly FaultKind[] = ["kill-worker", "sigkill", "actor-throw", "fs-eio", "fs-enospc", "fs-edquot"];
// A connection may end with no reply only when something cut it: a socket fault, a killed worker
// or runtime, a bug thrown inside it. Local trouble (a failed file-system call) must be answered.
const DROP_CAUSES: readonly FaultKind[] = ["net-reset", "net-truncate", "kill-worker", "sigkill", "actor-throw"];
// A retrieval cut short after its +OK: also a failed read of the message (the reply was under way).
const CUT_CAUSES: readonly FaultKind[] = [...DROP_CAUSES, "fs-eio", "fs-enospc", "fs-edquot"];
// Remotely also a reset after the sink took the data but before its 250 arrived (RFC 1047).
const REMOTE_DUPLICATE_CAUSES: readonly FaultKind[] = [...LOCAL_DUPLICATE_CAUSES, "net-reset"];

/** The copies in a Maildir: each file's unique name (up to its first `:`) → its X-Chaos-Id. */
function maildirCopies(maildir: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const sub of ["new", "cur"]) {
    let names: string[];
    try {
      names = readdirSync(join(maildir, sub));
    } catch {
      continue;
    }
    for (const name of names) {
      const id = /^X-Chaos-Id: (\S+)/m.exec(readFileSync(join(maildir, sub, name), "latin1"))?.[1];
      if (id !== undefined) found.set(`${maildir}/${name.split(":")[0]}`, id);
    }
  }
  return found;
}

/** How many distinct copies each X-Chaos-Id has among `copies`. */
function copiesPerId(...copies: ReadonlyMap<string, string>[]): Map<string, number> {
  const unique = new Map<string, string>();
  for (const map of copies) for (const [copy, id] of map) unique.set(copy, id);
  const counts = new Map<string, number>();
  for (const id of unique.values()) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

const extra = (ids: ReadonlyMap<string, number>): number => [...ids.values()].reduce((sum, n) => sum + n - 1, 0);

export async function checkInvariants(input: InvariantInput): Promise<ChaosReport> {
  const paths = rootPaths(input.root);
  const maildir = (user: string): string => join(paths.home, user, "Maildir");
  const inMaildirs = LOCAL_USERS.map((user) => maildirCopies(maildir(user)));
  // POP3's uids are the Maildir's unique names: a copy it took and deleted is the same copy.
  const popped = new Map([...input.pop3.retrieved].map(([uid, id]) => [`${maildir(POP3_USER)}/${uid}`, id]));
  const local = copiesPerId(...inMaildirs, popped);
  const bounced = copiesPerId(maildirCopies(maildir(BOUNCE_USER)));

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
    if (input.pop3AtEnd !== undefined && input.pop3AtEnd.outcome !== "quit") violations.push(`pop3d does not serve at the end, with no faults: ${input.pop3AtEnd.detail}`);
    for (const wrong of input.pop3.wrong) violations.push(wrong);
    if (!happened(DROP_CAUSES)) {
      const smtpDrops = input.results.filter(({ result }) => result.outcome === "dropped").map(({ result }) => result.detail);
      if (smtpDrops.length > 0) violations.push(`${smtpDrops.length} SMTP sessions ended with no reply and no fault that cuts connections, e.g. ${smtpDrops[0]}`);
      if (input.pop3.drops.length > 0) violations.push(`${input.pop3.sessions.dropped} POP3 sessions ended with no reply and no fault that cuts connections, e.g. ${input.pop3.drops[0]}`);
    }
    if (input.pop3.sessions.cut > 0 && !happened(CUT_CAUSES)) violations.push(`${input.pop3.sessions.cut} POP3 retrievals cut short with no fault to explain it`);
    for (const copy of inMaildirs[LOCAL_USERS.indexOf(POP3_USER)]!.keys()) {
      const uid = copy.slice(maildir(POP3_USER).length + 1);
      if (input.pop3.deleted.has(uid)) violations.push(`POP3 confirmed the deletion of ${uid} (QUIT +OK), yet it is still in the Maildir`);
    }
    if (input.peakRss > input.maxRssBytes) violations.push(`resident memory reached ${mb(input.peakRss)} MB, over the bound of ${mb(input.maxRssBytes)} MB`);
  }
  return {
    seed: input.seed,
    sessions,
    delivered: { local: local.size, remote: input.sinkReceived.size, bounced: bounced.size },
    duplicates,
    pop3: { sessions: input.pop3.sessions, retrieved: input.pop3.retrieved.size, deleted: input.pop3.deleted.size },
    counts: Object.fromEntries(input.counts),
    peakRssMb: mb(input.peakRss),
    unaccounted,
    violations,
  };
}

const mb = (bytes: number): number => Math.round(bytes / 1048576);
