// Reading a preprocessed message's files as qmail-send does: info/N is `F<sender>\0`, a channel
// file (local/N, remote/N) is a run of `T<recipient>\0` records, each turned into `D…` once done.
// Anything else is corrupt: the reader throws CorruptQueueFile, which the queue-entry machine
// answers by moving the message aside. Also loads what the machine starts from: birth (info's
// mtime), sender, and each channel's next try (its file's mtime). Reads only, through the send
// service's SiteFs.

import type { SiteFs } from "../../io/fs.js";
import { lstatIfPresent, readIfPresent } from "../../io/optional-files.js";
import type { QueueLayout } from "../../queue/queue-layout.js";
import type { Channel, CorruptFileError, LoadedEntry } from "../../../machines/queue-entry.js";

export class CorruptQueueFile extends Error implements CorruptFileError {
  readonly corrupt = true as const;
}

export interface ChannelRecord {
  /** Offset of the record's T/D byte: where the done marker goes. */
  readonly offset: number;
  readonly done: boolean;
  readonly recipient: string;
}

const NUL = 0;

export function parseChannelFile(bytes: Buffer, name: string): ChannelRecord[] {
  const records: ChannelRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const lead = bytes[offset];
    const end = bytes.indexOf(NUL, offset);
    if ((lead !== 0x54 && lead !== 0x44) || end === -1) {
      throw new CorruptQueueFile(`${name}: bad record at byte ${offset}`);
    }
    records.push({ offset, done: lead === 0x44, recipient: bytes.toString("utf8", offset + 1, end) });
    offset = end + 1;
  }
  return records;
}

export function parseInfoFile(bytes: Buffer, name: string): string {
  if (bytes[0] !== 0x46 || bytes.indexOf(NUL) !== bytes.length - 1) throw new CorruptQueueFile(`${name}: not an F record`);
  return bytes.toString("utf8", 1, bytes.length - 1);
}

export async function readChannelRecords(fs: SiteFs, layout: QueueLayout, id: number, channel: Channel): Promise<ChannelRecord[]> {
  const bytes = await readIfPresent(fs, layout.file(channel, id));
  return bytes === undefined ? [] : parseChannelFile(bytes, `${channel}/${id}`);
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
  const nextTry = async (channel: Channel): Promise<number | null> => {
    const stats = await lstatIfPresent(fs, layout.file(channel, id));
    if (stats === undefined) return null;
    // Parse now, so a corrupt channel file is moved aside before any delivery is tried.
    await readChannelRecords(fs, layout, id, channel);
    return stats.mtimeMs;
  };
  return { birth: info.mtimeMs, sender, nextTry: { local: await nextTry("local"), remote: await nextTry("remote") } };
}
