// What a service writes its log through, whichever way the log is kept (multilog-style
// directory or standard output), and the one rule both share for what a line is.

export interface ServiceLog {
  /** Writes each line, synchronously: when append returns, the lines are out of the process. */
  append(lines: readonly string[]): void;
  close(): void;
}

/**
 * The log lines in `lines`: an entry holding newlines is several lines (each then gets its own
 * label or prefix, as multilog would give it), and a final newline only ends the entry.
 */
export function splitLogLines(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const entry of lines) {
    const body = entry.endsWith("\n") ? entry.slice(0, -1) : entry;
    if (body.includes("\n")) out.push(...body.split("\n"));
    else out.push(body);
  }
  return out;
}
