// A node of the supervision tree, OTP-style (reference/runtime.md §6): children started in order,
// each awaited until ready when the node says so (dependants start after what they depend on);
// on a child's exit the strategy decides what restarts — one_for_one the child, rest_for_one the
// child and those started after it, one_for_all everyone — honouring the child's restart type;
// more than `intensity` restarts within `periodMs` stops every child and fails the node with
// `Escalated`, for its parent to handle. When every child has ended without being restarted
// (transient children that exited normally, temporary ones), the node ends normally. Restarts of one child are spaced by at least 1 s, as
// daemontools does at every level. Interrupting the node stops its children in reverse order.

import { Deferred, Effect, Fiber, forkDetached, inboxNow, Queue, type Exit, type RuntimeFiber } from "./fx.js";
import { clock } from "./clock.js";

export type Strategy = "one_for_one" | "rest_for_one" | "one_for_all";
export type RestartType = "permanent" | "transient" | "temporary";

export interface TreeChild {
  readonly id: string;
  readonly restart: RestartType;
  /** Runs the child; it calls `ready` once it serves. Success is a normal exit. */
  run(ready: () => void): Effect.Effect<void, unknown>;
}

export interface TreeSpec {
  readonly id: string;
  readonly strategy: Strategy;
  /** Restarts allowed within `periodMs` before the node gives up (OTP defaults: 1 in 5 s). */
  readonly intensity: number;
  readonly periodMs: number;
  /** Wait for each child to be ready before starting the next. */
  readonly ordered: boolean;
  readonly children: readonly TreeChild[];
  readonly minSpacingMs?: number;
  onEvent?(event: TreeEvent): void;
}

export type TreeEvent =
  | { readonly event: "child-exit"; readonly node: string; readonly child: string; readonly failed: boolean }
  | { readonly event: "restart"; readonly node: string; readonly children: readonly string[] }
  | { readonly event: "escalate"; readonly node: string; readonly restarts: number };

export class Escalated extends Error {
  constructor(
    readonly node: string,
    readonly restarts: number,
    readonly periodMs: number,
  ) {
    super(`supervisor ${node}: more than ${restarts - 1} restarts in ${periodMs} ms, giving up`);
  }
}

interface Running {
  readonly fiber: RuntimeFiber<void, never>;
  readonly generation: number;
}

interface ChildExited {
  readonly index: number;
  readonly generation: number;
  readonly exit: Exit.Exit<void, unknown>;
}

export function runTree(spec: TreeSpec): (ready: () => void) => Effect.Effect<void, Escalated> {
  return (ready) =>
    Effect.gen(function* () {
      const exits = inboxNow<ChildExited>();
      const running: (Running | undefined)[] = spec.children.map(() => undefined);
      const lastStart: number[] = spec.children.map(() => -Infinity);
      const restartTimes: number[] = [];
      const spacing = spec.minSpacingMs ?? 1000;
      let generation = 0;

      const start = (index: number) =>
        Effect.gen(function* () {
          const child = spec.children[index]!;
          const wait = lastStart[index]! + spacing - clock.now();
          if (wait > 0) yield* Effect.sleep(wait);
          lastStart[index] = clock.now();
          const gen = ++generation;
          const childReady = yield* Deferred.make<void>();
          const fiber = yield* forkDetached(
            child.run(() => Deferred.unsafeDone(childReady, Effect.void)).pipe(
              Effect.exit,
              Effect.tap((exit) => Deferred.succeed(childReady, undefined).pipe(Effect.andThen(Queue.offer(exits, { index, generation: gen, exit })))),
              Effect.asVoid,
            ),
          );
          running[index] = { fiber, generation: gen };
          if (spec.ordered) yield* Deferred.await(childReady);
        });

      const stop = (index: number) =>
        Effect.suspend(() => {
          const current = running[index];
          running[index] = undefined;
          return current === undefined ? Effect.void : Fiber.interrupt(current.fiber).pipe(Effect.asVoid);
        });

      const stopFrom = (from: number) =>
        Effect.forEach(
          spec.children.map((_, i) => i).filter((i) => i >= from).reverse(),
          stop,
          { discard: true },
        );

      const stopAll = stopFrom(0);

      // The children a strategy restarts when child `index` exits, in start order.
      const affectedBy = (index: number): number[] => {
        if (spec.strategy === "one_for_one") return [index];
        const from = spec.strategy === "rest_for_one" ? index : 0;
        return spec.children.map((_, i) => i).filter((i) => i >= from);
      };

      const shouldRestart = (index: number, exit: Exit.Exit<void, unknown>): boolean => {
        const restart = spec.children[index]!.restart;
        if (restart === "temporary") return false;
        if (restart === "transient") return exit._tag === "Failure" && !isInterruptOnly(exit);
        return true;
      };

      return yield* Effect.gen(function* () {
        for (let i = 0; i < spec.children.length; i++) yield* start(i);
        ready();
        for (;;) {
          const { index, generation: gen, exit } = yield* Queue.take(exits);
          if (running[index]?.generation !== gen) continue;
          running[index] = undefined;
          const failed = exit._tag === "Failure";
          spec.onEvent?.({ event: "child-exit", node: spec.id, child: spec.children[index]!.id, failed });
          if (!shouldRestart(index, exit)) {
            // Like OTP's auto_shutdown: once every child has ended for good, so does the node.
            if (running.every((r) => r === undefined)) return;
            continue;
          }

          const now = clock.now();
          restartTimes.push(now);
          while (restartTimes.length > 0 && restartTimes[0]! <= now - spec.periodMs) restartTimes.shift();
          if (restartTimes.length > spec.intensity) {
            spec.onEvent?.({ event: "escalate", node: spec.id, restarts: restartTimes.length });
            yield* stopAll;
            return yield* Effect.fail(new Escalated(spec.id, restartTimes.length, spec.periodMs));
          }

          const restarted = affectedBy(index);
          if (spec.strategy !== "one_for_one") yield* stopFrom(restarted[0]!);
          spec.onEvent?.({ event: "restart", node: spec.id, children: restarted.map((i) => spec.children[i]!.id) });
          for (const i of restarted) yield* start(i);
        }
      }).pipe(Effect.ensuring(stopAll));
    });
}

function isInterruptOnly(exit: Exit.Exit<void, unknown>): boolean {
  return exit._tag === "Failure" && exit.cause._tag === "Interrupt";
}
