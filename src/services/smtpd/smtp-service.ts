// The SMTP listener services — smtpd (25), submission (587) and smtps (465) — are tcpserver (or
// sslserver) running qmail-smtpd: one listener in this worker, one `smtp-session` actor per
// connection (id `<service>:<port>/conn/<n>`), whose replies, reads, DATA, STARTTLS and password
// checks are provided here. The three differ only in their defaults (session-settings.ts) and
// smtps's implicit TLS.
// Reads: ROOT/control/* (loadControl), control/servercert.pem (key and certificate, PEM), the
// virtual users for AUTH. Writes: the queue (enqueue), the service log.
// svc -h re-reads the control files, the certificate and the listener's rules; a session keeps
// the settings it started with.

import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";
import { fromPromise } from "xstate";
import { smtpSessionMachine } from "../../../machines/smtp-session.js";
import { clock } from "../../../supervisors/clock.js";
import type { ServiceContext, ServiceHandlers } from "../../../supervisors/service-module.js";
import { ConfigError } from "../../config/config-error.js";
import { loadControl, type ControlSnapshot } from "../../config/load-control.js";
import { rcptHostAllowed } from "../../config/rcpthosts.js";
import { siteFs } from "../../io/fs.js";
import { listenerSettings } from "../../net/listener-settings.js";
import { startTcpListener, type TcpListener } from "../../net/tcp-listener.js";
import { rootPaths } from "../../root/paths.js";
import { ClientStream } from "./client-stream.js";
import { checkPassword } from "./password-check.js";
import { receivedHeader } from "./received-header.js";
import { receiveMessage } from "./receive-message.js";
import { sessionSettings, type SmtpMode } from "./session-settings.js";
import type { WakeMessage } from "../../messages.js";

export const CERTIFICATE_FILE = "control/servercert.pem";

const BUSY_REPLY = "421 too many connections, try again later (#4.3.2)\r\n";
/** What a session whose actor failed gets before its socket is closed (DESIGN.md §2). */
const FAILURE_REPLY = "421 internal error, try again later (#4.3.0)";

const fs = siteFs("smtpd");

/** control/servercert.pem: the private key and the certificate chain in one PEM file, as s/qmail keeps them. */
async function readCertificate(root: string): Promise<SecureContextOptions | undefined> {
  let pem: Buffer;
  try {
    pem = await fs.readFile(rootPaths(root).controlFile("servercert.pem"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return { key: pem, cert: pem };
}

function secureContextOf(options: SecureContextOptions | undefined): SecureContext | undefined {
  if (options === undefined) return undefined;
  try {
    return createSecureContext(options);
  } catch (error) {
    throw new ConfigError(CERTIFICATE_FILE, undefined, (error as Error).message);
  }
}

export async function startSmtpService(context: ServiceContext, mode: SmtpMode): Promise<ServiceHandlers> {
  const { root, service } = context;
  let control: ControlSnapshot = await loadControl(root);
  let certificate = await readCertificate(root);
  let secureContext = secureContextOf(certificate);
  if (mode === "smtps" && certificate === undefined) throw new ConfigError(CERTIFICATE_FILE, undefined, "missing: smtps needs a certificate");
  const queueDir = rootPaths(root).queue;

  function serve(socket: import("node:net").Socket, env: Readonly<Record<string, string>>): void {
    const input = sessionSettings(mode, env, control, secureContext !== undefined);
    const sessionControl = control;
    const sessionContext = secureContext;
    const stream = new ClientStream(socket, control.values.timeoutsmtpd * 1000);
    const machine = smtpSessionMachine.provide({
      actions: { reply: (_, { text }) => stream.write(text) },
      guards: { rcptHostAllowed: (_, { address }) => rcptHostAllowed(sessionControl, address) },
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
          return receiveMessage(stream, message, received, { queueDir, env, now: () => clock.now() }).then((outcome) => {
            // The send service learns of the message at once, without waiting to poll lock/trigger.
            if (outcome.kind === "queued") context.send("send", { type: "wake" } satisfies WakeMessage);
            return outcome;
          });
        }),
        startTls: fromPromise(() => stream.startTls(sessionContext!)),
        checkPassword: fromPromise(({ input: check }) => checkPassword(root, check)),
      },
    });
    const actor = context.actors.spawn("conn", machine, { input });
    actor.subscribe({
      complete: () => stream.end(),
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
        const nextCertificate = await readCertificate(root);
        secureContext = secureContextOf(nextCertificate);
        if (mode === "smtps" && nextCertificate !== undefined) listener.setTls(nextCertificate);
        control = nextControl;
        certificate = nextCertificate;
      } catch (error) {
        context.log(`${service}: warning: ${error instanceof Error ? error.message : String(error)}; keeping the settings in force`);
      }
      await listener.reload();
    },
    async stop() {
      context.actors.stopAll();
      await listener.close();
    },
  };
}
