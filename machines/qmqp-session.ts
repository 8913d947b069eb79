// qmqp-session: one QMQP connection as qmail-qmqpd answers it (qmail-behaviour.md §6;
// cr.yp.to/proto/qmqp.html). The client sends one netstring holding the message, the sender and
// the recipients, each a netstring; the server answers one netstring and closes:
//
//   message ──→ sender ──→ recipients ⟲ ──end of the request──→ committing ──reply──→ closed
//      any malformed netstring, truncated request, lost client ─────────────────────→ closed
//
// QMQP clients are trusted relays (the listener's rules decide who may connect): no rcpthosts, no
// databytes. An address of 1000 bytes or more, or with a NUL, spoils the whole message: `Dsorry,
// I can't accept addresses like that (#5.1.3)` and nothing is queued. A protocol error replies
// nothing, and so does a read or commit that fails outright (FAILED). Pure: imports xstate and
// qmtp-session's shared requests, answers and types; the service provides readMessage,
// readSender, readRecipient, commit (made with qmtp-session's `answering`) and the reply action.

import { assign, setup } from "xstate";
import {
  acceptableAddress,
  endOnFailedRead,
  endOnFailure,
  noteEnding,
  packageRequests,
  queueReply,
  type PackageAnswer,
  type RecipientRead,
  type SenderRead,
} from "./qmtp-session.js";

export const QMQP_BAD_ADDRESSES = "Dsorry, I can't accept addresses like that (#5.1.3)";

export interface QmqpSessionContext {
  readonly sender: string;
  readonly recipients: readonly string[];
  /** Every address so far is shorter than 1000 bytes and free of NULs. */
  readonly addressesOk: boolean;
  readonly ending: string;
}

export const qmqpSessionMachine = setup({
  types: {
    context: {} as QmqpSessionContext,
    events: {} as PackageAnswer,
  },
  actions: {
    ...packageRequests,
    /** Writes the one reply netstring. */
    reply: (_, _params: { text: string }) => {},
    noteEnding: assign(noteEnding),
  },
}).createMachine({
  id: "qmqp-session",
  context: { sender: "", recipients: [], addressesOk: true, ending: "replied" },
  initial: "message",
  on: { FAILED: endOnFailure },
  states: {
    message: {
      entry: "readMessage",
      on: {
        MESSAGE_READ: [
          { guard: ({ event }) => event.read.kind === "eof", target: "closed", actions: assign({ ending: "no request" }) },
          endOnFailedRead,
          { target: "sender" },
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
              return { sender: read.address, addressesOk: acceptableAddress(read) };
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
          {
            target: "recipients",
            reenter: true,
            actions: assign(({ context, event }) => {
              const read = event.read as Extract<RecipientRead, { kind: "recipient" }>;
              return { recipients: [...context.recipients, read.address], addressesOk: context.addressesOk && acceptableAddress(read) };
            }),
          },
        ],
      },
    },
    committing: {
      entry: { type: "commit", params: ({ context }) => ({ sender: context.sender, recipients: context.recipients, abandon: !context.addressesOk }) },
      on: {
        COMMITTED: {
          target: "closed",
          actions: { type: "reply", params: ({ context, event }) => ({ text: context.addressesOk ? queueReply(event.result) : QMQP_BAD_ADDRESSES }) },
        },
      },
    },
    closed: { type: "final" },
  },
});
