// Socket seam. Every listening socket tsqmail opens, every connection it accepts and every
// connection it makes (remote delivery) pass through here, so a fault plan can fail a bind, reset
// a connection as it is accepted, refuse an outgoing one, or break a connection's reads and writes
// (chaos tests) without touching protocol code. Each point names its site (the service) and
// operation: `listen`, `accept`, `connect`, `read`, `write`. An injected fault
// looks to the caller like the real failure: a rejected listen, a connection reset by the peer,
// a socket destroyed with the injected error.
// Reads and writes: the network, through node:net.

import { createConnection, createServer, type Server, type Socket } from "node:net";
import { faultPoint, type FaultPoint } from "./faults.js";

export interface ListenOptions {
  /** The fault-plan site (the service's name). */
  readonly site: string;
  /** Address to bind; undefined = every local address, IPv6 and IPv4 where the host has both. */
  readonly host: string | undefined;
  readonly port: number;
  /** Read nothing from a new connection until it is resumed or wrapped (TLS must see the whole handshake). */
  readonly pauseOnConnect: boolean;
}

/**
 * Binds and listens. `onConnection` gets each accepted connection; `onError` gets what goes wrong
 * after the socket listens (a failed accept), which must not end the listener.
 */
export async function listen(
  options: ListenOptions,
  onConnection: (socket: Socket) => void,
  onError: (error: Error) => void,
): Promise<Server> {
  faultPoint({ seam: "net", site: options.site, op: "listen" });
  const accept: FaultPoint = { seam: "net", site: options.site, op: "accept" };
  const server = createServer({ pauseOnConnect: options.pauseOnConnect }, (socket) => {
    const fault = injected(accept);
    if (fault === undefined) return onConnection(socket);
    socket.resetAndDestroy();
    onError(fault);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off("error", reject);
      server.on("error", onError);
      resolve();
    });
  });
  return server;
}

export interface ConnectOptions {
  /** The fault-plan site (the service's name). */
  readonly site: string;
  readonly host: string;
  readonly port: number;
  /** How long the connection may take to open. */
  readonly timeoutMs: number;
  /** The local address to send from (control/outgoingip); the system's choice when undefined. */
  readonly localAddress?: string | undefined;
}

/**
 * Opens a TCP connection, its reads and writes behind fault points. Rejects with the system's
 * error (ECONNREFUSED, ENETUNREACH, …) or, when `timeoutMs` passes first, with code ETIMEDOUT.
 */
export async function connect(options: ConnectOptions): Promise<Socket> {
  faultPoint({ seam: "net", site: options.site, op: "connect" });
  const socket = createConnection({ host: options.host, port: options.port, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error: NodeJS.ErrnoException = new Error(`connect to ${options.host}:${options.port} timed out after ${options.timeoutMs} ms`);
        error.code = "ETIMEDOUT";
        reject(error);
      }, options.timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return withFaultPoints(socket, options.site);
}

/** Puts the socket's reads and writes behind fault points; returns the same socket. */
export function withFaultPoints<S extends Socket>(socket: S, site: string): S {
  const read: FaultPoint = { seam: "net", site, op: "read" };
  const write: FaultPoint = { seam: "net", site, op: "write" };
  // Node delivers what it reads through push() and writes through _write()/_writev(): guarding
  // those catches every byte, whichever API (events, pipes, end(data)) the protocol code uses.
  const push = socket.push.bind(socket);
  socket.push = (chunk, encoding) => {
    const fault = chunk === null ? undefined : injected(read);
    if (fault === undefined) return push(chunk, encoding);
    socket.destroy(fault);
    return false;
  };
  const writeOne = socket._write.bind(socket);
  socket._write = (chunk, encoding, callback) => {
    const fault = injected(write);
    if (fault === undefined) writeOne(chunk, encoding, callback);
    else callback(fault);
  };
  const writeMany = socket._writev?.bind(socket);
  if (writeMany !== undefined) {
    socket._writev = (chunks, callback) => {
      const fault = injected(write);
      if (fault === undefined) writeMany(chunks, callback);
      else callback(fault);
    };
  }
  return socket;
}

function injected(point: FaultPoint): Error | undefined {
  try {
    faultPoint(point);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
