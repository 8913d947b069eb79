// Reading a preprocessed message's files as qmail-send does: info/N is `F<sender>\0`, a channel
// file (local/N, remote/N) is a run of `T<recipient>\0` records, each turned into `D…` once done.
// Anything else is corrupt: the reader throws CorruptQueueFile, which the queue-entry machine
// answers by moving the message aside. Also loads what the machine starts from: birth (info's
// mtime), sender, and each channel's next try (its file's mtime) and recipients not yet done.
// Reads only, through the send service's SiteFs.

import type { SiteFs } from "../../io/fs.js";
import { lstatIfPresent, readIfPresent } from "../../io/optional-files.js";
import type { QueueLayout } from "../../queue/queue-layout.js";
import type { Channel, CorruptFileError, LoadedEntry, PendingRecipient } from "../../../machines/queue-entry.js";

export class CorruptQueueFile extends Error implements CorruptFileError {
  readonly corrupt = true as const;
}

const NUL = 0;

/** A channel file's recipients not yet done (its T records); a D record is checked and skipped. */
export function parseChannelFile(bytes: Buffer, name: string): PendingRecipient[] {
  const pending: PendingRecipient[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const lead = bytes[offset];
    const end = bytes.indexOf(NUL, offset);
    if ((lead !== 0x54 && lead !== 0x44) || end === -1) {
      throw new CorruptQueueFile(`${name}: bad record at byte ${offset}`);
    }
    if (lead === 0x54) pending.push({ offset, recipient: bytes.toString("utf8", offset + 1, end) });
    offset = end + 1;
  }
  return pending;
}

export function parseInfoFile(bytes: Buffer, name: string): string {
  if (bytes[0] !== 0x46 || bytes.indexOf(NUL) !== bytes.length - 1) throw new CorruptQueueFile(`${name}: not an F record`);
  return bytes.toString("utf8", 1, bytes.length - 1);
}

export async function readSender(fs: SiteFs, layout: QueueLayout, id: number): Promise<string> {
  const bytes = await readIfPresent(fs, layout.file("info", id));
  if (bytes === undefined) throw new CorruptQueueFile(`info/${id}: missing`);
  return parseInfoFile(bytes, `info/${id}`);
}

export async function loadEntry(fs: SiteFs, layout: QueueLayout, id: number): Promise<LoadedEntry> {
  const info = await lstatIfPresent(fs, layout.file("info", id));
  if (info === undefined) throw new CorruptQueueFile(`info/${id}: missing`);
  if ((await lstatIfPresent(fs, layout.file("mess", id))) === undefined) throw new CorruptQueueFile(`mess/${id}: missing`);
  const sender = await readSender(fs, layout, id);
  // Parsed now, so a corrupt channel file is moved aside before any delivery is tried.
  const channelFile = async (channel: Channel): Promise<{ nextTry: number | null; recipients: PendingRecipient[] }> => {
    const path = layout.file(channel, id);
    const stats = await lstatIfPresent(fs, path);
    const bytes = stats === undefined ? undefined : await readIfPresent(fs, path);
    if (stats === undefined || bytes === undefined) return { nextTry: null, recipients: [] };
    return { nextTry: stats.mtimeMs, recipients: parseChannelFile(bytes, `${channel}/${id}`) };
  };
  const local = await channelFile("local");
  const remote = await channelFile("remote");
  return {
    birth: info.mtimeMs,
    sender,
    nextTry: { local: local.nextTry, remote: remote.nextTry },
    recipients: { local: local.recipients, remote: remote.recipients },
  };
}
