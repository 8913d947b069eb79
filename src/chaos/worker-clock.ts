// The clock's side of a fault plan in a service's worker thread: a worker hook
// (supervisors/thread-protocol.ts) whose data is how far the runtime's clock has jumped in all.
// Given as a total rather than a step, so a worker restarted after the jumps boots on the same
// time as every other thread, and a hook applied twice changes nothing. Setting it re-arms the
// thread's clock timers (clock.at), so what a jump made due happens at once.

import { clock } from "../../supervisors/clock.js";

export default function applyClockOffset(data: unknown): void {
  clock.setOffset(data as number);
}
