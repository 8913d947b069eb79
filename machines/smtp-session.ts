// smtp-session: one SMTP connection to qmail-smtpd as s/qmail answers it (qmail-behaviour.md §5).
//
//   greeting ─→ commands (reading, each command dispatched on its LINE) ─→ quit / closed
//                 ├─ mail, rcpt        syntax, then the provided sender / recipient checks
//                 │                    (s/qmail's filters, relay, verification), tarpit
//                 ├─ auth              PLAIN / LOGIN / CRAM-MD5 exchange → checking → 235 / (delay) 535
//                 ├─ data              354, the body streamed into the queue → 250 ok … / 4xx 5xx
//                 └─ tls               220, handshake, then every piece of session state forgotten
//
// The machine pulls its input: each state that wants a line asks for one on entry
// (`requestLine`), and the service answers with exactly one LINE, OVERLONG, TIMEOUT or CLOSED
// event, which only the state that asked handles. So a pipelined command is only read once the
// previous one is answered, and bytes a client sent after STARTTLS are never parsed (`startTls`
// discards them — security.md §1.2). Every other piece of work the session waits for — a sender
// or recipient check, a password check, DATA into the queue, the TLS handshake — is asked for the
// same way, by an action on entry, and answered by one AnswerEvent (its result, or FAILED). Asking
// is an action, not an invoked actor: a line or a check costs an event, not a child actor. Replies
// go out through the `reply` action, in order; the service's implementation writes them; `note`
// marks what the s/qmail-style log records (who, what, result). Pure: imports only xstate and the
// syntax helpers; the service provides requestLine, reply, note, receiveMessage, startTls,
// checkPassword, checkSender and checkRecipient.

import { assign, setup } from "xstate";
import type { InputEvent } from "./line-input.js";
import { commandVerb, decodeBase64, encodeBase64, parseAddress, parseCommand, plainCredentials, type Command, type Credentials } from "./smtp-syntax.js";

export type AuthMechanism = "LOGIN" | "PLAIN" | "CRAM-MD5";

export interface SmtpSessionInput {
  /** control/smtpgreeting: after 220, HELO's 250 and QUIT's 221. */
  readonly greeting: string;
  /** RELAYCLIENT: set (even empty) = relaying allowed, and its value is appended to every recipient. */
  readonly relayClient: string | undefined;
  /** DATABYTES / control/databytes; 0 = no limit. Announced in EHLO and checked against SIZE=. */
  readonly databytes: number;
  readonly maxRecipients: number;
  /** TARPITCOUNT / TARPITDELAY, for clients that may not relay; undefined = off. */
  readonly tarpit: { readonly count: number; readonly delayMs: number; readonly refuseData: boolean } | undefined;
  /** RECIPIENTS450: an unknown recipient is a temporary failure (450), not 550. */
  readonly recipients450: boolean;
  /** Bad, unknown and over-long commands a session may send before it is dropped. */
  readonly maxErrors: number;
  readonly tls: {
    /** STARTTLS may be offered (UCSPITLS set, not `-`, and a certificate is loaded). */
    readonly offered: boolean;
    /** UCSPITLS `!` / `@`: MAIL only inside TLS. */
    readonly required: boolean;
    /** Implicit TLS (smtps): the session starts inside TLS. */
    readonly active: boolean;
    /** UCSPITLS `?` / `@`: a client certificate the CA vouches for (with a DN) allows relaying. */
    readonly certificateRelay: boolean;
  };
  readonly auth: {
    /** SMTPAUTH's mechanisms; empty = no AUTH. */
    readonly mechanisms: readonly AuthMechanism[];
    /** SMTPAUTH `!…`: MAIL only after AUTH. */
    readonly required: boolean;
    /** PLAIN and LOGIN outside TLS; otherwise they are offered only after STARTTLS. */
    readonly cleartext: boolean;
    readonly failureDelayMs: number;
    /** The name CRAM-MD5 challenges carry (control/me). */
    readonly challengeHost: string;
  };
}

export interface MessageInput {
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly helo: string | undefined;
  readonly tls: boolean;
  readonly authUser: string | undefined;
  readonly authProtocol: AuthMechanism | undefined;
  readonly databytes: number;
}

/** MAIL's checks (HELOCHECK, badmailfrom, MFDNSCHECK); `helo` undefined = none was sent. */
export interface SenderCheck {
  readonly sender: string;
  readonly helo: string | undefined;
  readonly relay: boolean;
}

export type SenderVerdict =
  /** MAIL is refused now (`451 DNS temporary failure`). */
  | { readonly kind: "refused"; readonly text: string; readonly reason: string }
  /** MAIL is accepted; a refusal, if any, is what every RCPT of the transaction will get. */
  | { readonly kind: "accepted"; readonly rcptRefusal?: { readonly text: string; readonly reason: string } };

/** RCPT's checks: relay (rcpthosts), badrcptto, control/recipients; `address` is as parsed. */
export interface RecipientCheck {
  readonly address: string;
  readonly relay: boolean;
}

export type RecipientVerdict =
  /** `address` as it is to be queued (localiphost may have rewritten it). */
  | { readonly kind: "accepted"; readonly address: string }
  | { readonly kind: "refused"; readonly text: string; readonly reason: string }
  | { readonly kind: "unknown" }
  | { readonly kind: "unavailable" };

/** One record for the s/qmail-style log: what was decided about which command. */
export interface SessionNote {
  readonly result: "Accept" | "Reject" | "Deferred";
  readonly what: "AUTH" | "MAIL" | "RCPT" | "DATA";
  readonly reason: string;
  readonly recipient?: string;
}

export type MessageOutcome =
  /** `id`: the message number, null when a QMAILQUEUE program queued it. */
  | { readonly kind: "queued"; readonly unixTime: number; readonly qp: number; readonly id: number | null }
  /** The queue's D/Z text. */
  | { readonly kind: "queue-failed"; readonly text: string }
  | { readonly kind: "too-big" }
  | { readonly kind: "too-many-hops" }
  | { readonly kind: "bare-line-end" }
  | { readonly kind: "timeout" }
  | { readonly kind: "closed" };

/**
 * The answer to one request for work (checkSender, checkRecipient, checkPassword, receiveMessage,
 * startTls): its result, or FAILED when the work threw. Only the state that asked handles it.
 */
export type AnswerEvent =
  | { readonly type: "SENDER_CHECKED"; readonly verdict: SenderVerdict }
  | { readonly type: "RECIPIENT_CHECKED"; readonly verdict: RecipientVerdict }
  | { readonly type: "PASSWORD_CHECKED"; readonly accepted: boolean }
  | { readonly type: "MESSAGE_RECEIVED"; readonly outcome: MessageOutcome }
  | { readonly type: "TLS_STARTED"; readonly clientDn: string | undefined }
  | { readonly type: "FAILED" };

export type PasswordCheck =
  | { readonly mechanism: "LOGIN" | "PLAIN"; readonly user: string; readonly password: string }
  | { readonly mechanism: "CRAM-MD5"; readonly user: string; readonly challenge: string; readonly digest: string };

interface PendingAuth {
  readonly mechanism: AuthMechanism;
  readonly user?: string;
  readonly challenge?: string;
}

// Few keys, the settings under one: XState copies the context at every assign, and an object of
// 20 or more keys copied so is a slow dictionary (≈ 1.6 KB a session, re-made per assign).
export interface SmtpSessionContext {
  readonly settings: SmtpSessionInput;
  readonly command: Command;
  readonly helo: string | undefined;
  readonly sender: string | undefined;
  readonly recipients: readonly string[];
  readonly tlsActive: boolean;
  /** The verified client certificate's DN (STARTTLS with UCSPITLS `?` / `@`). */
  readonly clientDn: string | undefined;
  readonly authUser: string | undefined;
  readonly authProtocol: AuthMechanism | undefined;
  readonly pendingAuth: PendingAuth | undefined;
  /** What the last auth step decoded: credentials to check, or the failure to report. */
  /** The client's AUTH response being decoded: under a key the inspection stream redacts. */
  readonly authResponse: string | undefined;
  readonly authStep: Credentials | PasswordCheck | "malformed" | "canceled" | "failed" | undefined;
  readonly challengeCount: number;
  /** What every RCPT of this transaction gets, from MAIL's checks. */
  readonly rcptRefusal: { readonly text: string; readonly reason: string } | undefined;
  /** RCPT commands of this transaction that reached the checks (TARPITCOUNT counts them). */
  readonly rcptCount: number;
  /** Unknown recipients in this session (TARPITCOUNT's other use). */
  readonly unknownRecipients: number;
  readonly errors: number;
  /** The messages queued in this session, for the connection's log line. */
  readonly queued: number;
}

export const REPLIES = {
  rcptFirst: "503 RCPT first (#5.5.1)",
  mailFirst: "503 MAIL first (#5.5.1)",
  syntax: "555 syntax error (#5.5.4)",
  relay: "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
  tooBig: "552 sorry, that message size exceeds my databytes limit (#5.3.4)",
  hops: "554 too many hops, this message is looping (#5.4.6)",
  bareLineEnd: "451 Bare Line Feeds (LF) are not accepted in SMTP; CRLF is required according to RFC 2822.",
  tooManyRecipients: "452 sorry, too many recipients (#4.5.3)",
  timeout: "451 timeout (#4.4.2)",
  unimplemented: "500 unimplemented (#5.5.1)",
  lineTooLong: "500 line too long (#5.5.2)",
  help: "214 sqmail home page: http://fehcom.de/sqmail.html",
  vrfy: "252 send some mail, i'll try my best",
  tlsReady: "220 Ready to start TLS (#5.7.0)",
  tlsUnavailable: "454 TLS not available due to temporary reason (#5.7.3)",
  tlsActive: "503 TLS already active (#5.5.1)",
  tlsRequired: "535 STARTTLS required (#5.7.1)",
  authRequired: "535 authentication required (#5.7.1)",
  authOk: "235 ok, go ahead (#2.0.0)",
  authFailed: "535 authentication failed (#5.7.1)",
  authUnavailable: "503 auth not available (#5.3.3)",
  authAgain: "503 you're already authenticated (#5.5.0)",
  authInTransaction: "503 no auth during mail transaction (#5.5.0)",
  authUnknown: "504 auth type unimplemented (#5.5.1)",
  authCanceled: "501 auth exchange canceled (#5.0.0)",
  authMalformed: "501 malformed auth input (#5.5.4)",
  unknownRecipient: "550 sorry, no mailbox by that name (#5.7.1)",
  unknownRecipient450: "450 sorry, mailbox currently unavailable (#4.2.1)",
  recipientsUnavailable: "421 unable to check recipients (#4.3.0)",
  dataRefused: "503 DATA command not accepted at this time (#5.5.1)",
  tooManyErrors: "421 too many unrecognized commands, closing connection (#4.7.0)",
  checkFailed: "451 temporary failure (#4.3.0)",
} as const;

/** The mechanisms EHLO offers and AUTH accepts now: PLAIN and LOGIN only inside TLS unless allowed in clear. */
export function offeredMechanisms(context: SmtpSessionContext): AuthMechanism[] {
  const { mechanisms, cleartext } = context.settings.auth;
  return mechanisms.filter((mechanism) => mechanism === "CRAM-MD5" || cleartext || context.tlsActive);
}

function ehloLines(context: SmtpSessionContext): string {
  const lines = [context.settings.greeting, "PIPELINING", "8BITMIME"];
  if (context.settings.tls.offered && !context.tlsActive) lines.push("STARTTLS");
  const mechanisms = offeredMechanisms(context);
  if (mechanisms.length > 0 && context.authUser === undefined) lines.push(`AUTH ${mechanisms.join(" ")}`);
  lines.push("SMTPUTF8", `SIZE ${context.settings.databytes}`);
  return lines.map((line, i) => `250${i === lines.length - 1 ? " " : "-"}${line}`).join("\r\n");
}

/** MAIL's reply when it is refused before the provided checks; else the sender to check. */
function mailVerdict(context: SmtpSessionContext): string | { sender: string } {
  if (context.settings.tls.required && !context.tlsActive) return REPLIES.tlsRequired;
  if (context.settings.auth.required && context.authUser === undefined) return REPLIES.authRequired;
  const parsed = parseAddress(context.command.argument, false);
  if (parsed === undefined) return REPLIES.syntax;
  const size = parsed.parameters.get("SIZE");
  if (size !== undefined) {
    if (!/^\d{1,20}$/.test(size)) return REPLIES.syntax;
    if (context.settings.databytes > 0 && Number(size) > context.settings.databytes) return REPLIES.tooBig;
  }
  return { sender: parsed.address };
}

/** RELAYCLIENT, AUTH (which s/qmail treats as RELAYCLIENT="") or a trusted client certificate: relaying allowed, filters relaxed. */
export function mayRelay(context: SmtpSessionContext): boolean {
  return context.settings.relayClient !== undefined || context.authUser !== undefined || (context.settings.tls.certificateRelay && context.clientDn !== undefined);
}

/** Tarpitting applies: a non-relay client, TARPITCOUNT set. */
const tarpitted = (context: SmtpSessionContext): boolean => context.settings.tarpit !== undefined && !mayRelay(context);

/** RCPT's reply when it is refused before any provided check runs; else the address to check. */
function rcptVerdict(context: SmtpSessionContext): string | { address: string } {
  if (context.sender === undefined) return REPLIES.mailFirst;
  const parsed = parseAddress(context.command.argument, true);
  if (parsed === undefined) return REPLIES.syntax;
  if (context.recipients.length >= context.settings.maxRecipients) return REPLIES.tooManyRecipients;
  if (tarpitted(context) && context.unknownRecipients >= context.settings.tarpit!.count) return REPLIES.tooManyRecipients;
  return { address: parsed.address };
}

/** The log's word for how DATA ended. */
function outcomeReason(outcome: MessageOutcome): string {
  switch (outcome.kind) {
    case "queued":
      return `Queued qp ${outcome.qp}`;
    case "queue-failed":
      return `Queue_Failed ${outcome.text.slice(1)}`;
    case "too-big":
      return "Invalid_Size";
    case "too-many-hops":
      return "Too_Many_Hops";
    case "bare-line-end":
      return "Bare_Line_End";
    case "timeout":
      return "Timeout";
    case "closed":
      return "Client_Gone";
  }
}

function outcomeReply(outcome: MessageOutcome): string | undefined {
  switch (outcome.kind) {
    case "queued":
      return `250 ok ${outcome.unixTime} qp ${outcome.qp}`;
    case "queue-failed":
      return `${outcome.text.startsWith("D") ? "554" : "451"} ${outcome.text.slice(1)}`;
    case "too-big":
      return REPLIES.tooBig;
    case "too-many-hops":
      return REPLIES.hops;
    case "bare-line-end":
      return REPLIES.bareLineEnd;
    case "timeout":
      return REPLIES.timeout;
    case "closed":
      return undefined;
  }
}

/** The exchange a client's AUTH line starts, or the reply that refuses it. */
function authStart(context: SmtpSessionContext): string | { mechanism: AuthMechanism; initial: string | undefined } {
  if (context.authUser !== undefined) return REPLIES.authAgain;
  const offered = offeredMechanisms(context);
  if (offered.length === 0) return REPLIES.authUnavailable;
  if (context.sender !== undefined) return REPLIES.authInTransaction;
  const mechanism = offered.find((m) => m === context.command.argument.toUpperCase());
  if (mechanism === undefined) return REPLIES.authUnknown;
  return { mechanism, initial: context.authResponse };
}

/** Decodes one client response of the exchange; `=` is the empty response (RFC 4954). */
function authResponse(line: string): string | "canceled" | "malformed" {
  if (line === "*") return "canceled";
  if (line === "=") return "";
  return decodeBase64(line) ?? "malformed";
}

/** The LINE's guard for one command verb. */
const verbIs =
  (verb: string) =>
  ({ event }: { event: InputEvent | AnswerEvent }): boolean =>
    event.type === "LINE" && commandVerb(event.text) === verb;

export const smtpSessionMachine = setup({
  types: {
    input: {} as SmtpSessionInput,
    context: {} as SmtpSessionContext,
    events: {} as InputEvent | AnswerEvent,
  },
  actions: {
    /**
     * Asks for the next line from the client, CR LF removed, within timeoutsmtpd; the answer is
     * one InputEvent. Split as splitCommandLine does, or, with `exchange`, all of it a response
     * (responseLine).
     */
    requestLine: (_, _params: { readonly exchange: boolean }) => {},
    /** Writes one reply (lines joined by CR LF, without the last CR LF). */
    reply: (_, _params: { text: string }) => {},
    /** Records a decision for the log. */
    note: (_, _params: SessionNote) => {},
    // The requests for work: each is answered by one AnswerEvent.
    /** MAIL's checks → SENDER_CHECKED. */
    checkSender: (_, _params: SenderCheck) => {},
    /** RCPT's checks → RECIPIENT_CHECKED. */
    checkRecipient: (_, _params: RecipientCheck) => {},
    /** AUTH's credentials → PASSWORD_CHECKED. */
    checkPassword: (_, _params: PasswordCheck) => {},
    /** DATA: reads the body up to CRLF.CRLF and streams it into the queue → MESSAGE_RECEIVED. */
    receiveMessage: (_, _params: MessageInput) => {},
    /**
     * Discards every byte read so far, then does the server side of the TLS handshake →
     * TLS_STARTED, with the client certificate's DN when one was presented and verified.
     */
    startTls: () => {},
    /** The LINE being dispatched becomes the command the states after it read. */
    takeCommand: assign(({ event }) => (event.type === "LINE" ? { command: parseCommand(event.text), authResponse: event.response } : {})),
    /** RSET, HELO, EHLO and a finished DATA end the mail transaction. */
    clearTransaction: assign({ sender: undefined, recipients: () => [], rcptRefusal: undefined, rcptCount: 0 }),
  },
  delays: {
    authFailure: ({ context }) => context.settings.auth.failureDelayMs,
    tarpit: ({ context }) => context.settings.tarpit?.delayMs ?? 0,
  },
}).createMachine({
  id: "smtp-session",
  context: ({ input }) => ({
    settings: input,
    command: { verb: "", argument: "" },
    helo: undefined,
    sender: undefined,
    recipients: [],
    tlsActive: input.tls.active,
    clientDn: undefined,
    authUser: undefined,
    authProtocol: undefined,
    pendingAuth: undefined,
    authResponse: undefined,
    authStep: undefined,
    challengeCount: 0,
    rcptRefusal: undefined,
    rcptCount: 0,
    unknownRecipients: 0,
    errors: 0,
    queued: 0,
  }),
  initial: "commands",
  entry: { type: "reply" as const, params: ({ context }) => ({ text: `220 ${context.settings.greeting} ESMTP` }) },
  states: {
    commands: {
      initial: "reading",
      states: {
        reading: {
          entry: { type: "requestLine" as const, params: { exchange: false } },
          on: {
            // A command is dispatched by the LINE transition itself, each guard reading the verb
            // from the line: a dispatching state between would cost every command one more XState
            // microstep, about a sixth of what a session's statechart costs smtpd's one thread. A command
            // answered at once re-enters `reading`, whose entry asks for the next line.
            LINE: [
              { guard: verbIs("QUIT"), target: "#smtp-session.closed", actions: ["takeCommand", { type: "reply" as const, params: ({ context }) => ({ text: `221 ${context.settings.greeting}` }) }] },
              {
                guard: verbIs("HELO"),
                target: "reading",
                reenter: true,
                actions: ["takeCommand", assign({ helo: ({ context }) => context.command.argument }), "clearTransaction", { type: "reply" as const, params: ({ context }) => ({ text: `250 ${context.settings.greeting}` }) }],
              },
              {
                guard: verbIs("EHLO"),
                target: "reading",
                reenter: true,
                actions: ["takeCommand", assign({ helo: ({ context }) => context.command.argument }), "clearTransaction", { type: "reply" as const, params: ({ context }) => ({ text: ehloLines(context) }) }],
              },
              { guard: verbIs("MAIL"), target: "mail", actions: "takeCommand" },
              { guard: verbIs("RCPT"), target: "rcpt", actions: "takeCommand" },
              { guard: verbIs("DATA"), target: "data", actions: "takeCommand" },
              { guard: verbIs("RSET"), target: "reading", reenter: true, actions: ["takeCommand", "clearTransaction", { type: "reply" as const, params: { text: "250 flushed" } }] },
              { guard: verbIs("NOOP"), target: "reading", reenter: true, actions: ["takeCommand", { type: "reply" as const, params: { text: "250 ok" } }] },
              { guard: verbIs("VRFY"), target: "reading", reenter: true, actions: ["takeCommand", { type: "reply" as const, params: { text: REPLIES.vrfy } }] },
              { guard: verbIs("HELP"), target: "reading", reenter: true, actions: ["takeCommand", { type: "reply" as const, params: { text: REPLIES.help } }] },
              { guard: verbIs("STARTTLS"), target: "starttls", actions: "takeCommand" },
              { guard: verbIs("AUTH"), target: "#smtp-session.auth", actions: "takeCommand" },
              { target: "erred", actions: ["takeCommand", { type: "reply" as const, params: { text: REPLIES.unimplemented } }] },
            ],
            OVERLONG: { target: "erred", actions: { type: "reply" as const, params: { text: REPLIES.lineTooLong } } },
            TIMEOUT: { target: "#smtp-session.closed", actions: { type: "reply" as const, params: { text: REPLIES.timeout } } },
            CLOSED: { target: "#smtp-session.closed" },
          },
        },
        erred: {
          // Unknown, malformed and over-long commands are counted: a client that keeps sending
          // them is probing or confused, and is dropped rather than served forever.
          entry: assign({ errors: ({ context }) => context.errors + 1 }),
          always: [
            { guard: ({ context }) => context.errors >= context.settings.maxErrors, target: "#smtp-session.closed", actions: { type: "reply" as const, params: { text: REPLIES.tooManyErrors } } },
            { target: "reading" },
          ],
        },
        mail: {
          always: [
            {
              guard: ({ context }) => mailVerdict(context) === REPLIES.syntax,
              target: "erred",
              actions: { type: "reply" as const, params: { text: REPLIES.syntax } },
            },
            {
              guard: ({ context }) => typeof mailVerdict(context) === "string",
              target: "reading",
              actions: { type: "reply" as const, params: ({ context }) => ({ text: mailVerdict(context) as string }) },
            },
            { target: "checkingSender" },
          ],
        },
        checkingSender: {
          entry: { type: "checkSender" as const, params: ({ context }) => ({ sender: (mailVerdict(context) as { sender: string }).sender, helo: context.helo, relay: mayRelay(context) }) },
          on: {
            SENDER_CHECKED: [
              {
                guard: ({ event }) => event.verdict.kind === "refused",
                target: "reading",
                actions: [
                  { type: "reply" as const, params: ({ event }) => ({ text: (event.verdict as { text: string }).text }) },
                  { type: "note" as const, params: ({ event }) => ({ result: "Deferred" as const, what: "MAIL" as const, reason: (event.verdict as { reason: string }).reason }) },
                ],
              },
              {
                target: "reading",
                actions: [
                  assign({
                    sender: ({ context }) => (mailVerdict(context) as { sender: string }).sender,
                    recipients: [],
                    rcptCount: 0,
                    rcptRefusal: ({ event }) => (event.verdict.kind === "accepted" ? event.verdict.rcptRefusal : undefined),
                  }),
                  { type: "reply" as const, params: { text: "250 ok" } },
                ],
              },
            ],
            FAILED: { target: "reading", actions: { type: "reply" as const, params: { text: REPLIES.checkFailed } } },
          },
        },
        rcpt: {
          always: [
            {
              guard: ({ context }) => rcptVerdict(context) === REPLIES.syntax,
              target: "erred",
              actions: { type: "reply" as const, params: { text: REPLIES.syntax } },
            },
            {
              guard: ({ context }) => typeof rcptVerdict(context) === "string",
              target: "reading",
              actions: { type: "reply" as const, params: ({ context }) => ({ text: rcptVerdict(context) as string }) },
            },
            {
              guard: ({ context }) => context.rcptRefusal !== undefined,
              target: "reading",
              actions: [
                { type: "reply" as const, params: ({ context }) => ({ text: context.rcptRefusal!.text }) },
                { type: "note" as const, params: ({ context }) => ({ result: "Reject" as const, what: "RCPT" as const, reason: context.rcptRefusal!.reason, recipient: (rcptVerdict(context) as { address: string }).address }) },
              ],
            },
            {
              // TARPITCOUNT: from the n-th RCPT of a transaction on, each answer waits TARPITDELAY.
              guard: ({ context }) => tarpitted(context) && context.rcptCount + 1 >= context.settings.tarpit!.count && context.settings.tarpit!.delayMs > 0,
              target: "tarpitting",
              actions: assign({ rcptCount: ({ context }) => context.rcptCount + 1 }),
            },
            { target: "checkingRecipient", actions: assign({ rcptCount: ({ context }) => context.rcptCount + 1 }) },
          ],
        },
        tarpitting: {
          after: { tarpit: { target: "checkingRecipient" } },
        },
        checkingRecipient: {
          entry: { type: "checkRecipient" as const, params: ({ context }) => ({ address: (rcptVerdict(context) as { address: string }).address, relay: mayRelay(context) }) },
          on: {
            RECIPIENT_CHECKED: [
              {
                guard: ({ event }) => event.verdict.kind === "accepted",
                target: "reading",
                actions: [
                  // RELAYCLIENT's value is appended to every recipient (qmail's relay suffix).
                  assign({ recipients: ({ context, event }) => [...context.recipients, (event.verdict as { address: string }).address + (context.settings.relayClient ?? "")] }),
                  { type: "reply" as const, params: { text: "250 ok" } },
                ],
              },
              {
                guard: ({ event }) => event.verdict.kind === "refused",
                target: "reading",
                actions: [
                  { type: "reply" as const, params: ({ event }) => ({ text: (event.verdict as { text: string }).text }) },
                  { type: "note" as const, params: ({ context, event }) => ({ result: "Reject" as const, what: "RCPT" as const, reason: (event.verdict as { reason: string }).reason, recipient: (rcptVerdict(context) as { address: string }).address }) },
                ],
              },
              {
                guard: ({ event }) => event.verdict.kind === "unknown",
                target: "reading",
                actions: [
                  assign({ unknownRecipients: ({ context }) => context.unknownRecipients + 1 }),
                  { type: "reply" as const, params: ({ context }) => ({ text: context.settings.recipients450 ? REPLIES.unknownRecipient450 : REPLIES.unknownRecipient }) },
                  { type: "note" as const, params: ({ context }) => ({ result: context.settings.recipients450 ? ("Deferred" as const) : ("Reject" as const), what: "RCPT" as const, reason: "Failed_Rcptto", recipient: (rcptVerdict(context) as { address: string }).address }) },
                ],
              },
              {
                target: "#smtp-session.closed",
                actions: [
                  { type: "reply" as const, params: { text: REPLIES.recipientsUnavailable } },
                  { type: "note" as const, params: ({ context }) => ({ result: "Deferred" as const, what: "RCPT" as const, reason: "Recipients_Unavailable", recipient: (rcptVerdict(context) as { address: string }).address }) },
                ],
              },
            ],
            FAILED: { target: "reading", actions: { type: "reply" as const, params: { text: REPLIES.checkFailed } } },
          },
        },
        data: {
          always: [
            { guard: ({ context }) => context.sender === undefined, target: "reading", actions: { type: "reply" as const, params: { text: REPLIES.mailFirst } } },
            { guard: ({ context }) => context.recipients.length === 0, target: "reading", actions: { type: "reply" as const, params: { text: REPLIES.rcptFirst } } },
            {
              // TARPITDELAY=999: a client that ran into the tarpit may not send at all.
              guard: ({ context }) => tarpitted(context) && context.settings.tarpit!.refuseData && context.unknownRecipients >= context.settings.tarpit!.count,
              target: "#smtp-session.closed",
              actions: [
                { type: "reply" as const, params: { text: REPLIES.dataRefused } },
                { type: "note" as const, params: { result: "Reject" as const, what: "DATA" as const, reason: "Tarpit" } },
              ],
            },
            { target: "receiving", actions: { type: "reply" as const, params: { text: "354 go ahead" } } },
          ],
        },
        receiving: {
          entry: {
            type: "receiveMessage" as const,
            params: ({ context }) => ({
              sender: context.sender!,
              recipients: context.recipients,
              helo: context.helo,
              tls: context.tlsActive,
              authUser: context.authUser,
              authProtocol: context.authProtocol,
              databytes: context.settings.databytes,
            }),
          },
          on: {
            MESSAGE_RECEIVED: [
              // After a bare line end, a timeout or a lost connection nothing more is read: the
              // rest of the stream could only be a smuggled second message.
              {
                guard: ({ event }) => ["bare-line-end", "timeout", "closed"].includes(event.outcome.kind),
                target: "#smtp-session.closed",
                actions: [
                  { type: "reply" as const, params: ({ event }) => ({ text: outcomeReply(event.outcome) ?? "" }) },
                  { type: "note" as const, params: ({ event }) => ({ result: "Reject" as const, what: "DATA" as const, reason: outcomeReason(event.outcome) }) },
                ],
              },
              {
                target: "reading",
                actions: [
                  { type: "note" as const, params: ({ event }) => ({ result: event.outcome.kind === "queued" ? ("Accept" as const) : ("Reject" as const), what: "DATA" as const, reason: outcomeReason(event.outcome) }) },
                  assign({ queued: ({ context, event }) => context.queued + (event.outcome.kind === "queued" ? 1 : 0) }),
                  "clearTransaction",
                  { type: "reply" as const, params: ({ event }) => ({ text: outcomeReply(event.outcome)! }) },
                ],
              },
            ],
            FAILED: { target: "#smtp-session.closed", actions: { type: "reply" as const, params: { text: "451 qqt failure (#4.3.0)" } } },
          },
        },
        starttls: {
          always: [
            { guard: ({ context }) => context.tlsActive, target: "reading", actions: { type: "reply" as const, params: { text: REPLIES.tlsActive } } },
            { guard: ({ context }) => !context.settings.tls.offered, target: "reading", actions: { type: "reply" as const, params: { text: REPLIES.tlsUnavailable } } },
            { target: "handshake", actions: { type: "reply" as const, params: { text: REPLIES.tlsReady } } },
          ],
        },
        handshake: {
          entry: "startTls",
          on: {
            // RFC 3207 §4.2: nothing learnt before TLS survives it — HELO name, envelope, AUTH.
            TLS_STARTED: {
              target: "reading",
              actions: assign({ tlsActive: true, clientDn: ({ event }) => event.clientDn, helo: undefined, sender: undefined, recipients: [], authUser: undefined, authProtocol: undefined, rcptRefusal: undefined, rcptCount: 0 }),
            },
            FAILED: { target: "#smtp-session.closed" },
          },
        },
      },
    },
    auth: {
      initial: "starting",
      states: {
        starting: {
          always: [
            {
              guard: ({ context }) => typeof authStart(context) === "string",
              target: "#smtp-session.commands.reading",
              actions: { type: "reply" as const, params: ({ context }) => ({ text: authStart(context) as string }) },
            },
            {
              guard: ({ context }) => (authStart(context) as { mechanism: AuthMechanism }).mechanism === "CRAM-MD5",
              target: "awaiting",
              actions: [
                assign({
                  challengeCount: ({ context }) => context.challengeCount + 1,
                  pendingAuth: ({ context }) => ({
                    mechanism: "CRAM-MD5" as const,
                    // RFC 2195: a fresh, unpredictable challenge per attempt.
                    challenge: `<${crypto.randomUUID()}.${context.challengeCount + 1}@${context.settings.auth.challengeHost}>`,
                  }),
                }),
                { type: "reply" as const, params: ({ context }) => ({ text: `334 ${encodeBase64(context.pendingAuth!.challenge!)}` }) },
              ],
            },
            {
              // An initial response (RFC 4954) counts as the first answer of the exchange.
              guard: ({ context }) => (authStart(context) as { initial: string | undefined }).initial !== undefined,
              target: "decoding",
              actions: assign({ pendingAuth: ({ context }) => ({ mechanism: (authStart(context) as { mechanism: AuthMechanism }).mechanism }) }),
            },
            {
              target: "awaiting",
              actions: [
                assign({ pendingAuth: ({ context }) => ({ mechanism: (authStart(context) as { mechanism: AuthMechanism }).mechanism }) }),
                { type: "reply" as const, params: ({ context }) => ({ text: context.pendingAuth!.mechanism === "LOGIN" ? "334 VXNlcm5hbWU6" : "334 " }) },
              ],
            },
          ],
        },
        awaiting: {
          entry: { type: "requestLine" as const, params: { exchange: true } },
          on: {
            LINE: { target: "decoding", actions: assign({ authResponse: ({ event }) => event.response }) },
            TIMEOUT: { target: "#smtp-session.closed", actions: { type: "reply" as const, params: { text: REPLIES.timeout } } },
            OVERLONG: { target: "#smtp-session.commands.reading", actions: { type: "reply" as const, params: { text: REPLIES.authMalformed } } },
            CLOSED: { target: "#smtp-session.closed" },
          },
        },
        decoding: {
          entry: assign({ authStep: ({ context }) => decodeStep(context) }),
          always: [
            { guard: ({ context }) => context.authStep === "canceled", target: "#smtp-session.commands.reading", actions: [{ type: "reply" as const, params: { text: REPLIES.authCanceled } }] },
            { guard: ({ context }) => context.authStep === "malformed", target: "#smtp-session.commands.reading", actions: [{ type: "reply" as const, params: { text: REPLIES.authMalformed } }] },
            { guard: ({ context }) => context.authStep === "failed", target: "failing" },
            {
              // LOGIN's first answer is the user name: ask for the password.
              guard: ({ context }) => context.pendingAuth?.mechanism === "LOGIN" && context.pendingAuth.user === undefined,
              target: "awaiting",
              actions: [assign({ pendingAuth: ({ context }) => ({ mechanism: "LOGIN" as const, user: (context.authStep as Credentials).user }) }), { type: "reply" as const, params: { text: "334 UGFzc3dvcmQ6" } }],
            },
            { target: "checking" },
          ],
        },
        checking: {
          entry: { type: "checkPassword" as const, params: ({ context }) => context.authStep as PasswordCheck },
          on: {
            PASSWORD_CHECKED: [
              {
                guard: ({ event }) => event.accepted,
                target: "#smtp-session.commands.reading",
                actions: [
                  assign({ authUser: ({ context }) => (context.authStep as PasswordCheck).user, authProtocol: ({ context }) => (context.authStep as PasswordCheck).mechanism, pendingAuth: undefined, authStep: undefined, authResponse: undefined }),
                  { type: "reply" as const, params: { text: REPLIES.authOk } },
                  { type: "note" as const, params: ({ context }) => ({ result: "Accept" as const, what: "AUTH" as const, reason: `${context.authProtocol}` }) },
                ],
              },
              { target: "failing" },
            ],
            FAILED: { target: "failing" },
          },
        },
        failing: {
          // s/qmail sleeps before it answers a failure, to slow down password guessing.
          entry: [
            { type: "note" as const, params: ({ context }) => ({ result: "Reject" as const, what: "AUTH" as const, reason: context.pendingAuth?.mechanism ?? "AUTH" }) },
            assign({ pendingAuth: undefined, authStep: undefined, authResponse: undefined }),
          ],
          after: { authFailure: { target: "#smtp-session.commands.reading", actions: { type: "reply" as const, params: { text: REPLIES.authFailed } } } },
        },
      },
    },
    closed: { type: "final" },
  },
});

/** What one client response of the AUTH exchange means, given where the exchange is. */
function decodeStep(context: SmtpSessionContext): SmtpSessionContext["authStep"] {
  const pendingAuth = context.pendingAuth!;
  const decoded = authResponse(context.authResponse ?? "");
  if (decoded === "canceled" || decoded === "malformed") return decoded;
  switch (pendingAuth.mechanism) {
    case "PLAIN": {
      const credentials = plainCredentials(decoded);
      if (credentials === "mismatch") return "failed";
      if (credentials === "malformed") return "malformed";
      return { mechanism: "PLAIN", ...credentials };
    }
    case "LOGIN":
      if (/[\0\r\n]/.test(decoded)) return "malformed";
      if (pendingAuth.user === undefined) return { user: decoded, password: "" };
      return { mechanism: "LOGIN", user: pendingAuth.user, password: decoded };
    case "CRAM-MD5": {
      const space = decoded.lastIndexOf(" ");
      const digest = decoded.slice(space + 1).toLowerCase();
      if (space <= 0 || !/^[0-9a-f]{32}$/.test(digest)) return "malformed";
      return { mechanism: "CRAM-MD5", user: decoded.slice(0, space), challenge: pendingAuth.challenge!, digest };
    }
  }
}
