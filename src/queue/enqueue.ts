// enqueue: the one door into the queue for every injector (smtpd, qmtpd, qmqpd, inject, bounces,
// forwards). Checks the envelope (envelope.ts: 1002-byte addresses, no NUL/CR/LF) before anything
// touches the disk, then either writes the queue itself in qmail-queue's commit order
// (queue-writer.ts) or, when `opts.env.QMAILQUEUE` is set, hands the message to that program
// (qmailqueue-program.ts) as every qmail injector does. The result is qmail-queue's exit code with
// its D/Z text. The message is streamed, never held whole; after a failure it may not have been
// read to its end, so a network injector must still drain its input.

import { dirname } from "node:path";
import { encodeEnvelope, type Envelope } from "./envelope.js";
import type { InvokedBy } from "./invoker.js";
import { runQueueProgram } from "./qmailqueue-program.js";
import { queueFailure, type EnqueueResult } from "./queue-exit.js";
import { writeToQueue } from "./queue-writer.js";

export interface EnqueueOptions {
  readonly invokedBy: InvokedBy;
  /** The injector's environment; only QMAILQUEUE is looked at, and a program gets all of it. */
  readonly env?: NodeJS.ProcessEnv;
  /** Clock for the Received line; Date.now by default. */
  readonly now?: () => number;
}

/** `queueDir` is `rootPaths(root).queue`; its parent, the root, is where a QMAILQUEUE program runs. */
export async function enqueue(
  queueDir: string,
  message: AsyncIterable<Uint8Array>,
  envelope: Envelope,
  opts: EnqueueOptions,
): Promise<EnqueueResult> {
  const checked = encodeEnvelope(envelope);
  if (!checked.ok) return queueFailure(checked.exit);
  const program = opts.env?.QMAILQUEUE;
  if (program !== undefined && program !== "") {
    return runQueueProgram(program, dirname(queueDir), message, checked.envelope, opts.env ?? {});
  }
  return writeToQueue(queueDir, message, checked.envelope, opts);
}
