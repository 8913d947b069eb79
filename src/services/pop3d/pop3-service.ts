// The POP3 listener services — pop3d (110) and pop3s (995) — are tcpserver (or sslserver) running
// qmail-popup and qmail-pop3d: one listener in this worker, one `pop3-session` actor per
// connection (id `<service>:<port>/conn/<n>`), whose reads, logins, maildrop access and STLS are
// provided here. The two differ only in pop3s's implicit TLS.
// Reads: control/me, control/servercert.pem, the users (pop3-login.ts), the maildrops
// (maildrop.ts). Writes: the maildrops at QUIT, the service log.
// svc -h re-reads the control files, the certificate and the listener's rules; a session keeps
// the settings it started with (the listener's wiring: net/listening-service.ts). A session that
// ends in any way — QUIT, a drop, a timeout, a failed actor, the service stopping — releases its
// maildrop's lock (a dropped connection ends the session's read at once); only QUIT in
// transaction changes the maildrop.

import type { Socket } from "node:net";
import type { SecureContext } from "node:tls";
import { threadId } from "node:worker_threads";
import { answering, pop3SessionMachine, splitPop3Line, type Mailbox, type MaildropOpened, type OnConnection, type Pop3Credentials, type Retrieval } from "../../../machines/pop3-session.js";
import { responseLine } from "../../../machines/smtp-syntax.js";
import { clock } from "../../../supervisors/clock.js";
import type { ServiceContext, ServiceHandlers } from "../../../supervisors/service-module.js";
import { loadControl, type ControlSnapshot } from "../../config/load-control.js";
import type { Env } from "../../net/connection-env.js";
import type { ServerCertificate } from "../../net/listener-certificate.js";
import { startListeningService } from "../../net/listening-service.js";
import { ClientStream } from "../smtpd/client-stream.js";
import { LoginQueue } from "./login-queue.js";
import { Maildrop } from "./maildrop.js";
import { checkLogin, type LoginSettings } from "./pop3-login.js";
import { IDLE_TIMEOUT_MS, pop3SessionSettings, type Pop3Mode } from "./pop3-settings.js";

const BUSY_REPLY = "-ERR too many connections, try again later\r\n";
/** What a session whose actor failed gets before its socket is closed (DESIGN.md §2). */
const FAILURE_REPLY = "-ERR internal error, try again later";
/** How long a CHECKPASSWORD program may run. */
const CHECKPASSWORD_TIMEOUT_MS = 30_000;
/** How many virtual users' password checks run at once (login-queue.ts); libuv's four threads serve every check anyway. */
const CONCURRENT_LOGIN_CHECKS = 2;

export async function startPop3Service(context: ServiceContext, mode: Pop3Mode): Promise<ServiceHandlers> {
  const { root, service } = context;
  const ownUid = process.getuid?.() ?? 0;
  const lockOwner = { service, thread: threadId };
  const login: LoginSettings = { root, site: service, ownUid, timeoutMs: CHECKPASSWORD_TIMEOUT_MS, queue: new LoginQueue(CONCURRENT_LOGIN_CHECKS), log: (line) => context.log(line) };

  /** What the provided effects need of one connection, by the machine's `connection` number. */
  interface Session {
    readonly stream: ClientStream;
    /** The connection's environment: CHECKPASSWORD and PASSWD are read from it at login. */
    readonly env: Env;
    readonly timestamp: string;
    readonly secureContext: SecureContext | undefined;
    maildrop?: Maildrop;
  }
  const sessions = new Map<number, Session>();
  let connections = 0;
  const session = (connection: number): Session => {
    const found = sessions.get(connection);
    if (found === undefined) throw new Error(`no POP3 connection ${connection}`);
    return found;
  };

  // Provided once for every connection (see Pop3SessionInput.connection).
  const machine = pop3SessionMachine.provide({
    actions: {
      reply: (_, { connection, text }) => sessions.get(connection)?.stream.write(text),
      // Only the state that asked handles the answer; the stream never ends a read unanswered.
      requestLine: ({ self }, { connection, exchange }) => session(connection).stream.requestInput(exchange ? responseLine : splitPop3Line, self),
      checkPassword: answering(async ({ connection, credentials }: OnConnection<{ credentials: Pop3Credentials }>) => {
        const { env, timestamp } = session(connection);
        return { type: "PASSWORD_CHECKED", verdict: await checkLogin(login, env, credentials, timestamp) };
      }),
      openMaildrop: answering(async ({ connection, mailbox }: OnConnection<{ mailbox: Mailbox }>) => ({ type: "MAILDROP_OPENED", opened: await openMaildrop(connection, mailbox) })),
      retrieve: answering(async ({ connection, index, lines }: OnConnection<Retrieval>) => {
        const { stream, maildrop } = session(connection);
        return { type: "RETRIEVED", result: await maildrop!.retrieve({ index, lines }, (bytes) => stream.writeBytes(bytes)) };
      }),
      commitUpdate: answering(async ({ connection, deleted }: OnConnection<{ deleted: readonly number[] }>) => ({ type: "UPDATED", unlinkedAll: await session(connection).maildrop!.commit(deleted) })),
      startTls: answering(async ({ connection }: OnConnection) => {
        const { stream, secureContext: tls } = session(connection);
        await stream.startTls(tls!);
        return { type: "TLS_STARTED" };
      }),
    },
  });

  /** Opens a logged-in user's maildrop for the connection, unless it ended meanwhile. */
  async function openMaildrop(connection: number, mailbox: Mailbox): Promise<MaildropOpened> {
    const opened = await Maildrop.open(mailbox, ownUid, lockOwner);
    if (!(opened instanceof Maildrop)) return opened;
    const held = sessions.get(connection);
    // The connection ended while the maildrop was being listed: give it back at once.
    if (held === undefined) {
      await opened.release();
      return { kind: "failed", text: FAILURE_REPLY };
    }
    held.maildrop = opened;
    context.log(`${service}: ${mailbox.user} opened ${mailbox.maildir} (${opened.messages.length} messages)`);
    return { kind: "opened", messages: opened.messages };
  }

  function finish(connection: number): void {
    const ended = sessions.get(connection);
    if (ended === undefined) return;
    sessions.delete(connection);
    void ended.maildrop?.release();
    ended.stream.end();
  }

  /** What a session starts with; svc -h replaces it whole. */
  interface Pop3Settings {
    readonly control: ControlSnapshot;
    readonly secureContext: SecureContext | undefined;
  }
  const load = async (certificate: ServerCertificate | undefined): Promise<Pop3Settings> => ({ control: await loadControl(root), secureContext: certificate?.context });

  function serve(socket: Socket, env: Env, { control, secureContext }: Pop3Settings): void {
    const connection = ++connections;
    const input = pop3SessionSettings(mode, connection, env, control, secureContext !== undefined, clock.now());
    const stream = new ClientStream(socket, IDLE_TIMEOUT_MS);
    sessions.set(connection, { stream, env, timestamp: input.timestamp, secureContext });
    const actor = context.actors.spawn("conn", machine, { key: connection, input });
    actor.subscribe({
      complete: () => finish(connection),
      error: () => {
        stream.write(FAILURE_REPLY);
        finish(connection);
      },
    });
  }

  return startListeningService({
    context,
    tls: mode === "pop3s" ? "implicit" : "starttls",
    busyReply: BUSY_REPLY,
    load,
    serve,
    // A stopped actor completes nothing: give back the maildrops its sessions held.
    release: () => Promise.all([...sessions.values()].map((held) => held.maildrop?.release())),
  });
}
