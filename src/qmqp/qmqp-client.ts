// The QMQP client (qmail-qmqpc, cr.yp.to/proto/qmqp.html): sends one message, already spooled to
// a file because its length must be known first and a failover must send it again, as a single
// netstring holding the message, the sender and the recipients; the server's one reply netstring
// decides. Servers are tried in order: a connection that cannot be opened within 10 s moves on
// (qmail-qmqpc: exit 73, 72 for a timeout), and — unlike qmail-qmqpc, which gives up with 74 —
// so does a connection lost or silent for 60 s before a reply, because the message is still
// ours to hand on; the worst case is a duplicate, which at-least-once delivery allows. A K reply
// is success (0), Z stops with 71, D with 31, as qmail-qmqpc exits. No server at all: 55.
// Reads: the spool file. Writes: the network, through the socket seam (site "qmqpc").

import type { Socket } from "node:net";
import type { QmqpServer } from "../config/qmqp-servers.js";
import type { FileHandle, SiteFs } from "../io/fs.js";
import { connect } from "../io/net.js";
import { encodeNetstring, NETSTRING_END, netstringHeader, NetstringCollector } from "../net/netstring.js";
import type { EncodedEnvelope } from "../queue/envelope.js";
import { QueueExit } from "../queue/queue-exit.js";

const CONNECT_TIMEOUT_MS = 10_000;
const IO_TIMEOUT_MS = 60_000;
/** A QMQP reply is one short line of text; anything longer is not a QMQP server. */
const MAX_REPLY_BYTES = 1000;
const SPOOL_CHUNK = 64 * 1024;

export interface SpooledMessage {
  readonly fs: SiteFs;
  readonly fh: FileHandle;
  readonly length: number;
}

type Attempt = { readonly exit: number } | { readonly exit: "next"; readonly lastError: number };

/** Hands the message to the first server that answers; returns qmail-qmqpc's exit code. */
export async function qmqpSend(servers: readonly QmqpServer[], message: SpooledMessage, envelope: EncodedEnvelope): Promise<number> {
  const after = Buffer.concat([NETSTRING_END, encodeNetstring(envelope.sender), ...envelope.recipients.map((r) => encodeNetstring(r))]);
  const before = netstringHeader(message.length);
  const total = before.length + message.length + after.length;
  let lastError: number = QueueExit.configUnreadable;
  for (const server of servers) {
    const attempt = await tryServer(server, message, [netstringHeader(total), before], Buffer.concat([after, NETSTRING_END]));
    if (attempt.exit !== "next") return attempt.exit;
    lastError = attempt.lastError;
  }
  return lastError;
}

async function tryServer(server: QmqpServer, message: SpooledMessage, head: Buffer[], tail: Buffer): Promise<Attempt> {
  let socket: Socket;
  try {
    socket = await connect({ site: "qmqpc", host: server.host, port: server.port, timeoutMs: CONNECT_TIMEOUT_MS });
  } catch (error) {
    return { exit: "next", lastError: (error as NodeJS.ErrnoException).code === "ETIMEDOUT" ? QueueExit.connectionTimedOut : QueueExit.connectionRejected };
  }
  try {
    const reply = awaitReply(socket);
    await send(socket, message, head, tail);
    let timer: NodeJS.Timeout | undefined;
    const silence = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), IO_TIMEOUT_MS)));
    const letter = await Promise.race([reply, silence]);
    clearTimeout(timer);
    if (letter === "K") return { exit: QueueExit.ok };
    if (letter === "Z") return { exit: QueueExit.temporarilyRejected };
    if (letter === "D") return { exit: QueueExit.permanentlyRejected };
    return { exit: "next", lastError: QueueExit.communicationFailed };
  } catch {
    return { exit: "next", lastError: QueueExit.communicationFailed };
  } finally {
    socket.destroy();
  }
}

/** Writes the request, waiting for the socket to drain; rejects if the connection breaks or stalls. */
async function send(socket: Socket, message: SpooledMessage, head: Buffer[], tail: Buffer): Promise<void> {
  const write = (bytes: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("QMQP write timed out")), IO_TIMEOUT_MS);
      socket.write(bytes, (error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      });
    });
  for (const bytes of head) await write(bytes);
  const buffer = Buffer.alloc(SPOOL_CHUNK);
  for (let position = 0; position < message.length; ) {
    const n = await message.fs.read(message.fh, buffer, position);
    if (n === 0) throw new Error("spool file shorter than the message");
    await write(Buffer.from(buffer.subarray(0, n)));
    position += n;
  }
  await write(tail);
}

/** The first letter of the server's reply netstring; undefined for anything else (a malformed reply, EOF). */
function awaitReply(socket: Socket): Promise<string | undefined> {
  const collector = new NetstringCollector(MAX_REPLY_BYTES);
  return new Promise((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      try {
        const [reply] = collector.push(chunk);
        if (reply !== undefined) resolve(reply.toString("latin1", 0, 1));
      } catch {
        resolve(undefined);
      }
    });
    socket.on("error", () => resolve(undefined));
    socket.on("close", () => resolve(undefined));
  });
}
