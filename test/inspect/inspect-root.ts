// A real tsqmail for the inspector tests: a root with a queue, one virtual user and the real
// smtpd service (AUTH offered in clear, so a test client can send credentials), run by
// createRuntime with the inspector option; plus a WebSocket client that collects frames.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WebSocket } from "ws";
import { addVirtualUser } from "../../src/config/virtual-users.js";
import { createQueue } from "../../src/queue/create-queue.js";
import { createRuntime, type Runtime } from "../../src/runtime/runtime.js";
import type { InspectorOptions } from "../../src/inspect/runtime-inspector.js";
import { unpackFrames, type InspectorFrame } from "../../src/inspect/inspector-frame.js";
import { addService, listeningPort, makeRoot } from "../runtime/test-root.js";

export const PASSWORD = "wonderland-secret-7";

export interface InspectedMail {
  readonly root: string;
  readonly runtime: Runtime;
  smtpPort(): Promise<number>;
  close(): Promise<void>;
}

export async function startInspected(inspector: InspectorOptions): Promise<InspectedMail> {
  const made = makeRoot([]);
  const { root } = made;
  mkdirSync(join(root, "control"), { recursive: true });
  writeFileSync(join(root, "control", "me"), "mx.example.test\n");
  writeFileSync(join(root, "control", "rcpthosts"), "example.test\n");
  await createQueue(join(root, "queue"));
  await addVirtualUser(root, "alice", { password: PASSWORD });
  const dir = addService(root, { name: "smtpd", env: { IP: "127.0.0.1", PORT: "0", REVERSE: "0", SMTPAUTH: "", AUTHCLEARTEXT: "1", AUTHFAILDELAY: "0" } });
  writeFileSync(join(dir, "module"), "smtpd\n");
  const runtime = createRuntime({ root, env: { PATH: process.env.PATH }, inspector });
  await runtime.start();
  return {
    root,
    runtime,
    smtpPort: () => listeningPort(root, "smtpd", 15_000),
    async close() {
      await runtime.stop();
      made.cleanup();
    },
  };
}

/** A WebSocket reader of the inspector's stream; `frames` grows as batches arrive. */
export class StreamClient {
  readonly frames: InspectorFrame[] = [];
  /** Every message as raw bytes, to search for secrets exactly as they travelled. */
  readonly raw: Buffer[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on("message", (data: Buffer) => {
      this.raw.push(data);
      this.frames.push(...unpackFrames(data));
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
      this.ws.once("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** Base64 as SMTP AUTH sends it. */
export const b64 = (text: string): string => Buffer.from(text, "latin1").toString("base64");
