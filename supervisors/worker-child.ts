// Starts a service in a worker thread and presents it as a RunningChild. The `error` and `exit`
// listeners are attached at once: a worker error with no listener would kill the whole process
// (reference/runtime.md §4.4). The worker's stdout and stderr are captured into its log. When
// tsqmail runs from its TypeScript sources (tests, development), the worker is booted through
// tsx, since Node 20 cannot load a .ts worker entry (reference/runtime.md §4.6).

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type ResourceLimits, type WorkerOptions } from "node:worker_threads";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type { ChildExit, RunningChild } from "./running-child.js";
import type { HostToWorker, WorkerBoot, WorkerToHost } from "./thread-protocol.js";
import { workerExecArgv } from "./worker-exec-argv.js";
import { ownModule, runningFromSource } from "./project-files.js";

export interface WorkerChildOptions {
  readonly boot: WorkerBoot;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly resourceLimits?: ResourceLimits;
  readonly onMessage: (message: WorkerToHost) => void;
}

export interface WorkerChild extends RunningChild {
  post(message: HostToWorker, transfer?: readonly ArrayBuffer[]): void;
}

const entry = ownModule("supervisors/worker-runtime");

function newWorker(options: WorkerChildOptions): Worker {
  const common = {
    workerData: options.boot,
    env: { ...options.env },
    stdout: true,
    stderr: true,
    ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
  };
  const execArgv = workerExecArgv(process.execArgv);
  if (execArgv === undefined || execArgv.length === 0) return startWorker({ ...common, ...(execArgv === undefined ? {} : { execArgv }) });
  try {
    return startWorker({ ...common, execArgv });
  } catch (error) {
    // Node refuses per-process options in a worker's list, before starting it (worker-exec-argv.ts).
    if ((error as NodeJS.ErrnoException).code !== "ERR_WORKER_INVALID_EXEC_ARGV") throw error;
    return startWorker({ ...common, execArgv: [] });
  }
}

function startWorker(options: WorkerOptions): Worker {
  if (!runningFromSource) return new Worker(entry, options);
  // require.resolve finds tsx's CommonJS build; its ESM API sits beside it as index.mjs.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

function forwardLines(stream: Readable, onLine: (line: string) => void): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on("line", onLine);
}

export function startWorkerChild(options: WorkerChildOptions): WorkerChild {
  const worker = newWorker(options);
  let lastError: string | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const exited = new Promise<ChildExit>((resolve) => {
    worker.on("error", (error) => {
      lastError = error instanceof Error ? (error.stack ?? error.message) : String(error);
    });
    worker.on("exit", (code) => resolve(lastError === undefined ? { code } : { code, error: lastError }));
  });
  worker.on("message", (message: WorkerToHost) => {
    if (message.type === "ready") markReady();
    options.onMessage(message);
  });
  const log = (line: string): void => options.onMessage({ type: "log", lines: [line] });
  forwardLines(worker.stdout, log);
  forwardLines(worker.stderr, log);
  return {
    id: worker.threadId,
    ready,
    exited,
    signal: (signal) => worker.postMessage({ type: "signal", signal } satisfies HostToWorker),
    kill: () => void worker.terminate(),
    post: (message, transfer) => worker.postMessage(message, transfer as ArrayBuffer[] | undefined),
  };
}
