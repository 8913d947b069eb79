// The smtp-session machine with smtpd's implementations provided — once per service, not per
// connection: `provide` copies the whole statechart (≈ 45 KB of heap), which for 1 000 idle
// connections would be most of their cost. Each implementation finds its connection's I/O by
// the session actor's id. A line, a check, DATA into the queue and the TLS handshake are each
// asked for by an action and come back as one event to the session (session-answer.ts).

import type { X509Certificate } from "node:crypto";
import type { SecureContext } from "node:tls";
import type { AnyActorRef } from "xstate";
import { smtpSessionMachine, type MessageInput, type MessageOutcome, type PasswordCheck } from "../../../machines/smtp-session.js";
import { responseLine, splitCommandLine } from "../../../machines/smtp-syntax.js";
import { clock } from "../../../supervisors/clock.js";
import { wakeFor } from "../../messages.js";
import type { ClientStream } from "./client-stream.js";
import { checkRecipient, checkSender, type CheckContext } from "./envelope-checks.js";
import { runFd3Program } from "./fd3-program.js";
import { checkPassword } from "./password-check.js";
import { receivedHeader } from "./received-header.js";
import { receiveMessage } from "./receive-message.js";
import { flatEnv, type SessionEnv } from "./session-env.js";
import { noteLine } from "./session-log.js";
import { answerWith } from "./session-answer.js";

/** How long a checkpassword program may run. */
const CHECKER_TIMEOUT_MS = 30_000;
/**
 * How long queued messages wait for one wake of the send service: a message to another thread is
 * not free, and under load a connection commits a message every few turns of the event loop.
 * Sessions do not pull lock/trigger (queue-writer.ts, step 6): without the wake, send would find
 * them only at its next rescan.
 */
const WAKE_MS = 10;

/** One connection's I/O and settings, as its session's implementations need them. */
export interface Connection {
  readonly stream: ClientStream;
  /** The connection's environment (service env, tcpserver variables, rules), compacted. */
  readonly env: SessionEnv;
  readonly checks: CheckContext;
  readonly secureContext: SecureContext | undefined;
  /** At STARTTLS, ask for a client certificate and trust these issuers (UCSPITLS ? / @ with CAFILE). */
  readonly clientAuthorities: readonly X509Certificate[] | undefined;
  /** `smtpd: conn 17`, the start of its log lines. */
  readonly logPrefix: string;
  /** control/me, for checkpassword timestamps. */
  readonly host: string;
  /** The code of the last reply, for the connection's log line. */
  lastReply: string;
}

export interface ServiceParts {
  readonly root: string;
  readonly service: string;
  readonly queueDir: string;
  log(line: string): void;
  send(to: string, payload: unknown): void;
  /** A spare inode of the send service for intd/N (queue/spare-stock.ts), if one is at hand. */
  spare(): string | undefined;
}

/**
 * AUTH against a checkpassword-compatible program (CHECKPASSWORD="prog [args]", as s/qmail's
 * `qmail-smtpd checkprog subprog`): fd 3 gets `user\0password\0timestamp\0`, or for CRAM-MD5
 * `user\0digest\0challenge\0`; exit 0 accepts, anything else (1 rejected, 2 misuse, 111
 * temporary, a crash) fails the AUTH.
 */
async function checkWithProgram(site: string, commandLine: string, check: PasswordCheck, env: NodeJS.ProcessEnv, host: string): Promise<boolean> {
  const fields = check.mechanism === "CRAM-MD5" ? [check.user, check.digest, check.challenge] : [check.user, check.password, `<${process.pid}.${Date.now()}@${host}>`];
  const result = await runFd3Program(site, commandLine, fields, env, CHECKER_TIMEOUT_MS);
  return result.kind === "exit" && result.code === 0;
}

export function wiredSessionMachine(parts: ServiceParts, connections: ReadonlyMap<string, Connection>) {
  const of = (actor: AnyActorRef): Connection => {
    const connection = connections.get(actor.id);
    if (connection === undefined) throw new Error(`no connection for actor ${actor.id}`);
    return connection;
  };
  // One wake for every message queued within WAKE_MS, naming them all.
  let queuedSinceWake: (number | null)[] = [];
  const wakeSend = (): void => {
    parts.send("send", wakeFor(queuedSinceWake));
    queuedSinceWake = [];
  };
  /** DATA: our Received line, then the body streamed into the queue. */
  const queueMessage = async ({ stream, env }: Connection, message: MessageInput): Promise<MessageOutcome> => {
    const received = receivedHeader(
      {
        remoteHost: env.TCPREMOTEHOST,
        remoteIp: env.TCPREMOTEIP,
        remoteInfo: message.authUser ?? env.TCPREMOTEINFO,
        helo: message.helo,
        localHost: env.TCPLOCALHOST ?? env.TCPLOCALIP ?? "unknown",
        tls: message.tls,
        authenticated: message.authUser !== undefined,
      },
      clock.now(),
    );
    // The queue looks only at QMAILQUEUE: a flat copy is made only for a program, which learns
    // who authenticated, as under s/qmail.
    const queueEnv = env.QMAILQUEUE === undefined ? {} : flatEnv(env, message.authUser === undefined ? {} : { TCPREMOTEINFO: message.authUser, AUTHUSER: message.authUser, AUTHPROTOCOL: message.authProtocol });
    const outcome = await receiveMessage(stream, message, received, { queueDir: parts.queueDir, env: queueEnv, now: () => clock.now(), spare: parts.spare });
    // The send service learns of the message within WAKE_MS.
    if (outcome.kind === "queued" && queuedSinceWake.push(outcome.id) === 1) setTimeout(wakeSend, WAKE_MS);
    return outcome;
  };
  return smtpSessionMachine.provide({
    actions: {
      requestLine: ({ self }, { exchange }) => of(self).stream.requestInput(exchange ? responseLine : splitCommandLine, self),
      reply: ({ self }, { text }) => {
        const connection = of(self);
        connection.stream.write(text);
        connection.lastReply = text.slice(0, 3);
      },
      note: ({ self, context }, note) => {
        const connection = of(self);
        parts.log(noteLine(connection.logPrefix, context, connection.env, note));
      },
      receiveMessage: ({ self }, message) => answerWith(self, () => queueMessage(of(self), message), (outcome) => ({ type: "MESSAGE_RECEIVED", outcome })),
      startTls: ({ self }) =>
        answerWith(
          self,
          () => {
            const { stream, secureContext, clientAuthorities } = of(self);
            return stream.startTls(secureContext!, clientAuthorities);
          },
          ({ clientDn }) => ({ type: "TLS_STARTED", clientDn }),
        ),
      checkPassword: ({ self }, check) =>
        answerWith(
          self,
          () => {
            const { env, host } = of(self);
            return env.CHECKPASSWORD === undefined ? checkPassword(parts.root, check) : checkWithProgram(parts.service, env.CHECKPASSWORD, check, flatEnv(env), host);
          },
          (accepted) => ({ type: "PASSWORD_CHECKED", accepted }),
        ),
      checkSender: ({ self }, check) => answerWith(self, () => checkSender(of(self).checks, check), (verdict) => ({ type: "SENDER_CHECKED", verdict })),
      checkRecipient: ({ self }, check) => answerWith(self, () => checkRecipient(of(self).checks, check), (verdict) => ({ type: "RECIPIENT_CHECKED", verdict })),
    },
  });
}
