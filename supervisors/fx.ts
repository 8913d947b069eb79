// The one door to Effect. Every supervisor module takes its Effect vocabulary from here, so the
// move from effect 3 to effect 4 (fork → forkChild, forkDaemon → forkDetach, catchAll → catch,
// async → callback, Layer.scoped → Layer.effect, …) is a change to this file alone. Per-module
// imports keep start-up cheap (the barrel costs 2–4× more, reference/runtime.md §1.1).

import * as Effect from "effect/Effect";
import * as Fiber from "effect/Fiber";
import * as Queue from "effect/Queue";
import * as Deferred from "effect/Deferred";
import * as Exit from "effect/Exit";
import * as Cause from "effect/Cause";
import * as Layer from "effect/Layer";
import * as Context from "effect/Context";
import * as Clock from "effect/Clock";

export { Effect, Fiber, Queue, Deferred, Exit, Cause, Layer, Context, Clock };
export type { RuntimeFiber } from "effect/Fiber";

/** Runs `effect` in a fiber of its own that outlives its parent (v4: `Effect.forkDetach`). */
export const forkDetached = Effect.forkDaemon;

/** Runs `effect` in a child fiber interrupted with its parent (v4: `Effect.forkChild`). */
export const forkChild = Effect.fork;

/** Adapts a callback-style source into an Effect (v4: `Effect.callback`). */
export const fromCallback = Effect.async;

/** Offers to a queue from outside any fiber: promise callbacks, worker events (v4: `Queue.offerUnsafe`). */
export const offerNow = <A>(queue: Queue.Queue<A>, item: A): void => {
  Queue.unsafeOffer(queue, item);
};

/** Builds a scoped Layer from an acquire/release pair (v4: `Layer.effect` with a scoped effect). */
export const scopedLayer = Layer.scoped;

/** Acquire/release bracket whose release runs when the surrounding scope closes. */
export const acquireRelease = Effect.acquireRelease;

/** Starts `effect` as a root fiber of the default runtime and returns the fiber. */
export const runFork = Effect.runFork;

/** Runs `effect` to a promise on the default runtime. */
export const runPromise = Effect.runPromise;

/** An unbounded queue made outside any fiber, so plain callers can feed a fiber's inbox. */
export const inboxNow = <A>(): Queue.Queue<A> => Effect.runSync(Queue.unbounded<A>());
