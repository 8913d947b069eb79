// Keeps two tsqmail runtimes from supervising one service directory at once. daemontools takes
// an flock on supervise/lock; Node cannot flock, so tsqmail owns SERVICE/supervise/lock.tsqmail,
// a file holding the owner's pid, created atomically (written aside, then hard-linked into place,
// so a reader never sees it empty). A lock whose pid is dead is stale and is taken over.
//
// Soundness: creation is exclusive (link fails with EEXIST). A stale lock is moved aside by
// rename, which only one contender can do; the mover then checks that what it moved is the
// stale lock it judged, and puts a live one back. A pid reused by an unrelated live process keeps
// the lock held (the error names the pid; remove the file by hand). Locks held by this process
// are remembered here, so a runtime restarted with the same pid (pid 1 in a container) still
// sees its predecessor's lock as stale. supervise/ is opened from the main thread only.

import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { errorCode } from "./daemontools-errors.js";

export const LOCK_FILE_NAME = "lock.tsqmail";

export interface SuperviseLock {
  readonly path: string;
  release(): void;
}

const heldByThisProcess = new Set<string>();

export function acquireSuperviseLock(superviseDir: string): SuperviseLock {
  const path = join(superviseDir, LOCK_FILE_NAME);
  // Each round either takes the lock, fails, or removes one stale lock; a contender that keeps
  // winning the rename race against us would otherwise hold us here.
  for (let round = 0; round < 3; round += 1) {
    if (tryCreate(path)) {
      heldByThisProcess.add(path);
      return {
        path,
        release() {
          if (!heldByThisProcess.delete(path)) return;
          rmSync(path, { force: true });
        },
      };
    }
    const holder = readHolder(path);
    if (holder === undefined) continue; // released between our attempt and our look
    if (isLive(holder, path)) throw new Error(`unable to acquire ${path}: held by pid ${holder}`);
    moveAsideIfStale(path, holder);
  }
  throw new Error(`unable to acquire ${path}: contended`);
}

function tryCreate(path: string): boolean {
  const candidate = `${path}.${process.pid}`;
  const fd = openSync(candidate, "w", 0o600);
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(candidate, path);
    return true;
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    throw error;
  } finally {
    rmSync(candidate, { force: true });
  }
}

/** The pid of the live process holding SUPERVISE_DIR's lock, or undefined when none does. */
export function liveLockHolder(superviseDir: string): number | undefined {
  const path = join(superviseDir, LOCK_FILE_NAME);
  const pid = readHolder(path);
  return pid !== undefined && isLive(pid, path) ? pid : undefined;
}

/** The pid in the lock file; undefined if the file is gone. Unreadable content counts as pid 0. */
function readHolder(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "latin1"), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

function isLive(pid: number, path: string): boolean {
  if (pid === 0) return false;
  if (pid === process.pid) return heldByThisProcess.has(path);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === "EPERM"; // alive, but another user's
  }
}

function moveAsideIfStale(path: string, stalePid: number): void {
  const aside = `${path}.stale.${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return; // another contender moved it first
    throw error;
  }
  try {
    // We lost a race: what we moved is a fresh lock taken after we judged the old one stale.
    if (readHolder(aside) !== stalePid) linkSync(aside, path);
  } finally {
    rmSync(aside, { force: true });
  }
}
