// `svstat DIR` as daemontools 0.76 prints it: reads DIR/down, probes DIR/supervise/ok and reads
// DIR/supervise/status, then formats "DIR: up (pid P) S seconds[, …]" or "DIR: down S seconds[, …]",
// or the error svstat would print in that place. The current time is a parameter so that a test
// can compare with Debian's svstat in the same second.

import { closeSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { chdirError, djbErrorText, errorCode } from "./daemontools-errors.js";
import { decodeStatus, STATUS_FILE_SIZE, type SuperviseStatus } from "./status-file.js";
import { openFifoForWriting } from "./supervise-dir.js";

/** svstat's whole line for DIR (without the newline). */
export function svstatLine(dir: string, nowMs: number): string {
  return `${dir}: ${svstatReport(dir, nowMs)}`;
}

function svstatReport(dir: string, nowMs: number): string {
  const unreachable = chdirError(dir);
  if (unreachable !== undefined) return `unable to chdir: ${djbErrorText(unreachable)}`;

  let normallyUp = false;
  try {
    statSync(join(dir, "down"));
  } catch (error) {
    if (errorCode(error) !== "ENOENT") return `unable to stat down: ${djbErrorText(error)}`;
    normallyUp = true;
  }

  try {
    const ok = openFifoForWriting(join(dir, "supervise", "ok"));
    if (ok === "no reader") return "supervise not running";
    closeSync(ok);
  } catch (error) {
    return `unable to open supervise/ok: ${djbErrorText(error)}`;
  }

  let fd: number;
  try {
    fd = openSync(join(dir, "supervise", "status"), "r");
  } catch (error) {
    return `unable to open supervise/status: ${djbErrorText(error)}`;
  }
  let status: SuperviseStatus | undefined;
  try {
    const bytes = Buffer.alloc(STATUS_FILE_SIZE);
    status = decodeStatus(bytes.subarray(0, readSync(fd, bytes, 0, bytes.length, null)));
  } catch (error) {
    return `unable to read supervise/status: ${djbErrorText(error)}`;
  } finally {
    closeSync(fd);
  }
  if (status === undefined) return "unable to read supervise/status: bad format";
  return describeStatus(status, normallyUp, nowMs);
}

/** The part after "DIR: " for a status record, as svstat words it. */
export function describeStatus(status: SuperviseStatus, normallyUp: boolean, nowMs: number): string {
  const up = status.pid !== 0;
  // svstat works in whole seconds and never prints a negative age (a clock stepped back).
  const seconds = Math.max(0, Math.floor(nowMs / 1000) - Math.floor(status.sinceMs / 1000));
  let text = up ? `up (pid ${status.pid}) ${seconds} seconds` : `down ${seconds} seconds`;
  if (up && !normallyUp) text += ", normally down";
  if (!up && normallyUp) text += ", normally up";
  if (up && status.paused) text += ", paused";
  if (!up && status.want === "up") text += ", want up";
  if (up && status.want === "down") text += ", want down";
  return text;
}
