// mbox delivery (qmail-local's mailfile): append From_, Return-Path, Delivered-To and the
// message, with every line matching `>*From ` given one more `>` (mboxrd quoting, so a body line
// cannot start a fake message), a final newline if the message lacked one and an empty line;
// fsync; on any error truncate the file back to where it ended, so a reader never sees half a
// message. Failures are soft.
// Locking: Node has no flock(2), so tsqmail takes the dot-lock other mbox readers know
// (`<mbox>.lock`, created with O_EXCL, removed afterwards); it waits at most 30 s, as qmail waits
// for flock, and a lock file older than 10 minutes is taken for the leftover of a crash and
// removed. The lock is taken before the mbox is opened (withMboxLock, shared with maildir2mbox).
// Deliveries in this process to the same mbox queue up in memory first, so they do not spend
// their 30 s polling each other's lock.
// Writes: the mbox and its .lock file through siteFs("mbox").

import { constants } from "node:fs";
import { clock } from "../../../supervisors/clock.js";
import { O_EXCL_CREATE, siteFs } from "../../io/fs.js";
import { soft } from "./delivery-failure.js";

const fs = siteFs("mbox");
const LOCK_LIMIT_MS = 30_000;
const LOCK_POLL_MS = 100;
const STALE_LOCK_MS = 10 * 60_000;
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;

/** The message as it goes into an mbox: quoted, ending in a newline, followed by an empty line. */
export function mboxText(message: Buffer): Buffer {
  // latin1 maps bytes to characters one to one, so the quoting cannot alter any other byte.
  let text = message.toString("latin1").replace(/^(>*From )/gm, ">$1");
  if (text !== "" && !text.endsWith("\n")) text += "\n";
  return Buffer.from(`${text}\n`, "latin1");
}

const queues = new Map<string, Promise<unknown>>();

function inTurn<T>(path: string, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  const mine = previous.then(work, work);
  const tail = mine.catch(() => undefined);
  queues.set(path, tail);
  void tail.then(() => {
    if (queues.get(path) === tail) queues.delete(path);
  });
  return mine;
}

async function lock(path: string): Promise<void> {
  const lockPath = `${path}.lock`;
  const deadline = clock.now() + LOCK_LIMIT_MS;
  for (;;) {
    try {
      await fs.close(await fs.open(lockPath, O_EXCL_CREATE, 0o600));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw soft("Unable to lock mailbox. (#4.2.1)");
    }
    const age = await fs.stat(lockPath).then((s) => clock.now() - s.mtimeMs, () => 0);
    if (age > STALE_LOCK_MS) await fs.unlink(lockPath).catch(() => undefined);
    else if (clock.now() >= deadline) throw soft("File has been locked for 30 seconds straight. (#4.3.0)");
    else await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

/**
 * Runs `work` holding the mbox's dot-lock (waiting at most 30 s, soft failure after). Every writer
 * of an mbox in tsqmail — local delivery and maildir2mbox — takes it, and opens the mbox only
 * once it holds the lock, so a writer never appends to a file another has just replaced.
 */
export async function withMboxLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  await lock(path);
  try {
    return await work();
  } finally {
    await fs.unlink(`${path}.lock`).catch(() => undefined);
  }
}

export function deliverMbox(path: string, head: string, message: Buffer): Promise<void> {
  return inTurn(path, () =>
    withMboxLock(path, async () => {
      let fh;
      try {
        fh = await fs.open(path, APPEND, 0o600);
      } catch {
        throw soft("Unable to open mailbox. (#4.2.1)");
      }
      try {
        const end = (await fs.fstat(fh)).size;
        try {
          await fs.write(fh, Buffer.concat([Buffer.from(head, "utf8"), mboxText(message)]));
          await fs.sync(fh);
        } catch {
          await fs.truncate(fh, end).catch(() => undefined);
          throw soft("Unable to write mailbox. (#4.3.0)");
        }
      } finally {
        await fs.close(fh);
      }
    }),
  );
}
