// Recovery at start-up and on every rescan (qmail-clean's and qmail-send's start-up duties): the
// 36-hour sweep of leftovers from injections that never committed (stale pid/ files, mess/ files
// with neither info nor todo, intd/ without todo — queue/queue-clean.ts), and the list of messages
// the queue holds: todo/N not yet preprocessed, and info/N preprocessed (with whatever local/N,
// remote/N and bounce/N files are half-done). The service derives one queue-entry actor from each;
// nothing is trusted from memory.

import type { SiteFs } from "../../io/fs.js";
import { escapeLogText } from "../../queue/log-text.js";
import { messageNumber, sweepStale } from "../../queue/queue-clean.js";
import { QUEUE_SPLIT, type QueueLayout } from "../../queue/queue-layout.js";

export interface QueuedMessages {
  /** Messages waiting in todo/. */
  readonly todo: readonly number[];
  /** Messages already preprocessed (info/N exists). */
  readonly preprocessed: readonly number[];
}

export async function sweepLeftovers(queueDir: string, now: number, log: (line: string) => void): Promise<void> {
  const report = await sweepStale(queueDir, now);
  for (const path of report.removed) log(`cleanup: removed stale ${escapeLogText(path)}`);
  for (const problem of report.problems) log(`warning: ${escapeLogText(problem.path)}: ${escapeLogText(problem.detail)}`);
}

export async function listTodo(fs: SiteFs, layout: QueueLayout): Promise<number[]> {
  return numbers(await fs.readdir(layout.subdir("todo")));
}

export async function listQueued(fs: SiteFs, layout: QueueLayout): Promise<QueuedMessages> {
  const preprocessed: number[] = [];
  for (let split = 0; split < QUEUE_SPLIT; split++) preprocessed.push(...numbers(await fs.readdir(layout.splitDir("info", split))));
  return { todo: await listTodo(fs, layout), preprocessed };
}

function numbers(names: readonly string[]): number[] {
  return names.map(messageNumber).filter((id): id is number => id !== undefined);
}
