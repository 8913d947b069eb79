// enqueue: the one door into the queue for every injector (smtpd, qmtpd, qmqpd, inject, bounces,
// forwards). Checks the envelope (envelope.ts: 1002-byte addresses, no NUL/CR/LF) before anything
// touches the disk, then either writes the queue itself in qmail-queue's commit order
// (queue-writer.ts) or, when `opts.env.QMAILQUEUE` is set, hands the message to that program
// (qmailqueue-program.ts) as every qmail injector does. The result is qmail-queue's exit code with
// its D/Z text. The message is streamed, never held whole; after a failure it may not have been
// read to its end, so a network injector must still drain its input. QMTP and QMQP send the
// envelope after the message: they pass a function, called once the message is copied, whose
// `undefined` abandons the message (qmail_fail: nothing reaches todo/, exit 54). A root without a
// queue directory but with control/qmqpservers is a null client (mini-qmail): every message goes
// to a QMQP server instead (src/qmqp/null-client.ts, docs/qmtp-qmqp.md).

import { dirname } from "node:path";
import { nullClientServers, sendToQmqpServers } from "../qmqp/null-client.js";
import { encodeEnvelope, type Envelope, type EnvelopeCheck } from "./envelope.js";
import type { InvokedBy } from "./invoker.js";
import { runQueueProgram } from "./qmailqueue-program.js";
import { QueueExit, queueFailure, type EnqueueResult } from "./queue-exit.js";
import { writeToQueue, type EnvelopeInput } from "./queue-writer.js";

/** The envelope, or a function giving it after the message; undefined abandons the message. */
export type EnvelopeSource = Envelope | (() => Promise<Envelope | undefined>);

export interface EnqueueOptions {
  readonly invokedBy: InvokedBy;
  /** The injector's environment; only QMAILQUEUE is looked at, and a program gets all of it. */
  readonly env?: NodeJS.ProcessEnv;
  /** Clock for the Received line; Date.now by default. */
  readonly now?: () => number;
  /** False when the caller wakes the send service itself (a `wake` message): lock/trigger is left alone. */
  readonly pullTrigger?: boolean;
  /** A spare inode of the send service to make intd/N of (spare-stock.ts); only the runtime's own injectors hold them. */
  readonly spare?: () => string | undefined;
}

/** `queueDir` is `rootPaths(root).queue`; its parent, the root, is where a QMAILQUEUE program runs. */
export async function enqueue(
  queueDir: string,
  message: AsyncIterable<Uint8Array>,
  envelope: EnvelopeSource,
  opts: EnqueueOptions,
): Promise<EnqueueResult> {
  let checked: EnvelopeInput;
  if (typeof envelope === "function") {
    checked = async (): Promise<EnvelopeCheck> => {
      const given = await envelope();
      return given === undefined ? { ok: false, exit: QueueExit.readError } : encodeEnvelope(given);
    };
  } else {
    const check = encodeEnvelope(envelope);
    if (!check.ok) return queueFailure(check.exit);
    checked = check.envelope;
  }
  const root = dirname(queueDir);
  const program = opts.env?.QMAILQUEUE;
  if (program !== undefined && program !== "") return runQueueProgram(program, root, message, checked, opts.env ?? {});
  const servers = await nullClientServers(root);
  if (servers !== undefined) return sendToQmqpServers(servers, message, checked);
  return writeToQueue(queueDir, message, checked, opts);
}
