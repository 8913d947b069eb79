// What wakes the scheduler to look at todo/: a byte on lock/trigger (outside injectors such as
// `tsqmail queue` or a QMAILQUEUE program), a `wake` message (injectors inside the runtime, handled
// by the service), and at least every 1500 s a rescan, as qmail-send does in case both were
// missed. The FIFO is opened read-write and non-blocking, so it never reports end-of-file when
// writers come and go, and it is watched as a pipe stream on the event loop (libuv's epoll): a
// byte wakes send at once, and nothing runs while no byte comes. It used to be polled every
// 200 ms, each poll a read failing with EAGAIN, for which Node builds an exception: with the
// garbage that made, the idle runtime used 3 to 17 ms of CPU a second instead of 0.1 to 4
// (docs/queue.md), and an outside injection waited up to 200 ms to be seen. The bytes carry no
// meaning beyond "look now".

import { Socket } from "node:net";
import { constants } from "node:fs";
import type { SiteFs } from "../../io/fs.js";

/** qmail-send's longest wait between todo scans. */
export const RESCAN_INTERVAL_MS = 1500 * 1000;

export interface TriggerReader {
  close(): Promise<void>;
}

export async function readTrigger(fs: SiteFs, triggerPath: string, onWake: () => void, log: (line: string) => void): Promise<TriggerReader> {
  const rescan = setInterval(onWake, RESCAN_INTERVAL_MS);
  let fifo: Socket | undefined;
  try {
    // The descriptor is the stream's from here on: destroying the stream closes it.
    const { fd } = await fs.open(triggerPath, constants.O_RDWR | constants.O_NONBLOCK);
    fifo = new Socket({ fd, readable: true, writable: false });
    fifo.on("data", () => onWake());
    fifo.on("error", (error) => log(`warning: trouble reading lock/trigger: ${error.message}`));
  } catch (error) {
    // Without the FIFO, injectors' wake messages and the rescan still find new mail.
    log(`warning: unable to open lock/trigger: ${(error as Error).message}`);
  }
  return {
    async close() {
      clearInterval(rescan);
      fifo?.destroy();
    },
  };
}
