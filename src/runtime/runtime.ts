// The runtime: a whole tsqmail in one process. Reads ROOT/service/, opens each service's
// supervise/ directory and log, and runs the supervision tree (tree-layout.ts) under Effect in
// the main thread, each service in its own worker. Routes messages between services, carries
// the inspection bus, and stops everything gracefully within a bounded time: services are asked
// to finish in reverse start order, and whatever is still running at the deadline is killed.

import type { ResourceLimits } from "node:worker_threads";
import { Effect, Fiber, runFork, type RuntimeFiber } from "../../supervisors/fx.js";
import { InspectionBus, type InspectionListener } from "../../supervisors/inspection-bus.js";
import type { SuperviseStatus } from "../../supervisors/supervise.js";
import { runTree, type Escalated, type TreeChild, type TreeEvent } from "../../supervisors/tree.js";
import { clock } from "../../supervisors/clock.js";
import type { ServiceLog } from "../log/service-log.js";
import { createServiceLog } from "../log/log-settings.js";
import { createStdoutLog, type LineSink } from "../log/stdout-writer.js";
import { rootPaths } from "../root/paths.js";
import { listServiceNames, readServiceDefinition, type ServiceDefinition } from "./service-definition.js";
import { ServiceHost } from "./service-host.js";
import { treeLayout, type Branch } from "./tree-layout.js";
import type { InspectorOptions, RuntimeInspector } from "../inspect/runtime-inspector.js";
import { createRuntimeFaults, type RuntimeFaults } from "../chaos/runtime-faults.js";

export interface RuntimeOptions {
  readonly root: string;
  /** Every service logs to `stdout` (prefixed with its name) instead of ROOT/log/NAME/. */
  readonly logToStdout?: boolean;
  /** Where stdout logging goes; process.stdout by default. */
  readonly stdout?: LineSink;
  /** The environment services start from (each service's env/ is laid over it). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How long a service may take to stop gracefully before it is killed (default 3000 ms). */
  readonly serviceStopTimeoutMs?: number;
  /** V8 heap limits for each service's worker. */
  readonly resourceLimits?: ResourceLimits;
  /** The web inspector and/or a recording of the inspection stream (docs/inspector.md). */
  readonly inspector?: InspectorOptions;
}

export interface Runtime {
  readonly root: string;
  /** Starts every service; resolves once each one wanted up is ready (rejects after the timeout). */
  start(options?: { readyTimeoutMs?: number }): Promise<void>;
  /** svc: control letters (`udopchaitkx`) for the named services, or all. */
  svc(letters: string, services?: readonly string[]): void;
  status(): SuperviseStatus[];
  /** Sends a message to a service as the host (`from` is "host"); false if it is not running. */
  send(service: string, payload: unknown, transfer?: readonly ArrayBuffer[]): boolean;
  layout(): Branch[];
  /** The inspector page's address, once started with `inspector.port`. */
  inspectorUrl(): string | undefined;
  /** Fault plans for this runtime's threads (docs/chaos.md). */
  readonly faults: RuntimeFaults;
  /** Every inspection record and supervisor event, until the returned function is called. */
  subscribe(listener: InspectionListener): () => void;
  /** Graceful stop, bounded by `timeoutMs` (default 5000). Idempotent. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /** Settles when the supervision tree has ended: by stop(); rejected when it escalated or could not start. */
  readonly ended: Promise<void>;
}

const ROOT_INTENSITY = { intensity: 3, periodMs: 60_000 } as const;

export function createRuntime(options: RuntimeOptions): Runtime {
  const paths = rootPaths(options.root);
  const stdout = options.stdout ?? process.stdout;
  const hosts = new Map<string, ServiceHost>();
  const bus = new InspectionBus((active) => {
    for (const host of hosts.values()) host.setInspecting(active);
  });
  let branches: Branch[] = [];
  let fiber: RuntimeFiber<void, Escalated> | undefined;
  let stopping: Promise<void> | undefined;
  let settleEnded: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  const ended = new Promise<void>((resolve, reject) => (settleEnded = { resolve, reject }));
  ended.catch(() => {});
  let inspector: RuntimeInspector | undefined;

  /** The inspector, loaded only when asked for: its server, page and exporters are ~2 MB of the main thread's heap. */
  async function openInspector(inspectorOptions: InspectorOptions): Promise<RuntimeInspector> {
    const { createRuntimeInspector } = await import("../inspect/runtime-inspector.js");
    const opened = createRuntimeInspector(inspectorOptions);
    bus.subscribePacked(opened.publish);
    void ended.catch(() => {}).finally(() => opened.close());
    return opened;
  }

  const openLog = (name: string): ServiceLog =>
    options.logToStdout === true ? createStdoutLog(name, stdout) : createServiceLog(paths.root, name, stdout);

  const faults = createRuntimeFaults({
    applyHook: (hook) => {
      for (const host of hosts.values()) host.applyHook(hook);
    },
    killWorker: (name) => hosts.get(name)?.supervisor.control("k"),
  });

  const route = (from: string, to: string, payload: unknown, transfer?: readonly ArrayBuffer[]): boolean =>
    hosts.get(to)?.deliver(from, payload, transfer) ?? false;

  async function openHosts(definitions: readonly ServiceDefinition[]): Promise<void> {
    for (const definition of definitions) {
      const host = await ServiceHost.open({
        definition,
        root: paths.root,
        openLog: () => openLog(definition.name),
        bus,
        route,
        hooks: faults.hooks,
        onHookReport: (_service, module, payload) => faults.onReport(module, payload),
        stopTimeoutMs: options.serviceStopTimeoutMs ?? 3000,
        ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
      });
      hosts.set(definition.name, host);
    }
  }

  // Tree nodes publish under their own names (`tsqmail`, `queue`, `network`, `local`).
  const publishTreeEvent = (event: TreeEvent): void => {
    const { node, ...detail } = event;
    const kind = event.event === "child-exit" ? "exit" : event.event;
    bus.publish({ kind: "supervisor", at: clock.now(), service: node, event: kind, detail });
  };

  function rootTree(): (ready: () => void) => Effect.Effect<void, Escalated> {
    const branchChild = (branch: Branch): TreeChild => ({
      id: branch.name,
      restart: "transient",
      run: runTree({
        id: branch.name,
        strategy: branch.strategy,
        ordered: branch.ordered,
        ...ROOT_INTENSITY,
        children: branch.services.map((name) => hosts.get(name)!.treeChild),
        onEvent: publishTreeEvent,
      }),
    });
    return runTree({
      id: "tsqmail",
      strategy: "one_for_one",
      ordered: true,
      ...ROOT_INTENSITY,
      children: branches.map(branchChild),
      onEvent: publishTreeEvent,
    });
  }

  async function closeHosts(): Promise<void> {
    for (const host of [...hosts.values()].reverse()) await host.close();
    hosts.clear();
  }

  function notReady(): SuperviseStatus[] {
    return [...hosts.values()].map((h) => h.supervisor.status()).filter((s) => s.want === "up" && !s.ready);
  }

  async function waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (notReady().length > 0) {
      if (Date.now() > deadline) {
        const lines = notReady().map((s) => `${s.name}: ${s.lastExit?.error?.split("\n")[0] ?? "not ready"}`);
        throw new Error(`services not ready after ${timeoutMs} ms:\n${lines.join("\n")}`);
      }
      if (fiber?.unsafePoll() != null) throw new Error("the supervision tree ended while starting");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  return {
    root: paths.root,
    ended,
    async start({ readyTimeoutMs = 30_000 } = {}) {
      if (fiber !== undefined) throw new Error("runtime already started");
      const env = options.env ?? process.env;
      try {
        const names = await listServiceNames(paths);
        const definitions = await Promise.all(names.map((name) => readServiceDefinition(paths, name, env)));
        branches = treeLayout(definitions);
        if (options.inspector !== undefined) inspector = await openInspector(options.inspector);
        await inspector?.open(paths.root, branches);
        await openHosts(definitions);
      } catch (error) {
        await closeHosts();
        await inspector?.close();
        settleEnded?.reject(error);
        throw error;
      }
      const running = runFork(rootTree()(() => {}));
      fiber = running;
      running.addObserver((exit) => {
        void closeHosts().finally(() => {
          if (exit._tag === "Success" || stopping !== undefined) settleEnded?.resolve();
          else settleEnded?.reject(exit.cause._tag === "Fail" ? exit.cause.error : new Error("supervision tree failed"));
        });
      });
      await waitUntilReady(readyTimeoutMs);
    },
    svc(letters, services) {
      const targets = services === undefined ? [...hosts.values()] : services.map((name) => {
        const host = hosts.get(name);
        if (host === undefined) throw new Error(`no service ${name}`);
        return host;
      });
      for (const host of targets) host.supervisor.control(letters);
    },
    status: () => [...hosts.values()].map((host) => host.supervisor.status()),
    send: (service, payload, transfer) => route("host", service, payload, transfer),
    layout: () => branches,
    inspectorUrl: () => inspector?.url,
    faults: { install: faults.install, clear: faults.clear, counts: faults.counts },
    subscribe: (listener) => bus.subscribe(listener),
    stop({ timeoutMs = 5000 } = {}) {
      if (stopping !== undefined) return stopping;
      const running = fiber;
      if (running === undefined) return (stopping = Promise.resolve(inspector?.close()));
      stopping = (async () => {
        // Leave time to close files after the kill; the kill itself takes ~100 ms.
        const killer = setTimeout(() => {
          for (const host of hosts.values()) host.kill();
        }, Math.max(0, timeoutMs - 500));
        try {
          await Effect.runPromise(Fiber.interrupt(running));
          await ended.catch(() => {});
          await inspector?.close();
        } finally {
          clearTimeout(killer);
        }
      })();
      return stopping;
    },
  };
}
