// tsqmail's own status record for a service, beside daemontools' 18-byte one: everything
// `tsqmail svstat` shows that svstat cannot (ready, thread id, starts, the last exit and its
// error), packed with msgpackr in SERVICE/supervise/record. Written to record.new and renamed,
// like the status file, so a reader never sees half a record.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pack, unpack } from "msgpackr";
import type { SuperviseStatus } from "../../supervisors/supervise.js";

export interface StatusRecord extends SuperviseStatus {
  /** The tsqmail process hosting the service's thread. */
  readonly processId: number;
}

export function writeStatusRecord(superviseDir: string, status: SuperviseStatus): void {
  const next = join(superviseDir, "record.new");
  writeFileSync(next, pack({ ...status, processId: process.pid } satisfies StatusRecord));
  renameSync(next, join(superviseDir, "record"));
}

/** The record, or undefined when the service has never been supervised by tsqmail. */
export function readStatusRecord(superviseDir: string): StatusRecord | undefined {
  try {
    return unpack(readFileSync(join(superviseDir, "record"))) as StatusRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
