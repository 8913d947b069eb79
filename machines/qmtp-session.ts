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
// A protocol error replies nothing and closes; what was being queued is abandoned. So does a read
// or commit that fails outright (FAILED): QMTP has no way to say "try later" outside a package.
// Each read and the commit is asked for by an action on entry and answered by one PackageAnswer
// (answering.ts: an event, not a child actor, per step).
// Pure: imports xstate and answering.ts; the service provides readMessage, readSender,
// readRecipient (with its rcpthosts lookup), commit and the reply action.

import { assign, setup } from "xstate";
import { answeringWith, type Failed } from "./answering.js";

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

/** The answer to one request: what was read, the queue's answer, or FAILED with what was thrown. */
export type PackageAnswer =
  | { readonly type: "MESSAGE_READ"; readonly read: MessageRead }
  | { readonly type: "SENDER_READ"; readonly read: SenderRead }
  | { readonly type: "RECIPIENT_READ"; readonly read: RecipientRead }
  | { readonly type: "COMMITTED"; readonly result: CommitResult }
  | Failed;

/** A request action's implementation from the work it asks for (answering.ts), answering as both netstring charts expect. */
export const answering = answeringWith<PackageAnswer>();

/** The requests both netstring sessions make (qmqp-session too); the service provides them. */
export const packageRequests = {
  /** Waits for the next package or request; streams its message netstring into the queue (QMTP: LF or CRLF form, databytes counted) → MESSAGE_READ. */
  readMessage: () => {},
  /** → SENDER_READ. */
  readSender: () => {},
  /** The next recipient netstring, or the end of the list (QMQP: of the request) → RECIPIENT_READ. */
  readRecipient: () => {},
  /** Settles the envelope of the message being queued, or abandons it → COMMITTED with the queue's answer. */
  commit: (_: unknown, _params: CommitInput) => {},
};

/** What a read answered (MESSAGE_READ, SENDER_READ, RECIPIENT_READ). */
const readOf = (event: PackageAnswer): MessageRead | SenderRead | RecipientRead => (event as { read: MessageRead | SenderRead | RecipientRead }).read;
const readFailed = (read: { readonly kind: string }): read is ReadFailure => read.kind === "protocol-error" || read.kind === "gone";

/** Both charts' first transition on a read: one that failed (malformed, truncated, lost client) ends the session, saying why. */
export const endOnFailedRead = {
  guard: ({ event }: { event: PackageAnswer }) => readFailed(readOf(event)),
  target: "closed",
  actions: {
    type: "noteEnding",
    params: ({ event }: { event: PackageAnswer }) => {
      const read = readOf(event) as ReadFailure;
      return { ending: `${read.kind}: ${read.reason}` };
    },
  },
} as const;

/** Both charts' answer to a request whose work threw: the session ends, saying why. */
export const endOnFailure = {
  target: ".closed",
  actions: {
    type: "noteEnding",
    params: ({ event }: { event: PackageAnswer }) => {
      const { error } = event as Failed;
      return { ending: `failed: ${error instanceof Error ? error.message : String(error)}` };
    },
  },
} as const;

/** Remembers why the session ended, for the log. */
export const noteEnding = (_: unknown, { ending }: { ending: string }) => ({ ending });
const verdict = (value: Verdict) => ({ type: "addVerdict" as const, params: { verdict: value } });

/** The recipient just read (a RECIPIENT_READ of an address). */
const recipient = (event: PackageAnswer) => (event as { read: Extract<RecipientRead, { kind: "recipient" }> }).read;

export const qmtpSessionMachine = setup({
  types: {
    input: {} as QmtpSessionInput,
    context: {} as QmtpSessionContext,
    events: {} as PackageAnswer,
  },
  actions: {
    ...packageRequests,
    /** Writes the package's replies, one netstring each, in order. */
    reply: (_, _params: { replies: readonly string[] }) => {},
    noteEnding: assign(noteEnding),
    addVerdict: assign(({ context, event }, { verdict }: { verdict: Verdict }) => ({
      verdicts: [...context.verdicts, verdict],
      accepted: verdict === "ok" ? [...context.accepted, recipient(event).address + (context.relayClient ?? "")] : context.accepted,
    })),
  },
  guards: {
    tooLong: ({ context, event }) => recipient(event).bytes + (context.relayClient?.length ?? 0) >= MAX_ADDRESS_BYTES,
  },
}).createMachine({
  id: "qmtp-session",
  context: ({ input }) => ({ ...input, sender: "", senderOk: true, overDatabytes: false, verdicts: [], accepted: [], packages: 0, ending: "quit" }),
  initial: "awaiting",
  on: { FAILED: endOnFailure },
  states: {
    awaiting: {
      entry: [assign({ sender: "", senderOk: true, overDatabytes: false, verdicts: [], accepted: [] }), "readMessage"],
      on: {
        MESSAGE_READ: [
          { guard: ({ event }) => event.read.kind === "eof", target: "closed" },
          endOnFailedRead,
          { target: "sender", actions: assign({ overDatabytes: ({ event }) => (event.read as Extract<MessageRead, { kind: "message" }>).overDatabytes }) },
        ],
      },
    },
    sender: {
      entry: "readSender",
      on: {
        SENDER_READ: [
          endOnFailedRead,
          {
            target: "recipients",
            actions: assign(({ event }) => {
              const read = event.read as Extract<SenderRead, { kind: "sender" }>;
              return { sender: read.address, senderOk: acceptableAddress(read) };
            }),
          },
        ],
      },
    },
    recipients: {
      entry: "readRecipient",
      on: {
        RECIPIENT_READ: [
          endOnFailedRead,
          { guard: ({ event }) => event.read.kind === "end", target: "committing" },
          // qmail-qmtpd's order: the length, then a NUL, then (without RELAYCLIENT) rcpthosts, whose refusal wins over a NUL.
          { guard: "tooLong", target: "recipients", reenter: true, actions: verdict("L") },
          { guard: ({ context, event }) => context.relayClient === undefined && !recipient(event).inRcpthosts, target: "recipients", reenter: true, actions: verdict("D") },
          { guard: ({ event }) => recipient(event).nul, target: "recipients", reenter: true, actions: verdict("N") },
          { target: "recipients", reenter: true, actions: verdict("ok") },
        ],
      },
    },
    committing: {
      entry: {
        type: "commit",
        params: ({ context }) => ({
          sender: context.sender,
          recipients: context.accepted,
          abandon: !context.senderOk || context.overDatabytes || context.accepted.length === 0,
        }),
      },
      on: {
        COMMITTED: {
          target: "awaiting",
          actions: [
            { type: "reply", params: ({ context, event }) => ({ replies: packageReplies(context, event.result) }) },
            assign({ packages: ({ context }) => context.packages + 1 }),
          ],
        },
      },
    },
    closed: { type: "final" },
  },
});
