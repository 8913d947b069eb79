// Harness for the listener tests: roots whose services run the echo-listener fixture in real
// worker threads (createRuntime), rules cdbs compiled by Debian's tcprules, and loopback
// clients that read the environment block the fixture writes (NAME=value lines, then ".").

import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { connect as tcpConnect, type Socket } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";
import { createRuntime, type Runtime } from "../../src/runtime/runtime.js";
import { addService, logText, makeRoot, waitFor } from "../runtime/test-root.js";

const ECHO_LISTENER = fileURLToPath(new URL("../fixtures/services/echo-listener.ts", import.meta.url));

/** The environment the runtime starts services from: stale connection variables included, which no connection may see. */
export const BASE_ENV = {
  PATH: process.env.PATH,
  TCPREMOTEHOST: "stale.example",
  TCPREMOTEINFO: "stale",
  TCP6REMOTEIP: "stale",
} as const;

let running: Array<{ runtime: Runtime; cleanup(): void }> = [];

afterEach(async () => {
  for (const { runtime, cleanup } of running.splice(0)) {
    await runtime.stop();
    cleanup();
  }
});

export interface ListenerRoot {
  readonly root: string;
  readonly runtime: Runtime;
  serviceDir(name: string): string;
  /** The port a service's listener bound (it logs it once listening). */
  port(name: string): Promise<number>;
  log(name: string): string;
  /**
   * Waits until NAME's log shows PATTERN. Log lines travel worker → main thread → file, so they
   * may arrive after the client has already seen what they record.
   */
  logShows(name: string, pattern: RegExp | string): Promise<void>;
}

/** Adds ROOT/service/NAME running the echo-listener fixture with this env/. */
export function addEchoListener(root: string, name: string, env: Readonly<Record<string, string>>): void {
  writeFileSync(join(addService(root, { name, env }), "module"), `${ECHO_LISTENER}\n`);
}

/** A root with one echo-listener service per entry; `before` may add files (rules) before the start. */
export async function startListeners(
  services: Readonly<Record<string, Readonly<Record<string, string>>>>,
  before: (serviceDir: (name: string) => string) => void = () => {},
): Promise<ListenerRoot> {
  const made = makeRoot([]);
  const serviceDir = (name: string): string => join(made.root, "service", name);
  for (const [name, env] of Object.entries(services)) addEchoListener(made.root, name, env);
  before(serviceDir);
  const runtime = createRuntime({ root: made.root, env: BASE_ENV });
  running.push({ runtime, cleanup: made.cleanup });
  await runtime.start();
  return {
    root: made.root,
    runtime,
    serviceDir,
    log: (name) => logText(made.root, name),
    logShows: (name, pattern) =>
      waitFor(() => {
        const text = logText(made.root, name);
        return typeof pattern === "string" ? text.includes(pattern) : pattern.test(text);
      }, 5000, `${name}'s log to show ${String(pattern)}`),
    async port(name) {
      let port: number | undefined;
      await waitFor(() => {
        port = Number(/echo-listener: port (\d+)/.exec(logText(made.root, name))?.[1] ?? Number.NaN);
        return !Number.isNaN(port);
      }, 5000, `${name}'s port`);
      return port!;
    },
  };
}

/** Compiles rules text with Debian's tcprules into FILE (through FILE.tmp, as tcprules does). */
export function debianTcprules(file: string, rules: string): void {
  const run = spawnSync("tcprules", [file, `${file}.tmp`], { input: rules });
  if (run.status !== 0) throw new Error(`tcprules failed: ${run.stderr.toString()}`);
}

export interface Session {
  readonly socket: Socket;
  readonly env: Readonly<Record<string, string>>;
}

/** Waits for the environment block of a session that `socket` opens; rejects if it closes first. */
export function session<S extends Socket>(socket: S): Promise<Session & { socket: S }> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer): void => {
      text += chunk.toString("latin1");
      const end = text.indexOf("\n.\n");
      if (end === -1) return;
      socket.off("data", onData);
      socket.off("close", onClose);
      const env = Object.fromEntries(text.slice(0, end).split("\n").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
      resolve({ socket, env });
    };
    const onClose = (): void => reject(new Error(`closed before the environment block; got ${JSON.stringify(text)}`));
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.on("error", () => {});
  });
}

/** Everything the server sends until the connection closes. */
export function untilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    socket.on("error", () => {});
    socket.on("close", () => resolve(text));
  });
}

/** Sends a line and waits for it to come back. */
export function echo(socket: Socket, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer): void => {
      text += chunk.toString("latin1");
      if (!text.includes("\n")) return;
      socket.off("data", onData);
      resolve(text);
    };
    socket.on("data", onData);
    socket.once("close", () => reject(new Error("closed before the echo")));
    socket.write(`${line}\n`);
  });
}

/** A plain TCP connection to the listener, from `localAddress` if given. */
export function connectTcp(port: number, host = "127.0.0.1", localAddress?: string): Socket {
  return tcpConnect({ port, host, ...(localAddress === undefined ? {} : { localAddress }) });
}
