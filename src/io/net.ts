// Socket seam. Every listening socket tsqmail opens, every connection it accepts and every
// connection it makes (remote delivery) pass through here, so a fault plan can fail a bind, reset
// a connection as it is accepted, refuse an outgoing one, or break a connection's reads and writes
// (chaos tests) without touching protocol code. Each point names its site (the service) and
// operation: `listen`, `accept`, `connect`, `read`, `write`. An injected fault
// looks to the caller like the real failure: a rejected listen, a connection reset by the peer,
// a socket destroyed with the injected error. A hook's actions look like a slow network (the
// call waits, in order with the socket's other reads or writes) and a connection that dies in
// the middle of a write (the peer gets the first bytes, then a reset).
// Reads and writes: the network, through node:net.

import { createConnection, createServer, type Server, type Socket } from "node:net";
import { delayOf, faultAction, systemError, type FaultAction, type FaultPoint } from "./faults.js";

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
  await delayed(faultAction({ seam: "net", site: options.site, op: "listen" }));
  const accept: FaultPoint = { seam: "net", site: options.site, op: "accept" };
  const server = createServer({ pauseOnConnect: options.pauseOnConnect }, (socket) => {
    const outcome = injected(accept);
    if (outcome instanceof Error) {
      socket.resetAndDestroy();
      onError(outcome);
    } else if (delayOf(outcome) > 0) setTimeout(() => socket.destroyed || onConnection(socket), delayOf(outcome));
    else onConnection(socket);
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
  await delayed(faultAction({ seam: "net", site: options.site, op: "connect" }));
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

/** A guarded socket's fault points and the reads held back, under one key. */
interface Guard {
  readonly read: FaultPoint;
  readonly write: FaultPoint;
  /** The reads (and the end of the stream) held back behind a delayed one, in order. */
  held: Promise<void> | undefined;
}

const GUARD = Symbol("fault points");

type GuardedSocket = Socket & { [GUARD]: Guard };

/** Each site's two points, made once: sockets share them. */
const sitePoints = new Map<string, { readonly read: FaultPoint; readonly write: FaultPoint }>();

/**
 * Puts the socket's reads and writes behind fault points; returns the same socket. The guards are
 * functions shared by every socket, which call the prototype's own methods: an idle connection
 * then holds one small record, not closures and bound copies of push, _write and _writev.
 */
export function withFaultPoints<S extends Socket>(socket: S, site: string): S {
  let points = sitePoints.get(site);
  if (points === undefined) {
    points = { read: { seam: "net", site, op: "read" }, write: { seam: "net", site, op: "write" } };
    sitePoints.set(site, points);
  }
  // Written out, not spread: V8 gives each object made by a spread its own hidden class.
  (socket as unknown as GuardedSocket)[GUARD] = { read: points.read, write: points.write, held: undefined };
  // Node delivers what it reads through push() and writes through _write()/_writev(): guarding
  // those catches every byte, whichever API (events, pipes, end(data)) the protocol code uses.
  socket.push = guardedPush;
  socket._write = guardedWrite;
  if (socket._writev !== undefined) socket._writev = guardedWritev;
  return socket;
}

/** The method the socket's class has, under the guard this socket was given. */
const original = <K extends "push" | "_write" | "_writev">(socket: Socket, name: K): NonNullable<Socket[K]> =>
  (Object.getPrototypeOf(socket) as Socket)[name]!;

function guardedPush(this: GuardedSocket, chunk: unknown, encoding?: BufferEncoding): boolean {
  const guard = this[GUARD];
  const push = original(this, "push");
  const outcome = chunk === null ? undefined : injected(guard.read);
  if (outcome instanceof Error) {
    this.destroy(outcome);
    return false;
  }
  const delayMs = delayOf(outcome);
  if (guard.held === undefined && delayMs === 0) return push.call(this, chunk, encoding);
  // Once a read is held back, later ones (and the end of the stream) queue behind it: a slow
  // network delays bytes, it never reorders them.
  const next: Promise<void> = (guard.held ?? Promise.resolve())
    .then(() => delayed(outcome))
    .then(() => {
      if (!this.destroyed) push.call(this, chunk, encoding);
      if (guard.held === next) guard.held = undefined;
    });
  guard.held = next;
  return true;
}

function guardedWrite(this: GuardedSocket, chunk: Buffer | string, encoding: BufferEncoding, callback: WriteCallback): void {
  const writeOne = original(this, "_write");
  guarded(this, () => (typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk), (done) => writeOne.call(this, chunk, encoding, done), callback);
}

function guardedWritev(this: GuardedSocket, chunks: Array<{ chunk: Buffer | string; encoding: BufferEncoding }>, callback: WriteCallback): void {
  const writeMany = original(this, "_writev");
  guarded(
    this,
    () => Buffer.concat(chunks.map(({ chunk, encoding }) => (typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk))),
    (done) => writeMany.call(this, chunks, done),
    callback,
  );
}

// The stream calls _write/_writev one at a time, each after the last one's callback: a delay
// here holds back every later write too.
function guarded(socket: GuardedSocket, bytes: () => Buffer, send: (callback: WriteCallback) => void, callback: WriteCallback): void {
  const write = socket[GUARD].write;
  const outcome = injected(write);
  if (outcome instanceof Error) return callback(outcome);
  if (outcome !== undefined && "truncateAfter" in outcome) {
    const part = bytes().subarray(0, Math.max(0, outcome.truncateAfter));
    // The peer gets the first bytes, then a reset (RST, as from a crashed or cut-off host);
    // the writer gets ECONNRESET, as from a real reset.
    const reset = (): void => {
      socket.resetAndDestroy();
      callback(systemError("ECONNRESET", write));
    };
    // "buffer" is the encoding Node's streams pass with a Buffer; its type does not list it.
    return part.length === 0 ? reset() : original(socket, "_write").call(socket, part, "buffer" as BufferEncoding, reset);
  }
  const delayMs = delayOf(outcome);
  if (delayMs === 0) return send(callback);
  setTimeout(() => (socket.destroyed ? callback(systemError("ECONNRESET", write)) : send(callback)), delayMs);
}

type WriteCallback = (error?: Error | null) => void;

function injected(point: FaultPoint): Error | FaultAction | undefined {
  try {
    return faultAction(point);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

const delayed = (action: FaultAction | undefined): Promise<void> | undefined => {
  const delayMs = delayOf(action);
  return delayMs === 0 ? undefined : new Promise((resolve) => setTimeout(resolve, delayMs));
};
