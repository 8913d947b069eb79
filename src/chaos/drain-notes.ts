// Why accepted messages may still be in the queue when a chaos run's drain ends: notes for the
// report, read from the root after the runtime stopped — rspawn's tcpto records (an address
// counted as timing out is skipped for about an hour of tsqmail's time: qmail's advice, not a
// loss) and the reasons of the last deferrals in send's log.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { queueLayout } from "../queue/queue-layout.js";
import { rootPaths } from "../root/paths.js";
import { tcptoRecords } from "../services/rspawn/tcpto.js";

const LAST_DEFERRALS = 200;

const readOr = (path: string, fallback: Buffer): Buffer => {
  try {
    return readFileSync(path);
  } catch {
    return fallback;
  }
};

export function drainNotes(root: string): string[] {
  const paths = rootPaths(root);
  const notes: string[] = [];
  const now = Math.floor(Date.now() / 1000);
  for (const record of tcptoRecords(readOr(queueLayout(paths.queue).tcpto, Buffer.alloc(0)))) {
    if (record.count > 0) notes.push(`tcpto: ${record.address} counted ${record.count} timeouts, the last at ${record.last} (system time ${now}: ${now - record.last} s later)`);
  }
  const deferrals = readOr(join(paths.logDir("send"), "current"), Buffer.alloc(0))
    .toString("latin1")
    .split("\n")
    .filter((line) => line.includes(": deferral: "))
    .slice(-LAST_DEFERRALS);
  const reasons = new Map<string, number>();
  for (const line of deferrals) {
    const reason = line.slice(line.indexOf(": deferral: ") + 12);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  for (const [reason, n] of [...reasons].sort((a, b) => b[1] - a[1])) notes.push(`send's last deferrals: ${n}× ${reason}`);
  return notes;
}
