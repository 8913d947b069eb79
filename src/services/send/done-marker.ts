// Recording a channel pass's results, in qmail-send's order. An entry whose files are not written
// yet (todo-preprocess.ts) has them written first, unless every recipient succeeded: then there
// is nothing to record. Then, for each permanent failure, the bounce block is appended to
// bounce/N (so a crash can repeat a block, never lose one); then every success and permanent
// failure gets its done marker — the record's T byte, at its offset, overwritten with D — and the
// file is fsync'd. A channel with nothing left (the pass knows how many were pending) is removed
// instead (kept as a spare, queue/spare-files.ts), with no marks first: the removal says "all
// done" more strongly than any D byte. It is durable within a tenth of a second and before the
// message's mess file goes (queue/removal-order.ts); a crash before that repeats the deliveries
// just as a crash before the marks would (a duplicate the queue contract allows). Otherwise the
// channel's mtime becomes the next try, which is how the schedule survives a restart.

import type { SiteFs } from "../../io/fs.js";
import type { DirSyncer } from "../../queue/dir-sync.js";
import type { QueueLayout } from "../../queue/queue-layout.js";
import { removedBeforeMess } from "../../queue/removal-order.js";
import type { SpareFiles } from "../../queue/spare-files.js";
import type { LoadedEntry, MarkInput, MarkOutput } from "../../../machines/queue-entry.js";

const DONE = Uint8Array.of(0x44);

export interface DoneMarkerDeps {
  readonly fs: SiteFs;
  readonly dirSync: DirSyncer;
  readonly layout: QueueLayout;
  readonly spares: SpareFiles;
  /** Appends a permanent failure's block to bounce/N (vdomain prefix already stripped by the callee). */
  readonly addBounceBlock: (id: number, recipient: string, report: string) => Promise<void>;
  /** Writes an entry's files, every recipient pending, and removes todo/N (todo-preprocess.ts). */
  readonly writeEntry: (id: number, entry: LoadedEntry) => Promise<void>;
}

export async function markDone(deps: DoneMarkerDeps, input: MarkInput): Promise<MarkOutput> {
  const { fs, layout } = deps;
  const path = layout.file(input.channel, input.id);
  const finished = input.results.filter((result) => result.status !== "Z");
  const remaining = input.pending - finished.length;
  if (input.unwritten !== null) {
    // Every recipient delivered at the first try: nothing to record; todo/N goes with the message.
    if (remaining === 0 && input.results.every((result) => result.status === "K")) return { remaining, durable: false };
    await deps.writeEntry(input.id, input.unwritten);
  }
  for (const result of input.results) {
    if (result.status === "D") await deps.addBounceBlock(input.id, result.recipient, result.report);
  }
  if (remaining === 0) {
    await deps.spares.retire(path);
    removedBeforeMess(layout, input.id, deps.dirSync, input.channel);
    return { remaining, durable: true };
  }
  if (finished.length > 0) {
    const fh = await fs.open(path, "r+");
    try {
      for (const result of finished) await fs.write(fh, DONE, result.offset);
      await fs.sync(fh);
    } finally {
      await fs.close(fh);
    }
  }
  const seconds = input.nextTry / 1000;
  await fs.utimes(path, seconds, seconds);
  return { remaining, durable: true };
}
