// Directory fsyncs for the queue: coalesced (coalescer.ts), on directory handles kept open while
// a directory is busy, so a burst of enqueues pays one open(2) per directory instead of an open
// and a close around every fsync. A handle is closed after IDLE_CLOSE_MS without an fsync; a
// queue directory replaced by another at the same path within that time would be fsync'd through
// the old handle, which is why the window is short. All calls go through the caller's SiteFs.
// A change that must be durable only before some later step is marked with changedSoon: nobody
// waits now, a covering fsync starts within the given time (one per directory, whatever the number
// of changes), and the later step waits with durable(), usually finding it done.

import { constants } from "node:fs";
import type { FileHandle, SiteFs } from "../io/fs.js";
import { unlinkIfPresent } from "../io/optional-files.js";
import { createCoalescer, type Mark } from "./coalescer.js";

const IDLE_CLOSE_MS = 1000;

export interface DirSyncer {
  /** Call right after a create, link or unlink in `dir` completed. */
  changed(dir: string): Mark;
  /** As changed, and an fsync covering it starts within `withinMs` although nobody waits for it. */
  changedSoon(dir: string, withinMs: number): Mark;
  /** Resolves when that change is durable; rejects if the fsync that would cover it failed. */
  durable(change: Mark): Promise<void>;
  /** Whether that change is known to be durable already. */
  isDurable(change: Mark): boolean;
  /** Unlinks `path` (in `dir`) if it is there and waits until the removal is durable; whether it was there. */
  unlinkDurably(path: string, dir: string): Promise<boolean>;
}

export function createDirSyncer(fs: SiteFs): DirSyncer {
  const open = new Map<string, { handle: Promise<FileHandle>; idle?: NodeJS.Timeout }>();

  const syncDir = async (dir: string): Promise<void> => {
    let entry = open.get(dir);
    if (entry === undefined) {
      entry = { handle: fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY) };
      open.set(dir, entry);
    }
    clearTimeout(entry.idle);
    const current = entry;
    const closeNow = (): void => {
      if (open.get(dir) === current) open.delete(dir);
      void current.handle.then((h) => fs.close(h)).catch(() => undefined);
    };
    try {
      await fs.syncOpenDir(await current.handle, dir);
    } catch (error) {
      closeNow(); // a handle that failed once is not trusted again
      throw error;
    }
    current.idle = setTimeout(closeNow, IDLE_CLOSE_MS).unref();
  };

  const coalescer = createCoalescer(syncDir);
  // Per directory, the newest change marked by changedSoon while its timer runs.
  const soon = new Map<string, Mark>();
  return {
    changed: (dir) => coalescer.mark(dir),
    changedSoon(dir, withinMs) {
      const change = coalescer.mark(dir);
      if (!soon.has(dir)) {
        setTimeout(() => {
          const newest = soon.get(dir)!;
          soon.delete(dir);
          // A failed fsync is the waiter's to see: durable() runs another.
          coalescer.after(newest).catch(() => undefined);
        }, withinMs).unref();
      }
      soon.set(dir, change);
      return change;
    },
    durable: (change) => coalescer.after(change),
    isDurable: (change) => coalescer.covered(change),
    async unlinkDurably(path, dir) {
      if (!(await unlinkIfPresent(fs, path))) return false;
      await coalescer.after(coalescer.mark(dir));
      return true;
    },
  };
}
