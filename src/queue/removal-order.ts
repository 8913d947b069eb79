// The order in which a finished message's names leave the queue. Its number N is its mess file's
// inode, free for a new message once the mess file is gone; so every other name of N — todo/N,
// intd/N, info/N, the channel files, bounce/N — must be durably gone first, or a crash could
// bring one back beside a new message that took N, and send would mistake the pair for one
// message. The mess file is the last name, so its own removal needs no fsync: a crash that undoes
// it leaves an orphan that the 36-hour sweep removes, holding its inode meanwhile.
// The removals before it need not be durable at once, only before the mess file goes. So each is
// marked with changedSoon (dir-sync.ts): a covering fsync starts within DURABLE_WITHIN_MS, shared
// by every change in that directory meanwhile — the creates of other messages in the same split
// directory included — and removeMessage usually finds it done.

import type { Mark } from "./coalescer.js";
import type { DirSyncer } from "./dir-sync.js";
import type { FlatDir, QueueLayout, SplitDir } from "./queue-layout.js";

/**
 * How long a crash may still undo a removal. What that brings back is at worst repeated work:
 * todo/N is preprocessed again, a channel file's recipients are delivered again (duplicates, which
 * the queue contract allows), info/N ends its message again.
 */
export const DURABLE_WITHIN_MS = 100;

/** The names a message has besides its mess file. */
type OtherName = Exclude<SplitDir | FlatDir, "mess" | "pid">;
const OTHER_NAMES: readonly OtherName[] = ["todo", "intd", "bounce", "info", "local", "remote"];

interface Pending {
  readonly dirSync: DirSyncer;
  readonly mark: Mark;
}

/**
 * The removals of this worker not yet known to be durable, by mess path, oldest first. removeMessage
 * takes its message's entry; entries are dropped from the front once durable, so those of messages
 * that never reach removeMessage (moved aside as corrupt) do not pile up.
 */
const pending = new Map<string, Pending[]>();
/** Per directory, one fsync started in this worker's life: it covers every earlier life's removals. */
const syncedThisLife = new Map<string, Promise<void>>();

/** Call right after `name` of message `id` was removed through `dirSync`'s file system. */
export function removedBeforeMess(layout: QueueLayout, id: number, dirSync: DirSyncer, name: OtherName): void {
  for (const [key, entries] of pending) {
    if (!entries.every((entry) => entry.dirSync.isDurable(entry.mark))) break;
    pending.delete(key);
  }
  const key = layout.file("mess", id);
  const entries = pending.get(key) ?? [];
  entries.push({ dirSync, mark: dirSync.changedSoon(layout.dirOf(name, id), DURABLE_WITHIN_MS) });
  pending.set(key, entries);
}

function syncedOnce(dirSync: DirSyncer, dir: string): Promise<void> {
  let synced = syncedThisLife.get(dir);
  if (synced === undefined) {
    synced = dirSync.durable(dirSync.changed(dir));
    synced.catch(() => syncedThisLife.delete(dir)); // tried again by the next caller
    syncedThisLife.set(dir, synced);
  }
  return synced;
}

/**
 * Resolves once every other name of message `id` is durably gone: the removals marked in this life,
 * and (one fsync per directory per life) any an earlier life of the worker made but may not have
 * made durable. `dirSync` makes those fsyncs.
 */
export async function othersDurablyGone(layout: QueueLayout, id: number, dirSync: DirSyncer): Promise<void> {
  const key = layout.file("mess", id);
  // The fsyncs for earlier lives first: one that starts now covers this life's marks as well.
  const earlier = OTHER_NAMES.map((name) => syncedOnce(dirSync, layout.dirOf(name, id)));
  await Promise.all([...earlier, ...(pending.get(key) ?? []).map((entry) => entry.dirSync.durable(entry.mark))]);
  pending.delete(key);
}
