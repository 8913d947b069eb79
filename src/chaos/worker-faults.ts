// The fault plan's side in a service's worker thread: a worker hook (supervisors/thread-protocol.ts)
// that installs the plan as this thread's fault hook, or clears it when given null, and reports
// what it injected to the main thread once per turn of the event loop.

import { setFaultHook } from "../io/faults.js";
import type { FaultCounts, FaultKind, FaultPlan } from "./fault-plan.js";
import { planHook } from "./plan-hook.js";

let pending: FaultCounts = {};
let reportQueued = false;

export default function applyFaultPlan(data: unknown, report: (counts: FaultCounts) => void): void {
  const plan = data as FaultPlan | null;
  if (plan === null) {
    setFaultHook(undefined);
    return;
  }
  setFaultHook(
    planHook(plan, (kind: FaultKind) => {
      pending[kind] = (pending[kind] ?? 0) + 1;
      if (reportQueued) return;
      reportQueued = true;
      setImmediate(() => {
        reportQueued = false;
        report(pending);
        pending = {};
      });
    }),
  );
}
