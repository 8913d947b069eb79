// The contract between a worker and the service it runs. A service module's default export is a
// `StartService`: given its context it sets itself up (binds its port, reads its queue, …),
// resolves once it is ready to serve, and returns the handlers the supervisor's signals reach.
// Anything it throws before resolving is a failed start; the supervisor restarts it.

import type { ActorHost } from "./actor-host.js";

export interface ServiceContext {
  readonly service: string;
  readonly root: string;
  /** Service-specific settings from the runtime (structured-cloned). */
  readonly settings: unknown;
  /** The worker's environment: the process environment overlaid with the service's envdir. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly actors: ActorHost;
  /** Appends a line to the service's log. */
  log(line: string): void;
  /** Sends a message to another service through the main thread; transfer lists ArrayBuffers to move. */
  send(to: string, payload: unknown, transfer?: readonly ArrayBuffer[]): void;
}

export interface ServiceHandlers {
  /** svc -h: re-read configuration. */
  reload?(): void | Promise<void>;
  /** svc -a: do now what is waiting for a timer (retry deliveries). */
  alarm?(): void;
  /** svc -p / -c: stop / resume taking new work. */
  pause?(): void;
  resume?(): void;
  /** svc -t / -d / -i: finish running work, release resources; the worker exits afterwards. */
  stop(): Promise<void>;
  /** A message from another service. */
  receive?(from: string, payload: unknown): void;
}

export type StartService = (context: ServiceContext) => Promise<ServiceHandlers>;
