// qmtp-session: one QMTP connection as qmail-qmtpd answers it (qmail-behaviour.md §6;
// cr.yp.to/proto/qmtp.txt). A session is a series of packages, each three netstrings:
//
//   awaiting ──message──→ sender ──→ recipients ⟲ (one verdict each) ──list end──→ committing ──→ awaiting
//      └─ end of input between packages → closed        any malformed netstring, lost client → closed
//
// The message streams into the queue while it is read (the service's readMessage); its envelope
// is only settled in `committing`, when the sender and every recipient's verdict are known. After
// each package one reply netstring per recipient, in order: the queue's answer for the accepted
// ones (unless the sender or the size spoiled the package), the rcpthosts refusal, or "can't
// handle" for an address of 1000 bytes or more (with RELAYCLIENT's suffix) or one with a NUL.
// A protocol error replies nothing and closes; what was being queued is abandoned.
// Pure: imports xstate only; the service provides readMessage, readSender, readRecipient (with
// its rcpthosts lookup), commit and the reply action.

import { assign, fromPromise, setup, type DoneActorEvent } from "xstate";

export interface QmtpSessionInput {
  /** RELAYCLIENT: set, no rcpthosts check, and this suffix is appended to every recipient. */
  readonly relayClient: string | undefined;
}

/** How reading a netstring ended when it did not yield one: malformed or truncated ("protocol"), or a timeout ("gone"). */
export type ReadFailure = { readonly kind: "protocol-error"; readonly reason: string } | { readonly kind: "gone"; readonly reason: string };

export type MessageRead = { readonly kind: "message"; readonly overDatabytes: boolean } | { readonly kind: "eof" } | ReadFailure;
export type SenderRead = { readonly kind: "sender"; readonly address: string; readonly bytes: number; readonly nul: boolean } | ReadFailure;
/**
 * `address` holds the first bytes only when `bytes` is 1000 or more: such an address is refused
 * anyway. `inRcpthosts`: rcpthosts/morercpthosts allow its domain (it matters without RELAYCLIENT).
 */
export type RecipientRead =
  | { readonly kind: "recipient"; readonly address: string; readonly bytes: number; readonly nul: boolean; readonly inRcpthosts: boolean } | { readonly kind: "end" } | ReadFailure;

export interface CommitInput {
  readonly sender: string;
  readonly recipients: readonly string[];
  /** The package is refused as a whole: nothing may reach the queue. */
  readonly abandon: boolean;
}
export type CommitResult = { readonly ok: true; readonly unixTime: number; readonly qp: number } | { readonly ok: false; readonly text: string };

/** Per recipient: accepted, or refused for rcpthosts (D), length (L) or a NUL (N) — qmail-qmtpd's letters. */
export type Verdict = "ok" | "D" | "L" | "N";

export interface QmtpSessionContext extends QmtpSessionInput {
  readonly sender: string;
  readonly senderOk: boolean;
  readonly overDatabytes: boolean;
  readonly verdicts: readonly Verdict[];
  readonly accepted: readonly string[];
  readonly packages: number;
  /** Why the session ended, for the log. */
  readonly ending: string;
}

/** Addresses this long or longer (in bytes) are refused, as qmail-qmtpd's 1000-byte buffer forces. */
export const MAX_ADDRESS_BYTES = 1000;

/** Shorter than MAX_ADDRESS_BYTES and free of NULs: what qmail-qmtpd and qmail-qmqpd accept. */
export const acceptableAddress = (read: { readonly bytes: number; readonly nul: boolean }): boolean => read.bytes < MAX_ADDRESS_BYTES && !read.nul;

export const QMTP_REPLIES = {
  rcpthosts: "Dsorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
  badRecipient: "Dsorry, I can't handle that recipient (#5.1.3)",
  badSender: "Dunacceptable sender (#5.1.7)",
  databytes: "Dsorry, that message size exceeds my databytes limit (#5.3.4)",
} as const;

/** `Kok <unixtime> qp <pid>` or the queue's D/Z text — what QMTP and QMQP both answer for a queued message. */
export function queueReply(result: CommitResult): string {
  return result.ok ? `Kok ${result.unixTime} qp ${result.qp}` : result.text;
}

/** One reply per recipient, as qmail-qmtpd writes them after qmail_close. */
export function packageReplies(context: QmtpSessionContext, result: CommitResult): string[] {
  const accepted = context.overDatabytes ? QMTP_REPLIES.databytes : !context.senderOk ? QMTP_REPLIES.badSender : queueReply(result);
  return context.verdicts.map((verdict) => (verdict === "ok" ? accepted : verdict === "D" ? QMTP_REPLIES.rcpthosts : QMTP_REPLIES.badRecipient));
}

const pending = <I, O>() => fromPromise<O, I>(() => new Promise<O>(() => {}));
const output = <T>(event: unknown): T => (event as DoneActorEvent<T>).output;
/** The I/O both netstring sessions invoke (qmqp-session too); the service provides them. */
export const packageActors = {
  /** Waits for the next package or request; streams its message netstring into the queue (QMTP: LF or CRLF form, databytes counted). */
  readMessage: pending<void, MessageRead>(),
  readSender: pending<void, SenderRead>(),
  /** The next recipient netstring, or the end of the list (QMQP: of the request). */
  readRecipient: pending<void, RecipientRead>(),
  /** Settles the envelope of the message being queued, or abandons it; the queue's answer. */
  commit: pending<CommitInput, CommitResult>(),
};

/** A read ended the session: the guard, and the log's reason. */
export const readFailed = ({ event }: { event: unknown }): boolean => ["protocol-error", "gone"].includes(output<{ kind: string }>(event).kind);
export const endingOf = ({ event }: { event: unknown }): string => `${output<ReadFailure>(event).kind}: ${output<ReadFailure>(event).reason}`;

const recipient = (event: unknown) => output<Extract<RecipientRead, { kind: "recipient" }>>(event);
const verdict = (value: Verdict) => ({ type: "addVerdict" as const, params: { verdict: value } });

export const qmtpSessionMachine = setup({
  types: {
    input: {} as QmtpSessionInput,
    context: {} as QmtpSessionContext,
  },
  actors: packageActors,
  actions: {
    /** Writes the package's replies, one netstring each, in order. */
    reply: (_, _params: { replies: readonly string[] }) => {},
    /** Remembers why the session ended (a read failure), for the log. */
    noteEnding: assign({ ending: endingOf }),
    addVerdict: assign(({ context, event }, { verdict }: { verdict: Verdict }) => ({
      verdicts: [...context.verdicts, verdict],
      accepted: verdict === "ok" ? [...context.accepted, recipient(event).address + (context.relayClient ?? "")] : context.accepted,
    })),
  },
  guards: {
    readFailed,
    tooLong: ({ context, event }) => recipient(event).bytes + (context.relayClient?.length ?? 0) >= MAX_ADDRESS_BYTES,
  },
}).createMachine({
  id: "qmtp-session",
  context: ({ input }) => ({ ...input, sender: "", senderOk: true, overDatabytes: false, verdicts: [], accepted: [], packages: 0, ending: "quit" }),
  initial: "awaiting",
  states: {
    awaiting: {
      entry: assign({ sender: "", senderOk: true, overDatabytes: false, verdicts: [], accepted: [] }),
      invoke: {
        src: "readMessage",
        onDone: [
          { guard: ({ event }) => output<MessageRead>(event).kind === "eof", target: "closed" },
          { guard: "readFailed", target: "closed", actions: "noteEnding" },
          { target: "sender", actions: assign({ overDatabytes: ({ event }) => (output<MessageRead>(event) as { overDatabytes: boolean }).overDatabytes }) },
        ],
      },
    },
    sender: {
      invoke: {
        src: "readSender",
        onDone: [
          { guard: "readFailed", target: "closed", actions: "noteEnding" },
          {
            target: "recipients",
            actions: assign(({ event }) => {
              const read = output<Extract<SenderRead, { kind: "sender" }>>(event);
              return { sender: read.address, senderOk: acceptableAddress(read) };
            }),
          },
        ],
      },
    },
    recipients: {
      invoke: {
        src: "readRecipient",
        onDone: [
          { guard: "readFailed", target: "closed", actions: "noteEnding" },
          { guard: ({ event }) => output<RecipientRead>(event).kind === "end", target: "committing" },
          // qmail-qmtpd's order: the length, then a NUL, then (without RELAYCLIENT) rcpthosts, whose refusal wins over a NUL.
          { guard: "tooLong", target: "recipients", reenter: true, actions: verdict("L") },
          { guard: ({ context, event }) => context.relayClient === undefined && !recipient(event).inRcpthosts, target: "recipients", reenter: true, actions: verdict("D") },
          { guard: ({ event }) => recipient(event).nul, target: "recipients", reenter: true, actions: verdict("N") },
          { target: "recipients", reenter: true, actions: verdict("ok") },
        ],
      },
    },
    committing: {
      invoke: {
        src: "commit",
        input: ({ context }) => ({
          sender: context.sender,
          recipients: context.accepted,
          abandon: !context.senderOk || context.overDatabytes || context.accepted.length === 0,
        }),
        onDone: {
          target: "awaiting",
          actions: [
            { type: "reply", params: ({ context, event }) => ({ replies: packageReplies(context, event.output) }) },
            assign({ packages: ({ context }) => context.packages + 1 }),
          ],
        },
      },
    },
    closed: { type: "final" },
  },
});
