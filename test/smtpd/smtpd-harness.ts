// Harness for the smtpd tests: a root with control files, a queue and the real smtpd /
// submission / smtps services in real worker threads (createRuntime), a self-signed certificate
// made by openssl, and a raw loopback client that sends bytes exactly as given.

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ResourceLimits } from "node:worker_threads";
import { afterEach } from "vitest";
import { addVirtualUser } from "../../src/config/virtual-users.js";
import { createQueue } from "../../src/queue/create-queue.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import type { InspectionRecord } from "../../supervisors/inspection-record.js";
import { addService, listeningPort, logText, makeRoot, waitFor } from "../runtime/test-root.js";

const BUILTIN = ["smtpd", "submission", "smtps"];
const SMTPD_MODULE = fileURLToPath(new URL("../../src/services/smtpd/service.ts", import.meta.url));

let running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

export interface SmtpRoot {
  readonly root: string;
  port(service: string): Promise<number>;
  /** The queued messages: mess file bytes and intd envelope, oldest first. */
  queued(): Array<{ mess: string; envelope: string }>;
  log(service: string): string;
  /** Every inspection record since start (the runtime is inspected from the beginning). */
  readonly records: InspectionRecord[];
  /** Sends a message to a service as the host. */
  send(service: string, payload: unknown): boolean;
  /** svc: control letters for the named services. */
  svc(letters: string, services: readonly string[]): void;
}

export interface SmtpOptions {
  /** Make control/servercert.pem (default true). */
  readonly certificate?: boolean;
  /** Extra files under the root (`control/badmailfrom`, `users/recipients.cdb`, …). */
  readonly files?: Readonly<Record<string, string | Buffer>>;
  /** Subscribe to the inspection stream (default true); the memory tests measure without it. */
  readonly inspect?: boolean;
  /** V8 limits for the services' workers (the runtime's option). */
  readonly resourceLimits?: ResourceLimits;
}

export async function startSmtp(services: Readonly<Record<string, Readonly<Record<string, string>>>>, options: SmtpOptions = {}): Promise<SmtpRoot> {
  const made = makeRoot([]);
  const { root } = made;
  const control = join(root, "control");
  execFileSync("mkdir", ["-p", control, join(root, "queue")]);
  writeFileSync(join(control, "me"), "mx.example.test\n");
  writeFileSync(join(control, "rcpthosts"), "example.test\n.sub.example.test\n");
  writeFileSync(join(control, "locals"), "example.test\n");
  await createQueue(join(root, "queue"));
  if (options.certificate !== false) {
    const key = join(control, "key.pem");
    const cert = join(control, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=mx.example.test"], { stdio: "ignore" });
    writeFileSync(join(control, "servercert.pem"), Buffer.concat([readFileSync(key), readFileSync(cert)]));
  }
  for (const [name, bytes] of Object.entries(options.files ?? {})) {
    execFileSync("mkdir", ["-p", dirname(join(root, name))]);
    writeFileSync(join(root, name), bytes);
  }
  await addVirtualUser(root, "alice", { password: "wonderland", cram: true });
  for (const [name, env] of Object.entries(services)) {
    const dir = addService(root, { name, env: { IP: "127.0.0.1", PORT: "0", REVERSE: "0", ...env } });
    // A second smtpd under another name runs the smtpd module by its path.
    writeFileSync(join(dir, "module"), `${BUILTIN.includes(name) ? name : SMTPD_MODULE}\n`);
  }
  const runtime = createRuntime({ root, env: { PATH: process.env.PATH }, ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }) });
  const records: InspectionRecord[] = [];
  if (options.inspect !== false) runtime.subscribe((record) => records.push(record));
  running.push(async () => {
    await runtime.stop();
    made.cleanup();
  });
  await runtime.start();
  const queueDir = join(root, "queue");
  return {
    root,
    records,
    log: (service) => logText(root, service),
    send: (service, payload) => runtime.send(service, payload),
    svc: (letters, services) => runtime.svc(letters, services),
    port: (service) => listeningPort(root, service, 10_000),
    queued() {
      const ids = readdirSync(join(queueDir, "todo")).map(Number).sort((x, y) => x - y);
      return ids.map((id) => ({
        mess: readFileSync(join(queueDir, "mess", String(id % 23), String(id)), "latin1"),
        envelope: readFileSync(join(queueDir, "todo", String(id)), "latin1"),
      }));
    },
  };
}

/** A raw client: writes bytes as given, collects every reply. */
export class RawClient {
  text = "";
  closed = false;
  readonly socket: Socket;
  constructor(port: number) {
    this.socket = connect({ port, host: "127.0.0.1" });
    this.socket.on("data", (chunk: Buffer) => (this.text += chunk.toString("latin1")));
    this.socket.on("error", () => {});
    this.socket.on("close", () => (this.closed = true));
  }
  send(bytes: string): void {
    this.socket.write(Buffer.from(bytes, "latin1"));
  }
  /** Waits until `count` reply lines (final lines: code + space) have arrived. */
  async replies(count: number, timeoutMs = 10_000): Promise<string[]> {
    await waitFor(() => this.finalLines().length >= count || this.closed, timeoutMs, `${count} replies, got ${JSON.stringify(this.text)}`);
    return this.finalLines();
  }
  finalLines(): string[] {
    return this.text.split("\r\n").filter((line) => /^\d{3} /.test(line));
  }
  async untilClosed(timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.closed, timeoutMs, "the connection to close");
  }
}
