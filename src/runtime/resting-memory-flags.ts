// A V8 flag that lets a long-running runtime hold less memory at rest. V8's flags belong to the
// whole process, so `tsqmail start` sets it before its first worker starts; a host that embeds
// the runtime keeps its own process's settings unless it calls this too.
//
// `--max-lazy` stops V8 compiling functions at load on its guess that they will run at once:
// those that do are compiled when first called, and those that never run, most of every worker's
// error paths and unused library code, are never compiled. Over the eleven workers of
// `tsqmail init` it took the runtime at rest from 150 to 145 MB RSS (docs/supervision.md, Memory
// at rest). It changes only when code is compiled, not how it runs. `--bytecode-old-age=1`, which
// drops start-up bytecode sooner, saved as much again at rest but cost delivery throughput under
// load, so it is not set (docs/supervision.md says how it was measured).

import { setFlagsFromString } from "node:v8";

/** Sets the flag for this process; workers started afterwards inherit it. */
export function useRestingMemoryFlags(): void {
  setFlagsFromString("--max-lazy");
}
