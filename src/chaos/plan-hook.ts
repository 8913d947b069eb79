// Turns a fault plan into the fault seam's hook (src/io/faults.ts) for one thread: at each fault
// point the thread's decider picks a rule or none; a rule with an action (delay, truncate) returns
// it for the seam to carry out, one with a code throws the error the real call would have thrown,
// one with neither throws a plain Error (a bug in the code an actor runs).

import { systemError, type FaultHook } from "../io/faults.js";
import { FaultDecider, type FaultKind, type FaultPlan } from "./fault-plan.js";

export function planHook(plan: FaultPlan, onInjected: (kind: FaultKind) => void): FaultHook {
  const decider = new FaultDecider(plan);
  return (point) => {
    const rule = decider.decide(point);
    if (rule === undefined) return;
    onInjected(rule.kind);
    if (rule.delayMs !== undefined) return { delayMs: rule.delayMs };
    if (rule.truncateAfter !== undefined) return { truncateAfter: rule.truncateAfter };
    throw rule.code === undefined ? new Error(`injected bug at ${point.seam}/${point.site}/${point.op} (chaos)`) : systemError(rule.code, point);
  };
}
