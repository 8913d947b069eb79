// Worker entry: runs one service inside a worker thread. Loads the service module named in
// workerData, gives it a context (log, actor host, messaging), reports `ready` once it has
// started, and turns the supervisor's signals into calls on the service's handlers. Log lines and
// inspection records are collected for BATCH_MS, then posted: the lines as one message, the records
// packed into one transferred buffer (a post and a pack call have fixed costs, and a busy listener
// logs several lines per connection and makes records on nearly every turn; a log reader does not
// notice 20 ms). Both are flushed at once when the worker is about to die, so a crash loses none of
// them. A `term` ends with the worker exiting on its own; anything thrown escapes to the
// supervisor, which restarts the service.

import { parentPort, workerData } from "node:worker_threads";
import { ActorHost } from "./actor-host.js";
import { BatchPacker } from "./inspection-batch.js";
import { nameThisThread } from "./thread-name.js";
import type { ServiceContext, ServiceHandlers, StartService } from "./service-module.js";
import type { HostToWorker, ServiceSignal, WorkerBoot, WorkerHook, WorkerToHost } from "./thread-protocol.js";

if (parentPort === null) throw new Error("worker-runtime must run in a worker thread");
const port = parentPort;
const boot = workerData as WorkerBoot;
nameThisThread(boot.service);

const post = (message: WorkerToHost, transfer?: readonly ArrayBuffer[]): void =>
  port.postMessage(message, transfer as ArrayBuffer[] | undefined);

const BATCH_MS = 20;

let pendingLines: string[] = [];
let linesTimer: NodeJS.Timeout | undefined;
const records = new BatchPacker();
let recordsTimer: NodeJS.Timeout | undefined;

function flushLines(): void {
  if (linesTimer !== undefined) clearTimeout(linesTimer);
  linesTimer = undefined;
  if (pendingLines.length === 0) return;
  post({ type: "log", lines: pendingLines });
  pendingLines = [];
}

function flushRecords(): void {
  if (recordsTimer !== undefined) clearTimeout(recordsTimer);
  recordsTimer = undefined;
  const batch = records.take();
  if (batch !== undefined) post({ type: "inspection", batch }, [batch.buffer]);
}

function flush(): void {
  flushLines();
  flushRecords();
}

const actors = new ActorHost({
  service: boot.service,
  publish: (record) => {
    records.add(record);
    // Unref'd: a pending batch must not keep a stopping worker alive (stop flushes it).
    recordsTimer ??= setTimeout(flushRecords, BATCH_MS).unref();
  },
  onFailure: (id, error) => {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`actor ${id} failed: ${text.replaceAll("\n", " / ")}`);
  },
});
actors.inspecting = boot.inspect;

function log(line: string): void {
  for (const part of line.split("\n")) pendingLines.push(part);
  // Unref'd, as the records' timer: stop and exit flush the lines.
  linesTimer ??= setTimeout(flushLines, BATCH_MS).unref();
}

const context: ServiceContext = {
  service: boot.service,
  root: boot.root,
  settings: boot.settings,
  env: process.env,
  actors,
  log,
  send: (to, payload, transfer) => post({ type: "app", to, payload, ...(transfer === undefined ? {} : { transfer }) }, transfer),
};

let handlers: ServiceHandlers | undefined;
let stopping = false;
const early: HostToWorker[] = [];

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await handlers?.stop();
  actors.stopAll();
  flush();
  // Close the port so the event loop can empty and the thread end with exit code 0.
  port.close();
}

function onSignal(signal: ServiceSignal): void {
  switch (signal) {
    case "hup":
      void Promise.resolve(handlers?.reload?.()).catch((error: unknown) => log(`reload failed: ${String(error)}`));
      return;
    case "alrm":
      handlers?.alarm?.();
      return;
    case "pause":
      handlers?.pause?.();
      return;
    case "cont":
      handlers?.resume?.();
      return;
    case "term":
    case "int":
      void stop();
      return;
  }
}

async function applyHook(hook: WorkerHook): Promise<void> {
  const loaded = (await import(hook.module)) as { default?: (data: unknown, report: (payload: unknown) => void) => void };
  if (typeof loaded.default !== "function") throw new Error(`${hook.module}: no default export to apply`);
  loaded.default(hook.data, (payload) => post({ type: "hook-report", module: hook.module, payload }));
}

function onMessage(message: HostToWorker): void {
  // A hook applies at once, even while the service is starting: a fault plan must cover start-up.
  if (message.type === "hook") {
    applyHook(message.hook).catch((error: unknown) => log(`hook ${message.hook.module} failed: ${String(error)}`));
    return;
  }
  if (handlers === undefined) {
    early.push(message);
    return;
  }
  switch (message.type) {
    case "signal":
      onSignal(message.signal);
      return;
    case "inspect":
      actors.inspecting = message.enabled;
      return;
    case "app":
      handlers.receive?.(message.from, message.payload);
      return;
  }
}

port.on("message", onMessage);
// A crashing worker must not take its last log lines with it: flush them before it dies.
process.on("uncaughtExceptionMonitor", flush);
process.on("exit", flush);

for (const hook of boot.hooks ?? []) await applyHook(hook);
const module = (await import(boot.module)) as { default?: StartService };
if (typeof module.default !== "function") throw new Error(`${boot.module}: no default export to start the service`);
try {
  handlers = await module.default(context);
} catch (error) {
  flush();
  throw error;
}
flush();
post({ type: "ready" });
for (const message of early.splice(0)) onMessage(message);
