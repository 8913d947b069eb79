// Messages between the main thread and a service's worker. This is the host-level frame; what
// services say to each other travels inside `app` frames, whose payload types are defined in one
// place, src/messages.ts. Bodies travel as transferred ArrayBuffers (reference/runtime.md §4.1):
// never post a pooled Buffer, copy into a fresh Uint8Array and transfer its buffer.

import type { PackedBatch } from "./inspection-batch.js";

/** What the supervisor asks of a running service: daemontools' signals, in tsqmail's meaning. */
export type ServiceSignal =
  | "hup" // reload configuration
  | "alrm" // retry now
  | "int" // interrupt: stop as for term
  | "term" // graceful stop: finish what is running, then exit
  | "pause" // stop taking new work
  | "cont"; // take new work again

/**
 * Code the runtime runs in every worker besides the service (a fault plan, for one): the module's
 * default export is called with `data` at boot, before the service starts, and again whenever
 * the runtime sends new data; it may send reports back to the main thread.
 */
export interface WorkerHook {
  /** URL of a module whose default export is `(data, report: (payload) => void) => void`. */
  readonly module: string;
  readonly data: unknown;
}

export type HostToWorker =
  | { readonly type: "signal"; readonly signal: ServiceSignal }
  | { readonly type: "hook"; readonly hook: WorkerHook }
  | { readonly type: "inspect"; readonly enabled: boolean }
  | { readonly type: "app"; readonly from: string; readonly payload: unknown; readonly transfer?: readonly ArrayBuffer[] };

export type WorkerToHost =
  | { readonly type: "ready" }
  | { readonly type: "log"; readonly lines: readonly string[] }
  // Packed in the worker; `batch.buffer` is transferred.
  | { readonly type: "inspection"; readonly batch: PackedBatch }
  | { readonly type: "hook-report"; readonly module: string; readonly payload: unknown }
  // `transfer` names the ArrayBuffers (inside payload) that move rather than copy; the main
  // thread moves them on to the receiving worker, so a body is never cloned on its way.
  | { readonly type: "app"; readonly to: string; readonly payload: unknown; readonly transfer?: readonly ArrayBuffer[] };

/** What a service worker is started with (its `workerData`). */
export interface WorkerBoot {
  readonly service: string;
  /** URL of the module whose default export starts the service. */
  readonly module: string;
  readonly root: string;
  /** Service-specific settings, structured-cloneable. */
  readonly settings: unknown;
  readonly inspect: boolean;
  readonly hooks?: readonly WorkerHook[];
}
