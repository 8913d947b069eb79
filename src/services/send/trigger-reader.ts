// What wakes the scheduler to look at todo/: a byte on lock/trigger (outside injectors such as
// `tsqmail queue` or a QMAILQUEUE program), a `wake` message (injectors inside the runtime, handled
// by the service), and at least every 1500 s a rescan, as qmail-send does in case both were
// missed. The FIFO is opened read-write and non-blocking, so it never reports end-of-file when
// writers come and go and a read never blocks a thread; it is polled, because the bytes carry no
// meaning beyond "look now" and a fraction of a second is nothing next to a delivery.

import { constants } from "node:fs";
import type { FileHandle, SiteFs } from "../../io/fs.js";

/** qmail-send's longest wait between todo scans. */
export const RESCAN_INTERVAL_MS = 1500 * 1000;
const POLL_MS = 200;

export interface TriggerReader {
  close(): Promise<void>;
}

export async function readTrigger(fs: SiteFs, triggerPath: string, onWake: () => void, log: (line: string) => void): Promise<TriggerReader> {
  const rescan = setInterval(onWake, RESCAN_INTERVAL_MS);
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(triggerPath, constants.O_RDWR | constants.O_NONBLOCK);
  } catch (error) {
    // Without the FIFO, injectors' wake messages and the rescan still find new mail.
    log(`warning: unable to open lock/trigger: ${(error as Error).message}`);
  }
  let closed = false;
  let polling: Promise<void> = Promise.resolve();
  const buffer = Buffer.alloc(64);
  const poll = async (): Promise<void> => {
    if (closed || handle === undefined) return;
    try {
      const bytesRead = await fs.read(handle, buffer);
      if (bytesRead > 0) onWake();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") log(`warning: trouble reading lock/trigger: ${(error as Error).message}`);
    }
  };
  const timer = setInterval(() => (polling = poll()), POLL_MS);
  return {
    async close() {
      closed = true;
      clearInterval(rescan);
      clearInterval(timer);
      await polling;
      if (handle !== undefined) await fs.close(handle);
    },
  };
}
