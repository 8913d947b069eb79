// Where everything lives in a qmail queue directory (qmail's hier.c and fmtqfn.c). Message N is
// the inode number of its mess file; the split directories (mess, info, local, remote) keep it in
// `<N % 23>/N`, the flat ones (intd, todo, bounce) in `N`. Every part of tsqmail that touches the
// queue asks here for paths and modes instead of joining strings. Reads and writes nothing.

import { join } from "node:path";

/** qmail's conf-split: the number of subdirectories of each split directory. */
export const QUEUE_SPLIT = 23;

export const SPLIT_DIRS = ["mess", "info", "local", "remote"] as const;
export const FLAT_DIRS = ["pid", "intd", "todo", "bounce"] as const;

export type SplitDir = (typeof SPLIT_DIRS)[number];
export type FlatDir = (typeof FLAT_DIRS)[number];
export type QueueSubdir = SplitDir | FlatDir | "lock";

/** Directory modes from qmail's hier.c; a split directory's subdirectories share its mode. */
export const QUEUE_DIR_MODE = 0o750;
export const SUBDIR_MODES: Readonly<Record<QueueSubdir, number>> = {
  pid: 0o700,
  intd: 0o700,
  todo: 0o750,
  mess: 0o750,
  info: 0o700,
  local: 0o700,
  remote: 0o700,
  bounce: 0o700,
  lock: 0o750,
};

/** lock/ holds: tcpto (qmail-remote's timeout table, 1024 bytes), sendmutex, and the trigger FIFO. */
export const TCPTO_SIZE = 1024;
export const LOCK_FILE_MODES = { tcpto: 0o644, sendmutex: 0o600, trigger: 0o622 } as const;

/** Queue files are created 0644: qmail-queue's open_excl mode under its umask 033. */
export const QUEUE_FILE_MODE = 0o644;

export interface QueueLayout {
  readonly queueDir: string;
  /** `<queueDir>/<name>`, e.g. subdir("todo"). */
  subdir(name: QueueSubdir): string;
  /** The split subdirectory that holds message `id`, e.g. mess/17. */
  splitDir(name: SplitDir, id: number): string;
  /** A message's file in any queue directory: mess/<id%23>/<id>, todo/<id>, … */
  file(name: SplitDir | Exclude<FlatDir, "pid">, id: number): string;
  /** The directory that holds that file: mess/<id%23>, todo, … */
  dirOf(name: SplitDir | Exclude<FlatDir, "pid">, id: number): string;
  pidFile(name: string): string;
  readonly trigger: string;
  readonly tcpto: string;
  readonly sendmutex: string;
}

const isSplit = (name: string): name is SplitDir => (SPLIT_DIRS as readonly string[]).includes(name);

export function queueLayout(queueDir: string): QueueLayout {
  // Normalised once; the per-message paths are then plain concatenations (they are built a dozen
  // times per message, and path.join re-normalises every time). Names and ids hold no slashes.
  const base = join(queueDir, ".");
  const subdir = (name: QueueSubdir): string => `${base}/${name}`;
  const splitDir = (name: SplitDir, id: number): string => `${base}/${name}/${id % QUEUE_SPLIT}`;
  return {
    queueDir,
    subdir,
    splitDir,
    file: (name, id) => (isSplit(name) ? `${base}/${name}/${id % QUEUE_SPLIT}/${id}` : `${base}/${name}/${id}`),
    dirOf: (name, id) => (isSplit(name) ? splitDir(name, id) : subdir(name)),
    pidFile: (name) => `${base}/pid/${name}`,
    trigger: join(queueDir, "lock", "trigger"),
    tcpto: join(queueDir, "lock", "tcpto"),
    sendmutex: join(queueDir, "lock", "sendmutex"),
  };
}
