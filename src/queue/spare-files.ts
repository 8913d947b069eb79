// Spare files: the send service keeps the inodes of the queue files it retires (info/N and the
// channel files) and of each todo/N it has preprocessed, and writes its next ones into them,
// instead of unlinking one file and creating another a moment later. A kept file is renamed to
// pid/spare.<pid>-<thread>.<n>; a new info/N or channel file is a spare renamed into place, its
// bytes written over the old ones and the file cut to their length, or a new file when none is
// at hand (created in libuv's pool, as every create is: io/fs.ts says why).
// Why: a create is the costliest call the queue makes on ext4, and on ext4 without a journal it
// also steps over every inode freed in the last minute (the kernel keeps them unused for that
// long when it cannot order their reuse), so each message's frees made every later create
// slower. A delivered message's info and channel files come back to the pool when it ends; but
// while the queue grows (more injected than delivered, as in any burst), the files of new
// messages are written long before any are retired, and each was a create: about a quarter of
// send's thread in the maildir bench. todo/N's inode, free at just that moment, now pays for one
// of the two. todo/N was written by an injector, so it is adopted only when it is this
// process's own regular file with no other name (cleanTodo removes intd/N first): a file of
// another user (`tsqmail queue` run by someone else) must never become a queue file that user
// could write. An adopted file is given send's mode, 0600.
// A rename takes a name out of its directory just as an unlink does, so the removal order of
// removal-order.ts is unchanged; where a spare lands needs no fsync: a crash that loses it leaves
// at most a nameless inode for the file system's check, and a spare found in pid/ by a later life
// is removed by the sweep (queue-clean.ts). Spares hold only queue data of this process
// (envelopes, senders, recipients) in the queue's own directory, overwritten when used again.
// Why overwrite rather than open with O_TRUNC: truncating to zero frees the file's block and the
// write then allocates another (on a disk mounted with `discard`, the free also trims it), while
// an overwrite of a sender or a few recipients lands in the block the file already has. Measured
// here with fsync, per file: 550–630 µs against 800–910 µs, and 20–40 µs less system CPU.

import { constants } from "node:fs";
import { threadId } from "node:worker_threads";
import { O_EXCL_CREATE, type FileHandle, type SiteFs } from "../io/fs.js";
import { isMissing, lstatIfPresent } from "../io/optional-files.js";
import type { QueueLayout } from "./queue-layout.js";

const SPARE_PREFIX = "spare.";
/** This worker's spares: the pid and thread id are those of no other live writer. */
const ownPrefix = `${SPARE_PREFIX}${process.pid}-${threadId}.`;

export const isSpare = (name: string): boolean => name.startsWith(SPARE_PREFIX);

/** A spare file name of this worker's life (as opposed to an earlier one's). */
export const isOwnSpare = (name: string): boolean => name.startsWith(ownPrefix);

/**
 * Spares kept at most; the rest are unlinked. Enough for the files of the messages in flight at
 * once, and for those of a backlog of about a thousand local messages: when a backlog drains, its
 * files come back faster than new ones are written, and each unlinked past this number would be
 * a free now and a create at the next burst. 256 measured 10 % more CPU per message in the
 * maildir bench, whose slices grow such a backlog. Each spare costs an inode, one block and an
 * entry in pid/.
 */
export const SPARE_CAPACITY = 2048;

const O_WRITE = constants.O_WRONLY;
/** The mode of send's queue files (qmail-send's info, local and remote files), and so of every spare. */
const SPARE_MODE = 0o600;
const ownUid = process.getuid?.();

export interface SpareFiles {
  /** Removes the last name of a file send wrote: kept as a spare when there is room. Whether it was there. */
  retire(path: string): Promise<boolean>;
  /**
   * Removes a name of a file an injector wrote: kept as a spare when it is this process's own
   * regular file, `path` its only name, and there is room; else unlinked. Whether it was there.
   */
  adopt(path: string): Promise<boolean>;
  /**
   * Makes `bytes` the whole of `path`, fsync'd (its directory entry is the caller's to make
   * durable): a spare renamed there when there is one, else the file at `path` or a new one, mode
   * 0600 as every spare. With `mtimeMs`, that is the file's mtime (and atime), fsync'd with it.
   */
  write(path: string, bytes: Uint8Array, mtimeMs?: number): Promise<void>;
  /** Up to `count` spares for an injector (spare-stock.ts), beyond the few kept for send's own writes; no longer send's. */
  handOut(count: number): string[];
}

/** Spares send keeps for its own info and channel files when an injector asks for some. */
export const KEPT_FOR_SEND = 64;

export function createSpareFiles(fs: SiteFs, layout: QueueLayout): SpareFiles {
  const spares: string[] = [];
  let made = 0;
  /** Renames `path` into the pool, or unlinks it when `keep` is false; whether it was there. */
  const remove = async (path: string, keep: boolean): Promise<boolean> => {
    const to = keep ? layout.pidFile(`${ownPrefix}${++made}`) : undefined;
    try {
      if (to === undefined) await fs.unlink(path);
      else await fs.rename(path, to);
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    if (to !== undefined) spares.push(to);
    return true;
  };
  return {
    retire: (path) => remove(path, spares.length < SPARE_CAPACITY),
    async adopt(path) {
      const stat = spares.length < SPARE_CAPACITY ? await lstatIfPresent(fs, path) : undefined;
      const own = stat !== undefined && stat.isFile() && stat.nlink === 1 && stat.uid === ownUid;
      if (own && (stat.mode & 0o7777) !== SPARE_MODE) await fs.chmod(path, SPARE_MODE);
      return remove(path, own);
    },
    handOut(count) {
      return spares.splice(Math.max(KEPT_FOR_SEND, spares.length - count));
    },
    async write(path, bytes, mtimeMs) {
      const spare = spares.pop();
      // A spare swept away meanwhile (qmaint, or the sweep of another process) is simply not used.
      const placed = spare !== undefined && (await fs.rename(spare, path).then(() => true, () => false));
      const fh = placed ? await fs.open(path, O_WRITE) : await createOrOpen(fs, path);
      try {
        await fs.write(fh, bytes, 0);
        await fs.truncate(fh, bytes.length);
        if (mtimeMs !== undefined) await fs.futimes(fh, mtimeMs / 1000, mtimeMs / 1000);
        await fs.sync(fh);
      } finally {
        await fs.close(fh);
      }
    },
  };
}

/** A new file, or the one already there (left by a run that was interrupted). */
async function createOrOpen(fs: SiteFs, path: string): Promise<FileHandle> {
  try {
    return await fs.open(path, O_EXCL_CREATE, SPARE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return fs.open(path, O_WRITE);
  }
}
