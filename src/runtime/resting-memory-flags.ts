// V8 flags that let a long-running runtime hold less memory at rest. V8's flags belong to the
// whole process, so `tsqmail start` sets them before its first worker starts; a host that embeds
// the runtime keeps its own process's settings unless it calls this too.
//
// Most of a worker's code runs once, at start-up: module bodies, the parsing of control files,
// the wiring of a service. V8 keeps that bytecode until a function has gone unused through five
// full collections, which a quiet worker at rest never reaches; with one, start-up bytecode goes
// at the next full collection, and code that runs again is compiled again from its source (a
// cost paid once per collection, only by code that runs less often than that). `--max-lazy`
// stops V8 compiling functions eagerly at load on the guess that they run at once: those that do
// are compiled when called, those that don't never are. Over the eleven workers of
// `tsqmail init`, the pair took the runtime at rest from 170–172 to 163 MB RSS (docs/supervision.md, Memory at rest).

import { setFlagsFromString } from "node:v8";

export const RESTING_MEMORY_FLAGS = ["--bytecode-old-age=1", "--max-lazy"] as const;

/** Sets RESTING_MEMORY_FLAGS for this process; workers started afterwards inherit them. */
export function useRestingMemoryFlags(): void {
  for (const flag of RESTING_MEMORY_FLAGS) setFlagsFromString(flag);
}
