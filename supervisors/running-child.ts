// What a supervisor sees of the thing it keeps alive: a started child it can signal and kill,
// which becomes ready once and exits once. Workers implement it; tests may use plain objects.

import type { ServiceSignal } from "./thread-protocol.js";

export interface ChildExit {
  /** The worker's exit code; 1 after an uncaught error. */
  readonly code: number;
  /** The uncaught error's text, when there was one. */
  readonly error?: string;
}

export interface RunningChild {
  /** Thread id of a worker; any number unique among live children otherwise. */
  readonly id: number;
  readonly ready: Promise<void>;
  readonly exited: Promise<ChildExit>;
  signal(signal: ServiceSignal): void;
  /** Ends the child at once (svc -k, or a graceful stop that took too long). */
  kill(): void;
}
