// Reads the state of the queue from its files, for the tools (qread, qstat, qmaint) and for
// recovery: which messages exist, whether each is still in todo/ or preprocessed, its info
// (sender; birth = info/N's mtime), its local/ and remote/ recipient records with their done
// marks, each channel's next-try time (the channel file's mtime, where qmail-send keeps it), and
// whether bounce/N holds reports. Writes nothing; reads through siteFs("qread").
//
// Formats (qmail-send): info/N is `F<sender>\0`; local/N and remote/N are records `T<addr>\0`
// (pending) or `D<addr>\0` (done: the T byte overwritten in place). Anything else is a typed
// problem, never a throw: one bad file must not hide the rest of the queue. A scan of a live
// queue can see a message between two steps (an intd/N whose todo/N is not linked yet); run it
// with the send service stopped for an exact picture.

import type { Stats } from "node:fs";
import { relative } from "node:path";
import { siteFs } from "../io/fs.js";
import { lstatIfPresent, readIfPresent } from "../io/optional-files.js";
import { messageNumber } from "./queue-clean.js";
import { FLAT_DIRS, QUEUE_SPLIT, SPLIT_DIRS, queueLayout, type QueueLayout } from "./queue-layout.js";

const fs = siteFs("qread");

export interface RecipientRecord {
  readonly address: string;
  /** `D`: delivered or permanently failed; `T`: still to do. */
  readonly done: boolean;
  /** Byte offset of the record's lead byte, where the send service writes its `D`. */
  readonly offset: number;
}

export interface ChannelFile {
  readonly recipients: readonly RecipientRecord[];
  /** The channel file's mtime, epoch ms: when qmail-send will next try this channel. */
  readonly nextTry: number;
}

export interface MessageInfo {
  readonly sender: string;
  /** info/N's mtime, epoch ms: the base of the retry schedule and of queuelifetime. */
  readonly birth: number;
}

/** incomplete: mess (and perhaps intd) only — being injected, or a leftover for sweepStale. */
export type MessageState = "incomplete" | "todo" | "preprocessed";

export interface QueuedMessage {
  readonly id: number;
  readonly state: MessageState;
  /** Bytes in the mess file. */
  readonly size: number;
  readonly intd: boolean;
  readonly todo: boolean;
  readonly info?: MessageInfo;
  readonly local?: ChannelFile;
  readonly remote?: ChannelFile;
  readonly bounce: boolean;
}

export type QueueProblemKind =
  | "unreadable" // an I/O error other than "not found"
  | "bad-name" // not a message number
  | "bad-split" // mess/5/N with N % 23 ≠ 5, and the like
  | "not-a-file" // a directory or a special file where a message file belongs
  | "missing-mess" // a file of message N, but no mess file
  | "bad-info" // info/N not `F<sender>\0`
  | "bad-records" // a channel file with a record that is not T or D, or an unterminated one
  | "orphan" // channel or bounce file with neither info nor todo
  | "todo-without-intd";

export interface QueueProblem {
  readonly kind: QueueProblemKind;
  /** Relative to the queue directory, e.g. "info/4/1234". */
  readonly path: string;
  readonly id?: number;
  readonly detail: string;
}

export interface QueueScan {
  /** Every message with a mess file, by number. */
  readonly messages: readonly QueuedMessage[];
  readonly problems: readonly QueueProblem[];
}

type MessageFileKind = (typeof SPLIT_DIRS)[number] | "intd" | "todo" | "bounce";
const MESSAGE_FILE_KINDS: readonly MessageFileKind[] = [...SPLIT_DIRS, "intd", "todo", "bounce"];

const NUL = 0;
const LEAD_SENDER = 0x46; // F
const LEAD_PENDING = 0x54; // T
const LEAD_DONE = 0x44; // D

export type InfoParse = { readonly ok: true; readonly sender: string } | { readonly ok: false; readonly detail: string };

/** info/N; bytes after the first record are ignored, as qmail-send's getinfo does. */
export function parseInfo(bytes: Buffer): InfoParse {
  if (bytes[0] !== LEAD_SENDER) return { ok: false, detail: "does not start with F" };
  const end = bytes.indexOf(NUL);
  if (end < 0) return { ok: false, detail: "sender record not terminated by NUL" };
  return { ok: true, sender: bytes.toString("utf8", 1, end) };
}

export interface ChannelParse {
  /** The records up to the first bad one. */
  readonly records: RecipientRecord[];
  readonly error?: string;
}

export function parseChannelRecords(bytes: Buffer): ChannelParse {
  const records: RecipientRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const end = bytes.indexOf(NUL, offset);
    if (end < 0) return { records, error: `unterminated record at byte ${offset}` };
    const lead = bytes[offset];
    if ((lead !== LEAD_PENDING && lead !== LEAD_DONE) || end === offset) {
      return { records, error: `unknown record type at byte ${offset}` };
    }
    records.push({ address: bytes.toString("utf8", offset + 1, end), done: lead === LEAD_DONE, offset });
    offset = end + 1;
  }
  return { records };
}

export async function scanQueue(queueDir: string): Promise<QueueScan> {
  const layout = queueLayout(queueDir);
  const problems: QueueProblem[] = [];
  const present = new Map<number, Set<MessageFileKind>>();
  const note = (id: number, kind: MessageFileKind): void => {
    let kinds = present.get(id);
    if (kinds === undefined) present.set(id, (kinds = new Set()));
    kinds.add(kind);
  };

  for (const kind of SPLIT_DIRS) {
    const top = await listDir(layout, layout.subdir(kind), problems);
    for (const name of top ?? []) {
      const split = messageNumber(name);
      if (split === undefined || split >= QUEUE_SPLIT) {
        problems.push({ kind: "bad-name", path: `${kind}/${name}`, detail: "not a split subdirectory" });
      }
    }
    for (let split = 0; split < QUEUE_SPLIT; split += 1) {
      for (const name of (await listDir(layout, layout.splitDir(kind, split), problems)) ?? []) {
        const id = messageNumber(name);
        const path = `${kind}/${split}/${name}`;
        if (id === undefined) problems.push({ kind: "bad-name", path, detail: "not a message number" });
        else if (id % QUEUE_SPLIT !== split) problems.push({ kind: "bad-split", path, id, detail: `belongs in ${kind}/${id % QUEUE_SPLIT}` });
        else note(id, kind);
      }
    }
  }
  for (const kind of FLAT_DIRS) {
    if (kind === "pid") continue; // names of injections in progress, not messages
    for (const name of (await listDir(layout, layout.subdir(kind), problems)) ?? []) {
      const id = messageNumber(name);
      if (id === undefined) problems.push({ kind: "bad-name", path: `${kind}/${name}`, detail: "not a message number" });
      else note(id, kind);
    }
  }

  const messages: QueuedMessage[] = [];
  for (const id of [...present.keys()].sort((a, b) => a - b)) {
    const message = await describeMessage(layout, id, present.get(id) as Set<MessageFileKind>, problems);
    if (message !== undefined) messages.push(message);
  }
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { messages, problems };
}

/** One message, found by looking up its files instead of scanning the directories. */
export async function scanMessage(queueDir: string, id: number): Promise<{ message?: QueuedMessage; problems: QueueProblem[] }> {
  const layout = queueLayout(queueDir);
  const problems: QueueProblem[] = [];
  const kinds = new Set<MessageFileKind>();
  for (const kind of MESSAGE_FILE_KINDS) {
    if ((await statFile(layout, kind, id, problems)) !== undefined) kinds.add(kind);
  }
  const message = await describeMessage(layout, id, kinds, problems);
  return message === undefined ? { problems } : { message, problems };
}

async function describeMessage(
  layout: QueueLayout,
  id: number,
  kinds: Set<MessageFileKind>,
  problems: QueueProblem[],
): Promise<QueuedMessage | undefined> {
  const path = (kind: MessageFileKind): string => relative(layout.queueDir, layout.file(kind, id));
  const mess = kinds.has("mess") ? await statFile(layout, "mess", id, problems) : undefined;
  if (mess === undefined) {
    for (const kind of kinds) if (kind !== "mess") problems.push({ kind: "missing-mess", path: path(kind), id, detail: "no mess file for this message" });
    return undefined;
  }
  const todo = kinds.has("todo");
  const intd = kinds.has("intd");
  if (todo && !intd) problems.push({ kind: "todo-without-intd", path: path("todo"), id, detail: "no intd file" });

  const info = kinds.has("info") ? await readInfo(layout, id, problems) : undefined;
  const local = kinds.has("local") ? await readChannel(layout, "local", id, problems) : undefined;
  const remote = kinds.has("remote") ? await readChannel(layout, "remote", id, problems) : undefined;
  const bounce = kinds.has("bounce");
  if (!todo && !kinds.has("info")) {
    for (const kind of ["local", "remote", "bounce"] as const) {
      if (kinds.has(kind)) problems.push({ kind: "orphan", path: path(kind), id, detail: "neither info nor todo for this message" });
    }
  }
  const state: MessageState = todo ? "todo" : kinds.has("info") ? "preprocessed" : "incomplete";
  return {
    id,
    state,
    size: mess.size,
    intd,
    todo,
    bounce,
    ...(info === undefined ? {} : { info }),
    ...(local === undefined ? {} : { local }),
    ...(remote === undefined ? {} : { remote }),
  };
}

async function readInfo(layout: QueueLayout, id: number, problems: QueueProblem[]): Promise<MessageInfo | undefined> {
  const read = await readFileAndStat(layout, "info", id, problems);
  if (read === undefined) return undefined;
  const parsed = parseInfo(read.bytes);
  if (!parsed.ok) {
    problems.push({ kind: "bad-info", path: relative(layout.queueDir, layout.file("info", id)), id, detail: parsed.detail });
    return undefined;
  }
  return { sender: parsed.sender, birth: read.stat.mtimeMs };
}

async function readChannel(layout: QueueLayout, kind: "local" | "remote", id: number, problems: QueueProblem[]): Promise<ChannelFile | undefined> {
  const read = await readFileAndStat(layout, kind, id, problems);
  if (read === undefined) return undefined;
  const parsed = parseChannelRecords(read.bytes);
  if (parsed.error !== undefined) {
    problems.push({ kind: "bad-records", path: relative(layout.queueDir, layout.file(kind, id)), id, detail: parsed.error });
  }
  return { recipients: parsed.records, nextTry: read.stat.mtimeMs };
}

async function readFileAndStat(
  layout: QueueLayout,
  kind: MessageFileKind,
  id: number,
  problems: QueueProblem[],
): Promise<{ bytes: Buffer; stat: Stats } | undefined> {
  const stat = await statFile(layout, kind, id, problems);
  if (stat === undefined) return undefined;
  try {
    const bytes = await readIfPresent(fs, layout.file(kind, id));
    return bytes === undefined ? undefined : { bytes, stat };
  } catch (error) {
    problems.push({ kind: "unreadable", path: relative(layout.queueDir, layout.file(kind, id)), id, detail: (error as Error).message });
    return undefined;
  }
}

/** The file's lstat when it is a regular file; absent, unreadable and odd files give undefined. */
async function statFile(layout: QueueLayout, kind: MessageFileKind, id: number, problems: QueueProblem[]): Promise<Stats | undefined> {
  const path = relative(layout.queueDir, layout.file(kind, id));
  try {
    const stat = await lstatIfPresent(fs, layout.file(kind, id));
    if (stat !== undefined && !stat.isFile()) {
      problems.push({ kind: "not-a-file", path, id, detail: "not a regular file" });
      return undefined;
    }
    return stat;
  } catch (error) {
    problems.push({ kind: "unreadable", path, id, detail: (error as Error).message });
    return undefined;
  }
}

async function listDir(layout: QueueLayout, dir: string, problems: QueueProblem[]): Promise<string[] | undefined> {
  try {
    return await fs.readdir(dir);
  } catch (error) {
    problems.push({ kind: "unreadable", path: relative(layout.queueDir, dir), detail: (error as Error).message });
    return undefined;
  }
}
