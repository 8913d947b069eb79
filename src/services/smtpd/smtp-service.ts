// The SMTP listener services — smtpd (25), submission (587) and smtps (465) — are tcpserver (or
// sslserver) running qmail-smtpd: one listener in this worker, one `smtp-session` actor per
// connection (id `<service>:<port>/conn/<n>`), whose replies, reads, DATA, STARTTLS and password
// checks are provided here. The three differ only in their defaults (session-settings.ts) and
// smtps's implicit TLS.
// Reads: ROOT/control/* (loadControl), control/servercert.pem (key and certificate, PEM), the
// virtual users for AUTH (or CHECKPASSWORD's program), DNS for HELOCHECK/MFDNSCHECK
// (DNSSERVERS, DNSTIMEOUT). Writes: the queue (enqueue), the service log: s/qmail-style lines
// per decision and per connection (session-log.ts), and the worker's memory use when another
// service or the host sends `memory-query`.
// svc -h re-reads the control files, the certificate and the listener's rules; a session keeps
// the settings it started with.

import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";
import { fromPromise } from "xstate";
import { smtpSessionMachine } from "../../../machines/smtp-session.js";
import { clock } from "../../../supervisors/clock.js";
import type { ServiceContext, ServiceHandlers } from "../../../supervisors/service-module.js";
import { ConfigError } from "../../config/config-error.js";
import { loadControl, type ControlSnapshot } from "../../config/load-control.js";
import { createDns } from "../../io/dns.js";
import { siteFs } from "../../io/fs.js";
import { listenerSettings } from "../../net/listener-settings.js";
import { startTcpListener, type TcpListener } from "../../net/tcp-listener.js";
import { rootPaths } from "../../root/paths.js";
import { ClientStream } from "./client-stream.js";
import { checkPassword } from "./password-check.js";
import { checkRecipient, checkSender, compileFilterLists, type FilterLists } from "./envelope-checks.js";
import { runFd3Program } from "./fd3-program.js";
import { endLine, noteLine } from "./session-log.js";
import { receivedHeader } from "./received-header.js";
import { receiveMessage } from "./receive-message.js";
import { sessionSettings, type SmtpMode } from "./session-settings.js";
import { isServiceMessage, type WakeMessage } from "../../messages.js";
import type { PasswordCheck } from "../../../machines/smtp-session.js";

export const CERTIFICATE_FILE = "control/servercert.pem";

const BUSY_REPLY = "421 too many connections, try again later (#4.3.2)\r\n";
/** What a session whose actor failed gets before its socket is closed (DESIGN.md §2). */
const FAILURE_REPLY = "421 internal error, try again later (#4.3.0)";

const fs = siteFs("smtpd");

/** How long a checkpassword or recipients checker program may run. */
const CHECKER_TIMEOUT_MS = 30_000;

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

/** control/servercert.pem: the private key and the certificate chain in one PEM file, as s/qmail keeps them. */
export async function readCertificate(root: string): Promise<SecureContextOptions | undefined> {
  let pem: Buffer;
  try {
    pem = await fs.readFile(rootPaths(root).controlFile("servercert.pem"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return { key: pem, cert: pem };
}

export function secureContextOf(options: SecureContextOptions | undefined): SecureContext | undefined {
  if (options === undefined) return undefined;
  try {
    return createSecureContext(options);
  } catch (error) {
    throw new ConfigError(CERTIFICATE_FILE, undefined, (error as Error).message);
  }
}

export async function startSmtpService(context: ServiceContext, mode: SmtpMode): Promise<ServiceHandlers> {
  const { root, service } = context;
  // QREGEX is the service's choice, not a connection's: the lists are compiled once per snapshot.
  const engine = context.env.QREGEX === undefined ? "wildmat" : "regex";
  let control: ControlSnapshot = await loadControl(root);
  let lists: FilterLists = compileFilterLists(control, engine);
  const dnsServers = context.env.DNSSERVERS?.split(/[\s,]+/).filter((server) => server !== "");
  const dns = createDns({ site: service, servers: dnsServers?.length ? dnsServers : undefined, timeoutMs: Number(context.env.DNSTIMEOUT ?? "30") * 1000 });
  let certificate = await readCertificate(root);
  let secureContext = secureContextOf(certificate);
  if (mode === "smtps" && certificate === undefined) throw new ConfigError(CERTIFICATE_FILE, undefined, "missing: smtps needs a certificate");
  const queueDir = rootPaths(root).queue;

  function serve(socket: import("node:net").Socket, env: Readonly<Record<string, string>>): void {
    const input = sessionSettings(mode, env, control, secureContext !== undefined);
    const sessionContext = secureContext;
    const checks = { site: service, control, lists, env, dns, checkerTimeoutMs: CHECKER_TIMEOUT_MS };
    const stream = new ClientStream(socket, control.values.timeoutsmtpd * 1000);
    let logPrefix = `${service}: conn ?`;
    let lastReply = "Dropped";
    const machine = smtpSessionMachine.provide({
      actions: {
        reply: (_, { text }) => {
          stream.write(text);
          lastReply = text.slice(0, 3);
        },
        note: ({ context: session }, note) => context.log(noteLine(logPrefix, session, env, note)),
      },
      actors: {
        readLine: fromPromise(() => stream.readLine()),
        receiveMessage: fromPromise(({ input: message }) => {
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
          // A QMAILQUEUE program learns who authenticated, as under s/qmail.
          const queueEnv = message.authUser === undefined ? env : { ...env, TCPREMOTEINFO: message.authUser, AUTHUSER: message.authUser, AUTHPROTOCOL: message.authProtocol };
          return receiveMessage(stream, message, received, { queueDir, env: queueEnv, now: () => clock.now() }).then((outcome) => {
            // The send service learns of the message at once, without waiting to poll lock/trigger.
            if (outcome.kind === "queued") context.send("send", { type: "wake" } satisfies WakeMessage);
            return outcome;
          });
        }),
        startTls: fromPromise(() => stream.startTls(sessionContext!)),
        checkPassword: fromPromise(({ input: check }) =>
          env.CHECKPASSWORD === undefined ? checkPassword(root, check) : checkWithProgram(service, env.CHECKPASSWORD, check, { ...env }, input.auth.challengeHost),
        ),
        checkSender: fromPromise(({ input: check }) => checkSender(checks, check)),
        checkRecipient: fromPromise(({ input: check }) => checkRecipient(checks, check)),
      },
    });
    const actor = context.actors.spawn("conn", machine, { input });
    logPrefix = `${service}: conn ${actor.id.slice(actor.id.lastIndexOf("/") + 1)}`;
    actor.subscribe({
      complete: () => {
        context.log(endLine(logPrefix, actor.getSnapshot().context, env, lastReply));
        stream.end();
      },
      error: () => {
        stream.write(FAILURE_REPLY);
        stream.end();
      },
    });
  }

  const listener: TcpListener = await startTcpListener({
    settings: listenerSettings(context),
    env: context.env,
    site: service,
    busyReply: BUSY_REPLY,
    tls: mode === "smtps" ? certificate : undefined,
    log: (line) => context.log(line),
    onConnection: serve,
  });
  // Connection ids name the port, as one service may listen on several roots' ports.
  context.actors.prefix = `${service}:${listener.address.port}`;
  context.log(`${service}: listening on port ${listener.address.port}`);

  return {
    async reload() {
      try {
        const nextControl = await loadControl(root);
        const nextLists = compileFilterLists(nextControl, engine);
        const nextCertificate = await readCertificate(root);
        secureContext = secureContextOf(nextCertificate);
        if (mode === "smtps" && nextCertificate !== undefined) listener.setTls(nextCertificate);
        control = nextControl;
        lists = nextLists;
        certificate = nextCertificate;
      } catch (error) {
        context.log(`${service}: warning: ${error instanceof Error ? error.message : String(error)}; keeping the settings in force`);
      }
      await listener.reload();
    },
    receive(_from, payload) {
      if (!isServiceMessage(payload) || payload.type !== "memory-query") return;
      const { heapUsed, rss } = process.memoryUsage();
      context.log(`${service}: memory heapUsed ${heapUsed} rss ${rss} sessions ${context.actors.size}`);
    },
    async stop() {
      context.actors.stopAll();
      await listener.close();
    },
  };
}
