// pop3-session: one POP3 connection as qmail-popup and then qmail-pop3d answer it
// (qmail-behaviour.md §7; RFC 1939, CAPA from RFC 2449, STLS from RFC 2595, AUTH from RFC 5034).
//
//   authorization (reading ⇄ dispatching) ──USER/PASS, APOP, AUTH──→ checking ─ok─→ opening ─→ transaction
//        │  ├─ stls      +OK, handshake, the USER name forgotten        └─no─→ failing (delay) → closed
//        │  └─ sasl      + challenge / response → checking
//   transaction (reading ⇄ dispatching ⇄ retrieving) ──QUIT──→ update (deletions, new/ → cur/) → closed
//
// Like smtp-session, the machine pulls its input: a state that wants a line asks for one on entry
// (`requestLine`) and the service answers with one LINE, OVERLONG, TIMEOUT or CLOSED event, so
// STLS's handshake starts before any byte after the STLS line is parsed, and those bytes are
// discarded (security.md §1.2). Asking is an action, not an invoked actor: a line costs an event,
// not a child actor (1 000 sessions hold 1 000 fewer actors). The other work — the password
// check, opening the maildrop, a retrieval, the update, the handshake — is asked for the same way
// and answered by one Pop3Answer (answering.ts). Deletions are only marks in the
// context until QUIT reaches `update`: a connection that drops or times out in transaction
// deletes nothing (security.md §1.10). Pure: imports xstate, answering.ts and the SMTP syntax
// helpers (command split, base64, AUTH PLAIN); the service provides requestLine, reply,
// checkPassword, openMaildrop, retrieve, commitUpdate and startTls.

import { assertEvent, assign, setup } from "xstate";
import { answeringWith, type Failed } from "./answering.js";
import type { InputEvent } from "./line-input.js";
import { decodeBase64, encodeBase64, parseCommand, plainCredentials, splitCommandLine, type Command, type SplitLine } from "./smtp-syntax.js";

export interface Pop3SessionInput {
  /**
   * The service's number for this connection. Every effect carries it, so the service provides
   * its implementations once and finds the connection's socket and maildrop by it — a machine
   * provided per connection would copy the whole statechart each time (~50 KB).
   */
  readonly connection: number;
  /** control/me: the greeting and CRAM-MD5 challenges name it. */
  readonly hostname: string;
  /** `<unique@hostname>`, different for every banner: APOP's salt and checkpassword's third field. */
  readonly timestamp: string;
  /** POP3AUTH `apop`: APOP accepted (and the timestamp shown in the greeting). */
  readonly apop: boolean;
  /** POP3AUTH `cram`: SASL CRAM-MD5 offered. */
  readonly cram: boolean;
  readonly tls: {
    /** STLS may be offered (UCSPITLS not `-`, a certificate is loaded). */
    readonly offered: boolean;
    /** UCSPITLS `!`: no login before STLS. */
    readonly required: boolean;
    /** pop3s: the session starts inside TLS. */
    readonly active: boolean;
  };
  readonly failureDelayMs: number;
}

/** Whose maildrop a successful login opens; the machine only passes it on. */
export interface Mailbox {
  readonly user: string;
  readonly maildir: string;
  readonly uid: number;
}

export type Pop3Credentials =
  | { readonly mechanism: "USER" | "PLAIN"; readonly user: string; readonly password: string }
  /** qmail-popup hands APOP's digest to the checker as the password, with the banner's timestamp. */
  | { readonly mechanism: "APOP"; readonly user: string; readonly digest: string; readonly timestamp: string }
  | { readonly mechanism: "CRAM-MD5"; readonly user: string; readonly challenge: string; readonly digest: string };

export type AuthVerdict = { readonly kind: "ok"; readonly mailbox: Mailbox } | { readonly kind: "rejected" } | { readonly kind: "crashed" };

export interface Pop3Message {
  /** The file's size, LF line ends, as qmail-pop3d counts it. */
  readonly size: number;
  /** The file name up to its first `:`. */
  readonly uid: string;
}

export type MaildropOpened = { readonly kind: "opened"; readonly messages: readonly Pop3Message[] } | { readonly kind: "failed"; readonly text: string };

/** RETR (lines undefined) or TOP: message `index` (from 0). */
export interface Retrieval {
  readonly index: number;
  readonly lines: number | undefined;
}

/** An effect's input, with the connection it is for. */
export type OnConnection<T = unknown> = T & { readonly connection: number };

/**
 * How the service splits a command line (smtp-syntax.ts SplitLine): PASS's and APOP's arguments
 * and AUTH's initial response go under `response`, a key the inspection stream redacts.
 */
export function splitPop3Line(line: string): SplitLine {
  const { verb, argument } = parseCommand(line);
  if ((verb === "PASS" || verb === "APOP") && argument !== "") return { text: verb, response: argument };
  return splitCommandLine(line);
}

export const REPLIES = {
  ok: "+OK ",
  syntax: "-ERR syntax error",
  userFirst: "-ERR USER first",
  authorizationFirst: "-ERR authorization first",
  authorizationFailed: "-ERR authorization failed",
  childCrashed: "-ERR aack, child crashed",
  unimplemented: "-ERR unimplemented",
  countedFrom1: "-ERR messages are counted from 1",
  notThatMany: "-ERR not that many messages",
  alreadyDeleted: "-ERR already deleted",
  unableToOpen: "-ERR unable to open that message",
  unableToUnlink: "-ERR unable to unlink all deleted messages",
  lineTooLong: "-ERR line too long",
  stlsReady: "+OK begin TLS negotiation",
  stlsUnavailable: "-ERR TLS not available",
  stlsActive: "-ERR TLS already active",
  stlsRequired: "-ERR STLS first",
  apopUnavailable: "-ERR APOP not available",
  saslUnknown: "-ERR unrecognized authentication type",
  saslCanceled: "-ERR authentication canceled",
  saslMalformed: "-ERR malformed authentication response",
} as const;

export interface Pop3SessionContext extends Pop3SessionInput {
  readonly command: Command;
  /** The credential part of the last line (splitPop3Line), or a SASL response: redacted when inspected. */
  readonly response: string | undefined;
  readonly tlsActive: boolean;
  /** USER's argument, waiting for PASS. */
  readonly userName: string | undefined;
  readonly credentials: Pop3Credentials | undefined;
  /** AUTH in progress: the mechanism and, for CRAM-MD5, the challenge sent. */
  readonly sasl: { readonly mechanism: "PLAIN" | "CRAM-MD5"; readonly challenge?: string } | undefined;
  readonly saslError: string | undefined;
  readonly mailbox: Mailbox | undefined;
  readonly messages: readonly Pop3Message[];
  readonly deleted: ReadonlySet<number>;
  /** qmail-pop3d's LAST: the highest message number deleted in this session. */
  readonly last: number;
  readonly challengeCount: number;
}

/** The answer to one request other than a line: its result, or FAILED with what it threw. */
export type Pop3Answer =
  | { readonly type: "PASSWORD_CHECKED"; readonly verdict: AuthVerdict }
  | { readonly type: "MAILDROP_OPENED"; readonly opened: MaildropOpened }
  | { readonly type: "RETRIEVED"; readonly result: "sent" | "unreadable" }
  | { readonly type: "UPDATED"; readonly unlinkedAll: boolean }
  | { readonly type: "TLS_STARTED" }
  | Failed;

/** A request action's implementation from the work it asks for (answering.ts), answering as this chart expects. */
export const answering = answeringWith<Pop3Answer>();

function saslMechanisms(context: Pop3SessionContext): string[] {
  return context.cram ? ["PLAIN", "CRAM-MD5"] : ["PLAIN"];
}

/** RFC 2449's CAPA list for the state the session is in. */
function capabilities(context: Pop3SessionContext): string {
  const lines = ["+OK capability list follows", "TOP", "UIDL", "PIPELINING", "RESP-CODES"];
  if (context.mailbox === undefined) {
    if (!context.tls.required || context.tlsActive) lines.push("USER", `SASL ${saslMechanisms(context).join(" ")}`);
    if (context.tls.offered && !context.tlsActive) lines.push("STLS");
  }
  lines.push("IMPLEMENTATION tsqmail", ".");
  return lines.join("\r\n");
}

/** qmail's scan_ulong: the leading digits, or undefined when there are none. */
function leadingNumber(text: string): { value: number; rest: string } | undefined {
  const digits = /^\d+/.exec(text)?.[0];
  if (digits === undefined) return undefined;
  // Past 2^53 no mailbox has that many messages; keep the value comparable instead of wrapping.
  return { value: digits.length > 15 ? Number.MAX_SAFE_INTEGER : Number(digits), rest: text.slice(digits.length) };
}

/** qmail-pop3d's msgno(): the message index, or the error reply. */
function messageIndex(context: Pop3SessionContext, argument: string): number | string {
  const parsed = leadingNumber(argument);
  if (parsed === undefined) return REPLIES.syntax;
  if (parsed.value === 0) return REPLIES.countedFrom1;
  if (parsed.value > context.messages.length) return REPLIES.notThatMany;
  if (context.deleted.has(parsed.value - 1)) return REPLIES.alreadyDeleted;
  return parsed.value - 1;
}

/** RETR and TOP share qmail-pop3d's pop3_top: a second number is TOP's line count. */
function retrievalOf(context: Pop3SessionContext): Retrieval | string {
  const index = messageIndex(context, context.command.argument);
  if (typeof index === "string") return index;
  const rest = leadingNumber(context.command.argument)!.rest.replace(/^ +/, "");
  return { index, lines: leadingNumber(rest)?.value };
}

function listing(context: Pop3SessionContext, field: (message: Pop3Message) => string | number): string {
  if (context.command.argument !== "") {
    const index = messageIndex(context, context.command.argument);
    return typeof index === "string" ? index : `+OK ${index + 1} ${field(context.messages[index]!)}`;
  }
  const lines: string[] = [REPLIES.ok];
  context.messages.forEach((message, index) => {
    if (!context.deleted.has(index)) lines.push(`${index + 1} ${field(message)}`);
  });
  lines.push(".");
  return lines.join("\r\n");
}

/** The reply to a transaction command that only reads or marks the context. */
function transactionReply(context: Pop3SessionContext): string {
  switch (context.command.verb) {
    case "STAT": {
      // qmail-pop3d counts deleted messages but not their bytes.
      const bytes = context.messages.reduce((sum, message, index) => (context.deleted.has(index) ? sum : sum + message.size), 0);
      return `+OK ${context.messages.length} ${bytes}`;
    }
    case "LIST":
      return listing(context, (message) => message.size);
    case "UIDL":
      return listing(context, (message) => message.uid);
    case "LAST":
      return `+OK ${context.last}`;
    case "RSET":
    case "NOOP":
      return REPLIES.ok;
    case "CAPA":
      return capabilities(context);
    case "DELE":
      // A DELE that marks a message is taken by the dispatcher; only its refusals come here.
      return messageIndex(context, context.command.argument) as string;
    default:
      return REPLIES.unimplemented;
  }
}

/** The whole argument of a PASS, APOP or AUTH line, rejoined from its split (never stored). */
function fullArgument(context: Pop3SessionContext): string {
  const { argument } = context.command;
  if (context.response === undefined) return argument;
  return argument === "" ? context.response : `${argument} ${context.response}`;
}

/** USER, PASS, APOP and AUTH: the reply that refuses them now, or undefined to go on. */
function loginRefusal(context: Pop3SessionContext): string | undefined {
  if (context.tls.required && !context.tlsActive) return REPLIES.stlsRequired;
  const { verb } = context.command;
  const argument = fullArgument(context);
  switch (verb) {
    case "USER":
      return argument === "" ? REPLIES.syntax : undefined;
    case "PASS":
      if (context.userName === undefined) return REPLIES.userFirst;
      return argument === "" ? REPLIES.syntax : undefined;
    case "APOP":
      if (!context.apop) return REPLIES.apopUnavailable;
      return /^[^ ]+ [^ ]/.test(argument) ? undefined : REPLIES.syntax;
    default:
      return undefined;
  }
}

function apopCredentials(context: Pop3SessionContext): Pop3Credentials {
  const argument = fullArgument(context);
  const space = argument.indexOf(" ");
  return { mechanism: "APOP", user: argument.slice(0, space), digest: argument.slice(space + 1), timestamp: context.timestamp };
}

/** AUTH's argument: the mechanism to run and any initial response, or the refusal. */
function saslStart(context: Pop3SessionContext): string | { mechanism: "PLAIN" | "CRAM-MD5"; initial: string | undefined } {
  const [name = "", initial, extra] = fullArgument(context).split(" ");
  if (name === "" || extra !== undefined) return REPLIES.syntax;
  const mechanism = saslMechanisms(context).find((m) => m === name.toUpperCase()) as "PLAIN" | "CRAM-MD5" | undefined;
  if (mechanism === undefined) return REPLIES.saslUnknown;
  // CRAM-MD5 has no initial response: the server speaks first (RFC 2195).
  if (mechanism === "CRAM-MD5" && initial !== undefined) return REPLIES.syntax;
  return { mechanism, initial };
}

/** One SASL client response: credentials to check, or the error reply (RFC 5034 §4). */
function saslCredentials(context: Pop3SessionContext): Pop3Credentials | string {
  const line = context.response ?? "";
  if (line === "*") return REPLIES.saslCanceled;
  const decoded = line === "=" ? "" : decodeBase64(line);
  if (decoded === undefined) return REPLIES.saslMalformed;
  const sasl = context.sasl!;
  if (sasl.mechanism === "PLAIN") {
    const credentials = plainCredentials(decoded);
    // An authzid naming someone else is a failed login, not a syntax error (security.md §1.6).
    if (credentials === "mismatch") return REPLIES.authorizationFailed;
    if (credentials === "malformed") return REPLIES.saslMalformed;
    return { mechanism: "PLAIN", ...credentials };
  }
  const space = decoded.lastIndexOf(" ");
  const digest = decoded.slice(space + 1).toLowerCase();
  if (space <= 0 || !/^[0-9a-f]{32}$/.test(digest)) return REPLIES.saslMalformed;
  return { mechanism: "CRAM-MD5", user: decoded.slice(0, space), challenge: sasl.challenge!, digest };
}

const reply = (text: string) => replyWith(() => text);
const replyWith = (text: (context: Pop3SessionContext) => string) => ({
  type: "reply" as const,
  params: ({ context }: { context: Pop3SessionContext }) => ({ connection: context.connection, text: text(context) }),
});
const verbIs =
  (...verbs: string[]) =>
  ({ context }: { context: Pop3SessionContext }) =>
    verbs.includes(context.command.verb);

/** The read step both command loops share: a line to dispatch, or the end of the session. */
function readingState(dispatch: string) {
  return {
    entry: { type: "requestLine" as const, params: ({ context }: { context: Pop3SessionContext }) => ({ connection: context.connection, exchange: false }) },
    on: {
      LINE: { target: dispatch, actions: "takeCommand" as const },
      OVERLONG: { target: "reading", reenter: true, actions: reply(REPLIES.lineTooLong) },
      // A timeout or a lost connection ends the session silently, as qmail's die() does.
      TIMEOUT: { target: "#pop3-session.closed" },
      CLOSED: { target: "#pop3-session.closed" },
    },
  };
}

export const pop3SessionMachine = setup({
  types: {
    input: {} as Pop3SessionInput,
    context: {} as Pop3SessionContext,
    events: {} as InputEvent | Pop3Answer,
  },
  actions: {
    // The requests other than a line; the service provides them (made with `answering`).
    /** Virtual users, then the checkpassword program; a uid-0 account is rejected → PASSWORD_CHECKED. */
    checkPassword: (_, _params: OnConnection<{ readonly credentials: Pop3Credentials }>) => {},
    /** Locks the maildrop, cleans tmp/, lists new/ and cur/ in qmail-pop3d's order → MAILDROP_OPENED. */
    openMaildrop: (_, _params: OnConnection<{ readonly mailbox: Mailbox }>) => {},
    /** Writes `+OK `, the message converted as qmail-pop3d's blast() does and the end; "unreadable" writes nothing → RETRIEVED. */
    retrieve: (_, _params: OnConnection<Retrieval>) => {},
    /** QUIT in transaction: unlinks the deleted messages, moves new/ to cur/ → UPDATED (false if an unlink failed). */
    commitUpdate: (_, _params: OnConnection<{ readonly deleted: readonly number[] }>) => {},
    /** Discards every byte read so far, then the server side of the TLS handshake → TLS_STARTED. */
    startTls: (_, _params: OnConnection) => {},
    /**
     * Asks for the next line (CR LF removed) within the idle timeout; the answer is one
     * InputEvent. Split by splitPop3Line, or, with `exchange`, all of it a SASL response.
     */
    requestLine: (_, _params: OnConnection<{ readonly exchange: boolean }>) => {},
    /** Writes one reply (lines joined by CR LF, without the last CR LF). */
    reply: (_, _params: OnConnection<{ text: string }>) => {},
    takeCommand: assign(({ event }) => {
      assertEvent(event, "LINE");
      return { command: parseCommand(event.text), response: event.response };
    }),
  },
  delays: {
    authFailure: ({ context }) => context.failureDelayMs,
  },
}).createMachine({
  id: "pop3-session",
  context: ({ input }) => ({
    ...input,
    command: { verb: "", argument: "" },
    response: undefined,
    tlsActive: input.tls.active,
    userName: undefined,
    credentials: undefined,
    sasl: undefined,
    saslError: undefined,
    mailbox: undefined,
    messages: [],
    deleted: new Set<number>(),
    last: 0,
    challengeCount: 0,
  }),
  initial: "authorization",
  // Without APOP no timestamp is shown, so clients do not try it (security.md §1.6).
  entry: replyWith((context) => (context.apop ? `+OK ${context.timestamp}` : `+OK ${context.hostname} POP3 ready`)),
  states: {
    authorization: {
      initial: "reading",
      states: {
        reading: readingState("dispatching"),
        dispatching: {
          always: [
            { guard: verbIs("QUIT"), target: "#pop3-session.closed", actions: reply(REPLIES.ok) },
            { guard: verbIs("NOOP"), target: "reading", actions: reply(REPLIES.ok) },
            { guard: verbIs("CAPA"), target: "reading", actions: replyWith(capabilities) },
            { guard: verbIs("STLS"), target: "stls" },
            { guard: ({ context }) => verbIs("USER", "PASS", "APOP", "AUTH")({ context }) && loginRefusal(context) !== undefined, target: "reading", actions: replyWith((context) => loginRefusal(context)!) },
            { guard: verbIs("USER"), target: "reading", actions: [assign({ userName: ({ context }) => context.command.argument }), reply(REPLIES.ok)] },
            {
              guard: verbIs("PASS"),
              target: "checking",
              actions: assign({ credentials: ({ context }) => ({ mechanism: "USER" as const, user: context.userName!, password: fullArgument(context) }) }),
            },
            { guard: verbIs("APOP"), target: "checking", actions: assign({ credentials: ({ context }) => apopCredentials(context) }) },
            { guard: verbIs("AUTH"), target: "saslStarting" },
            { target: "reading", actions: reply(REPLIES.authorizationFirst) },
          ],
        },
        stls: {
          always: [
            { guard: ({ context }) => context.tlsActive, target: "reading", actions: reply(REPLIES.stlsActive) },
            { guard: ({ context }) => !context.tls.offered, target: "reading", actions: reply(REPLIES.stlsUnavailable) },
            { target: "handshake", actions: reply(REPLIES.stlsReady) },
          ],
        },
        handshake: {
          entry: { type: "startTls", params: ({ context }) => ({ connection: context.connection }) },
          on: {
            // RFC 2595 §4: what the client said before TLS (its USER name) does not count after it.
            TLS_STARTED: { target: "reading", actions: assign({ tlsActive: true, userName: undefined }) },
            FAILED: { target: "#pop3-session.closed" },
          },
        },
        saslStarting: {
          always: [
            { guard: ({ context }) => typeof saslStart(context) === "string", target: "reading", actions: replyWith((context) => saslStart(context) as string) },
            {
              guard: ({ context }) => (saslStart(context) as { mechanism: string }).mechanism === "CRAM-MD5",
              target: "saslAwaiting",
              actions: [
                assign({
                  challengeCount: ({ context }) => context.challengeCount + 1,
                  // RFC 2195: a fresh, unpredictable challenge for every attempt.
                  sasl: ({ context }) => ({ mechanism: "CRAM-MD5" as const, challenge: `<${crypto.randomUUID()}.${context.challengeCount + 1}@${context.hostname}>` }),
                }),
                replyWith((context) => `+ ${encodeBase64(context.sasl!.challenge!)}`),
              ],
            },
            {
              guard: ({ context }) => (saslStart(context) as { initial: string | undefined }).initial !== undefined,
              target: "saslDecoding",
              actions: assign(({ context }) => ({ sasl: { mechanism: "PLAIN" as const }, response: (saslStart(context) as { initial: string }).initial })),
            },
            { target: "saslAwaiting", actions: [assign({ sasl: { mechanism: "PLAIN" as const } }), reply("+ ")] },
          ],
        },
        saslAwaiting: {
          entry: { type: "requestLine", params: ({ context }) => ({ connection: context.connection, exchange: true }) },
          on: {
            LINE: { target: "saslDecoding", actions: assign({ response: ({ event }) => event.response }) },
            OVERLONG: { target: "reading", actions: [assign({ sasl: undefined }), reply(REPLIES.saslMalformed)] },
            TIMEOUT: { target: "#pop3-session.closed" },
            CLOSED: { target: "#pop3-session.closed" },
          },
        },
        saslDecoding: {
          always: [
            { guard: ({ context }) => saslCredentials(context) === REPLIES.authorizationFailed, target: "failing" },
            { guard: ({ context }) => typeof saslCredentials(context) === "string", target: "reading", actions: [replyWith((context) => saslCredentials(context) as string), assign({ sasl: undefined })] },
            { target: "checking", actions: assign({ credentials: ({ context }) => saslCredentials(context) as Pop3Credentials, sasl: undefined }) },
          ],
        },
        checking: {
          entry: { type: "checkPassword", params: ({ context }) => ({ connection: context.connection, credentials: context.credentials! }) },
          on: {
            PASSWORD_CHECKED: [
              { guard: ({ event }) => event.verdict.kind === "ok", target: "#pop3-session.opening", actions: assign({ mailbox: ({ event }) => (event.verdict as { mailbox: Mailbox }).mailbox, credentials: undefined }) },
              { guard: ({ event }) => event.verdict.kind === "crashed", target: "#pop3-session.closed", actions: [assign({ credentials: undefined }), reply(REPLIES.childCrashed)] },
              { target: "failing" },
            ],
            FAILED: { target: "failing" },
          },
        },
        failing: {
          // qmail-popup exits after a failed login; the delay slows down password guessing.
          entry: assign({ credentials: undefined, userName: undefined }),
          after: { authFailure: { target: "#pop3-session.closed", actions: reply(REPLIES.authorizationFailed) } },
        },
      },
    },
    opening: {
      entry: { type: "openMaildrop", params: ({ context }) => ({ connection: context.connection, mailbox: context.mailbox! }) },
      on: {
        MAILDROP_OPENED: [
          {
            guard: ({ event }) => event.opened.kind === "opened",
            target: "transaction",
            actions: [assign({ messages: ({ event }) => (event.opened as { messages: readonly Pop3Message[] }).messages }), reply(REPLIES.ok)],
          },
          { target: "closed", actions: { type: "reply" as const, params: ({ context, event }) => ({ connection: context.connection, text: (event.opened as { text: string }).text }) } },
        ],
        FAILED: { target: "closed", actions: reply("-ERR unable to scan $HOME/Maildir") },
      },
    },
    transaction: {
      initial: "reading",
      states: {
        reading: readingState("dispatching"),
        dispatching: {
          always: [
            { guard: verbIs("QUIT"), target: "#pop3-session.update" },
            { guard: ({ context }) => verbIs("RETR", "TOP")({ context }) && typeof retrievalOf(context) === "string", target: "reading", actions: replyWith((context) => retrievalOf(context) as string) },
            { guard: verbIs("RETR", "TOP"), target: "retrieving" },
            {
              guard: ({ context }) => verbIs("DELE")({ context }) && typeof messageIndex(context, context.command.argument) === "number",
              target: "reading",
              actions: [
                assign(({ context }) => {
                  const index = messageIndex(context, context.command.argument) as number;
                  return { deleted: new Set([...context.deleted, index]), last: Math.max(context.last, index + 1) };
                }),
                reply(REPLIES.ok),
              ],
            },
            { guard: verbIs("RSET"), target: "reading", actions: [assign({ deleted: new Set<number>(), last: 0 }), reply(REPLIES.ok)] },
            { target: "reading", actions: replyWith(transactionReply) },
          ],
        },
        retrieving: {
          entry: { type: "retrieve", params: ({ context }) => ({ connection: context.connection, ...(retrievalOf(context) as Retrieval) }) },
          on: {
            RETRIEVED: [{ guard: ({ event }) => event.result === "unreadable", target: "reading", actions: reply(REPLIES.unableToOpen) }, { target: "reading" }],
            FAILED: { target: "#pop3-session.closed" },
          },
        },
      },
    },
    update: {
      entry: { type: "commitUpdate", params: ({ context }) => ({ connection: context.connection, deleted: [...context.deleted].sort((a, b) => a - b) }) },
      on: {
        UPDATED: { target: "closed", actions: { type: "reply" as const, params: ({ context, event }) => ({ connection: context.connection, text: event.unlinkedAll ? REPLIES.ok : REPLIES.unableToUnlink }) } },
        FAILED: { target: "closed", actions: reply(REPLIES.unableToUnlink) },
      },
    },
    closed: { type: "final" },
  },
});
