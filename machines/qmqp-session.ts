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
// nothing. Pure: imports xstate and qmtp-session's shared types; the service provides
// readMessage, readSender, readRecipient, commit and the reply action.

import { assign, setup, type DoneActorEvent } from "xstate";
import { acceptableAddress, endingOf, packageActors, queueReply, readFailed, type RecipientRead, type SenderRead } from "./qmtp-session.js";

export const QMQP_BAD_ADDRESSES = "Dsorry, I can't accept addresses like that (#5.1.3)";

export interface QmqpSessionContext {
  readonly sender: string;
  readonly recipients: readonly string[];
  /** Every address so far is shorter than 1000 bytes and free of NULs. */
  readonly addressesOk: boolean;
  readonly ending: string;
}

const output = <T>(event: unknown): T => (event as DoneActorEvent<T>).output;

export const qmqpSessionMachine = setup({
  types: {
    context: {} as QmqpSessionContext,
  },
  actors: packageActors,
  actions: {
    /** Writes the one reply netstring. */
    reply: (_, _params: { text: string }) => {},
    noteEnding: assign({ ending: endingOf }),
  },
  guards: {
    readFailed,
  },
}).createMachine({
  id: "qmqp-session",
  context: { sender: "", recipients: [], addressesOk: true, ending: "replied" },
  initial: "message",
  states: {
    message: {
      invoke: {
        src: "readMessage",
        onDone: [
          { guard: ({ event }) => event.output.kind === "eof", target: "closed", actions: assign({ ending: "no request" }) },
          { guard: "readFailed", target: "closed", actions: "noteEnding" },
          { target: "sender" },
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
              return { sender: read.address, addressesOk: acceptableAddress(read) };
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
          { guard: ({ event }) => event.output.kind === "end", target: "committing" },
          {
            target: "recipients",
            reenter: true,
            actions: assign(({ context, event }) => {
              const read = output<Extract<RecipientRead, { kind: "recipient" }>>(event);
              return { recipients: [...context.recipients, read.address], addressesOk: context.addressesOk && acceptableAddress(read) };
            }),
          },
        ],
      },
    },
    committing: {
      invoke: {
        src: "commit",
        input: ({ context }) => ({ sender: context.sender, recipients: context.recipients, abandon: !context.addressesOk }),
        onDone: {
          target: "closed",
          actions: { type: "reply", params: ({ context, event }) => ({ text: context.addressesOk ? queueReply(event.output) : QMQP_BAD_ADDRESSES }) },
        },
      },
    },
    closed: { type: "final" },
  },
});
