// Test helpers: a fresh tsqmail root with a queue in a temp dir, bodies as byte streams, and a
// snapshot of which message files exist, so tests can check exactly what a run left on disk.

import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createQueue } from "../../src/queue/create-queue.js";
import { SPLIT_DIRS, FLAT_DIRS } from "../../src/queue/queue-layout.js";

export interface TempQueue {
  readonly root: string;
  readonly queueDir: string;
  remove(): Promise<void>;
}

export async function tempQueue(): Promise<TempQueue> {
  const root = await mkdtemp(join(tmpdir(), "tsqmail-queue-"));
  const queueDir = join(root, "queue");
  await createQueue(queueDir);
  return { root, queueDir, remove: () => rm(root, { recursive: true, force: true }) };
}

export async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === "string" ? Buffer.from(part, "latin1") : part;
}

/** Every file under the message directories, as "mess/5/1234", "todo/1234", "pid/…". */
export async function queueFiles(queueDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of SPLIT_DIRS) {
    for (const sub of await readdir(join(queueDir, dir))) {
      for (const name of await readdir(join(queueDir, dir, sub))) found.push(`${dir}/${sub}/${name}`);
    }
  }
  for (const dir of FLAT_DIRS) for (const name of await readdir(join(queueDir, dir))) found.push(`${dir}/${name}`);
  return found.sort();
}
