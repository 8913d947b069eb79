// `svc -udopchaitkx DIR…` as daemontools 0.76 does it: collects the option letters (getopt
// style, clustered, stopping at the first non-option or `--`), drops repeats keeping the first
// of each, and writes them in one write to each DIR/supervise/control. Reads and writes nothing
// else. A bad option prints the usage and exits 100; a directory it cannot reach gets a warning
// and the rest are still served; the exit code is then still 0, as with svc.

import { closeSync, writeSync } from "node:fs";
import { join } from "node:path";
import { chdirError, djbErrorText } from "./daemontools-errors.js";
import { isControlLetter, openFifoForWriting } from "./supervise-dir.js";

export const SVC_USAGE =
  "svc options: u up, d down, o once, x exit, p pause, c continue, h hup, a alarm, i interrupt, t term, k kill";

export interface SvcResult {
  readonly exitCode: 0 | 100;
  /** What svc prints on standard error, one entry a line, without newlines. */
  readonly messages: readonly string[];
}

type ParsedArgs = { letters: string; dirs: readonly string[] } | { illegal: string };

export function parseSvcArgs(argv: readonly string[]): ParsedArgs {
  let letters = "";
  let index = 0;
  for (; index < argv.length; index += 1) {
    const arg = argv[index] ?? "";
    if (arg === "--") {
      index += 1;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    for (const letter of arg.slice(1)) {
      if (!isControlLetter(letter)) return { illegal: letter };
      if (!letters.includes(letter)) letters += letter;
    }
  }
  return { letters, dirs: argv.slice(index) };
}

export function svc(argv: readonly string[]): SvcResult {
  const parsed = parseSvcArgs(argv);
  if ("illegal" in parsed) {
    return { exitCode: 100, messages: [`svc: illegal option -- ${parsed.illegal}`, SVC_USAGE] };
  }
  const messages: string[] = [];
  for (const dir of parsed.dirs) {
    const warning = sendLetters(dir, parsed.letters);
    if (warning !== undefined) messages.push(`svc: warning: ${warning}`);
  }
  return { exitCode: 0, messages };
}

/** Writes `letters` to DIR/supervise/control; the warning svc would print, if any. */
export function sendLetters(dir: string, letters: string): string | undefined {
  const unreachable = chdirError(dir);
  if (unreachable !== undefined) return `unable to chdir to ${dir}: ${djbErrorText(unreachable)}`;
  let fd: number | "no reader";
  try {
    fd = openFifoForWriting(join(dir, "supervise", "control"));
  } catch (error) {
    return `unable to control ${dir}: ${djbErrorText(error)}`;
  }
  if (fd === "no reader") return `unable to control ${dir}: supervise not running`;
  try {
    // At most 11 bytes: a FIFO takes them whole even without blocking (PIPE_BUF is 4096).
    writeSync(fd, letters, null, "latin1");
    return undefined;
  } catch (error) {
    return `error writing commands to ${dir}: ${djbErrorText(error)}`;
  } finally {
    closeSync(fd);
  }
}
