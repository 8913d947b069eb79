// Harness for the QMTP/QMQP tests: a root with control files, a queue (or none: a null client)
// and the real qmtpd / qmtps / qmqpd (or smtpd) services in a real runtime; a raw client that
// writes bytes exactly as given and reads the server's reply netstrings; and readers for what the
// queue holds, including files a refused message must not leave behind.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect as tcpConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { dirname, join } from "node:path";
import { afterEach } from "vitest";
import { encodeNetstring, NetstringCollector } from "../../src/net/netstring.js";
import { createQueue } from "../../src/queue/create-queue.js";
import { QUEUE_SPLIT } from "../../src/queue/queue-layout.js";
import { ensureServerCertificate } from "../../src/root/server-certificate.js";
import { createRuntime, type Runtime } from "../../src/runtime/runtime.js";
import { addService, listeningPort, logText, makeRoot, waitFor } from "../runtime/test-root.js";

let running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

export interface NetstringRootOptions {
  /** Files under the root (`control/databytes`, …), written before the services start. */
  readonly files?: Readonly<Record<string, string>>;
  /** false: no queue directory (with control/qmqpservers: a null client). */
  readonly queue?: boolean;
}

export interface NetstringRoot {
  readonly root: string;
  readonly runtime: Runtime;
  port(service: string): Promise<number>;
  log(service: string): string;
  /** The committed messages: mess file text and todo envelope, oldest first. */
  queued(): Array<{ mess: string; envelope: string }>;
  /** Files in mess/, intd/ and todo/: what a refused message must not leave. */
  queueFiles(): string[];
  stop(): Promise<void>;
}

export async function startRoot(services: Readonly<Record<string, Readonly<Record<string, string>>>>, options: NetstringRootOptions = {}): Promise<NetstringRoot> {
  const made = makeRoot([]);
  const { root } = made;
  const control = join(root, "control");
  mkdirSync(control, { recursive: true });
  const files = { "control/me": "hub.example.test", "control/rcpthosts": "example.test\n.sub.example.test", "control/locals": "example.test", ...options.files };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), `${text}\n`);
  }
  await ensureServerCertificate(control, "hub.example.test");
  const queueDir = join(root, "queue");
  if (options.queue !== false) await createQueue(queueDir);
  for (const [name, env] of Object.entries(services)) {
    const dir = addService(root, { name, env: { IP: "127.0.0.1", PORT: "0", REVERSE: "0", ...env } });
    writeFileSync(join(dir, "module"), `${name}\n`);
  }
  const runtime = createRuntime({ root, env: { PATH: process.env.PATH } });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await runtime.stop();
  };
  running.push(async () => {
    await stop();
    made.cleanup();
  });
  await runtime.start();
  const split = (dir: string): string[] => Array.from({ length: QUEUE_SPLIT }, (_, i) => readdirSync(join(queueDir, dir, String(i))).map((n) => `${dir}/${i}/${n}`)).flat();
  return {
    root,
    runtime,
    stop,
    log: (service) => logText(root, service),
    port: (service) => listeningPort(root, service, 15_000),
    queued() {
      const ids = readdirSync(join(queueDir, "todo")).map(Number).sort((x, y) => x - y);
      return ids.map((id) => ({
        mess: readFileSync(join(queueDir, "mess", String(id % QUEUE_SPLIT), String(id)), "latin1"),
        envelope: readFileSync(join(queueDir, "todo", String(id)), "latin1"),
      }));
    },
    queueFiles: () => (existsSync(queueDir) ? [...split("mess"), ...["intd", "todo"].flatMap((d) => readdirSync(join(queueDir, d)).map((n) => `${d}/${n}`))] : []),
  };
}

/** A raw client: writes bytes as given, collects the server's reply netstrings. */
export class NetstringClient {
  readonly replies: string[] = [];
  closed = false;
  private readonly collector = new NetstringCollector(10_000);
  readonly socket: Socket;

  /** `tls`: implicit TLS, with a client certificate when given one. */
  constructor(port: number, tls: boolean | { readonly cert: Buffer; readonly key: Buffer } = false) {
    const certificate = typeof tls === "object" ? tls : {};
    this.socket = tls !== false ? tlsConnect({ port, host: "127.0.0.1", rejectUnauthorized: false, ...certificate }) : tcpConnect({ port, host: "127.0.0.1" });
    this.socket.on("data", (chunk: Buffer) => this.replies.push(...this.collector.push(chunk).map((reply) => reply.toString("latin1"))));
    this.socket.on("error", () => {});
    this.socket.on("close", () => (this.closed = true));
  }

  send(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  async waitReplies(count: number, timeoutMs = 15_000): Promise<string[]> {
    await waitFor(() => this.replies.length >= count || this.closed, timeoutMs, `${count} replies, got ${JSON.stringify(this.replies)}`);
    return this.replies;
  }

  async untilClosed(timeoutMs = 15_000): Promise<void> {
    await waitFor(() => this.closed, timeoutMs, "the connection to close");
  }
}

const ns = (text: string | Buffer): Buffer => encodeNetstring(typeof text === "string" ? Buffer.from(text, "latin1") : text);

/** One QMTP package: the message (its first byte says LF or CRLF), the sender, the recipient list. */
export function qmtpPackage(message: string, sender: string, recipients: readonly string[]): Buffer {
  return Buffer.concat([ns(message), ns(sender), ns(Buffer.concat(recipients.map((r) => ns(r))))]);
}

/** One QMQP request: a netstring holding the message, the sender and each recipient. */
export function qmqpRequest(message: string, sender: string, recipients: readonly string[]): Buffer {
  return ns(Buffer.concat([ns(message), ns(sender), ...recipients.map((r) => ns(r))]));
}
