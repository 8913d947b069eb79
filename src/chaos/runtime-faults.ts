// `runtime.faults`: a fault plan for a whole runtime. Installing a plan sets the main thread's
// fault hook, sends the plan to every running worker as a worker hook (worker-faults.ts), hands
// it to every worker started later (a restarted service boots with it), and runs the plan's
// `kill-worker` actions on their schedule (as `svc -k`) and its `clock-jump` actions (this
// thread's clock, then every worker's through worker-clock.ts; later workers boot with the jumped
// clock). `sigkill` actions are not carried out here: only a driver that runs the runtime in a
// child process can (the chaos command).
// Counts add up what every thread injected, per kind, since the runtime started.

import { clock } from "../../supervisors/clock.js";
import { ownModule } from "../../supervisors/project-files.js";
import type { WorkerHook } from "../../supervisors/thread-protocol.js";
import { setFaultHook } from "../io/faults.js";
import type { FaultCounts, FaultKind, FaultPlan } from "./fault-plan.js";
import { addCounts } from "./fault-plan.js";
import { planHook } from "./plan-hook.js";

export interface RuntimeFaults {
  /** Replaces any plan in force with `plan`, in every thread; its schedule starts now. */
  install(plan: FaultPlan): void;
  /** Ends the plan in force: no more injections, no more scheduled actions. */
  clear(): void;
  /** Faults injected so far, per kind, in every thread. */
  counts(): FaultCounts;
}

export interface RuntimeFaultsWiring extends RuntimeFaults {
  /** The hooks a worker boots with. */
  hooks(): readonly WorkerHook[];
  /** A worker hook's report: counted when it came from the fault hook. */
  onReport(module: string, payload: unknown): void;
}

const hookModule = (name: string): string => ownModule(`src/chaos/${name}`).href;
const WORKER_MODULE = hookModule("worker-faults");
const CLOCK_MODULE = hookModule("worker-clock");

export function createRuntimeFaults(runtime: {
  applyHook(hook: WorkerHook): void;
  killWorker(service: string): void;
}): RuntimeFaultsWiring {
  let plan: FaultPlan | null = null;
  // The sum of the jumps carried out: what a worker's clock must be set to.
  let jumpedMs = 0;
  let timers: NodeJS.Timeout[] = [];
  const counted = new Map<FaultKind, number>();
  const count = (kind: FaultKind): void => addCounts(counted, { [kind]: 1 });

  function apply(next: FaultPlan | null): void {
    for (const timer of timers) clearTimeout(timer);
    timers = [];
    plan = next;
    setFaultHook(next === null ? undefined : planHook(next, count));
    runtime.applyHook({ module: WORKER_MODULE, data: next });
    for (const action of next?.actions ?? []) {
      if (action.kind === "sigkill") continue;
      const timer = setTimeout(() => {
        count(action.kind);
        if (action.kind === "kill-worker") return runtime.killWorker(action.service);
        clock.jump(action.byMs);
        jumpedMs += action.byMs;
        runtime.applyHook({ module: CLOCK_MODULE, data: jumpedMs });
      }, action.atMs);
      timer.unref();
      timers.push(timer);
    }
  }

  return {
    install: (next) => apply(next),
    clear: () => apply(null),
    counts: () => Object.fromEntries(counted),
    hooks: () => [...(plan === null ? [] : [{ module: WORKER_MODULE, data: plan }]), ...(jumpedMs === 0 ? [] : [{ module: CLOCK_MODULE, data: jumpedMs }])],
    onReport(module, payload) {
      if (module === WORKER_MODULE) addCounts(counted, payload as FaultCounts);
    },
  };
}
