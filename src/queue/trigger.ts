// lock/trigger: the named pipe qmail-send listens on. An injector that has committed a message
// writes one byte to it, without blocking, to wake the scheduler early. Every error is ignored —
// no reader (ENXIO), a full pipe (EAGAIN), no pipe at all — because the scheduler also scans todo/
// on its own; the trigger only shortens the wait.

import { constants } from "node:fs";
import type { SiteFs } from "../io/fs.js";

const WAKE_UP = Uint8Array.of(0);

export async function pullTrigger(fs: SiteFs, triggerPath: string): Promise<void> {
  try {
    const fh = await fs.open(triggerPath, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      await fs.write(fh, WAKE_UP);
    } finally {
      await fs.close(fh);
    }
  } catch {
    // See the head comment: a missed wake-up only delays delivery until the next scan.
  }
}
