// The null client (mini-qmail): a tsqmail root with control/qmqpservers and no queue directory
// keeps no queue at all — enqueue.ts hands every message here, and this module passes it to a
// QMQP server, as mini-qmail's qmail-queue is a link to qmail-qmqpc. The message is spooled to an
// unlinked temporary file first (QMQP needs its length up front, and a failover sends it again),
// so even a large message is never held in memory; the file vanishes when it is closed.
// The answer is qmail-qmqpc's exit code with its qmail-queue text, so every injector (smtpd,
// qmtpd, inject, sendmail, `tsqmail queue`'s callers) reports it as it reports its own queue's.
// Reads: ROOT/queue (exists?), ROOT/control/qmqpservers. Writes: a spool file in the OS temp dir.

import { tmpdir } from "node:os";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import { configLines } from "../config/config-lines.js";
import { parseQmqpServers, type QmqpServer } from "../config/qmqp-servers.js";
import { O_EXCL_CREATE, siteFs, type FileHandle } from "../io/fs.js";
import { rootPaths } from "../root/paths.js";
import type { EnvelopeCheck } from "../queue/envelope.js";
import { QueueExit, queueFailure, type EnqueueResult } from "../queue/queue-exit.js";
import type { EnvelopeInput } from "../queue/queue-writer.js";
import { qmqpSend } from "./qmqp-client.js";

const fs = siteFs("qmqpc");
let spoolSeq = 0;

/** Roots seen with a queue: a full node stays one, so every later enqueue skips this stat. */
const fullNodes = new Set<string>();

const missing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === "ENOENT";

/** control/qmqpservers of `root`; undefined when the file does not exist. Throws ConfigError on a bad line. */
export async function readQmqpServers(root: string): Promise<QmqpServer[] | undefined> {
  const file = rootPaths(root).controlFile("qmqpservers");
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    if (missing(error)) return undefined;
    throw error;
  }
  return parseQmqpServers(configLines(bytes, "control/qmqpservers"), "control/qmqpservers");
}

/**
 * The servers to use when `root` is a null client (no queue/, a qmqpservers file); else undefined.
 * An unreadable or malformed qmqpservers gives no servers, so the message fails with 55
 * ("Zqq unable to read configuration"), as qmail-qmqpc exits.
 */
export async function nullClientServers(root: string): Promise<QmqpServer[] | undefined> {
  if (fullNodes.has(root)) return undefined;
  try {
    await fs.stat(rootPaths(root).queue);
    fullNodes.add(root);
    return undefined;
  } catch (error) {
    if (!missing(error)) return undefined;
  }
  return readQmqpServers(root).catch(() => []);
}

/** Spools the message, takes the envelope, hands both to the first QMQP server that answers. */
export async function sendToQmqpServers(servers: readonly QmqpServer[], message: AsyncIterable<Uint8Array>, envelope: EnvelopeInput): Promise<EnqueueResult> {
  const path = join(tmpdir(), `tsqmail-qmqp.${process.pid}-${threadId}.${Date.now()}.${++spoolSeq}`);
  let fh: FileHandle;
  try {
    // O_EXCL_CREATE opens write-only; the spool is read back, so it is opened again for reading.
    await fs.close(await fs.open(path, O_EXCL_CREATE, 0o600));
    fh = await fs.open(path, "r+");
  } catch {
    return queueFailure(QueueExit.writeError);
  } finally {
    await fs.unlink(path).catch(() => undefined);
  }
  try {
    let length = 0;
    let failed: number | undefined;
    try {
      for await (const chunk of message) {
        failed = QueueExit.writeError;
        await fs.write(fh, chunk, length);
        failed = undefined;
        length += chunk.length;
      }
    } catch {
      return queueFailure(failed ?? QueueExit.readError);
    }
    const checked: EnvelopeCheck = typeof envelope === "function" ? await envelope() : { ok: true, envelope };
    if (!checked.ok) return queueFailure(checked.exit);
    const exit = await qmqpSend(servers, { fs, fh, length }, checked.envelope);
    return exit === QueueExit.ok ? { ok: true, id: null, qp: process.pid } : queueFailure(exit);
  } finally {
    await fs.close(fh).catch(() => undefined);
  }
}
