// Names the calling thread in the system's thread list after the service it runs, so `top -H`,
// `ps -L` and /proc show which of tsqmail's threads is smtpd, send or lspawn, as qmail's separate
// processes did. Linux keeps 15 bytes of a thread's name; elsewhere (no /proc) nothing is named.

import { writeFileSync } from "node:fs";

const NAME_BYTES = 15;

export function nameThisThread(name: string): void {
  try {
    writeFileSync("/proc/thread-self/comm", Buffer.from(name, "utf8").subarray(0, NAME_BYTES));
  } catch {
    // Not Linux, or /proc is not mounted: the thread keeps its inherited name.
  }
}
