// Moving a corrupt message aside (Postfix's queue/corrupt, which qmail lacks): every file of
// message N is renamed into queue/corrupt/N/ — todo and info first, so nothing picks the message
// up again, mess last — and the move is made durable. The message is out of the queue for good,
// its bytes kept for an administrator; the send worker and every other message carry on.
// Logs `warning: trouble with msg N: <problem>; moved to corrupt/N`.

import { join } from "node:path";
import type { SiteFs } from "../../io/fs.js";
import type { DirSyncer } from "../../queue/dir-sync.js";
import { escapeLogText } from "../../queue/log-text.js";
import { isMissing } from "../../io/optional-files.js";
import type { QueueLayout } from "../../queue/queue-layout.js";

export const CORRUPT_DIR = "corrupt";

const MESSAGE_FILES = ["todo", "info", "local", "remote", "bounce", "intd", "mess"] as const;

async function ensureDir(fs: SiteFs, path: string): Promise<void> {
  try {
    await fs.mkdir(path, 0o700);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}

export async function quarantineMessage(
  deps: { fs: SiteFs; dirSync: DirSyncer; layout: QueueLayout; log: (line: string) => void },
  id: number,
  problem: string,
): Promise<void> {
  const { fs, layout, dirSync } = deps;
  const corrupt = join(layout.queueDir, CORRUPT_DIR);
  const target = join(corrupt, String(id));
  await ensureDir(fs, corrupt);
  await ensureDir(fs, target);
  await dirSync.durable(dirSync.changed(corrupt));
  for (const name of MESSAGE_FILES) {
    const from = layout.file(name, id);
    try {
      await fs.rename(from, join(target, name));
    } catch (error) {
      if (isMissing(error)) continue;
      throw error;
    }
    await dirSync.durable(dirSync.changed(target));
    await dirSync.durable(dirSync.changed(layout.dirOf(name, id)));
  }
  deps.log(`warning: trouble with msg ${id}: ${escapeLogText(problem)}; moved to ${CORRUPT_DIR}/${id}`);
}
