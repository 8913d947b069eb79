// One service in the main thread: its daemontools-compatible supervise/ directory (status file,
// control FIFO, lock), its log, and the supervisor that keeps its worker thread alive. Routes
// what the worker says: log lines to the log, inspection records to the bus, messages for other
// services to the runtime (one it cannot deliver goes back to the sender as `undeliverable`).
// Supervisor events go to the log and the bus too, so a crash is always explained in the
// service's own log.

import type { ResourceLimits } from "node:worker_threads";
import { openSuperviseDir, type SuperviseDir } from "../../supervisors/daemontools/supervise-dir.js";
import type { InspectionBus } from "../../supervisors/inspection-bus.js";
import { createSupervisor, type SuperviseEvent, type SuperviseStatus, type Supervisor } from "../../supervisors/supervise.js";
import type { TreeChild } from "../../supervisors/tree.js";
import { startWorkerChild, type WorkerChild } from "../../supervisors/worker-child.js";
import type { WorkerHook, WorkerToHost } from "../../supervisors/thread-protocol.js";
import { clock } from "../../supervisors/clock.js";
import type { ServiceLog } from "../log/service-log.js";
import { undeliverable } from "../messages.js";
import type { ServiceDefinition } from "./service-definition.js";
import { mergeWorkerLimits } from "./worker-limits.js";
import { writeStatusRecord } from "./status-record.js";

export interface ServiceHostOptions {
  readonly definition: ServiceDefinition;
  readonly root: string;
  /** Opens the service's log; called only once the service's supervise lock is held. */
  readonly openLog: () => ServiceLog;
  readonly bus: InspectionBus;
  readonly stopTimeoutMs: number;
  /** The runtime's heap limits for every worker; the service directory's `limits` override them. */
  readonly resourceLimits?: ResourceLimits;
  /** Delivers a message from this service to another; false when the target is not running. */
  readonly route: (from: string, to: string, payload: unknown, transfer?: readonly ArrayBuffer[]) => boolean;
  /** The worker hooks (a fault plan) each new worker boots with: asked at every (re)start. */
  readonly hooks?: () => readonly WorkerHook[];
  /** What a worker hook reports back (the faults it injected). */
  readonly onHookReport?: (service: string, module: string, payload: unknown) => void;
}

export class ServiceHost {
  readonly name: string;
  readonly supervisor: Supervisor;
  private child: WorkerChild | undefined;
  private superviseDir: SuperviseDir | undefined;
  private log!: ServiceLog;

  private constructor(private readonly options: ServiceHostOptions) {
    this.name = options.definition.name;
    this.supervisor = createSupervisor({
      name: this.name,
      normallyUp: options.definition.normallyUp,
      stopTimeoutMs: options.stopTimeoutMs,
      start: () => this.startWorker(),
      onStatus: (status) => this.onStatus(status),
      onEvent: (event) => this.onEvent(event),
    });
  }

  static async open(options: ServiceHostOptions): Promise<ServiceHost> {
    const host = new ServiceHost(options);
    host.superviseDir = await openSuperviseDir(options.definition.dir, {
      onControl: (letter) => host.supervisor.control(letter),
      onError: (error) => host.log.append([`tsqmail: control FIFO failed: ${error.message}`]),
    });
    // Only now: opening a multilog directory sets aside a `current` it did not close itself, which
    // would steal the log of a runtime that already supervises this service.
    try {
      host.log = options.openLog();
    } catch (error) {
      await host.superviseDir.close();
      throw error;
    }
    return host;
  }

  get treeChild(): TreeChild {
    // supervise ends normally only after `svc -x`: that is not a failure to restart.
    return { id: this.name, restart: "transient", run: (ready) => this.supervisor.run(ready) };
  }

  /** Passes a message from another service to this one's worker; false if it is not running. */
  deliver(from: string, payload: unknown, transfer?: readonly ArrayBuffer[]): boolean {
    if (this.child === undefined) return false;
    this.child.post({ type: "app", from, payload, ...(transfer === undefined ? {} : { transfer }) }, transfer);
    return true;
  }

  setInspecting(enabled: boolean): void {
    this.child?.post({ type: "inspect", enabled });
  }

  /** Applies a worker hook in the running worker (a restarted one boots with `options.hooks`). */
  applyHook(hook: WorkerHook): void {
    this.child?.post({ type: "hook", hook });
  }

  /** Forces the worker down at once: the last resort when a graceful stop overran its deadline. */
  kill(): void {
    this.child?.kill();
  }

  async close(): Promise<void> {
    await this.superviseDir?.close();
    this.log.close();
  }

  private startWorker(): WorkerChild {
    const { definition, root, bus } = this.options;
    const resourceLimits = mergeWorkerLimits(this.options.resourceLimits, definition.limits);
    const child = startWorkerChild({
      boot: { service: this.name, module: definition.module, root, settings: {}, inspect: bus.active, hooks: this.options.hooks?.() ?? [] },
      env: definition.env,
      ...(resourceLimits === undefined ? {} : { resourceLimits }),
      onMessage: (message) => this.onWorkerMessage(message),
    });
    this.child = child;
    child.exited.then(() => {
      if (this.child === child) this.child = undefined;
    });
    return child;
  }

  private onWorkerMessage(message: WorkerToHost): void {
    switch (message.type) {
      case "log":
        this.log.append(message.lines);
        return;
      case "inspection":
        this.options.bus.publishBatch(this.name, message.batch);
        return;
      case "app":
        // A message for a service that is not running goes back to its sender, which decides
        // what that means (send turns an undelivered delivery into a retry on schedule).
        if (!this.options.route(this.name, message.to, message.payload, message.transfer)) {
          this.child?.post({ type: "app", from: "tsqmail", payload: undeliverable(message.to, message.payload) });
        }
        return;
      case "hook-report":
        this.options.onHookReport?.(this.name, message.module, message.payload);
        return;
      case "ready":
        return;
    }
  }

  private onStatus(status: SuperviseStatus): void {
    // svstat's pid is the process that hosts the service's thread: a real pid an admin can look
    // up (a thread id such as 1 would name another process). The thread id is in the record.
    const pid = status.up ? process.pid : 0;
    this.superviseDir?.writeStatus({ sinceMs: status.since, pid, paused: status.paused, want: status.want });
    if (this.superviseDir !== undefined) writeStatusRecord(this.superviseDir.path, status);
    this.publish("status", { ...status });
  }

  private onEvent(event: SuperviseEvent): void {
    const { log } = this;
    switch (event.event) {
      case "start":
        log.append([`tsqmail: starting ${this.name} (thread ${event.childId}, start ${event.starts})`]);
        this.publish("start", { childId: event.childId, starts: event.starts }, event.at);
        return;
      case "ready":
        log.append([`tsqmail: ${this.name} ready`]);
        this.publish("ready", { childId: event.childId });
        return;
      case "exit": {
        const { code, error } = event.exit;
        log.append([`tsqmail: ${this.name} exited with code ${code}`, ...(error === undefined ? [] : error.split("\n"))]);
        this.options.bus.workerExited(this.name);
        this.publish("exit", { childId: event.childId, code, ...(error === undefined ? {} : { error }) });
        return;
      }
      case "control":
        this.publish("control", { letter: event.letter });
        return;
    }
  }

  private publish(event: "start" | "ready" | "exit" | "status" | "control", detail: Record<string, unknown>, at = clock.now()): void {
    this.options.bus.publish({ kind: "supervisor", at, service: this.name, event, detail });
  }
}
