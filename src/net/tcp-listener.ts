// tcpserver (ucspi-tcp) — or, with TLS, sslserver — inside a service's worker: the worker owns
// the port and, for each connection, does what tcpserver does before it runs its program:
//   1. over the concurrency limit or the client's limit: write the protocol's busy line
//      (e.g. SMTP `421 …`) and close; the connection is never counted;
//   2. look up the client's name (REVERSE=1), bounded by REVERSETIMEOUT; no answer = no name;
//   3. apply the rules cdb: deny closes the connection at once, nothing read from it; allow
//      lays the rule's variables over the service's environment and tcpserver's variables;
//   4. implicit TLS: complete the handshake, add the TLS variables;
//   5. hand the socket and the connection's environment to the protocol handler.
// Each step is logged as tcpserver -v logs it (listener-log.ts). The socket the handler gets has
// its reads and writes behind the socket seam's fault points.
// Reads: the rules cdb (at start and on reload), DNS. Writes: the busy line; log lines.

import type { AddressInfo, Server, Socket } from "node:net";
import { createSecureContext, TLSSocket, type SecureContext, type SecureContextOptions } from "node:tls";
import { createDns } from "../io/dns.js";
import { listen, withFaultPoints } from "../io/net.js";
import { connectionEnv, peerAddress, tlsVariables, ucspiVariables, type ConnectionEndpoints, type Env, type PeerAddress } from "./connection-env.js";
import { ConnectionLimits } from "./connection-limits.js";
import { ConnectionRules } from "./connection-rules.js";
import { END_STATUS, listenerLog } from "./listener-log.js";
import type { ListenerSettings } from "./listener-settings.js";

/** Runs one session. The socket is a TLSSocket on an implicit-TLS listener. */
export type ConnectionHandler = (socket: Socket, env: Env) => void | Promise<void>;

export interface TcpListenerOptions {
  readonly settings: ListenerSettings;
  /** The service's environment, under each connection's own variables. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The fault-plan site of this listener's sockets and lookups: the service's name. */
  readonly site: string;
  /** Written as given (with its line ending) to a connection refused over a limit; unset: just closed. Plain TCP only. */
  readonly busyReply?: string | undefined;
  /** Implicit TLS (sslserver): key, cert and the rest as node:tls takes them. */
  readonly tls?: SecureContextOptions | undefined;
  /** Implicit TLS: ask the client for a certificate; the service decides what one is worth. */
  readonly requestClientCertificate?: boolean | undefined;
  readonly log?: ((line: string) => void) | undefined;
  readonly onConnection: ConnectionHandler;
}

export interface TcpListener {
  readonly address: AddressInfo;
  /** svc -h: re-reads the rules cdb; on an error logs it and keeps the rules in force. */
  reload(): Promise<void>;
  /** New key and certificate for the connections that follow, on a TLS listener (throws if node:tls refuses them). */
  setTls(tls: SecureContextOptions): void;
  /** Stops listening and closes every connection: a service ends its sessions gracefully first. */
  close(): Promise<void>;
}

/** One handler for every socket's errors: a closure per connection would cost memory for nothing. */
const ignoreError = (): void => {};

/** How long a client may take to complete the TLS handshake (node:tls's servers allow 120 s). */
const HANDSHAKE_TIMEOUT_MS = 60_000;

interface Connection {
  readonly id: number;
  readonly remote: PeerAddress;
  /** The socket to close: the TCP socket, then its TLSSocket once it has one. */
  socket: Socket;
  endStatus: number;
}

export async function startTcpListener(options: TcpListenerOptions): Promise<TcpListener> {
  const { settings, site } = options;
  const rules = await ConnectionRules.load(settings.rules);
  const dns = settings.reverse === undefined ? undefined : createDns({ site, ...settings.reverse });
  const limits = new ConnectionLimits(settings.concurrency, settings.perClient);
  let secureContext: SecureContext | undefined = options.tls === undefined ? undefined : createSecureContext(options.tls);
  const log = listenerLog(secureContext === undefined ? "tcpserver" : "sslserver", options.log ?? (() => {}));
  /** By the accepted TCP socket, which closes last (under a TLSSocket too). */
  const connections = new Map<Socket, Connection>();
  // The service's environment is the worker's, fixed when its thread starts: copied once here
  // as a plain object, each connection's is built from the copy (see connectionEnv).
  const serviceEnv = connectionEnv(options.env);
  let sequence = 0;

  function accept(socket: Socket): void {
    // A reset or a write to a closed peer ends the connection; the handler listens too if it cares.
    socket.on("error", ignoreError);
    const id = ++sequence;
    if (socket.remoteAddress === undefined) return void socket.destroy();
    const remote = peerAddress(socket.remoteAddress);
    const refused = limits.admit(remote);
    if (refused !== undefined) {
      log.busy(id, remote.ip, refused, refused === "concurrency" ? settings.concurrency : settings.perClient);
      return refuse(socket);
    }
    const connection: Connection = { id, remote, socket, endStatus: END_STATUS.ended };
    connections.set(socket, connection);
    log.status(limits.active, settings.concurrency);
    // `on`, not `once`: a socket closes once, and once's wrapper would be kept per connection.
    socket.on("close", closed);
    serve(connection).catch((error: unknown) => {
      connection.endStatus = END_STATUS.failed;
      log.warning(`connection ${id} failed: ${error instanceof Error ? error.message : String(error)}`);
      connection.socket.destroy();
    });
  }

  /** One close handler for every connection: a closure each would be kept while it is idle. */
  function closed(this: Socket): void {
    const connection = connections.get(this)!;
    connections.delete(this);
    limits.release(connection.remote);
    log.end(connection.id, connection.endStatus);
    log.status(limits.active, settings.concurrency);
  }

  function refuse(socket: Socket): void {
    // A TLS client could not read a plaintext line, and a handshake costs what an overloaded
    // listener lacks: close without one.
    if (options.busyReply === undefined || secureContext !== undefined) return void socket.destroy();
    socket.write(options.busyReply, () => socket.destroy());
  }

  async function serve(connection: Connection): Promise<void> {
    const { socket, remote } = connection;
    const remoteHost = await dns?.reverse(remote.ip).catch(() => undefined);
    if (socket.destroyed || socket.localAddress === undefined || socket.localPort === undefined || socket.remotePort === undefined) return;
    const endpoints: ConnectionEndpoints = {
      local: peerAddress(socket.localAddress),
      localPort: socket.localPort,
      localHost: settings.localName,
      remote,
      remotePort: socket.remotePort,
      remoteHost,
    };
    const rule = rules.match({ ip: remote.ip, host: remoteHost });
    log.verdict(rule.allow, connection.id, endpoints);
    if (!rule.allow) {
      connection.endStatus = END_STATUS.denied;
      return void socket.destroy();
    }
    const layers = [ucspiVariables(endpoints), rule.env];
    if (secureContext !== undefined) {
      const secure = await handshake(socket, secureContext, options.requestClientCertificate === true);
      connection.socket = secure;
      layers.push(tlsVariables(secure));
    }
    await options.onConnection(withFaultPoints(connection.socket, site), connectionEnv(serviceEnv, ...layers));
  }

  const server: Server = await listen(
    { site, host: settings.ip, port: settings.port, pauseOnConnect: secureContext !== undefined },
    accept,
    (error) => log.warning(`accept failed: ${error.message}`),
  );
  log.status(0, settings.concurrency);

  return {
    address: server.address() as AddressInfo,
    async reload() {
      try {
        await rules.reload();
        log.note(`reloaded ${settings.rules.label}`);
      } catch (error) {
        log.warning(`${error instanceof Error ? error.message : String(error)}; keeping the rules in force`);
      }
    },
    setTls(tls) {
      if (secureContext === undefined) throw new Error("setTls: this listener was not started with TLS");
      secureContext = createSecureContext(tls);
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections.values()) connection.socket.destroy();
      await closed;
    },
  };
}

/** The server side of a TLS handshake on an accepted socket (which has read nothing yet). */
function handshake(socket: Socket, secureContext: SecureContext, requestCert: boolean): Promise<TLSSocket> {
  // A certificate that does not verify still lets the session start: it only earns nothing.
  const secure = new TLSSocket(socket, { isServer: true, secureContext, requestCert, rejectUnauthorized: false });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => secure.destroy(new Error("TLS handshake timed out")), HANDSHAKE_TIMEOUT_MS);
    const fail = (error?: Error): void => {
      clearTimeout(timer);
      reject(error ?? new Error("closed during the TLS handshake"));
    };
    secure.once("error", fail);
    secure.once("close", () => fail());
    secure.once("secure", () => {
      clearTimeout(timer);
      secure.off("error", fail);
      secure.on("error", () => {});
      resolve(secure);
    });
  });
}
