// One session's view of a Maildir, as qmail-pop3d has it: at login, tmp/ files not accessed for
// 36 hours are removed and new/ and cur/ are listed — names starting with `.` and files modified
// in this very second skipped (they may still be arriving), oldest mtime first (then by name, so
// the numbering is stable) — each message's size being its file size and its UID its name up to
// the first `:`. Nothing changes on disk until `commit` (QUIT): deleted files are unlinked and the
// rest of new/ is renamed to cur/NAME:2,.
// One session per maildrop: `pop3.lock` in the maildir, created exclusively and holding the pid,
// the service and the worker thread (`<pid> <service> <thread>`). A live session's lock is touched
// every minute (one timer for all the worker's locks, not one per session); a lock whose pid is
// gone, or untouched for three minutes (its worker died), is stale and taken over — and so at once
// is one an earlier worker of the same service in this process left: a service runs one worker at
// a time, so a lock of its with another thread's id has no session behind it (a killed pop3d's
// users log in again as soon as it is back). pop3d and pop3s share the lock, being threads of one
// process, and so would two runtimes on one maildir.
// When the account is not the runtime's own (a root runtime serving a system account), the maildir
// and its new/, cur/ must be real directories owned by the account and messages are opened with
// O_NOFOLLOW and must be owned by it too, so a symbolic link cannot show another user's files.
// Reads and writes: the maildir, through siteFs("pop3").

import { constants } from "node:fs";
import { join } from "node:path";
import type { Mailbox, MaildropOpened, Pop3Message, Retrieval } from "../../../machines/pop3-session.js";
import { clock } from "../../../supervisors/clock.js";
import { O_EXCL_CREATE, siteFs, type FileHandle } from "../../io/fs.js";
import { MessageBlast } from "./message-blast.js";

const fs = siteFs("pop3");

const LOCK_FILE = "pop3.lock";
const LOCK_REFRESH_MS = 60_000;
const LOCK_STALE_MS = 3 * LOCK_REFRESH_MS;
/** How long a lock may stay without its pid: the time between its create and its write. */
const LOCK_WRITE_GRACE_MS = 5000;
/** qmail's maildir_clean: tmp/ files whose atime is older than this go. */
const TMP_MAX_AGE_S = 36 * 3600;
const READ_CHUNK = 64 * 1024;

export const NO_MAILDIR = "-ERR this user has no $HOME/Maildir";
export const SCAN_FAILED = "-ERR unable to scan $HOME/Maildir";
/** RFC 2449's response code for a maildrop another session holds (CAPA says RESP-CODES). */
export const IN_USE = "-ERR [IN-USE] maildrop already in use";

interface Entry extends Pop3Message {
  /** `new/NAME` or `cur/NAME`, relative to the maildir. */
  readonly file: string;
}

/** The writer of a retrieved message: bytes, resolving when the socket can take more. */
export type WireWriter = (bytes: Uint8Array) => Promise<void>;

const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === "EPERM";
  }
}

/** Who takes a lock: the service and its worker thread (the pid is the process's). */
export interface LockOwner {
  readonly service: string;
  readonly thread: number;
}

async function lockIsStale(path: string, owner: LockOwner): Promise<boolean> {
  try {
    const [text, stats] = await Promise.all([fs.readFile(path), fs.stat(path)]);
    const age = clock.now() - stats.mtimeMs;
    const [pidText = "", service, thread] = text.toString("latin1").trim().split(" ");
    const pid = Number(pidText);
    // No pid (empty: a write that failed, or one still under way): stale once past the write's grace.
    // pid 0 would name our own process group, which is always "alive".
    if (!Number.isInteger(pid) || pid <= 0) return age > LOCK_WRITE_GRACE_MS;
    if (pid === process.pid && service === owner.service && thread !== String(owner.thread)) return true;
    return !processAlive(pid) || age > LOCK_STALE_MS;
  } catch (error) {
    // Gone between our create and our look: free now.
    return errorCode(error) === "ENOENT";
  }
}

/** Takes the maildrop's lock; false when a live session holds it. */
async function takeLock(path: string, owner: LockOwner): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await fs.open(path, O_EXCL_CREATE, 0o600);
      try {
        await fs.write(fh, Buffer.from(`${process.pid} ${owner.service} ${owner.thread}\n`));
      } catch (error) {
        // Ours but without a pid: leave no lock that would keep the maildrop for nobody.
        await fs.unlink(path).catch(() => {});
        throw error;
      } finally {
        await fs.close(fh);
      }
      return true;
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
    }
    if (!(await lockIsStale(path, owner))) return false;
    await fs.unlink(path).catch(() => {});
  }
  return false;
}

/** Every lock this worker holds, touched together by one timer while there are any. */
const heldLocks = new Set<string>();
let lockRefresher: NodeJS.Timeout | undefined;

function refreshLocks(): void {
  const now = clock.now() / 1000;
  for (const lock of heldLocks) fs.utimes(lock, now, now).catch(() => {});
}

function holdLock(path: string): void {
  heldLocks.add(path);
  lockRefresher ??= setInterval(refreshLocks, LOCK_REFRESH_MS).unref();
}

function dropLock(path: string): void {
  heldLocks.delete(path);
  if (heldLocks.size > 0 || lockRefresher === undefined) return;
  clearInterval(lockRefresher);
  lockRefresher = undefined;
}

/** A symbolic link or someone else's directory where the account's maildir should be. */
async function ownedDirectory(path: string, uid: number): Promise<boolean> {
  const stats = await fs.lstat(path);
  return stats.isDirectory() && stats.uid === uid;
}

export class Maildrop {
  private released = false;

  private constructor(
    private readonly dir: string,
    private readonly entries: readonly Entry[],
    /** The account's uid when files must be checked for ownership; undefined = our own maildir. */
    private readonly foreignUid: number | undefined,
  ) {
    holdLock(join(dir, LOCK_FILE));
  }

  get messages(): readonly Pop3Message[] {
    return this.entries.map(({ size, uid }) => ({ size, uid }));
  }

  /** Locks, cleans tmp/ and lists the maildrop; the failure reply says why not. */
  static async open(mailbox: Mailbox, ownUid: number, owner: LockOwner): Promise<Maildrop | MaildropOpened & { kind: "failed" }> {
    // Without the trailing slash, so lstat sees a symbolic link instead of following it.
    const dir = mailbox.maildir.replace(/\/+$/, "");
    const foreignUid = mailbox.uid === ownUid ? undefined : mailbox.uid;
    try {
      if (foreignUid !== undefined) {
        for (const sub of ["", "new", "cur"]) if (!(await ownedDirectory(join(dir, sub), foreignUid))) return { kind: "failed", text: NO_MAILDIR };
      } else if (!(await fs.stat(dir)).isDirectory()) return { kind: "failed", text: NO_MAILDIR };
    } catch {
      return { kind: "failed", text: NO_MAILDIR };
    }
    if (!(await takeLock(join(dir, LOCK_FILE), owner).catch(() => false))) return { kind: "failed", text: IN_USE };
    try {
      await cleanTmp(dir);
      return new Maildrop(dir, await scan(dir), foreignUid);
    } catch {
      await fs.unlink(join(dir, LOCK_FILE)).catch(() => {});
      return { kind: "failed", text: SCAN_FAILED };
    }
  }

  /** RETR / TOP: `+OK `, the message as blast() sends it, the end; "unreadable" when it cannot be opened. */
  async retrieve({ index, lines }: Retrieval, write: WireWriter): Promise<"sent" | "unreadable"> {
    let fh: FileHandle;
    try {
      fh = await fs.open(join(this.dir, this.entries[index]!.file), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return "unreadable";
    }
    try {
      if (this.foreignUid !== undefined) {
        const stats = await fs.fstat(fh);
        if (!stats.isFile() || stats.uid !== this.foreignUid) return "unreadable";
      }
      await write(Buffer.from("+OK \r\n"));
      const blast = new MessageBlast(lines);
      const buffer = Buffer.alloc(READ_CHUNK);
      while (!blast.done) {
        const n = await fs.read(fh, buffer);
        if (n === 0) break;
        await write(blast.push(buffer.subarray(0, n)));
      }
      await write(blast.finish());
      return "sent";
    } finally {
      await fs.close(fh);
    }
  }

  /** The UPDATE state: unlink the deleted, move the rest of new/ to cur/. False when an unlink failed. */
  async commit(deleted: readonly number[]): Promise<boolean> {
    const gone = new Set(deleted);
    let unlinked = true;
    for (const [index, entry] of this.entries.entries()) {
      if (gone.has(index)) {
        await fs.unlink(join(this.dir, entry.file)).catch(() => (unlinked = false));
      } else if (entry.file.startsWith("new/")) {
        // As in qmail-pop3d, a failed rename is not worth reporting: the message stays in new/.
        await fs.rename(join(this.dir, entry.file), join(this.dir, `cur/${entry.file.slice(4)}:2,`)).catch(() => {});
      }
    }
    return unlinked;
  }

  /** Ends the session's hold on the maildrop (after QUIT, a drop or a timeout). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const lock = join(this.dir, LOCK_FILE);
    dropLock(lock);
    await fs.unlink(lock).catch(() => {});
  }
}

async function cleanTmp(dir: string): Promise<void> {
  const tmp = join(dir, "tmp");
  let names: string[];
  try {
    names = await fs.readdir(tmp);
  } catch {
    return;
  }
  const now = clock.now() / 1000;
  for (const name of names) {
    if (name.startsWith(".")) continue;
    try {
      if (now > (await fs.stat(join(tmp, name))).atimeMs / 1000 + TMP_MAX_AGE_S) await fs.unlink(join(tmp, name));
    } catch {
      // Gone already or unreadable: qmail ignores it too.
    }
  }
}

async function scan(dir: string): Promise<Entry[]> {
  const nowSeconds = Math.floor(clock.now() / 1000);
  const found: Array<Entry & { mtime: number }> = [];
  for (const sub of ["new", "cur"]) {
    for (const name of await fs.readdir(join(dir, sub))) {
      if (name.startsWith(".")) continue;
      const file = `${sub}/${name}`;
      let stats;
      try {
        stats = await fs.stat(join(dir, file));
      } catch {
        continue;
      }
      const mtime = Math.floor(stats.mtimeMs / 1000);
      if (mtime >= nowSeconds) continue;
      const colon = name.indexOf(":");
      found.push({ file, size: stats.size, uid: colon === -1 ? name : name.slice(0, colon), mtime });
    }
  }
  found.sort((a, b) => a.mtime - b.mtime || (a.file.slice(4) < b.file.slice(4) ? -1 : a.file.slice(4) > b.file.slice(4) ? 1 : 0));
  return found.map(({ file, size, uid }) => ({ file, size, uid }));
}
