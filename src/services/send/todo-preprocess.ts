// Preprocessing, qmail-send's first step for a new message: todo/N (written by enqueue) is read,
// its recipients rewritten and split between the local and remote channels, and `new msg N` and
// `info msg N: bytes …` logged. Returns what qmail-send would have written — birth (now), sender,
// each channel's recipients and their records' offsets — so the entry need not read it back.
// A todo or mess file that cannot be used throws CorruptQueueFile.
// The files themselves (info/N, `F<sender>\0` with the birth as its mtime; local/N and remote/N,
// `T<rcpt>\0` per recipient) are written by writeEntry, and only when the message first needs
// them: when a pass leaves a recipient for later or fails one for good (done-marker.ts). Until
// then todo/N stands for the message, and a crash preprocesses it again from scratch, just as a
// crash before the done marks would repeat its deliveries; a message delivered at its first try
// never writes them. So `tsqmail qread` lists a message only once it waits for a retry, and
// `qstat` counts it as not yet preprocessed until then (docs/queue.md). Two cases write them at
// once: a message with recipients on both channels, whose two passes would otherwise race to
// write first, and a todo/N beside an info/N, which an interrupted writeEntry left behind.

import type { SiteFs } from "../../io/fs.js";
import type { DirSyncer } from "../../queue/dir-sync.js";
import { escapeLogText } from "../../queue/log-text.js";
import { lstatIfPresent, readIfPresent, unlinkIfPresent } from "../../io/optional-files.js";
import type { QueueLayout } from "../../queue/queue-layout.js";
import type { SpareFiles } from "../../queue/spare-files.js";
import type { Channel, LoadedEntry, PendingRecipient, PreprocessOutcome } from "../../../machines/queue-entry.js";
import { CorruptQueueFile } from "./queue-files.js";
import { rewriteRecipient, type RewriteControl } from "./recipient-rewrite.js";

export interface WriteEntryDeps {
  readonly fs: SiteFs;
  readonly dirSync: DirSyncer;
  readonly layout: QueueLayout;
  readonly spares: SpareFiles;
  /** qmail-clean's todo step: intd/N, then todo/N. */
  readonly cleanTodo: (id: number) => Promise<void>;
}

export interface PreprocessDeps extends WriteEntryDeps {
  readonly rewrite: () => RewriteControl;
  readonly log: (line: string) => void;
  /** Epoch ms: the birth of a message preprocessed now. */
  readonly now: () => number;
}

interface TodoEnvelope {
  readonly uid: string;
  readonly pid: string;
  readonly sender: string;
  readonly recipients: readonly string[];
}

function parseTodo(bytes: Buffer, id: number): TodoEnvelope {
  let uid = "?";
  let pid = "?";
  let sender: string | undefined;
  const recipients: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const end = bytes.indexOf(0, offset);
    if (end === -1) throw new CorruptQueueFile(`todo/${id}: record without NUL at byte ${offset}`);
    const value = bytes.toString("utf8", offset + 1, end);
    switch (bytes[offset]) {
      case 0x75: // u
        uid = value;
        break;
      case 0x70: // p
        pid = value;
        break;
      case 0x46: // F
        sender = value;
        break;
      case 0x54: // T
        recipients.push(value);
        break;
      default:
        throw new CorruptQueueFile(`todo/${id}: unknown record at byte ${offset}`);
    }
    offset = end + 1;
  }
  if (sender === undefined) throw new CorruptQueueFile(`todo/${id}: no sender`);
  return { uid, pid, sender, recipients };
}

const record = (lead: string, value: string): string => `${lead}${value}\0`;
const CHANNELS = ["local", "remote"] as const;

/** Each recipient with where its T record starts in the channel file channelBytes makes of them. */
function pendingRecords(addresses: readonly string[]): PendingRecipient[] {
  let offset = 0;
  return addresses.map((recipient) => {
    const pending = { offset, recipient };
    offset += Buffer.byteLength(record("T", recipient));
    return pending;
  });
}

const channelBytes = (recipients: readonly PendingRecipient[]): Buffer => Buffer.from(recipients.map((pending) => record("T", pending.recipient)).join(""));

export async function preprocessTodo(deps: PreprocessDeps, id: number): Promise<PreprocessOutcome> {
  const { fs, layout } = deps;
  const todo = await readIfPresent(fs, layout.file("todo", id));
  if (todo === undefined) {
    // Preprocessed earlier (info/N carries on), or finished since whoever listed it looked.
    return (await lstatIfPresent(fs, layout.file("info", id))) === undefined ? { kind: "gone" } : { kind: "queued" };
  }
  const envelope = parseTodo(todo, id);
  const mess = await lstatIfPresent(fs, layout.file("mess", id));
  if (mess === undefined) throw new CorruptQueueFile(`mess/${id}: missing`);

  const control = deps.rewrite();
  const channels: Record<Channel, string[]> = { local: [], remote: [] };
  for (const recipient of envelope.recipients) {
    const rewritten = rewriteRecipient(recipient, control);
    channels[rewritten.channel].push(rewritten.address);
  }
  deps.log(`new msg ${id}`);
  deps.log(`info msg ${id}: bytes ${mess.size} from <${escapeLogText(envelope.sender)}> qp ${envelope.pid} uid ${envelope.uid}`);

  // A fresh channel's next try is the birth: "now".
  const birth = deps.now();
  const nextTry: Record<Channel, number | null> = { local: null, remote: null };
  const recipients: Record<Channel, PendingRecipient[]> = { local: [], remote: [] };
  for (const channel of CHANNELS) {
    if (channels[channel].length === 0) continue;
    nextTry[channel] = birth;
    recipients[channel] = pendingRecords(channels[channel]);
  }
  const entry: LoadedEntry = { birth, sender: envelope.sender, nextTry, recipients };
  const both = channels.local.length > 0 && channels.remote.length > 0;
  if (!both && (await lstatIfPresent(fs, layout.file("info", id))) === undefined) return { kind: "preprocessed", entry, durable: false };
  await writeEntry(deps, id, entry);
  return { kind: "preprocessed", entry, durable: true };
}

/**
 * Writes a preprocessed message's files, every recipient pending, then removes todo/N and intd/N.
 * Each step is durable before the next, so that after a crash a channel file never stands
 * without info/N, and no done marker or bounce report (written only after this returns) ever
 * sits beside a todo/N that would be preprocessed afresh. A crash before todo/N's removal is
 * durable leaves todo/N to be preprocessed again: the files are written over whatever an
 * interrupted run left and cut to length, and a channel file this run does not write is
 * unlinked first.
 */
export async function writeEntry(deps: WriteEntryDeps, id: number, entry: LoadedEntry): Promise<void> {
  const { fs, layout, dirSync } = deps;
  for (const channel of CHANNELS) {
    if (entry.nextTry[channel] === null) await unlinkIfPresent(fs, layout.file(channel, id));
  }
  await deps.spares.write(layout.file("info", id), Buffer.from(record("F", entry.sender)), entry.birth);
  await dirSync.durable(dirSync.changed(layout.splitDir("info", id)));
  const written: string[] = [];
  for (const channel of CHANNELS) {
    if (entry.nextTry[channel] === null) continue;
    await deps.spares.write(layout.file(channel, id), channelBytes(entry.recipients[channel]));
    written.push(layout.splitDir(channel, id));
  }
  await Promise.all(written.map((dir) => dirSync.durable(dirSync.changed(dir))));
  await deps.cleanTodo(id);
  await dirSync.durable(dirSync.changed(layout.subdir("todo")));
}
