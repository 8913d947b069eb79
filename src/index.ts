// tsqmail as a library: run a whole mail system inside a host program.
//
//   const runtime = createRuntime({ root: "/var/tsqmail" });
//   await runtime.start();             // every service ready
//   runtime.subscribe(console.log);    // actors and supervisors, live
//   runtime.svc("h", ["smtpd"]);       // as `svc -h`
//   await runtime.stop();              // graceful, bounded
//
// Effect hosts use `TsqmailRuntime` and `tsqmailLayer(options)`: the runtime is started when the
// layer is built and stopped when its scope closes.

import { acquireRelease, Context, Effect, scopedLayer, type Layer } from "../supervisors/fx.js";
import { createRuntime, type Runtime, type RuntimeOptions } from "./runtime/runtime.js";

export { createRuntime };
export type { Runtime, RuntimeOptions };
export type { InspectionRecord } from "../supervisors/inspection-record.js";
export type { InspectorOptions } from "./inspect/runtime-inspector.js";
export { foldContext, type FoldedContext } from "./inspect/context-fold.js";
export type { SuperviseStatus } from "../supervisors/supervise.js";
export type { StartService, ServiceContext, ServiceHandlers } from "../supervisors/service-module.js";
export { useRestingMemoryFlags } from "./runtime/resting-memory-flags.js";
export { setFaultHook, type FaultHook, type FaultPoint } from "./io/faults.js";
export { buildPlan, FAULT_KINDS, type FaultCounts, type FaultKind, type FaultPlan, type FaultRule, type ScheduledAction } from "./chaos/fault-plan.js";
export type { RuntimeFaults } from "./chaos/runtime-faults.js";

export class TsqmailRuntime extends Context.Tag("tsqmail/Runtime")<TsqmailRuntime, Runtime>() {}

export function tsqmailLayer(options: RuntimeOptions & { readyTimeoutMs?: number }): Layer.Layer<TsqmailRuntime, Error> {
  return scopedLayer(
    TsqmailRuntime,
    acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const runtime = createRuntime(options);
          try {
            await runtime.start(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs });
          } catch (error) {
            await runtime.stop();
            throw error;
          }
          return runtime;
        },
        catch: (error) => (error instanceof Error ? error : new Error(String(error))),
      }),
      (runtime) => Effect.promise(() => runtime.stop()),
    ),
  );
}
