// What every listening service (smtpd, submission, smtps, pop3d, pop3s, qmtpd, qmtps, qmqpd) does
// around its sessions, in one place: read the certificate and the service's settings, start the
// listener (tcp-listener.ts) on the service's env, name connection actors after the port; on
// svc -h re-read the settings and the certificate — one that fails to load is logged and the ones
// in force stay, whole — then the listener's rules; on stop end the sessions, then the listener.
// Each connection gets the settings in force when it arrived and keeps them for its life.
// Reads: control/servercert.pem (listener-certificate.ts), what the service's `load` reads, the
// rules cdb. Writes: the service log.

import type { Socket } from "node:net";
import type { ServiceContext } from "../../supervisors/service-module.js";
import { ConfigError } from "../config/config-error.js";
import type { Env } from "./connection-env.js";
import { CERTIFICATE_FILE, readServerCertificate, type ServerCertificate } from "./listener-certificate.js";
import { listenerSettings } from "./listener-settings.js";
import { startTcpListener } from "./tcp-listener.js";

/**
 * How a service uses control/servercert.pem: `none` never reads it; `starttls` offers an upgrade
 * when it exists; `implicit` (sslserver) needs it and handshakes before the protocol starts.
 */
export type TlsUse = "none" | "starttls" | "implicit";

export interface ListeningServiceOptions<Settings> {
  readonly context: ServiceContext;
  readonly tls: TlsUse;
  /** With `implicit`: ask each client for a certificate (the service checks it, e.g. against CAFILE). */
  readonly requestClientCertificate?: boolean;
  /** The protocol's busy line for a connection over a limit (see TcpListenerOptions). */
  readonly busyReply?: string | undefined;
  /** Reads what sessions use, at start and on svc -h; what it throws fails the start or, on reload, keeps the settings in force. */
  load(certificate: ServerCertificate | undefined): Promise<Settings>;
  serve(socket: Socket, env: Env, settings: Settings): void;
  /** On stop, after the session actors stop (completing nothing), before the sockets close: give back what sessions held. */
  release?(): Promise<unknown>;
}

export interface ListeningService {
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export async function startListeningService<Settings>(options: ListeningServiceOptions<Settings>): Promise<ListeningService> {
  const { context, tls } = options;
  const { root, service } = context;
  const readCertificate = (): Promise<ServerCertificate | undefined> => (tls === "none" ? Promise.resolve(undefined) : readServerCertificate(root, service));

  const certificate = await readCertificate();
  if (tls === "implicit" && certificate === undefined) throw new ConfigError(CERTIFICATE_FILE, undefined, `missing: ${service} needs a certificate`);
  let settings = await options.load(certificate);

  const listener = await startTcpListener({
    settings: listenerSettings(context),
    env: context.env,
    site: service,
    busyReply: options.busyReply,
    tls: tls === "implicit" ? certificate?.options : undefined,
    requestClientCertificate: options.requestClientCertificate,
    log: (line) => context.log(line),
    onConnection: (socket, env) => options.serve(socket, env, settings),
  });
  // Connection ids name the port, as one service may listen on several roots' ports.
  context.actors.prefix = `${service}:${listener.address.port}`;
  context.log(`${service}: listening on port ${listener.address.port}`);

  return {
    async reload() {
      try {
        const nextCertificate = await readCertificate();
        const next = await options.load(nextCertificate);
        // A certificate removed since the start leaves the implicit-TLS listener on the one it has.
        if (tls === "implicit" && nextCertificate !== undefined) listener.setTls(nextCertificate.options);
        settings = next;
      } catch (error) {
        context.log(`${service}: warning: ${error instanceof Error ? error.message : String(error)}; keeping the settings in force`);
      }
      await listener.reload();
    },
    async stop() {
      context.actors.stopAll();
      await options.release?.();
      await listener.close();
    },
  };
}
