// runQueueProgram: what every injector does when $QMAILQUEUE names a replacement for qmail-queue
// (qmail.c). The program runs in the tsqmail root, as qmail runs it in QMAILHOME — so a relative
// name is taken from there, and PATH is not searched (qmail uses execv) — with the message on its
// fd 0, the envelope F…\0T…\0…\0 on its fd 1, stderr shared, and (notqmail) a pipe on fd 6 from
// which, after exit 82, up to 255 bytes starting with D or Z are the reply text. Its exit code is
// mapped to qmail's texts; exit 0 after we failed to write to it counts as a read error (54), as in
// qmail_close. Writes nothing itself; the program's queue number is unknown, so id is null.

import type { ChildProcess } from "node:child_process";
import { siteChild } from "../io/child.js";
import { resolve } from "node:path";
import { Duplex, type Writable } from "node:stream";
import { envelopeWireBytes, type EnvelopeCheck } from "./envelope.js";
import { QueueExit, queueFailure, type EnqueueResult } from "./queue-exit.js";
import type { EnvelopeInput } from "./queue-writer.js";

const programs = siteChild("enqueue");

const CUSTOM_TEXT_FD = 6;
const CUSTOM_TEXT_MAX_BYTES = 255;

/** The parent's end of the pipe set up on the child's descriptor `fd`. */
function pipeOf(child: ChildProcess, fd: number): Duplex {
  const pipe = (child.stdio as readonly unknown[])[fd];
  if (!(pipe instanceof Duplex)) throw new Error(`no pipe on descriptor ${fd}`);
  return pipe;
}

/** Resolves when `stream` can take more, or will never again (destroyed by an error such as EPIPE). */
function drained(stream: Writable): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((done) => {
    const finish = (): void => {
      stream.off("drain", finish);
      stream.off("close", finish);
      done();
    };
    stream.on("drain", finish);
    stream.on("close", finish);
  });
}

/** A usable custom text: starts with D or Z, and ends before any line break (it becomes an SMTP reply). */
function customText(bytes: Buffer): string | undefined {
  const text = bytes.subarray(0, CUSTOM_TEXT_MAX_BYTES).toString("latin1").split(/[\r\n]/, 1)[0] ?? "";
  return /^[DZ]./.test(text) ? text : undefined;
}

export async function runQueueProgram(
  program: string,
  rootDir: string,
  message: AsyncIterable<Uint8Array>,
  envelope: EnvelopeInput,
  env: NodeJS.ProcessEnv,
): Promise<EnqueueResult> {
  const path = resolve(rootDir, program);
  let child: ChildProcess;
  try {
    child = programs.spawn(path, [], {
    cwd: rootDir,
    env,
      stdio: ["pipe", "pipe", "inherit", "ignore", "ignore", "ignore", "pipe"],
    });
  } catch {
    return queueFailure(QueueExit.cannotExec);
  }
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null } | "spawn-failed">((done) => {
    child.once("error", () => done("spawn-failed"));
    child.once("close", (code, signal) => done({ code, signal }));
  });

  const textChunks: Buffer[] = [];
  pipeOf(child, CUSTOM_TEXT_FD).on("data", (chunk: Buffer) => textChunks.push(chunk));
  const messageIn = pipeOf(child, 0);
  const envelopeIn = pipeOf(child, 1);
  let writeFailed = false;
  messageIn.on("error", () => (writeFailed = true));
  envelopeIn.on("error", () => (writeFailed = true));

  let readFailed = false;
  try {
    for await (const chunk of message) {
      if (messageIn.destroyed) break;
      if (!messageIn.write(chunk)) await drained(messageIn);
    }
  } catch {
    readFailed = true;
  }
  messageIn.end();
  const checked: EnvelopeCheck | undefined = readFailed ? undefined : typeof envelope === "function" ? await envelope() : { ok: true, envelope };
  // Without the envelope the program sees end of input on fd 1 and gives up (qmail-queue: 54).
  envelopeIn.end(checked?.ok === true ? envelopeWireBytes(checked.envelope) : undefined);

  const outcome = await ended;
  if (outcome === "spawn-failed") return queueFailure(QueueExit.cannotExec);
  if (readFailed) return queueFailure(QueueExit.readError);
  if (checked?.ok === false) return queueFailure(checked.exit);
  if (outcome.signal !== null || outcome.code === null) return queueFailure("crashed");
  if (outcome.code === QueueExit.ok) {
    return writeFailed ? queueFailure(QueueExit.readError) : { ok: true, id: null, qp: child.pid ?? 0 };
  }
  if (outcome.code === QueueExit.customText) {
    const text = customText(Buffer.concat(textChunks));
    if (text !== undefined) return queueFailure(outcome.code, text);
  }
  return queueFailure(outcome.code);
}
