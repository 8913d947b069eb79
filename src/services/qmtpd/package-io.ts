// The I/O side of qmtp-session and qmqp-session for one connection: the work the machines ask
// for. readMessage starts the message's enqueue (enqueue.ts, with our Received line first)
// and streams the message netstring into it; the envelope is handed over later, by commit, once
// the machine has judged the sender and recipients — or withheld, which abandons the message
// (nothing reaches todo/). If the queue stops reading early (its own failure, databytes), the
// rest of the message is still read, so the stream stays in step. A session that ends any other
// way calls `close`, which abandons a message still waiting for its envelope.
// Reads: the client's netstrings. Writes: the queue (through enqueue), nothing else.

import type { CommitInput, CommitResult, MessageRead, ReadFailure, RecipientRead, SenderRead } from "../../../machines/qmtp-session.js";
import { MAX_ADDRESS_BYTES } from "../../../machines/qmtp-session.js";
import { NetstringError } from "../../net/netstring.js";
import { enqueue, type EnvelopeSource } from "../../queue/enqueue.js";
import type { EnqueueResult } from "../../queue/queue-exit.js";
import type { ClientStream } from "../smtpd/client-stream.js";
import { MessageBody } from "./message-body.js";
import { ClientGone, NestedNetstrings, nextLength, ProtocolError, readSmall, SocketNetstrings, type NetstringSource } from "./netstring-input.js";

export interface PackageIoOptions {
  readonly protocol: "qmtp" | "qmqp";
  readonly queueDir: string;
  /** The session's environment (QMAILQUEUE is honoured). */
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => number;
  /** Our Received line for a message starting now. */
  readonly received: () => string;
  /** QMTP: databytes (0 = no limit). */
  readonly databytes: number;
  /** QMTP: may an unauthorised client send to this address? */
  readonly inRcpthosts: (address: string) => boolean;
  /** A message reached the queue. */
  /** The message's number (null when a QMAILQUEUE program queued it). */
  readonly onQueued: (id: number | null) => void;
}

/** Thrown into enqueue's message stream: stop, the message is refused. */
class Abandoned extends Error {}

interface Queueing {
  readonly body: MessageBody;
  readonly result: Promise<EnqueueResult>;
  settle(envelope: { sender: string; recipients: readonly string[] } | undefined): void;
}

const decoder = new TextDecoder();

export class PackageIo {
  private readonly top: SocketNetstrings;
  /** QMQP: the request's payload; QMTP: the current package's recipient list. */
  private inner: NetstringSource | undefined;
  private queueing: Queueing | undefined;

  constructor(
    stream: ClientStream,
    private readonly options: PackageIoOptions,
  ) {
    this.top = new SocketNetstrings(stream);
  }

  readMessage(): Promise<MessageRead> {
    return guarded(async () => {
      let source: NetstringSource = this.top;
      if (this.options.protocol === "qmqp") {
        if ((await nextLength(this.top)) === "end-of-input") return { kind: "eof" };
        source = this.inner = new NestedNetstrings(this.top);
      }
      const length = await nextLength(source);
      if (length === "end-of-input") return this.options.protocol === "qmtp" ? { kind: "eof" } : truncated();
      if (length === 0 && this.options.protocol === "qmtp") throw new ProtocolError("empty message netstring");
      const queueing = this.startQueueing(new MessageBody(source, this.options.protocol === "qmtp" ? "qmtp" : "unchanged", this.options.databytes));
      // Until the queue has read the whole message, or stopped reading it; then whatever is left.
      await Promise.race([queueing.result, queueing.body.drained]);
      await queueing.body.drain();
      return { kind: "message", overDatabytes: queueing.body.overDatabytes };
    });
  }

  readSender(): Promise<SenderRead> {
    return guarded(async () => {
      const read = await readSmall(this.inner ?? this.top, MAX_ADDRESS_BYTES);
      if (read === "end-of-input") return truncated();
      return { kind: "sender", address: decoder.decode(read.bytes), bytes: read.length, nul: read.bytes.includes(0) };
    });
  }

  readRecipient(): Promise<RecipientRead> {
    return guarded(async () => {
      if (this.inner === undefined) {
        // QMTP: the recipient list is one netstring holding one netstring per recipient.
        if ((await nextLength(this.top)) === "end-of-input") return truncated();
        this.inner = new NestedNetstrings(this.top);
      }
      const read = await readSmall(this.inner, MAX_ADDRESS_BYTES);
      if (read === "end-of-input") {
        if (this.options.protocol === "qmtp") this.inner = undefined;
        return { kind: "end" };
      }
      const address = decoder.decode(read.bytes);
      return { kind: "recipient", address, bytes: read.length, nul: read.bytes.includes(0), inRcpthosts: this.options.inRcpthosts(address) };
    });
  }

  async commit(input: CommitInput): Promise<CommitResult> {
    const queueing = this.queueing;
    this.queueing = undefined;
    if (queueing === undefined) return { ok: false, text: "Zqq internal bug (#4.3.0)" };
    queueing.settle(input.abandon ? undefined : { sender: input.sender, recipients: input.recipients });
    const result = await queueing.result;
    if (result.ok && !input.abandon) this.options.onQueued(result.id);
    return result.ok ? { ok: true, unixTime: Math.floor(this.options.now() / 1000), qp: result.qp } : { ok: false, text: result.text };
  }

  /** The session is over: a message still waiting for its envelope is abandoned; resolves once its files are gone. */
  async close(): Promise<void> {
    const queueing = this.queueing;
    this.queueing = undefined;
    queueing?.settle(undefined);
    await queueing?.result;
  }

  private startQueueing(body: MessageBody): Queueing {
    let settle!: Queueing["settle"];
    const envelope = new Promise<Parameters<Queueing["settle"]>[0]>((resolve) => (settle = resolve));
    const received = this.options.received();
    async function* message(): AsyncGenerator<Uint8Array> {
      yield Buffer.from(received, "latin1");
      for (let chunk = await body.next(); chunk !== undefined; chunk = await body.next()) {
        if (body.overDatabytes) throw new Abandoned("databytes");
        yield chunk;
      }
    }
    const source: EnvelopeSource = () => envelope;
    // onQueued wakes the send service, so lock/trigger is not pulled.
    const result = enqueue(this.options.queueDir, message(), source, { invokedBy: "network", env: this.options.env, now: this.options.now, pullTrigger: false });
    this.queueing = { body, result, settle };
    return this.queueing;
  }
}

const truncated = (): never => {
  throw new NetstringError("truncated");
};

/** Maps what reading threw to the machines' read failures. */
async function guarded<T>(read: () => Promise<T>): Promise<T | ReadFailure> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof NetstringError || error instanceof ProtocolError) return { kind: "protocol-error", reason: (error as Error).message };
    if (error instanceof ClientGone) return { kind: "gone", reason: "timeout" };
    throw error;
  }
}
