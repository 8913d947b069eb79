// writeToQueue: qmail-queue itself — puts one message into the queue in qmail's commit order and
// answers with its exit code. Writes under the queue directory only, every call through
// siteFs("enqueue"):
//   1. create pid/<pid>.<time>.<seq> exclusively (9 names tried → 63); its inode is the message
//      number N (fstat fails → 63)
//   2. link it to mess/<N%23>/N (→ 64), unlink the pid file (→ 63)
//   3. write the Received line and the body (→ 53; a body read error → 54)
//   4. create intd/N exclusively, or link there a spare inode of the send service when the caller
//      holds one (spare-stock.ts) (→ 65), take the envelope, write u<uid>\0p<pid>\0F…\0T…\0 (→ 53);
//      then fsync the mess file, the mess subdirectory and intd/N, all three at once (→ 53)
//   5. link intd/N to todo/N — the commit (→ 66) — and fsync todo/ (→ 66, see below)
//   6. one byte to lock/trigger, errors ignored (one pull serves all messages committed before it);
//      skipped for an injector inside the runtime, which wakes the send service by a message: the
//      FIFO's open, write and close cost ~80 µs of its thread a message, for a byte that wakes
//      send no sooner
// Only 53 and 54 truncate and unlink what was made, as qmail-queue does; other failures leave
// mess/intd for the cleanup that removes them after 36 hours. Nothing reaches todo/ before the
// message and envelope are fsync'd and the mess entry is durable. A failed fsync of todo/ is the
// one failure that leaves todo/N behind: the send service may deliver it and the client will retry,
// a duplicate the queue contract allows — reporting success without durability is what it forbids.
// Safe for any number of concurrent calls in one process: pid names come from a per-thread
// counter, directory fsyncs and trigger pulls are shared (coalescer.ts).

import { constants } from "node:fs";
import { threadId } from "node:worker_threads";
import { O_EXCL_CREATE, siteFs, type FileHandle } from "../io/fs.js";
import { isMissing } from "../io/optional-files.js";
import { createCoalescer } from "./coalescer.js";
import { createDirSyncer } from "./dir-sync.js";
import { intdFileBytes, type EncodedEnvelope, type EnvelopeCheck } from "./envelope.js";
import { invokerUid, type InvokedBy } from "./invoker.js";
import { copyMessage } from "./message-copy.js";
import { QueueExit, queueFailure, type QueueFailure, type QueueSuccess } from "./queue-exit.js";
import { QUEUE_FILE_MODE, queueLayout, type QueueLayout } from "./queue-layout.js";
import { receivedLine } from "./received-line.js";
import { pullTrigger } from "./trigger.js";

const fs = siteFs("enqueue");
const dirSync = createDirSyncer(fs);
/** One byte wakes the scheduler for every message committed before it was written. */
const trigger = createCoalescer((path) => pullTrigger(fs, path));

/** qmail-queue tries pid/<pid>.<time>.1 … .9. */
const PID_FILE_ATTEMPTS = 9;
let pidFileSeq = 0;
/** Worker threads share the process id but not this module's counter, so they add their thread id. */
const pidFilePrefix = threadId === 0 ? String(process.pid) : `${process.pid}-${threadId}`;

/** The envelope, or — for the qmail-queue interface — a reader called only after the whole message was read (its caller writes the envelope last). */
export type EnvelopeInput = EncodedEnvelope | (() => Promise<EnvelopeCheck>);

export interface QueueWriterOptions {
  readonly invokedBy: InvokedBy;
  /** Clock for the Received line and the pid file name; Date.now by default. */
  readonly now?: () => number;
  /** False: the caller wakes the send service itself, so step 6 is skipped. */
  readonly pullTrigger?: boolean;
  /** A spare inode of the send service to make intd/N of, when the caller holds one (spare-stock.ts). */
  readonly spare?: () => string | undefined;
}

async function createPidFile(layout: QueueLayout, unixTime: number): Promise<{ path: string; fh: FileHandle } | undefined> {
  for (let attempt = 0; attempt < PID_FILE_ATTEMPTS; attempt++) {
    const path = layout.pidFile(`${pidFilePrefix}.${unixTime}.${++pidFileSeq}`);
    try {
      return { path, fh: await fs.open(path, O_EXCL_CREATE, QUEUE_FILE_MODE) };
    } catch {
      // qmail-queue moves on to the next name whatever the error; after the last one it gives up.
    }
  }
  return undefined;
}

/**
 * intd/N, made exclusively: a spare inode linked there (then its spare name removed) while the
 * caller has one that is still there, else a new file. A link fails as an exclusive create does
 * when intd/N exists; then the create below fails too, with qmail-queue's answer.
 */
async function createIntd(path: string, spare: (() => string | undefined) | undefined): Promise<{ fh: FileHandle; reused: boolean }> {
  for (let from = spare?.(); from !== undefined; from = spare?.()) {
    try {
      await fs.link(from, path);
    } catch (error) {
      if (isMissing(error)) continue; // swept away meanwhile: try the next one
      break;
    }
    await fs.unlink(from);
    return { fh: await fs.open(path, constants.O_WRONLY), reused: true };
  }
  return { fh: await fs.open(path, O_EXCL_CREATE, QUEUE_FILE_MODE), reused: false };
}

/** A step of the commit sequence failed; `exit` is qmail-queue's code for that step. */
class StepFailed extends Error {
  constructor(readonly exit: number) {
    super(`qmail-queue step failed: exit ${exit}`);
  }
}

async function step<T>(exit: number, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch {
    throw new StepFailed(exit);
  }
}

export async function writeToQueue(
  queueDir: string,
  message: AsyncIterable<Uint8Array>,
  envelope: EnvelopeInput,
  opts: QueueWriterOptions,
): Promise<QueueSuccess | QueueFailure<number>> {
  const layout = queueLayout(queueDir);
  const startedAt = (opts.now ?? Date.now)();
  const made: { fh: FileHandle; path: string }[] = [];

  // qmail-queue's cleanup(), for 53 and 54 only: newest file first; an unlink that fails stops it.
  const removeMade = async (): Promise<void> => {
    for (const { fh, path } of [...made].reverse()) {
      await fs.truncate(fh, 0).catch(() => undefined);
      try {
        await fs.unlink(path);
      } catch {
        return;
      }
    }
  };

  const pidFile = await createPidFile(layout, Math.floor(startedAt / 1000));
  if (pidFile === undefined) return queueFailure(QueueExit.pidFile);
  const messFh = pidFile.fh;
  const opened = [messFh];
  try {
    const id = (await step(QueueExit.pidFile, () => fs.fstat(messFh))).ino;

    const messPath = layout.file("mess", id);
    await step(QueueExit.messFile, () => fs.link(pidFile.path, messPath));
    made.push({ fh: messFh, path: messPath });
    const messEntry = dirSync.changed(layout.splitDir("mess", id));
    // The pid name is not needed any more; qmail-queue, too, unlinks it before writing.
    await step(QueueExit.pidFile, () => fs.unlink(pidFile.path));
    const head = Buffer.from(receivedLine(process.pid, opts.invokedBy, startedAt), "latin1");
    const copied = await copyMessage(fs, messFh, head, message);
    if (copied !== "copied") throw new StepFailed(copied === "read-error" ? QueueExit.readError : QueueExit.writeError);
    const intdPath = layout.file("intd", id);
    const intd = await step(QueueExit.intdFile, () => createIntd(intdPath, opts.spare));
    const intdFh = intd.fh;
    opened.push(intdFh);
    made.push({ fh: intdFh, path: intdPath });
    const checked: EnvelopeCheck = typeof envelope === "function" ? await envelope() : { ok: true, envelope };
    if (!checked.ok) throw new StepFailed(checked.exit);
    const intdBytes = intdFileBytes(invokerUid(opts.invokedBy), process.pid, checked.envelope);
    await step(QueueExit.writeError, () => fs.write(intdFh, intdBytes, 0));
    // A spare still holds its earlier bytes past the new ones.
    if (intd.reused) await step(QueueExit.writeError, () => fs.truncate(intdFh, intdBytes.length));
    // Steps 3 and 4 share their fsyncs: both files and the mess/ entry are written before any of
    // them, so a journaling file system makes all three durable in one commit — the first fsync
    // pays for it, the others find their data on disk. The commit still waits for all three.
    const durable = [
      step(QueueExit.writeError, () => fs.sync(messFh)),
      step(QueueExit.writeError, () => dirSync.durable(messEntry)),
      step(QueueExit.writeError, () => fs.sync(intdFh)),
    ];
    for (const settled of await Promise.allSettled(durable)) {
      if (settled.status === "rejected") throw settled.reason;
    }

    await step(QueueExit.todoLink, async () => {
      await fs.link(intdPath, layout.file("todo", id));
      await dirSync.durable(dirSync.changed(layout.subdir("todo")));
    });

    if (opts.pullTrigger !== false) await trigger.after(trigger.mark(layout.trigger));
    return { ok: true, id, qp: process.pid };
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    if (error.exit === QueueExit.writeError || error.exit === QueueExit.readError) await removeMade();
    return queueFailure(error.exit);
  } finally {
    // Everything that mattered was fsync'd (or the attempt already failed): a close error changes
    // nothing, so the answer does not wait for the closes either.
    for (const fh of opened) fs.close(fh).catch(() => undefined);
  }
}
