// remote-delivery: one delivery attempt of one message to the recipients of one destination —
// what qmail-rspawn and qmail-remote do for a spawn command, except that the recipients that
// share a message, a sender and a domain go in one SMTP transaction, and a connection left from
// an earlier transaction to the same server is used again. The chart is the SMTP client
// dialogue (RFC 5321 §3, §4.3.2) with qmail-remote's decisions and texts:
//
//   checking → findingHosts → nextHost → connecting ─ reused ──────────────────────────→ envelope
//                                 ↑         │ fresh                                          │
//                                 │         ↓                                                │
//                                 └ 4xx ─ greeting → ehlo|helo → afterEhlo → [startTls → handshake → ehlo]
//                                                                  │        → [authenticating]
//                                                                  ↓
//                             envelope → [reset (RSET)] → mail → rcpt… → data → dataCommand
//                                      (or pipelined: [RSET+] MAIL+RCPTs+DATA in one write → data)
//                                → dataAnswered → body → dataReply → keeping (connection kept for reuse)
//                connecting ─ fresh, QMTP ─→ qmtpPackage → qmtpReplies → quitting (close)
//   any failure that leaves a sane session → keeping; a dead or broken one → quitting (QUIT, close)
//
// Hosts come in qmail's order (smtproutes or MX preference, then the "points back to me" cut),
// as `findHosts` computes them. The next host is tried only when a connection cannot be made or
// the greeting is a 4xx other than 421/450 (s/qmail); any later failure ends the attempt.
// A reused connection is RSET first: a server that has closed it meanwhile shows there, and the
// attempt takes a fresh connection to the same host rather than reporting a failure. With
// PIPELINING the RSET goes in the same write as MAIL, the RCPTs and DATA (RFC 2920: RSET may
// stand anywhere in a group, DATA last): one write and one round trip for the whole envelope; a
// dead connection or a refused RSET there still means a fresh connection, as no body was sent.
// A server that answers that DATA with 354 although the sender or every recipient was refused
// waits for a body that will not come: that connection is closed, not kept.
// Results stay per recipient as qmail-rspawn makes them: a recipient the server refused gets
// "does not like recipient" with its own letter (and the message's report when that is no
// better); the others get the message's K/Z/D report. Recipients put off with 452 (too many for
// one transaction) while the message went to others are named in the output, for another
// transaction the service makes at once. After STARTTLS's 220 the client discards everything it
// had read (response injection, security.md §1.2), shakes hands and says EHLO again.
// Credentials are never in this chart's context (it is inspectable): `authenticate` holds them.
// A qmtproutes destination speaks QMTP instead: after connecting, one package (message, sender,
// recipients as netstrings) and one reply netstring per recipient; QMTP connections are not kept.
// Side effects are asked for by actions on entry, each answered by one RemoteDeliveryAnswer
// (answering.ts: an event, not a child actor, per step); they are named here and provided by
// src/services/rspawn.

import { and, assign, not, setup } from "xstate";
import { answeringWith, type Failed } from "./answering.js";

/** How the service wants TLS for this destination (control/tlsdestinations). */
export type TlsPolicy = "off" | "opportunistic" | "required";

/** SMTP, or QMTP for a qmtproutes destination. */
export type Protocol = "smtp" | "qmtp";

/** What the send service asked for, and the settings the attempt needs. */
export interface RemoteDeliveryInput {
  readonly protocol: Protocol;
  /** The envelope sender as it goes on the wire (for SMTP, qmail's quote() applied). */
  readonly sender: string;
  /** The recipients, quoted as the sender is; results come back in this order. */
  readonly recipients: readonly string[];
  /** control/helohost (defaults to control/me). */
  readonly helohost: string;
  readonly tls: TlsPolicy;
  /** The route holds credentials (`|user|pass`): AUTH before MAIL. */
  readonly auth: boolean;
  /** Bytes of the message, for SIZE (RFC 1870). */
  readonly size: number;
  /** The message holds bytes above 127: BODY=8BITMIME when offered (RFC 6152). */
  readonly eightBit: boolean;
}

/** One place to connect to. */
export interface Destination {
  readonly ip: string;
  readonly port: number;
  /** SMTPS (a route to port 465): TLS from the first byte, no STARTTLS. */
  readonly implicitTls: boolean;
}

export type HostsResult =
  | { readonly ok: true; readonly hosts: readonly Destination[] }
  | { readonly ok: false; readonly status: "Z" | "D"; readonly text: string };

/** A server's reply: the code of its first line, and every line (CRs dropped) joined by LF. */
export interface Reply {
  readonly code: number;
  readonly text: string;
}

/** What a session learned that still holds when its connection is used again. */
export interface SessionFacts {
  /** EHLO keywords (upper case) and their parameters; empty after HELO. */
  readonly extensions: Readonly<Record<string, string>>;
  readonly tlsActive: boolean;
  readonly authenticated: boolean;
}

export type Connected = { readonly kind: "fresh" } | { readonly kind: "reused"; readonly facts: SessionFacts } | { readonly kind: "failed" };

/** qmail-rspawn's result for one recipient: the letter and the report qmail-remote's records make. */
export interface RemoteDeliveryOutput {
  readonly status: "K" | "Z" | "D";
  readonly report: string;
}

export interface RemoteDeliveryResults {
  /** One per input recipient, in the same order. */
  readonly results: readonly RemoteDeliveryOutput[];
  /**
   * Recipients (indexes) the server refused with 452 — too many recipients for one transaction
   * (RFC 5321 §4.5.3.1.10) — while it took the message for others: worth another transaction
   * now rather than a retry on send's schedule. Their results stand if none is made.
   */
  readonly again: readonly number[];
}

/** The answer to one request for a side effect: its result, or FAILED with what it threw. */
export type RemoteDeliveryAnswer =
  | { readonly type: "HOSTS_FOUND"; readonly output: HostsResult }
  | { readonly type: "CONNECTED"; readonly output: Connected }
  /** To `exchange` and `authenticate`. */
  | { readonly type: "REPLY"; readonly output: Reply }
  | { readonly type: "REPLIES"; readonly output: readonly Reply[] }
  | { readonly type: "BODY_SENT" }
  | { readonly type: "TLS_STARTED" }
  | { readonly type: "QMTP_SENT" }
  | { readonly type: "QMTP_REPLIES"; readonly output: readonly string[] }
  | Failed;

/** A request action's implementation from the work it asks for (answering.ts), answering as this chart expects. */
export const answering = answeringWith<RemoteDeliveryAnswer>();

interface RemoteDeliveryContext extends RemoteDeliveryInput, SessionFacts {
  readonly hosts: readonly Destination[];
  /** The host being tried (an index into hosts). */
  readonly index: number;
  /** A pooled connection turned out dead: take only fresh ones from now on. */
  readonly freshOnly: boolean;
  /** The connection carried an earlier transaction: RSET before MAIL. */
  readonly reused: boolean;
  /** The reply to each recipient's RCPT, once asked. */
  readonly rcptReplies: readonly (Reply | undefined)[];
  /** The reply to DATA, when it went in the pipelined group. */
  readonly dataReply: Reply | undefined;
  /** The message's report (qmail-remote's final K/Z/D record). */
  readonly result: RemoteDeliveryOutput | undefined;
  /** QMTP answers every recipient itself: these are the results, when it did. */
  readonly ownResults: readonly RemoteDeliveryOutput[] | undefined;
}

const said = (reply: Reply): string => `Remote host said: ${reply.text}\n`;

/** qmail's letter for a reply that ends the attempt: 5xx permanent, anything else temporary. */
const letter = (reply: Reply): "Z" | "D" => (reply.code >= 500 ? "D" : "Z");

/** qmail-rspawn adds the message's report to a refused recipient's unless the message did better. */
const RANK = { D: 0, Z: 1, K: 2 } as const;

/** The EHLO reply's keywords after the first line, upper case, with their parameters. */
export function extensionsOf(reply: Reply): Record<string, string> {
  const found: Record<string, string> = {};
  for (const line of reply.text.split("\n").slice(1)) {
    const [keyword = "", ...rest] = line.slice(4).trim().split(/\s+/);
    if (keyword !== "") found[keyword.toUpperCase()] = rest.join(" ");
  }
  return found;
}

const withoutKeyword = (extensions: Readonly<Record<string, string>>, keyword: string): Record<string, string> =>
  Object.fromEntries(Object.entries(extensions).filter(([key]) => key !== keyword));

const offers = (context: RemoteDeliveryContext, keyword: string): boolean => context.extensions[keyword] !== undefined;

/** AUTH mechanisms the server offers that the service can use (RFC 4954; PLAIN and LOGIN only). */
const usableMechanisms = (context: RemoteDeliveryContext): string[] =>
  (context.extensions.AUTH ?? "").toUpperCase().split(/\s+/).filter((mechanism) => mechanism === "PLAIN" || mechanism === "LOGIN");

const loopback = (ip: string): boolean => ip.startsWith("127.") || ip === "::1";

// eslint-disable-next-line no-control-regex
const needsUtf8 = (context: RemoteDeliveryContext): boolean => /[^\x00-\x7f]/.test(context.sender + context.recipients.join(""));

/** MAIL FROM with the parameters the server's extensions allow (RFC 1870, 6152, 6531). */
function mailLine(context: RemoteDeliveryContext): string {
  let line = `MAIL FROM:<${context.sender}>`;
  if (offers(context, "SIZE")) line += ` SIZE=${context.size}`;
  if (context.eightBit && offers(context, "8BITMIME")) line += " BODY=8BITMIME";
  if (needsUtf8(context) && offers(context, "SMTPUTF8")) line += " SMTPUTF8";
  return line;
}

/** The server's SIZE limit, when it names one (0 or none means no limit). */
const sizeLimit = (context: RemoteDeliveryContext): number => Number(context.extensions.SIZE || "0") || 0;

const rcptLine = (recipient: string): string => `RCPT TO:<${recipient}>`;

/** The lines of a pipelined group: RSET on a kept connection, MAIL, the RCPTs, DATA. */
const pipelinedLines = (context: RemoteDeliveryContext): string[] => [...(context.reused ? ["RSET"] : []), mailLine(context), ...context.recipients.map(rcptLine), "DATA"];

/** A pipelined group's replies to MAIL, the RCPTs and DATA (after the RSET's, on a kept connection). */
function pipelinedReplies(context: RemoteDeliveryContext, replies: readonly Reply[]): { mail: Reply; rcpts: Reply[]; data: Reply } {
  const envelope = context.reused ? replies.slice(1) : replies;
  return { mail: envelope[0]!, rcpts: envelope.slice(1, -1), data: envelope.at(-1)! };
}

export const remoteDeliveryMachine = setup({
  types: {
    input: {} as RemoteDeliveryInput,
    context: {} as RemoteDeliveryContext,
    output: {} as RemoteDeliveryResults,
    events: {} as RemoteDeliveryAnswer,
  },
  actions: {
    // The requests for side effects, each answered by one RemoteDeliveryAnswer; the service provides them.
    /** smtproutes, literals, MX and A/AAAA lookups, in qmail's order; a DNS failure as qmail reports it → HOSTS_FOUND. */
    findHosts: () => {},
    /** A kept connection to the destination (unless `fresh`), else a new one within timeoutconnect → CONNECTED. */
    connect: (_, _params: { destination: Destination; fresh: boolean }) => {},
    /** Writes `line` (CR LF added) if given, then reads the reply → REPLY; FAILED when the connection dies or times out. */
    exchange: (_, _params: { line: string | undefined }) => {},
    /** Writes every line in one write (RFC 2920), then reads as many replies, in order → REPLIES. */
    exchangeAll: (_, _params: { lines: readonly string[] }) => {},
    /** Writes the message, dot-stuffed with CR LF line ends, and the final `.` → BODY_SENT; FAILED when the connection dies. */
    sendBody: () => {},
    /** Discards every byte read so far, then does the client side of the TLS handshake → TLS_STARTED; FAILED with the reason. */
    startTls: () => {},
    /** AUTH with the route's credentials by one of `mechanisms` → REPLY: the server's last reply. */
    authenticate: (_, _params: { mechanisms: readonly string[] }) => {},
    /** QMTP: writes the package — message, sender and recipients as netstrings → QMTP_SENT. */
    qmtpSend: () => {},
    /** QMTP: reads `count` reply netstrings, one per recipient (K, Z or D, then text) → QMTP_REPLIES. */
    qmtpReplies: (_, _params: { count: number }) => {},
    /** Sends QUIT without waiting for its reply (qmail: "waiting for remote side is just too ridiculous") and closes. */
    quit: () => {},
    /** Closes the connection without a word, before trying the next host or a fresh connection. */
    hangUp: () => {},
    /** Leaves the connection, its session facts with it, for the next transaction to the destination. */
    keep: (_, _facts: SessionFacts) => {},
    /** A kept connection will not go on: connect afresh from now on (after `hangUp`). */
    freshOnly: assign({ freshOnly: true }),
    finish: assign({ result: (_, params: RemoteDeliveryOutput) => params }),
    senderRejected: assign({
      result: ({ context }, reply: Reply): RemoteDeliveryOutput => ({ status: letter(reply), report: `Connected to ${ip(context)} but sender was rejected.\n${said(reply)}` }),
    }),
  },
  guards: {
    startTlsWanted: ({ context }) => context.tls !== "off" && !context.tlsActive && offers(context, "STARTTLS"),
    tlsMissing: ({ context }) => context.tls === "required" && !context.tlsActive,
    authWanted: ({ context }) => context.auth && !context.authenticated,
    // Credentials cross the wire only inside TLS — or to this host itself, where no wire is crossed.
    authInClear: ({ context }) => !context.tlsActive && !loopback(ip(context)),
    authOffered: ({ context }) => usableMechanisms(context).length > 0,
    hostsLeft: ({ context }) => context.index < context.hosts.length,
    qmtp: ({ context }) => context.protocol === "qmtp",
    /** The server said 354 to DATA: it now takes every byte as the message. */
    dataOpen: ({ context }) => context.dataReply?.code === 354,
  },
}).createMachine({
  id: "remote-delivery",
  context: ({ input }) => ({
    ...input,
    hosts: [],
    index: 0,
    freshOnly: false,
    reused: false,
    extensions: {},
    tlsActive: false,
    authenticated: false,
    rcptReplies: [],
    dataReply: undefined,
    result: undefined,
    ownResults: undefined,
  }),
  initial: "checking",
  states: {
    checking: {
      // An address goes into a command line: a CR or LF in it would be a second command (security.md §1.5).
      always: [
        {
          guard: ({ context }) => /[\r\n\0]/.test(context.sender + context.recipients.join("")),
          target: "done",
          actions: { type: "finish", params: { status: "D", report: "Sorry, the envelope holds a line break, which SMTP cannot carry. (#5.1.3)\n" } },
        },
        { target: "findingHosts" },
      ],
    },
    findingHosts: {
      entry: { type: "findHosts" },
      on: {
        HOSTS_FOUND: [
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
        FAILED: {
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
      entry: { type: "connect", params: ({ context }) => ({ destination: context.hosts[context.index]!, fresh: context.freshOnly }) },
      on: {
        CONNECTED: [
          {
            guard: ({ event }) => event.output.kind === "reused",
            target: "connected.envelope",
            actions: assign(({ event }) => (event.output.kind === "reused" ? { ...event.output.facts, reused: true } : {})),
          },
          { guard: ({ context, event }) => event.output.kind === "fresh" && context.protocol === "qmtp", target: "connected.qmtpPackage" },
          {
            guard: ({ event }) => event.output.kind === "fresh",
            target: "connected.greeting",
            actions: assign(({ context }) => ({ extensions: {}, tlsActive: context.hosts[context.index]!.implicitTls, authenticated: false, reused: false })),
          },
          { target: "nextHost", actions: assign({ index: ({ context }) => context.index + 1 }) },
        ],
        FAILED: { target: "nextHost", actions: assign({ index: ({ context }) => context.index + 1 }) },
      },
    },
    connected: {
      // Entered by target: `envelope` for a kept connection, `greeting` for a fresh one.
      initial: "greeting",
      states: {
        reset: {
          entry: { type: "exchange", params: { line: "RSET" } },
          on: {
            REPLY: [
              { guard: ({ event }) => event.output.code === 250, target: "mail" },
              { target: "#remote-delivery.connecting", actions: ["hangUp", "freshOnly"] },
            ],
            // The server closed the kept connection meanwhile: nothing was sent, so a fresh one is no failure.
            FAILED: { target: "#remote-delivery.connecting", actions: ["hangUp", "freshOnly"] },
          },
        },
        greeting: {
          entry: { type: "exchange", params: { line: undefined } },
          on: {
            REPLY: [
              { guard: ({ event }) => event.output.code === 220, target: "ehlo" },
              {
                // s/qmail: a 4xx greeting other than 421/450 sends the message to the next MX.
                guard: ({ event }) => event.output.code >= 400 && event.output.code < 500 && event.output.code !== 421 && event.output.code !== 450,
                target: "#remote-delivery.nextHost",
                actions: ["hangUp", assign({ index: ({ context }) => context.index + 1 })],
              },
              { target: "#remote-delivery.quitting", actions: { type: "finish", params: ({ context, event }) => ({ status: letter(event.output), report: `Connected to ${ip(context)} but greeting failed.\n${said(event.output)}` }) } },
            ],
            FAILED: { target: "#remote-delivery.died" },
          },
        },
        ehlo: {
          entry: { type: "exchange", params: ({ context }) => ({ line: `EHLO ${context.helohost}` }) },
          on: {
            REPLY: [
              { guard: ({ event }) => event.output.code === 250, target: "afterEhlo", actions: assign({ extensions: ({ event }) => extensionsOf(event.output) }) },
              { target: "helo" },
            ],
            FAILED: { target: "#remote-delivery.died" },
          },
        },
        helo: {
          entry: { type: "exchange", params: ({ context }) => ({ line: `HELO ${context.helohost}` }) },
          on: {
            REPLY: [
              { guard: ({ event }) => event.output.code === 250, target: "afterEhlo", actions: assign({ extensions: {} }) },
              { target: "#remote-delivery.quitting", actions: { type: "finish", params: ({ context, event }) => ({ status: "Z", report: `Connected to ${ip(context)} but my name was rejected.\n${said(event.output)}` }) } },
            ],
            FAILED: { target: "#remote-delivery.died" },
          },
        },
        afterEhlo: {
          always: [
            { guard: "startTlsWanted", target: "startTls" },
            {
              guard: "tlsMissing",
              target: "#remote-delivery.quitting",
              actions: { type: "finish", params: ({ context }) => ({ status: "Z", report: `Connected to ${ip(context)} but it offers no TLS, which tlsdestinations requires. (#4.7.1)\n` }) },
            },
            {
              guard: and(["authWanted", "authInClear"]),
              target: "#remote-delivery.quitting",
              actions: { type: "finish", params: ({ context }) => ({ status: "Z", report: `Connected to ${ip(context)} but will not send credentials without TLS. (#4.7.0)\n` }) },
            },
            {
              guard: and(["authWanted", not("authOffered")]),
              target: "#remote-delivery.quitting",
              actions: { type: "finish", params: ({ context }) => ({ status: "Z", report: `Connected to ${ip(context)} but it offers no AUTH PLAIN or LOGIN. (#4.7.0)\n` }) },
            },
            { guard: "authWanted", target: "authenticating" },
            { target: "envelope" },
          ],
        },
        startTls: {
          entry: { type: "exchange", params: { line: "STARTTLS" } },
          on: {
            REPLY: [
              { guard: ({ event }) => event.output.code === 220, target: "handshake" },
              // Refused: the session goes on in the clear, as without the offer (afterEhlo decides if it may).
              { target: "afterEhlo", actions: assign({ extensions: ({ context }) => withoutKeyword(context.extensions, "STARTTLS") }) },
            ],
            FAILED: { target: "#remote-delivery.died" },
          },
        },
        handshake: {
          entry: { type: "startTls" },
          on: {
            // RFC 3207 §4.2: what the server said before TLS (its EHLO keywords) no longer counts.
            TLS_STARTED: { target: "ehlo", actions: assign({ tlsActive: true, extensions: {} }) },
            FAILED: {
              target: "#remote-delivery.quitting",
              actions: {
                type: "finish",
                params: ({ context, event }) => ({ status: "Z", report: `Connected to ${ip(context)} but the TLS handshake failed: ${(event.error as Error).message} (#4.4.2)\n` }),
              },
            },
          },
        },
        authenticating: {
          entry: { type: "authenticate", params: ({ context }) => ({ mechanisms: usableMechanisms(context) }) },
          on: {
            REPLY: [
              { guard: ({ event }) => event.output.code === 235, target: "envelope", actions: assign({ authenticated: true }) },
              // Credentials are the route's, fixed by the postmaster: a refusal waits for a fix rather than bounce.
              { target: "#remote-delivery.quitting", actions: { type: "finish", params: ({ context, event }) => ({ status: "Z", report: `Connected to ${ip(context)} but authentication was rejected.\n${said(event.output)}` }) } },
            ],
            FAILED: { target: "#remote-delivery.died" },
          },
        },
        envelope: {
          always: [
            {
              guard: ({ context }) => needsUtf8(context) && !offers(context, "SMTPUTF8"),
              target: "#remote-delivery.keeping",
              actions: { type: "finish", params: ({ context }) => ({ status: "D", report: `${ip(context)} does not support SMTPUTF8, which the addresses need. (#5.6.7)\n` }) },
            },
            {
              guard: ({ context }) => sizeLimit(context) > 0 && context.size > sizeLimit(context),
              target: "#remote-delivery.keeping",
              actions: { type: "finish", params: ({ context }) => ({ status: "D", report: `${ip(context)} takes messages of at most ${sizeLimit(context)} bytes; this one has ${context.size}. (#5.3.4)\n` }) },
            },
            { guard: ({ context }) => offers(context, "PIPELINING"), target: "pipelined" },
            { guard: ({ context }) => context.reused, target: "reset" },
            { target: "mail" },
          ],
        },
        pipelined: {
          entry: { type: "exchangeAll", params: ({ context }) => ({ lines: pipelinedLines(context) }) },
          on: {
            REPLIES: [
              // The kept connection will not go on: whatever the rest got, the hang-up ends that transaction.
              {
                guard: ({ context, event }) => context.reused && event.output[0]!.code !== 250,
                target: "#remote-delivery.connecting",
                actions: ["hangUp", "freshOnly"],
              },
              {
                guard: ({ context, event }) => pipelinedReplies(context, event.output).mail.code >= 400 && pipelinedReplies(context, event.output).data.code === 354,
                target: "#remote-delivery.done",
                actions: [{ type: "senderRejected", params: ({ context, event }) => pipelinedReplies(context, event.output).mail }, "hangUp"],
              },
              {
                guard: ({ context, event }) => pipelinedReplies(context, event.output).mail.code >= 400,
                target: "#remote-delivery.keeping",
                actions: { type: "senderRejected", params: ({ context, event }) => pipelinedReplies(context, event.output).mail },
              },
              {
                target: "rcptDone",
                actions: assign(({ context, event }) => {
                  const { rcpts, data } = pipelinedReplies(context, event.output);
                  return { rcptReplies: rcpts, dataReply: data };
                }),
              },
            ],
            FAILED: [
              // No body went out on the kept connection: a fresh one is no failure.
              { guard: ({ context }) => context.reused, target: "#remote-delivery.connecting", actions: ["hangUp", "freshOnly"] },
              { target: "#remote-delivery.died" },
            ],
          },
        },
        mail: {
          entry: { type: "exchange", params: ({ context }) => ({ line: mailLine(context) }) },
          on: {
            REPLY: [
              { guard: ({ event }) => event.output.code < 400, target: "rcpt" },
              { target: "#remote-delivery.keeping", actions: { type: "senderRejected", params: ({ event }) => event.output } },
            ],
            FAILED: { target: "#remote-delivery.died" },
          },
        },
        rcpt: {
          entry: { type: "exchange", params: ({ context }) => ({ line: rcptLine(context.recipients[context.rcptReplies.length]!) }) },
          on: {
            REPLY: { target: "rcptDone", actions: assign({ rcptReplies: ({ context, event }) => [...context.rcptReplies, event.output] }) },
            FAILED: { target: "#remote-delivery.died" },
          },
        },
        rcptDone: {
          always: [
            { guard: ({ context }) => context.rcptReplies.length < context.recipients.length, target: "rcpt" },
            { guard: ({ context }) => context.rcptReplies.some((reply) => reply !== undefined && reply.code < 400), target: "data" },
            // qmail-remote's final record when no recipient was accepted.
            { guard: "dataOpen", target: "#remote-delivery.done", actions: [{ type: "finish", params: ({ context }) => ({ status: "D", report: `Giving up on ${ip(context)}.\n` }) }, "hangUp"] },
            { target: "#remote-delivery.keeping", actions: { type: "finish", params: ({ context }) => ({ status: "D", report: `Giving up on ${ip(context)}.\n` }) } },
          ],
        },
        data: {
          always: [{ guard: ({ context }) => context.dataReply !== undefined, target: "dataAnswered" }, { target: "dataCommand" }],
        },
        dataCommand: {
          entry: { type: "exchange", params: { line: "DATA" } },
          on: {
            REPLY: { target: "dataAnswered", actions: assign({ dataReply: ({ event }) => event.output }) },
            FAILED: { target: "#remote-delivery.died" },
          },
        },
        dataAnswered: {
          always: [
            { guard: "dataOpen", target: "body" },
            {
              target: "#remote-delivery.keeping",
              actions: { type: "finish", params: ({ context }) => ({ status: letter(context.dataReply!), report: `${ip(context)} failed on DATA command.\n${said(context.dataReply!)}` }) },
            },
          ],
        },
        body: {
          entry: { type: "sendBody" },
          on: {
            BODY_SENT: { target: "dataReply" },
            FAILED: { target: "#remote-delivery.died" },
          },
        },
        // QMTP (cr.yp.to/proto/qmtp.txt): no greeting and no commands; one package, one reply per recipient.
        qmtpPackage: {
          entry: { type: "qmtpSend" },
          on: {
            QMTP_SENT: { target: "qmtpReplies" },
            FAILED: { target: "#remote-delivery.died" },
          },
        },
        qmtpReplies: {
          entry: { type: "qmtpReplies", params: ({ context }) => ({ count: context.recipients.length }) },
          on: {
            QMTP_REPLIES: { target: "#remote-delivery.quitting", actions: assign({ ownResults: ({ context, event }) => event.output.map((reply) => qmtpResult(ip(context), reply)) }) },
            // The whole package went out: the server may have taken the message before the connection died.
            FAILED: {
              target: "#remote-delivery.quitting",
              actions: { type: "finish", params: ({ context }) => ({ status: "Z", report: `Connected to ${ip(context)} but connection died. Possible duplicate! (#4.4.2)\n` }) },
            },
          },
        },
        dataReply: {
          entry: { type: "exchange", params: { line: undefined } },
          on: {
            REPLY: [
              { guard: ({ event }) => event.output.code < 400, target: "#remote-delivery.keeping", actions: { type: "finish", params: ({ context, event }) => ({ status: "K", report: `${ip(context)} accepted message.\n${said(event.output)}` }) } },
              { target: "#remote-delivery.keeping", actions: { type: "finish", params: ({ context, event }) => ({ status: letter(event.output), report: `${ip(context)} failed after I sent the message.\n${said(event.output)}` }) } },
            ],
            // The final dot went out: the server may have taken the message before the connection died.
            FAILED: {
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
    // QMTP has no QUIT: its connection is just closed.
    quitting: {
      always: [
        { guard: "qmtp", target: "done", actions: "hangUp" },
        { target: "done", actions: "quit" },
      ],
    },
    // The transaction ended with a reply: the session is sane and can carry the next one.
    keeping: {
      entry: { type: "keep", params: ({ context }) => ({ extensions: context.extensions, tlsActive: context.tlsActive, authenticated: context.authenticated }) },
      always: "done",
    },
    done: { type: "final" },
  },
  output: ({ context }) => ({
    results: context.ownResults ?? perRecipient(context),
    again: context.result?.status === "K" ? context.rcptReplies.flatMap((reply, i) => (reply?.code === 452 ? [i] : [])) : [],
  }),
});

function ip(context: RemoteDeliveryContext): string {
  return context.hosts[context.index]!.ip;
}

/** A QMTP reply netstring as a recipient's result: its first byte is the letter (our texts). */
function qmtpResult(ip: string, reply: string): RemoteDeliveryOutput {
  const letter = reply.charAt(0);
  const said = `Remote host said: ${reply.slice(1)}\n`;
  if (letter === "K") return { status: "K", report: `${ip} accepted message.\n${said}` };
  return { status: letter === "D" ? "D" : "Z", report: `${ip} does not like recipient.\n${said}` };
}

/** qmail-rspawn's combination of a recipient record with the message's final record. */
function perRecipient(context: RemoteDeliveryContext): RemoteDeliveryOutput[] {
  const final = context.result!;
  return context.recipients.map((_, i) => {
    const reply = context.rcptReplies[i];
    if (reply === undefined || reply.code < 400) return final;
    const status = letter(reply);
    const own = `${ip(context)} does not like recipient.\n${said(reply)}`;
    return { status, report: RANK[final.status] <= RANK[status] ? own + final.report : own };
  });
}
