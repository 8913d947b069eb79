// Spare files: the send service keeps the inodes of the queue files it retires (info/N and the
// channel files) and writes its next ones into them, instead of unlinking one file and creating
// another a moment later. A retired file is renamed to pid/spare.<pid>-<thread>.<n>; a new info/N
// or channel file is a spare renamed into place, its bytes written over the old ones and the file
// cut to their length, or a new file when none is at hand. Why: a create is the costliest call
// the queue makes on ext4, and on ext4 without a journal it also steps over every inode freed in
// the last minute (the kernel keeps them unused for that long when it cannot order their reuse),
// so each message's frees made every later create slower. With spares, send neither frees nor
// creates an inode for a message it delivers: the message's own mess, intd and delivered files
// are all that come and go.
// A rename takes a name out of its directory just as an unlink does, so the removal order of
// removal-order.ts is unchanged; where a spare lands needs no fsync: a crash that loses it leaves
// at most a nameless inode for the file system's check, and a spare found in pid/ by a later life
// is removed by the sweep (queue-clean.ts). Spares hold only what send wrote itself (the sender,
// recipients) in the queue's own directory, overwritten when they are used again.
// Why overwrite rather than open with O_TRUNC: truncating to zero frees the file's block and the
// write then allocates another (on a disk mounted with `discard`, the free also trims it), while
// an overwrite of a sender or a few recipients lands in the block the file already has. Measured
// here with fsync, per file: 550–630 µs against 800–910 µs, and 20–40 µs less system CPU.

import { constants } from "node:fs";
import { threadId } from "node:worker_threads";
import type { SiteFs } from "../io/fs.js";
import { isMissing } from "../io/optional-files.js";
import type { QueueLayout } from "./queue-layout.js";

const SPARE_PREFIX = "spare.";
/** This worker's spares: the pid and thread id are those of no other live writer. */
const ownPrefix = `${SPARE_PREFIX}${process.pid}-${threadId}.`;

export const isSpare = (name: string): boolean => name.startsWith(SPARE_PREFIX);

/** A spare file name of this worker's life (as opposed to an earlier one's). */
export const isOwnSpare = (name: string): boolean => name.startsWith(ownPrefix);

/** Enough to cover the files of the messages in flight at once; the rest are unlinked. */
const CAPACITY = 256;

const O_CREATE_WRITE = constants.O_CREAT | constants.O_WRONLY;

export interface SpareFiles {
  /** Removes the last name of a file: kept as a spare when there is room. Whether it was there. */
  retire(path: string): Promise<boolean>;
  /**
   * Makes `bytes` the whole of `path`, fsync'd (its directory entry is the caller's to make
   * durable): a spare renamed there when there is one, else the file at `path` or a new one with
   * `mode`.
   */
  write(path: string, bytes: Uint8Array, mode: number): Promise<void>;
}

export function createSpareFiles(fs: SiteFs, layout: QueueLayout): SpareFiles {
  const spares: string[] = [];
  let made = 0;
  return {
    async retire(path) {
      const to = spares.length < CAPACITY ? layout.pidFile(`${ownPrefix}${++made}`) : undefined;
      try {
        if (to === undefined) await fs.unlink(path);
        else await fs.rename(path, to);
      } catch (error) {
        if (isMissing(error)) return false;
        throw error;
      }
      if (to !== undefined) spares.push(to);
      return true;
    },
    async write(path, bytes, mode) {
      const spare = spares.pop();
      // A spare swept away meanwhile (qmaint, or the sweep of another process) is simply not used.
      if (spare !== undefined) await fs.rename(spare, path).catch(() => undefined);
      const fh = await fs.open(path, O_CREATE_WRITE, mode);
      try {
        await fs.write(fh, bytes, 0);
        await fs.truncate(fh, bytes.length);
        await fs.sync(fh);
      } finally {
        await fs.close(fh);
      }
    },
  };
}
