// createQueue: makes (or completes) a qmail queue directory — pid mess intd todo info local remote
// bounce lock, the 23 split subdirectories, lock/tcpto (1024 zero bytes), lock/sendmutex and the
// lock/trigger FIFO — with qmail's modes. Idempotent: what exists is kept (modes are reset, file
// contents never touched), what is missing is created. Writes only under the queue directory; the
// directories it adds entries to are fsync'd, so a queue that acknowledged mail survives a crash.
// Owners are not set: tsqmail runs every service as one user.

import { dirname, join } from "node:path";
import { O_EXCL_CREATE, siteFs } from "../io/fs.js";
import { lstatIfPresent } from "../io/optional-files.js";
import {
  FLAT_DIRS,
  LOCK_FILE_MODES,
  QUEUE_DIR_MODE,
  QUEUE_SPLIT,
  SPLIT_DIRS,
  SUBDIR_MODES,
  TCPTO_SIZE,
  queueLayout,
} from "./queue-layout.js";

const fs = siteFs("create-queue");

const isErrno = (error: unknown, code: string): boolean => (error as NodeJS.ErrnoException | null)?.code === code;


export async function createQueue(queueDir: string): Promise<void> {
  const layout = queueLayout(queueDir);
  const changedDirs = new Set<string>();

  const ensureDir = async (path: string, mode: number): Promise<void> => {
    try {
      await fs.mkdir(path, mode);
      changedDirs.add(dirname(path));
    } catch (error) {
      if (!isErrno(error, "EEXIST")) throw error;
    }
    await fs.chmod(path, mode); // mkdir's mode passes through the umask; qmail's modes are exact
  };

  const ensureFile = async (path: string, mode: number, contents: Uint8Array): Promise<void> => {
    if ((await lstatIfPresent(fs, path)) !== undefined) return;
    const fh = await fs.open(path, O_EXCL_CREATE, mode);
    try {
      if (contents.length > 0) await fs.write(fh, contents);
      await fs.sync(fh);
    } finally {
      await fs.close(fh);
    }
    await fs.chmod(path, mode);
    changedDirs.add(dirname(path));
  };

  await ensureDir(queueDir, QUEUE_DIR_MODE);
  for (const name of [...FLAT_DIRS, "lock" as const]) await ensureDir(layout.subdir(name), SUBDIR_MODES[name]);
  for (const name of SPLIT_DIRS) {
    await ensureDir(layout.subdir(name), SUBDIR_MODES[name]);
    for (let i = 0; i < QUEUE_SPLIT; i++) await ensureDir(join(layout.subdir(name), String(i)), SUBDIR_MODES[name]);
  }

  await ensureFile(layout.tcpto, LOCK_FILE_MODES.tcpto, new Uint8Array(TCPTO_SIZE));
  await ensureFile(layout.sendmutex, LOCK_FILE_MODES.sendmutex, new Uint8Array(0));
  if ((await lstatIfPresent(fs, layout.trigger)) === undefined) {
    await fs.mkfifo(layout.trigger, LOCK_FILE_MODES.trigger);
    changedDirs.add(dirname(layout.trigger));
  }

  for (const dir of changedDirs) await fs.syncDir(dir);
}
