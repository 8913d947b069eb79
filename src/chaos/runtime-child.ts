// The runtime of a chaos run, in a process of its own so the run can SIGKILL it whole. Started
// as `node runtime-child.js ROOT`; speaks to the driver over the IPC channel: `ready` once every
// service is up, `stats` (faults injected, resident memory) twice a second; it takes `plan`,
// `clear`, `alarm` (svc -a send: retry now), `status` (answered with the services' status) and
// `stop` (graceful, then exit 0).

import { createRuntime } from "../runtime/runtime.js";
import type { FaultPlan } from "./fault-plan.js";

export type ToRuntimeChild =
  | { readonly type: "plan"; readonly plan: FaultPlan }
  | { readonly type: "clear" }
  | { readonly type: "alarm" }
  | { readonly type: "status" }
  | { readonly type: "stop" };

export interface ServiceUp {
  readonly name: string;
  readonly up: boolean;
  readonly wanted: boolean;
}

export type FromRuntimeChild =
  | { readonly type: "ready" }
  | { readonly type: "stats"; readonly counts: Record<string, number>; readonly rss: number }
  | { readonly type: "status"; readonly services: readonly ServiceUp[] };

const root = process.argv[2];
if (root === undefined || process.send === undefined) throw new Error("usage: node runtime-child.js ROOT (with an IPC channel)");
const tell = (message: FromRuntimeChild): void => void process.send!(message);

const runtime = createRuntime({ root });
const statsMessage = (): FromRuntimeChild => ({ type: "stats", counts: runtime.faults.counts() as Record<string, number>, rss: process.memoryUsage().rss });
const stats = (): void => tell(statsMessage());

process.on("message", (message: ToRuntimeChild) => {
  switch (message.type) {
    case "plan":
      runtime.faults.install(message.plan);
      return;
    case "clear":
      runtime.faults.clear();
      return;
    case "alarm":
      runtime.svc("a", ["send"]);
      return;
    case "status":
      tell({ type: "status", services: runtime.status().map((s) => ({ name: s.name, up: s.up && s.ready, wanted: s.want === "up" })) });
      return;
    case "stop":
      void runtime.stop({ timeoutMs: 10_000 }).finally(() => process.send!(statsMessage(), () => process.exit(0)));
      return;
  }
});

// A driver that died (killed, interrupted) leaves no runtime behind it.
process.on("disconnect", () => process.exit(1));

await runtime.start({ readyTimeoutMs: 60_000 });
tell({ type: "ready" });
setInterval(stats, 500).unref();
