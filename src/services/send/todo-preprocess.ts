// Preprocessing, qmail-send's first step for a new message: todo/N (written by enqueue) becomes
// info/N (`F<sender>\0`; its mtime is the message's birth) plus local/N and remote/N (`T<rcpt>\0`
// per recipient, after rewriting), every file fsync'd and its directory entry made durable before
// todo/N and intd/N are removed. A crash at any point leaves todo/N to be preprocessed again from
// scratch: the files are written over whatever an interrupted run left and cut to length, and a channel
// file this run does not write is unlinked first (an entry always starts here, so a half-written
// info/N next to todo/N is never mistaken for a preprocessed message). Returns what it wrote —
// birth (info/N's mtime), sender, each channel's recipients and their records' offsets — so the
// entry need not read it back. A fresh channel's next try is the birth (its file's mtime is no
// earlier, and either means "now"), so only info/N's mtime is asked for. Logs `new msg N` and
// `info msg N: bytes …`. A todo or mess file that cannot be used throws CorruptQueueFile.

import type { SiteFs } from "../../io/fs.js";
import type { DirSyncer } from "../../queue/dir-sync.js";
import { escapeLogText } from "../../queue/log-text.js";
import { lstatIfPresent, readIfPresent, unlinkIfPresent } from "../../io/optional-files.js";
import type { QueueLayout } from "../../queue/queue-layout.js";
import type { SpareFiles } from "../../queue/spare-files.js";
import type { Channel, PendingRecipient, PreprocessOutcome } from "../../../machines/queue-entry.js";
import { CorruptQueueFile } from "./queue-files.js";
import { rewriteRecipient, type RewriteControl } from "./recipient-rewrite.js";

export interface PreprocessDeps {
  readonly fs: SiteFs;
  readonly dirSync: DirSyncer;
  readonly layout: QueueLayout;
  readonly spares: SpareFiles;
  readonly rewrite: () => RewriteControl;
  readonly log: (line: string) => void;
  /** qmail-clean's todo step: intd/N, then todo/N. */
  readonly cleanTodo: (id: number) => Promise<void>;
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

/** A channel file's bytes and, for each T record, where it starts. */
function channelFile(addresses: readonly string[]): { bytes: Buffer; recipients: PendingRecipient[] } {
  const recipients: PendingRecipient[] = [];
  let text = "";
  let offset = 0;
  for (const recipient of addresses) {
    const line = record("T", recipient);
    recipients.push({ offset, recipient });
    text += line;
    offset += Buffer.byteLength(line);
  }
  return { bytes: Buffer.from(text), recipients };
}

export async function preprocessTodo(deps: PreprocessDeps, id: number): Promise<PreprocessOutcome> {
  const { fs, layout, dirSync } = deps;
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
  for (const channel of CHANNELS) {
    if (channels[channel].length === 0) await unlinkIfPresent(fs, layout.file(channel, id));
  }

  const info = layout.file("info", id);
  await deps.spares.write(info, Buffer.from(record("F", envelope.sender)));
  const birth = (await fs.lstat(info)).mtimeMs;
  deps.log(`new msg ${id}`);
  deps.log(`info msg ${id}: bytes ${mess.size} from <${escapeLogText(envelope.sender)}> qp ${envelope.pid} uid ${envelope.uid}`);
  const written = [layout.splitDir("info", id)];
  const nextTry: Record<Channel, number | null> = { local: null, remote: null };
  const recipients: Record<Channel, PendingRecipient[]> = { local: [], remote: [] };
  for (const channel of CHANNELS) {
    if (channels[channel].length === 0) continue;
    const file = channelFile(channels[channel]);
    await deps.spares.write(layout.file(channel, id), file.bytes);
    written.push(layout.splitDir(channel, id));
    nextTry[channel] = birth;
    recipients[channel] = file.recipients;
  }
  await Promise.all(written.map((dir) => dirSync.durable(dirSync.changed(dir))));
  await deps.cleanTodo(id);
  return { kind: "preprocessed", entry: { birth, sender: envelope.sender, nextTry, recipients } };
}
