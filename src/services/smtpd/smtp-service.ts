// The SMTP listener services — smtpd (25), submission (587) and smtps (465) — are tcpserver (or
// sslserver) running qmail-smtpd: one listener in this worker, one `smtp-session` actor per
// connection (id `<service>:<port>/conn/<n>`), whose replies, reads, DATA, STARTTLS, password
// and envelope checks session-wiring.ts provides. The three differ only in their defaults
// (session-settings.ts) and smtps's implicit TLS.
// Reads: ROOT/control/* (loadControl), control/servercert.pem (key and certificate, PEM), the
// virtual users for AUTH (or CHECKPASSWORD's program), DNS for HELOCHECK/MFDNSCHECK
// (DNSSERVERS, DNSTIMEOUT), CAFILE for client certificates. Writes: the queue (enqueue), the service log: s/qmail-style lines
// per decision and per connection (session-log.ts), and the worker's memory use when another
// service or the host sends `memory-query`. Keeps a stock of send's spare inodes to make each
// intd/N of (queue/spare-stock.ts: `spares-wanted` to send, `spares` back).
// svc -h re-reads the control files, CAFILE, the certificate and the listener's rules; a session
// keeps the settings it started with (the listener's wiring: net/listening-service.ts).

import type { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";
import type { ActorRefFrom } from "xstate";
import type { ServiceContext, ServiceHandlers } from "../../../supervisors/service-module.js";
import { loadControl, type ControlSnapshot } from "../../config/load-control.js";
import { createDns } from "../../io/dns.js";
import { siteFs } from "../../io/fs.js";
import type { Env } from "../../net/connection-env.js";
import type { ServerCertificate } from "../../net/listener-certificate.js";
import { startListeningService } from "../../net/listening-service.js";
import { rootPaths } from "../../root/paths.js";
import { readClientAuthorities } from "./client-certificate.js";
import { ClientStream } from "./client-stream.js";
import { compileFilterLists, type FilterLists } from "./envelope-checks.js";
import { wiredSessionMachine, type Connection } from "./session-wiring.js";
import { compactEnv } from "./session-env.js";
import { endLine } from "./session-log.js";
import { sessionSettings, type SmtpMode } from "./session-settings.js";
import { isServiceMessage, type SparesWantedMessage } from "../../messages.js";
import { SpareStock } from "../../queue/spare-stock.js";

const BUSY_REPLY = "421 too many connections, try again later (#4.3.2)\r\n";
/** What a session whose actor failed gets before its socket is closed (DESIGN.md §2). */
const FAILURE_REPLY = "421 internal error, try again later (#4.3.0)";

const fs = siteFs("smtpd");

/** How long a recipients checker program may run. */
const CHECKER_TIMEOUT_MS = 30_000;

/** What CAFILE (ucspi-ssl's name) gives: the context that names its CAs to clients, and the CAs. */
interface ClientTrust {
  readonly context: SecureContext;
  readonly authorities: readonly X509Certificate[];
}

/**
 * CAFILE: the CAs whose client certificates earn relaying under UCSPITLS `?` and `@`; relative
 * to the root. Unset: no client certificate is ever trusted.
 */
async function clientTrustOf(root: string, caFile: string | undefined, certificate: ServerCertificate | undefined): Promise<ClientTrust | undefined> {
  if (certificate === undefined) return undefined;
  const trusted = await readClientAuthorities(fs, root, caFile);
  if (trusted === undefined) return undefined;
  return { context: createSecureContext({ ...certificate.options, ca: trusted.pem }), authorities: trusted.authorities };
}

/** What a session starts with; svc -h replaces it whole. */
interface SmtpSettings {
  readonly control: ControlSnapshot;
  readonly lists: FilterLists;
  readonly secureContext: SecureContext | undefined;
  readonly clientTrust: ClientTrust | undefined;
}

type SessionActor = ActorRefFrom<ReturnType<typeof wiredSessionMachine>>;

/**
 * The observer of one session's end: an object with its three references, where two closures
 * per connection (each with its own scope) would be kept for as long as the session is idle.
 */
class SessionEnd {
  constructor(
    private readonly service: { readonly connections: Map<string, Connection>; log(line: string): void },
    private readonly id: string,
    private readonly actor: SessionActor,
  ) {}

  complete(): void {
    const connection = this.forget();
    this.service.log(endLine(connection.logPrefix, this.actor.getSnapshot().context, connection.env, connection.lastReply));
    connection.stream.end();
  }

  error(): void {
    const connection = this.forget();
    connection.stream.write(FAILURE_REPLY);
    connection.stream.end();
  }

  private forget(): Connection {
    const connection = this.service.connections.get(this.id)!;
    this.service.connections.delete(this.id);
    return connection;
  }
}

export async function startSmtpService(context: ServiceContext, mode: SmtpMode): Promise<ServiceHandlers> {
  const { root, service } = context;
  // QREGEX is the service's choice, not a connection's: the lists are compiled once per snapshot.
  const engine = context.env.QREGEX === undefined ? "wildmat" : "regex";
  const dnsServers = context.env.DNSSERVERS?.split(/[\s,]+/).filter((server) => server !== "");
  const dns = createDns({ site: service, servers: dnsServers?.length ? dnsServers : undefined, timeoutMs: Number(context.env.DNSTIMEOUT ?? "30") * 1000 });
  const queueDir = rootPaths(root).queue;

  const connections = new Map<string, Connection>();
  const spares = new SpareStock((count) => context.send("send", { type: "spares-wanted", count } satisfies SparesWantedMessage));
  const machine = wiredSessionMachine(
    { root, service, queueDir, log: (line) => context.log(line), send: (to, payload) => context.send(to, payload), spare: () => spares.take() },
    connections,
  );
  let connectionCount = 0;
  let memoryReports = 0;

  async function load(certificate: ServerCertificate | undefined): Promise<SmtpSettings> {
    const control = await loadControl(root);
    const lists = compileFilterLists(control, engine);
    return { control, lists, secureContext: certificate?.context, clientTrust: await clientTrustOf(root, context.env.CAFILE, certificate) };
  }

  /** What every session's end needs of the service. */
  const ending = { connections, log: (line: string) => context.log(line) };

  function serve(socket: Socket, connectionEnv: Env, { control, lists, secureContext, clientTrust }: SmtpSettings): void {
    const env = compactEnv(context.env, connectionEnv);
    const input = sessionSettings(mode, env, control, secureContext !== undefined);
    const key = String(++connectionCount);
    const id = `${context.actors.prefix}/conn/${key}`;
    const connection: Connection = {
      stream: new ClientStream(socket, control.values.timeoutsmtpd * 1000),
      env,
      checks: { site: service, control, lists, env, dns, checkerTimeoutMs: CHECKER_TIMEOUT_MS },
      // UCSPITLS ? / @: STARTTLS asks for a client certificate, verified against CAFILE.
      secureContext: input.tls.certificateRelay && clientTrust !== undefined ? clientTrust.context : secureContext,
      clientAuthorities: input.tls.certificateRelay ? clientTrust?.authorities : undefined,
      logPrefix: `${service}: conn ${key}`,
      host: input.auth.challengeHost,
      lastReply: "Dropped",
    };
    // Registered before the actor starts: its first act is the 220 greeting.
    connections.set(id, connection);
    const actor = context.actors.spawn("conn", machine, { input, key });
    actor.subscribe(new SessionEnd(ending, id, actor));
  }

  const listening = await startListeningService({ context, tls: mode === "smtps" ? "implicit" : "starttls", busyReply: BUSY_REPLY, load, serve });

  return {
    reload: listening.reload,
    receive(_from, payload) {
      if (!isServiceMessage(payload)) return;
      if (payload.type === "spares") spares.receive(payload.paths);
      if (payload.type !== "memory-query") return;
      // Under --expose-gc (the memory tests), collect first: the report then shows live memory.
      (globalThis as { gc?: () => void }).gc?.();
      const { heapUsed, rss } = process.memoryUsage();
      // Numbered, so an asker can tell its answer from earlier ones.
      context.log(`${service}: memory report ${++memoryReports} heapUsed ${heapUsed} rss ${rss} sessions ${context.actors.size}`);
    },
    stop: listening.stop,
  };
}
