// supervise: keeps one child running with daemontools' semantics (reference/qmail-behaviour.md §8).
// Starts it unless the service is normally down; restarts it after every exit while it is wanted
// up, never more than one start per `minSpacingMs` (1 s); takes svc's control letters
// u d o p c h a i t k x; reports a status record on every change. Beyond daemontools, a child
// asked to stop (d, t, i, or the runtime shutting down) is killed if it has not exited within
// `stopTimeoutMs`, as s6's timeout-kill does, so a stuck service can never hang a shutdown.
//
// It is one fiber reading one inbox: control letters from svc, and the child's ready and exit
// events. Interrupting the fiber stops the child (gracefully, then by force) before it ends.

import { Effect, forkChild, inboxNow, offerNow, Queue } from "./fx.js";
import { clock } from "./clock.js";
import type { ChildExit, RunningChild } from "./running-child.js";
import type { ServiceSignal } from "./thread-protocol.js";

import type { Want } from "./daemontools/status-file.js";

export interface SuperviseStatus {
  readonly name: string;
  readonly up: boolean;
  readonly ready: boolean;
  /** When the child last started or ended (epoch ms): daemontools changes it only then. */
  readonly since: number;
  /** The running child's id (a worker's thread id); 0 when down. */
  readonly childId: number;
  readonly normallyUp: boolean;
  readonly want: Want;
  readonly paused: boolean;
  readonly starts: number;
  readonly lastExit?: ChildExit;
}

export type SuperviseEvent =
  | { readonly event: "start"; readonly childId: number; readonly starts: number; readonly at: number }
  | { readonly event: "ready"; readonly childId: number }
  | { readonly event: "exit"; readonly childId: number; readonly exit: ChildExit }
  | { readonly event: "control"; readonly letter: string };

export interface SuperviseSpec {
  readonly name: string;
  /** False when the service directory has a `down` file. */
  readonly normallyUp: boolean;
  readonly stopTimeoutMs: number;
  readonly minSpacingMs?: number;
  /** Starts the child; a throw counts as a child that exited at once. */
  start(): RunningChild;
  onStatus?(status: SuperviseStatus): void;
  onEvent?(event: SuperviseEvent): void;
}

type Input =
  | { readonly type: "control"; readonly letter: string }
  | { readonly type: "start-due" }
  | { readonly type: "ready"; readonly child: RunningChild }
  | { readonly type: "exit"; readonly child: RunningChild; readonly exit: ChildExit }
  | { readonly type: "kill-due"; readonly child: RunningChild };

const SIGNAL_LETTERS: Readonly<Record<string, ServiceSignal>> = { h: "hup", a: "alrm", i: "int", t: "term" };

/** Asks a child to stop; kills it if it is still running after `timeoutMs`. Resolves on its exit. */
export function stopChild(child: RunningChild, paused: boolean, timeoutMs: number): Promise<ChildExit> {
  child.signal("term");
  if (paused) child.signal("cont");
  const timer = setTimeout(() => child.kill(), timeoutMs);
  return child.exited.finally(() => clearTimeout(timer));
}

export interface Supervisor {
  /** Queues svc control letters, in order. */
  control(letters: string): void;
  status(): SuperviseStatus;
  /**
   * The supervise loop. `onReady` is called when the child reports ready, or when the service
   * is not wanted up (callers act on the first call). Completes after `x` once the child is down.
   */
  run(onReady: () => void): Effect.Effect<void>;
}

export function createSupervisor(spec: SuperviseSpec): Supervisor {
  const inbox = inboxNow<Input>();
  const spacing = spec.minSpacingMs ?? 1000;
  let child: RunningChild | undefined;
  let ready = false;
  let wantFlag = true;
  let wantUp = spec.normallyUp;
  let onceRequested = false;
  let paused = false;
  let exitRequested = false;
  let since = clock.now();
  let lastStartAt = -Infinity;
  let startScheduled = false;
  let starts = 0;
  let lastExit: ChildExit | undefined;
  let markReady: () => void = () => {};

  const status = (): SuperviseStatus => ({
    name: spec.name,
    up: child !== undefined,
    ready,
    since,
    childId: child?.id ?? 0,
    normallyUp: spec.normallyUp,
    want: wantFlag ? (wantUp ? "up" : "down") : "none",
    paused,
    starts,
    ...(lastExit === undefined ? {} : { lastExit }),
  });
  const announce = (): void => spec.onStatus?.(status());

  const spawn = (): void => {
    onceRequested = false;
    lastStartAt = clock.now();
    starts += 1;
    let started: RunningChild;
    try {
      started = spec.start();
    } catch (error) {
      started = failedStart(error);
    }
    child = started;
    ready = false;
    since = clock.now();
    spec.onEvent?.({ event: "start", childId: started.id, starts, at: lastStartAt });
    started.ready.then(() => offerNow(inbox, { type: "ready", child: started }));
    started.exited.then((exit) => offerNow(inbox, { type: "exit", child: started, exit }));
    announce();
  };

  const tryStart = Effect.suspend(() => {
    if (child !== undefined) return Effect.void;
    const wait = lastStartAt + spacing - clock.now();
    if (wait <= 0) return Effect.sync(spawn);
    if (startScheduled) return Effect.void;
    startScheduled = true;
    return forkChild(Effect.sleep(wait).pipe(Effect.andThen(Queue.offer(inbox, { type: "start-due" } as const))));
  });

  const scheduleKill = (target: RunningChild) =>
    forkChild(Effect.sleep(spec.stopTimeoutMs).pipe(Effect.andThen(Queue.offer(inbox, { type: "kill-due", child: target } as const))));

  const onControl = (letter: string) =>
    Effect.gen(function* () {
      spec.onEvent?.({ event: "control", letter });
      switch (letter) {
        case "u":
          wantFlag = true;
          wantUp = true;
          yield* tryStart;
          break;
        case "d":
          wantFlag = true;
          wantUp = false;
          onceRequested = false;
          // Not wanted up: nothing for dependants to wait for.
          markReady();
          if (child !== undefined) {
            child.signal("term");
            if (paused) child.signal("cont");
            yield* scheduleKill(child);
          }
          break;
        case "o":
          wantFlag = false;
          if (child === undefined) {
            onceRequested = true;
            yield* tryStart;
          }
          break;
        case "p":
          paused = true;
          child?.signal("pause");
          break;
        case "c":
          paused = false;
          child?.signal("cont");
          break;
        case "k":
          child?.kill();
          break;
        case "x":
          exitRequested = true;
          break;
        default: {
          const signal = SIGNAL_LETTERS[letter];
          if (signal !== undefined && child !== undefined) {
            child.signal(signal);
            if (signal === "term" || signal === "int") yield* scheduleKill(child);
          }
        }
      }
      announce();
    });

  const onInput = (input: Input) =>
    Effect.gen(function* () {
      switch (input.type) {
        case "control":
          yield* onControl(input.letter);
          return;
        case "start-due":
          startScheduled = false;
          if ((wantFlag && wantUp) || onceRequested) yield* tryStart;
          return;
        case "ready":
          if (input.child !== child) return;
          ready = true;
          spec.onEvent?.({ event: "ready", childId: input.child.id });
          if (paused) input.child.signal("pause");
          markReady();
          announce();
          return;
        case "kill-due":
          if (input.child === child) input.child.kill();
          return;
        case "exit":
          if (input.child !== child) return;
          child = undefined;
          ready = false;
          since = clock.now();
          lastExit = input.exit;
          spec.onEvent?.({ event: "exit", childId: input.child.id, exit: input.exit });
          announce();
          if (!exitRequested && wantFlag && wantUp) yield* tryStart;
          return;
      }
    });

  const shutdown = Effect.suspend(() => {
    const running = child;
    if (running === undefined) return Effect.void;
    return Effect.promise(() => stopChild(running, paused, spec.stopTimeoutMs)).pipe(
      Effect.andThen((exit) =>
        Effect.sync(() => {
          child = undefined;
          ready = false;
          since = clock.now();
          lastExit = exit;
          spec.onEvent?.({ event: "exit", childId: running.id, exit });
          announce();
        }),
      ),
    );
  });

  return {
    control(letters) {
      for (const letter of letters) offerNow(inbox, { type: "control", letter });
    },
    status,
    run(onReady) {
      markReady = onReady;
      return Effect.gen(function* () {
        announce();
        if (wantUp) yield* tryStart;
        else markReady();
        while (!(exitRequested && child === undefined)) {
          const input = yield* Queue.take(inbox);
          yield* onInput(input);
        }
      }).pipe(Effect.ensuring(shutdown));
    },
  };
}

/** A child that could not even be created: it exits at once with qmail's "temporary" code. */
function failedStart(error: unknown): RunningChild {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    id: 0,
    ready: new Promise<void>(() => {}),
    exited: Promise.resolve({ code: 111, error: text }),
    signal: () => {},
    kill: () => {},
  };
}
