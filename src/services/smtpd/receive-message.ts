// DATA, after the 354: reads the body from the client through the DataScanner and streams it
// straight into the queue (enqueue.ts), our Received line first. The message is never held
// whole. What the session answers depends on how the stream ended:
//   - CRLF.CRLF and the queue committed          → queued (250 ok <time> qp <pid>)
//   - over databytes, or too many hops           → the queueing is abandoned (nothing reaches
//     todo/), the rest of the body is still read to its end, then 552 / 554, as qmail does
//   - a bare CR or LF, a timeout, a lost client  → abandoned, nothing more is read (close)
//   - the queue failed                           → the body is read to its end, then its D/Z text

import type { MessageInput, MessageOutcome } from "../../../machines/smtp-session.js";
import { enqueue } from "../../queue/enqueue.js";
import type { ClientStream } from "./client-stream.js";
import { DataScanner, MAX_HOPS } from "./data-scanner.js";

export interface QueueTarget {
  readonly queueDir: string;
  /** The session's environment (QMAILQUEUE is honoured). */
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => number;
  /** A spare inode of the send service for intd/N (queue/spare-stock.ts). */
  readonly spare?: () => string | undefined;
}

type StreamEnd = "end" | "bare-line-end" | "timeout" | "closed";

/** Thrown into enqueue to make it abandon the message. */
class Abandoned extends Error {}

export async function receiveMessage(stream: ClientStream, input: MessageInput, received: string, target: QueueTarget): Promise<MessageOutcome> {
  const scanner = new DataScanner();
  let ended: StreamEnd | undefined;
  let rejected: "too-big" | "too-many-hops" | undefined;

  /** Reads and scans the next chunk; records how the body ended, and whether it broke a limit. */
  const next = async (): Promise<Buffer | undefined> => {
    const chunk = await stream.readChunk();
    if (typeof chunk === "string") {
      ended = chunk;
      return undefined;
    }
    const scanned = scanner.scan(chunk);
    if (scanned.stop?.kind === "end") {
      stream.unread(scanned.stop.rest);
      ended = "end";
    } else if (scanned.stop?.kind === "bare-line-end") ended = "bare-line-end";
    if (input.databytes > 0 && scanner.bytes > input.databytes) rejected ??= "too-big";
    if (scanner.hops >= MAX_HOPS) rejected ??= "too-many-hops";
    return scanned.body;
  };

  async function* message(): AsyncGenerator<Uint8Array> {
    yield Buffer.from(received);
    while (ended === undefined) {
      const body = await next();
      if (rejected !== undefined || (ended !== undefined && ended !== "end")) throw new Abandoned(rejected ?? ended);
      if (body !== undefined && body.length > 0) yield body;
    }
  }

  // The session wakes the send service by a message, so lock/trigger is not pulled.
  const result = await enqueue(target.queueDir, message(), { sender: input.sender, recipients: input.recipients }, { invokedBy: "network", env: target.env, now: target.now, pullTrigger: false, spare: target.spare });
  // The queue may have stopped reading early (its own failure, or a limit above): read the rest
  // of the body, so that the next command starts after CRLF.CRLF.
  while (ended === undefined) await next();
  if (ended !== "end") return { kind: ended };
  if (rejected !== undefined) return { kind: rejected };
  return result.ok ? { kind: "queued", unixTime: Math.floor(target.now() / 1000), qp: result.qp, id: result.id } : { kind: "queue-failed", text: result.text };
}
