// remote-delivery: one delivery attempt of one message to one remote recipient — what
// qmail-rspawn and qmail-remote do for a single spawn command. The chart is the SMTP client
// dialogue (RFC 5321 §3, §4.3.2) with qmail-remote's decisions and texts:
//
//   checking → findingHosts → nextHost → connecting → greeting → ehlo → afterEhlo → mail → rcpt
//       │           │              ↑  │ none left      │     │       │ not 250   │ STARTTLS    │
//       │           │              │  ↓ (#4.4.1)      │     │      helo          ↓ offered     ↓
//       │           │              └── refused / 4xx ─┘     │       │      startTls → handshake data → body → dataReply
//       │           │                                       │       │         (then ehlo again)             │
//       └───────────┴────────── done ←── quitting ←── any failure, or the reply after the dot ───────────────┘
//
// Hosts come in qmail's order (smtproutes or MX preference, then the "points back to me" cut),
// as `findHosts` computes them. The next host is tried only when a connection cannot be made or
// the greeting is a 4xx other than 421/450 (s/qmail); any later failure ends the attempt.
// `exchange` writes one command line (none for the greeting and the reply after the data) and
// reads the reply, multi-line replies read to their last line, each read and write bounded by
// timeoutremote; a connection that drops or times out rejects, which is qmail's "connection
// died" (with "Possible duplicate!" once the final dot was sent). After STARTTLS's 220 the
// client discards everything it had read (response injection, security.md §1.2), shakes hands
// and says EHLO again. Side effects are named here and provided by src/services/rspawn.

import { assign, fromPromise, setup } from "xstate";

/** What the send service asked for, and the settings the attempt needs. */
export interface RemoteDeliveryInput {
  readonly sender: string;
  readonly recipient: string;
  /** control/helohost (defaults to control/me). */
  readonly helohost: string;
  /** Use STARTTLS when the server offers it. */
  readonly tls: boolean;
}

/** One place to connect to. */
export interface Destination {
  readonly ip: string;
  readonly port: number;
}

export type HostsResult =
  | { readonly ok: true; readonly hosts: readonly Destination[] }
  | { readonly ok: false; readonly status: "Z" | "D"; readonly text: string };

/** A server's reply: the code of its first line, and every line (CRs dropped) joined by LF. */
export interface Reply {
  readonly code: number;
  readonly text: string;
}

/** qmail-rspawn's result for the recipient: the letter and the report qmail-remote's records make. */
export interface RemoteDeliveryOutput {
  readonly status: "K" | "Z" | "D";
  readonly report: string;
}

interface RemoteDeliveryContext extends RemoteDeliveryInput {
  readonly hosts: readonly Destination[];
  /** The host being tried (an index into hosts). */
  readonly index: number;
  /** Set by STARTTLS's handshake: the session runs inside TLS now. */
  readonly tlsActive: boolean;
  readonly startTlsOffered: boolean;
  readonly result: RemoteDeliveryOutput | undefined;
}

// A promise actor the service provides; unprovided, it never settles.
const pending = <I, O>() => fromPromise<O, I>(() => new Promise<O>(() => {}));

const said = (reply: Reply): string => `Remote host said: ${reply.text}\n`;

/** qmail's letter for a reply that ends the attempt: 5xx permanent, anything else temporary. */
const letter = (reply: Reply): "Z" | "D" => (reply.code >= 500 ? "D" : "Z");

/** The EHLO reply's keywords after the first line: does the server offer STARTTLS? */
function offersStartTls(reply: Reply): boolean {
  return reply.text
    .split("\n")
    .slice(1)
    .some((line) => line.slice(4).trim().toUpperCase() === "STARTTLS");
}

export const remoteDeliveryMachine = setup({
  types: {
    input: {} as RemoteDeliveryInput,
    context: {} as RemoteDeliveryContext,
    output: {} as RemoteDeliveryOutput,
  },
  actors: {
    /** smtproutes, literals, MX and A/AAAA lookups, in qmail's order; a DNS failure as qmail reports it. */
    findHosts: pending<{ recipient: string }, HostsResult>(),
    /** Opens a connection within timeoutconnect; false when it cannot (refused, unreachable, timed out). */
    connect: pending<Destination, boolean>(),
    /** Writes `line` (CR LF added) if given, then reads the reply; rejects when the connection dies or times out. */
    exchange: pending<{ line: string | undefined }, Reply>(),
    /** Writes the message, dot-stuffed with CR LF line ends, and the final `.`; rejects when the connection dies. */
    sendBody: pending<void, void>(),
    /** Discards every byte read so far, then does the client side of the TLS handshake. */
    startTls: pending<void, void>(),
  },
  actions: {
    /** Sends QUIT without waiting for its reply (qmail: "waiting for remote side is just too ridiculous") and closes. */
    quit: () => {},
    /** Closes the connection without a word, before trying the next host. */
    hangUp: () => {},
    finish: assign({ result: (_, params: RemoteDeliveryOutput) => params }),
  },
  guards: {
    startTlsWanted: ({ context }) => context.tls && context.startTlsOffered && !context.tlsActive,
    hostsLeft: ({ context }) => context.index < context.hosts.length,
  },
}).createMachine({
  id: "remote-delivery",
  context: ({ input }) => ({ ...input, hosts: [], index: 0, tlsActive: false, startTlsOffered: false, result: undefined }),
  initial: "checking",
  states: {
    checking: {
      // An address goes into a command line: a CR or LF in it would be a second command (security.md §1.5).
      always: [
        {
          guard: ({ context }) => /[\r\n\0]/.test(context.sender + context.recipient),
          target: "done",
          actions: { type: "finish", params: { status: "D", report: "Sorry, the envelope holds a line break, which SMTP cannot carry. (#5.1.3)\n" } },
        },
        { target: "findingHosts" },
      ],
    },
    findingHosts: {
      invoke: {
        src: "findHosts",
        input: ({ context }) => ({ recipient: context.recipient }),
        onDone: [
          {
            guard: ({ event }) => event.output.ok,
            target: "nextHost",
            actions: assign({ hosts: ({ event }) => (event.output.ok ? event.output.hosts : []) }),
          },
          {
            target: "done",
            actions: {
              type: "finish",
              params: ({ event }) => (event.output.ok ? { status: "Z", report: "" } : { status: event.output.status, report: `${event.output.text}\n` }),
            },
          },
        ],
        onError: {
          target: "done",
          actions: {
            type: "finish",
            params: ({ event }) => ({ status: "Z", report: `Temporary failure looking up the mail exchanger: ${String(event.error)} (#4.4.3)\n` }),
          },
        },
      },
    },
    nextHost: {
      always: [
        { guard: "hostsLeft", target: "connecting" },
        { target: "done", actions: { type: "finish", params: { status: "Z", report: "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n" } } },
      ],
    },
    connecting: {
      invoke: {
        src: "connect",
        input: ({ context }) => context.hosts[context.index]!,
        onDone: [
          { guard: ({ event }) => event.output, target: "connected" },
          { target: "nextHost", actions: assign({ index: ({ context }) => context.index + 1 }) },
        ],
        onError: { target: "nextHost", actions: assign({ index: ({ context }) => context.index + 1 }) },
      },
    },
    connected: {
      initial: "greeting",
      states: {
        greeting: {
          invoke: {
            src: "exchange",
            input: { line: undefined },
            onDone: [
              { guard: ({ event }) => event.output.code === 220, target: "ehlo" },
              {
                // s/qmail: a 4xx greeting other than 421/450 sends the message to the next MX.
                guard: ({ event }) => event.output.code >= 400 && event.output.code < 500 && event.output.code !== 421 && event.output.code !== 450,
                target: "#remote-delivery.nextHost",
                actions: ["hangUp", assign({ index: ({ context }) => context.index + 1 })],
              },
              { target: "#remote-delivery.quitting", actions: { type: "finish", params: ({ context, event }) => ({ status: letter(event.output), report: `Connected to ${ip(context)} but greeting failed.\n${said(event.output)}` }) } },
            ],
            onError: { target: "#remote-delivery.died" },
          },
        },
        ehlo: {
          invoke: {
            src: "exchange",
            input: ({ context }) => ({ line: `EHLO ${context.helohost}` }),
            onDone: [
              { guard: ({ event }) => event.output.code === 250, target: "afterEhlo", actions: assign({ startTlsOffered: ({ event }) => offersStartTls(event.output) }) },
              { target: "helo" },
            ],
            onError: { target: "#remote-delivery.died" },
          },
        },
        afterEhlo: {
          always: [{ guard: "startTlsWanted", target: "startTls" }, { target: "mail" }],
        },
        helo: {
          invoke: {
            src: "exchange",
            input: ({ context }) => ({ line: `HELO ${context.helohost}` }),
            onDone: [
              { guard: ({ event }) => event.output.code === 250, target: "mail" },
              { target: "#remote-delivery.quitting", actions: { type: "finish", params: ({ context, event }) => ({ status: "Z", report: `Connected to ${ip(context)} but my name was rejected.\n${said(event.output)}` }) } },
            ],
            onError: { target: "#remote-delivery.died" },
          },
        },
        startTls: {
          invoke: {
            src: "exchange",
            input: { line: "STARTTLS" },
            onDone: [
              { guard: ({ event }) => event.output.code === 220, target: "handshake" },
              // Refused: the session goes on in the clear, as without the offer.
              { target: "mail" },
            ],
            onError: { target: "#remote-delivery.died" },
          },
        },
        handshake: {
          invoke: {
            src: "startTls",
            // RFC 3207 §4.2: what the server said before TLS (its EHLO keywords) no longer counts.
            onDone: { target: "ehlo", actions: assign({ tlsActive: true, startTlsOffered: false }) },
            onError: {
              target: "#remote-delivery.quitting",
              actions: { type: "finish", params: ({ context }) => ({ status: "Z", report: `Connected to ${ip(context)} but the TLS handshake failed. (#4.4.2)\n` }) },
            },
          },
        },
        mail: {
          invoke: {
            src: "exchange",
            input: ({ context }) => ({ line: `MAIL FROM:<${context.sender}>` }),
            onDone: [
              { guard: ({ event }) => event.output.code < 400, target: "rcpt" },
              { target: "#remote-delivery.quitting", actions: { type: "finish", params: ({ context, event }) => ({ status: letter(event.output), report: `Connected to ${ip(context)} but sender was rejected.\n${said(event.output)}` }) } },
            ],
            onError: { target: "#remote-delivery.died" },
          },
        },
        rcpt: {
          invoke: {
            src: "exchange",
            input: ({ context }) => ({ line: `RCPT TO:<${context.recipient}>` }),
            onDone: [
              { guard: ({ event }) => event.output.code < 400, target: "data" },
              {
                // qmail-remote's recipient record, then its final "Giving up" (no recipient was accepted).
                target: "#remote-delivery.quitting",
                actions: {
                  type: "finish",
                  params: ({ context, event }) => ({ status: letter(event.output), report: `${ip(context)} does not like recipient.\n${said(event.output)}Giving up on ${ip(context)}.\n` }),
                },
              },
            ],
            onError: { target: "#remote-delivery.died" },
          },
        },
        data: {
          invoke: {
            src: "exchange",
            input: { line: "DATA" },
            onDone: [
              { guard: ({ event }) => event.output.code === 354, target: "body" },
              { target: "#remote-delivery.quitting", actions: { type: "finish", params: ({ context, event }) => ({ status: letter(event.output), report: `${ip(context)} failed on DATA command.\n${said(event.output)}` }) } },
            ],
            onError: { target: "#remote-delivery.died" },
          },
        },
        body: {
          invoke: { src: "sendBody", onDone: { target: "dataReply" }, onError: { target: "#remote-delivery.died" } },
        },
        dataReply: {
          invoke: {
            src: "exchange",
            input: { line: undefined },
            onDone: [
              { guard: ({ event }) => event.output.code < 400, target: "#remote-delivery.quitting", actions: { type: "finish", params: ({ context, event }) => ({ status: "K", report: `${ip(context)} accepted message.\n${said(event.output)}` }) } },
              { target: "#remote-delivery.quitting", actions: { type: "finish", params: ({ context, event }) => ({ status: letter(event.output), report: `${ip(context)} failed after I sent the message.\n${said(event.output)}` }) } },
            ],
            // The final dot went out: the server may have taken the message before the connection died.
            onError: {
              target: "#remote-delivery.quitting",
              actions: { type: "finish", params: ({ context }) => ({ status: "Z", report: `Connected to ${ip(context)} but connection died. Possible duplicate! (#4.4.2)\n` }) },
            },
          },
        },
      },
    },
    died: {
      always: {
        target: "quitting",
        actions: { type: "finish", params: ({ context }) => ({ status: "Z", report: `Connected to ${ip(context)} but connection died. (#4.4.2)\n` }) },
      },
    },
    quitting: {
      entry: "quit",
      always: "done",
    },
    done: { type: "final" },
  },
  output: ({ context }) => context.result!,
});

function ip(context: RemoteDeliveryContext): string {
  return context.hosts[context.index]!.ip;
}
