// A timer that survives restarts. XState's `after` delays live only in the running system and
// are not persisted (reference/runtime.md §2.3); a machine that must wake at a time keeps the
// absolute deadline in its context and invokes this actor with it. Restored from a snapshot,
// the actor is re-invoked and fires at the same wall-clock moment (or at once if it passed).

import { fromCallback, type EventObject } from "xstate";
import { clock } from "./clock.js";

export interface SleepUntilInput {
  /** Epoch milliseconds on tsqmail's clock. */
  readonly at: number;
  /** The event sent to the invoking actor when the deadline arrives. */
  readonly event: EventObject;
}

// setTimeout takes at most 2^31-1 ms; longer waits are re-armed in steps.
const LONGEST_TIMER_MS = 2_147_483_647;

export const sleepUntil = fromCallback<EventObject, SleepUntilInput>(({ input, sendBack }) => {
  let timer: ReturnType<typeof setTimeout>;
  const arm = (): void => {
    const wait = input.at - clock.now();
    if (wait <= 0) {
      sendBack(input.event);
      return;
    }
    timer = setTimeout(arm, Math.min(wait, LONGEST_TIMER_MS));
  };
  arm();
  return () => clearTimeout(timer);
});
