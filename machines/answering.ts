// How a machine's requests for work are answered (queue-entry, local-delivery, remote-delivery,
// pop3-session, qmtp-session and qmqp-session, and smtp-session through smtpd's
// session-answer.ts). A machine that asks for work by
// an action on entry rather than by invoking a child actor pays for an event instead of an actor:
// a step cost about 15 µs of CPU against 60 here (XState 5, a five-step chart in a loop). The
// action's implementation is made from the work it asks for, which gets the request's parameters
// and the actor that asks: the work runs to its end, and its answer — the event the work resolves
// to, or FAILED with what it threw — goes to the actor that asked while that answer is still
// wanted: by default while the actor runs (one stopped from outside gets nothing). Each machine
// exports an `answering` typed to its own answers: an answer the chart does not handle would
// leave it waiting for ever, and a misspelt one then does not compile.
// Pure: imports only xstate's types.

import type { AnyActorRef, EventObject } from "xstate";

/** The answer to a request whose work threw or rejected. */
export interface Failed {
  readonly type: "FAILED";
  readonly error: unknown;
}

/** Whether `actor` still runs: one stopped from outside (or finished) takes no more events. */
export const isRunning = (actor: AnyActorRef): boolean => actor.getSnapshot().status === "active";

/** Sends `event` to `actor` if it still runs. */
export function sendIfActive(actor: AnyActorRef, event: EventObject): void {
  if (isRunning(actor)) actor.send(event);
}

/**
 * `answering` typed to a machine's answers `A`, for a machine whose answers are wanted while it
 * runs: `export const answering = answeringWith<MyAnswer>();`.
 */
export const answeringWith =
  <A extends EventObject>() =>
  <R>(work: (request: R, self: AnyActorRef) => Promise<A>) =>
    answering(work);

/** A request action's implementation from the work it asks for (see above). */
export function answering<R, A extends EventObject>(
  work: (request: R, self: AnyActorRef) => Promise<A>,
  stillWanted: (self: AnyActorRef, request: R) => boolean = isRunning,
) {
  return ({ self }: { self: AnyActorRef }, request: R): void => {
    const answer = (event: A | Failed): void => {
      if (stillWanted(self, request)) self.send(event);
    };
    // A work that throws before it returns its promise is answered FAILED as well.
    new Promise<A>((resolve) => resolve(work(request, self))).then(answer, (error: unknown) => answer({ type: "FAILED", error }));
  };
}
