// The clock's side of a fault plan in a service's worker thread: a worker hook
// (supervisors/thread-protocol.ts) whose data is how far the runtime's clock has jumped in all.
// Given as a total rather than a step, so a worker restarted after the jumps boots on the same
// time as every other thread, and a hook applied twice changes nothing.

import { clock } from "../../supervisors/clock.js";

export default function applyClockOffset(data: unknown): void {
  clock.reset();
  clock.jump(data as number);
}
