// qmail-clean's duties, as functions the send service calls (and the qmaint tool). qmail keeps
// them in a separate program so that qmail-send never unlinks queue files itself; here the
// separation is this module. Reads and writes pid/, intd/, todo/ and mess/ through
// siteFs("clean"), fsyncing each directory it removed an entry from, so a removal the caller
// acted on is not undone by a crash. On the hot path, when each removal must be durable follows
// removal-order.ts: cleanTodo's before the mess file goes, which removeMessage waits for.
//   cleanTodo       after preprocessing (info, local, remote written): intd/N, then todo/N
//   removeMessage   qmail's "foop": the mess file, once every other name of N is durably gone
//   purgeMessage    every file of message N, in an order that is safe at each step (qmaint --remove)
//   sweepStale      the 36-hour cleanup of leftovers from injections that never committed
// A file already gone is not an error: the step may have run before a crash.

import { relative } from "node:path";
import { siteFs } from "../io/fs.js";
import { lstatIfPresent, unlinkIfPresent } from "../io/optional-files.js";
import { createDirSyncer } from "./dir-sync.js";
import { QUEUE_SPLIT, queueLayout, type QueueLayout } from "./queue-layout.js";
import { othersDurablyGone, removedBeforeMess } from "./removal-order.js";
import { isOwnSpare, isSpare } from "./spare-files.js";

const fs = siteFs("clean");

/** qmail's OSSIFIED: 36 hours. qmail-queue gives up after 24, so older leftovers are dead. */
export const STALE_AFTER_MS = 129600 * 1000;

const dirSync = createDirSyncer(fs);

/**
 * `removeTodo` takes todo/N's name away (by default, unlinks it) and says whether it was there:
 * send keeps the inode as a spare (spare-files.ts), which needs intd/N, its other name, gone first.
 */
export async function cleanTodo(queueDir: string, id: number, removeTodo = (path: string) => unlinkIfPresent(fs, path)): Promise<void> {
  const layout = queueLayout(queueDir);
  // intd first: a worker that dies in between leaves todo/N, which is simply preprocessed again.
  // A system crash may keep either removal without the other: an intd/N left alone is swept.
  if (await unlinkIfPresent(fs, layout.file("intd", id))) removedBeforeMess(layout, id, dirSync, "intd");
  if (await removeTodo(layout.file("todo", id))) removedBeforeMess(layout, id, dirSync, "todo");
}

/**
 * The end of a delivered message: its mess file. The caller (send) has already removed the channel
 * files, bounce/N and info/N, and cleanTodo todo/N and intd/N; those removals are durable first.
 */
export async function removeMessage(queueDir: string, id: number): Promise<void> {
  const layout = queueLayout(queueDir);
  await othersDurablyGone(layout, id, dirSync);
  // On the caller's thread, not in the pool, although the trim of its block may make it slow: N
  // is free for a new message the moment the mess file goes, and the entry of the old one must
  // end before send can hear of the new one (a wake naming N, a scan), or the new message would
  // be taken for the old one, still live, and left alone.
  await unlinkIfPresent(fs, layout.file("mess", id));
}

/** intd/N and mess/…/N, each directory fsync'd; the paths removed, relative to the queue. */
async function unlinkMessageFiles(layout: QueueLayout, id: number): Promise<string[]> {
  const removed: string[] = [];
  for (const [path, dir] of [
    [layout.file("intd", id), layout.subdir("intd")],
    [layout.file("mess", id), layout.splitDir("mess", id)],
  ] as const) {
    if (await dirSync.unlinkDurably(path, dir)) removed.push(relative(layout.queueDir, path));
  }
  return removed;
}

/**
 * Removes every file of message N; the paths removed, relative to the queue. Only safe while the
 * send service is stopped. The order keeps each intermediate state harmless: todo/ first (it would
 * be preprocessed again), then the channel files and bounce/ (so no delivery and no bounce
 * follows), then info/ (the message is gone for qmail-send), then intd/ and mess/.
 */
export async function purgeMessage(queueDir: string, id: number): Promise<string[]> {
  const layout = queueLayout(queueDir);
  const removed: string[] = [];
  for (const name of ["todo", "local", "remote", "bounce", "info"] as const) {
    const path = layout.file(name, id);
    if (await unlinkIfPresent(fs, path)) {
      await fs.syncDir(layout.dirOf(name, id));
      removed.push(relative(queueDir, path));
    }
  }
  removed.push(...(await unlinkMessageFiles(layout, id)));
  return removed;
}

export interface SweepProblem {
  /** Relative to the queue directory, e.g. "mess/4/1234". */
  readonly path: string;
  readonly detail: string;
}

export interface SweepReport {
  /** Files removed, relative to the queue directory. */
  readonly removed: readonly string[];
  /** Files left alone because they are not what the queue should hold; never fatal. */
  readonly problems: readonly SweepProblem[];
}

/**
 * The periodic cleanup. `now` is epoch milliseconds. Removes:
 *   - pid/ files not accessed for 36 h (an injection that died before linking its mess file),
 *     and at once the spare files an earlier life of send left there (spare-files.ts);
 *   - mess files not accessed for 36 h with neither info/N nor todo/N (an injection that died
 *     before committing), together with their intd/N, as qmail-send's scan does;
 *   - intd/N not modified for 36 h without todo/N: once todo/N is gone it is never read again.
 * Atime for pid and mess, as qmail: reading a mess file for delivery keeps it fresh.
 */
export async function sweepStale(queueDir: string, now: number): Promise<SweepReport> {
  const layout = queueLayout(queueDir);
  const removed: string[] = [];
  const problems: SweepProblem[] = [];
  const isStale = (ms: number): boolean => now - ms > STALE_AFTER_MS;

  let pidRemoved = false;
  for (const name of await fs.readdir(layout.subdir("pid"))) {
    if (isSpare(name)) {
      // send's scratch, not an injection's leftover: an earlier life's goes quietly, at once.
      if (!isOwnSpare(name) && (await unlinkIfPresent(fs, layout.pidFile(name)))) pidRemoved = true;
      continue;
    }
    const stat = await lstatIfPresent(fs, layout.pidFile(name));
    if (stat === undefined) continue;
    if (!stat.isFile()) problems.push({ path: `pid/${name}`, detail: "not a regular file" });
    else if (isStale(stat.atimeMs) && (await unlinkIfPresent(fs, layout.pidFile(name)))) {
      removed.push(`pid/${name}`);
      pidRemoved = true;
    }
  }
  if (pidRemoved) await fs.syncDir(layout.subdir("pid"));

  for (let split = 0; split < QUEUE_SPLIT; split += 1) {
    for (const name of await fs.readdir(layout.splitDir("mess", split))) {
      const id = messageNumber(name);
      const where = `mess/${split}/${name}`;
      if (id === undefined) problems.push({ path: where, detail: "not a message number" });
      else if (id % QUEUE_SPLIT !== split) problems.push({ path: where, detail: `belongs in mess/${id % QUEUE_SPLIT}` });
      else {
        const stat = await lstatIfPresent(fs, layout.file("mess", id));
        if (stat === undefined || !isStale(stat.atimeMs)) continue;
        if ((await lstatIfPresent(fs, layout.file("info", id))) !== undefined) continue;
        if ((await lstatIfPresent(fs, layout.file("todo", id))) !== undefined) continue;
        removed.push(...(await unlinkMessageFiles(layout, id)));
      }
    }
  }

  let intdRemoved = false;
  for (const name of await fs.readdir(layout.subdir("intd"))) {
    const id = messageNumber(name);
    if (id === undefined) {
      problems.push({ path: `intd/${name}`, detail: "not a message number" });
      continue;
    }
    const stat = await lstatIfPresent(fs, layout.file("intd", id));
    if (stat === undefined || !isStale(stat.mtimeMs)) continue;
    if ((await lstatIfPresent(fs, layout.file("todo", id))) !== undefined) continue;
    if (await unlinkIfPresent(fs, layout.file("intd", id))) {
      removed.push(`intd/${name}`);
      intdRemoved = true;
    }
  }
  if (intdRemoved) await fs.syncDir(layout.subdir("intd"));

  return { removed, problems };
}

/** A queue file's name is its message number in canonical decimal, the only name qmail makes. */
export function messageNumber(name: string): number | undefined {
  const id = Number(name);
  return Number.isSafeInteger(id) && id >= 0 && String(id) === name ? id : undefined;
}
