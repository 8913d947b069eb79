// Roots for send's tests: control files, a real queue, the send service (built in) and the fake
// lspawn/rspawn services (test/fixtures/services/fake-spawn.ts) recording into one deliveries
// file; a runtime per test, stopped and removed after it; helpers to inject through the real
// enqueue and to read what the queue and logs hold.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";
import { createRuntime, type Runtime } from "../../src/runtime/runtime.js";
import { createQueue } from "../../src/queue/create-queue.js";
import { enqueue } from "../../src/queue/enqueue.js";
import type { QueueSuccess } from "../../src/queue/queue-exit.js";
import { queueLayout, QUEUE_SPLIT } from "../../src/queue/queue-layout.js";

export interface SendRoot {
  readonly root: string;
  readonly queueDir: string;
  readonly deliveries: string;
  cleanup(): void;
}

export interface SendRootOptions {
  readonly control?: Readonly<Record<string, string>>;
  /** Spawners to run; both by default. `compiled` points the module files at dist/. */
  readonly spawners?: readonly ("lspawn" | "rspawn")[];
  readonly spawnEnv?: Readonly<Record<string, string>>;
  readonly compiled?: boolean;
}

const fixture = (name: string, compiled: boolean): string =>
  fileURLToPath(new URL(compiled ? `../../dist/test/fixtures/services/${name}.js` : `../fixtures/services/${name}.ts`, import.meta.url));

export async function makeSendRoot(options: SendRootOptions = {}): Promise<SendRoot> {
  const root = mkdtempSync(join(tmpdir(), "tsqmail-send-"));
  const deliveries = join(root, "deliveries");
  const controlDir = join(root, "control");
  mkdirSync(controlDir);
  const control = { me: "mail.example.test", locals: "example.test\nmail.example.test", ...options.control };
  for (const [name, text] of Object.entries(control)) writeFileSync(join(controlDir, name), `${text}\n`);
  await createQueue(join(root, "queue"));
  mkdirSync(join(root, "service", "send", "env"), { recursive: true });
  writeFileSync(join(root, "service", "send", "module"), "send\n");
  for (const spawner of options.spawners ?? ["lspawn", "rspawn"]) {
    const dir = join(root, "service", spawner);
    mkdirSync(join(dir, "env"), { recursive: true });
    writeFileSync(join(dir, "module"), `${fixture(`fake-${spawner}`, options.compiled ?? false)}\n`);
    for (const [key, value] of Object.entries({ DELIVERIES: deliveries, ...options.spawnEnv })) writeFileSync(join(dir, "env", key), `${value}\n`);
  }
  return { root, queueDir: join(root, "queue"), deliveries, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export interface SendTestBed {
  /** The current test's root (after `makeRoot`). */
  readonly made: SendRoot;
  /** The current test's runtime (after `start`). */
  readonly runtime: Runtime;
  makeRoot(options?: SendRootOptions): Promise<SendRoot>;
  start(options?: { readyTimeoutMs?: number }): Promise<Runtime>;
  stop(): Promise<void>;
}

/** Call at the top of a test file: each test gets its own root and runtime, cleaned up after it. */
export function sendTestBed(): SendTestBed {
  let made: SendRoot | undefined;
  let runtime: Runtime | undefined;
  afterEach(async () => {
    await runtime?.stop();
    made?.cleanup();
    runtime = undefined;
    made = undefined;
  });
  return {
    get made() {
      if (made === undefined) throw new Error("no root yet: call makeRoot");
      return made;
    },
    get runtime() {
      if (runtime === undefined) throw new Error("no runtime: call start");
      return runtime;
    },
    async makeRoot(options) {
      made = await makeSendRoot(options);
      return made;
    },
    async start(options) {
      runtime = createRuntime({ root: this.made.root });
      await runtime.start(options);
      return runtime;
    },
    async stop() {
      await runtime?.stop();
      runtime = undefined;
    },
  };
}

async function* body(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text);
}

export async function inject(queueDir: string, sender: string, recipients: string[], text = "Subject: test\n\nhello\n"): Promise<number> {
  const result = await enqueue(queueDir, body(text), { sender, recipients }, { invokedBy: { uid: 1000 } });
  if (!result.ok) throw new Error(`enqueue failed: ${result.text}`);
  return (result as QueueSuccess).id!;
}

export function deliveredLines(deliveries: string): string[] {
  return existsSync(deliveries) ? readFileSync(deliveries, "utf8").split("\n").filter((line) => line !== "") : [];
}

export function channelFile(queueDir: string, channel: "local" | "remote" | "info", id: number): string {
  return queueLayout(queueDir).file(channel, id);
}

/** Message numbers with an info file, i.e. preprocessed and not yet finished. */
export function queuedIds(queueDir: string): number[] {
  const ids: number[] = [];
  for (let split = 0; split < QUEUE_SPLIT; split++) ids.push(...readdirSync(join(queueDir, "info", String(split))).map(Number));
  return ids;
}

/** Every file left in the message directories (mess, info, local, remote, todo, intd, bounce). */
export function leftovers(queueDir: string): string[] {
  const found: string[] = [];
  for (const dir of ["mess", "info", "local", "remote"]) {
    for (let split = 0; split < QUEUE_SPLIT; split++) for (const name of readdirSync(join(queueDir, dir, String(split)))) found.push(`${dir}/${name}`);
  }
  for (const dir of ["todo", "intd", "bounce"]) for (const name of readdirSync(join(queueDir, dir))) found.push(`${dir}/${name}`);
  return found;
}
