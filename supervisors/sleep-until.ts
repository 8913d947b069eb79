// A timer that survives restarts. XState's `after` delays live only in the running system and
// are not persisted (reference/runtime.md §2.3); a machine that must wake at a time keeps the
// absolute deadline in its context and invokes this actor with it. Restored from a snapshot,
// the actor is re-invoked and fires at the same wall-clock moment (or at once if it passed); a
// jump of the clock past the deadline fires it at once too (clock.at).

import { fromCallback, type EventObject } from "xstate";
import { clock } from "./clock.js";

export interface SleepUntilInput {
  /** Epoch milliseconds on tsqmail's clock. */
  readonly at: number;
  /** The event sent to the invoking actor when the deadline arrives. */
  readonly event: EventObject;
}

export const sleepUntil = fromCallback<EventObject, SleepUntilInput>(({ input, sendBack }) => {
  if (input.at <= clock.now()) {
    sendBack(input.event);
    return;
  }
  return clock.at(input.at, () => sendBack(input.event));
});
