// Child-process seam. Code that runs programs (QMAILQUEUE replacements, .qmail `|command` lines,
// checkpassword) asks for a `SiteChild` bound to its site and spawns through it, so a fault plan
// can make a spawn fail exactly as a missing or unrunnable program would.

import { spawn as spawnProcess, type ChildProcess, type SpawnOptions } from "node:child_process";
import { faultPoint } from "./faults.js";

export interface SiteChild {
  readonly site: string;
  /** node:child_process spawn; an injected fault throws before anything runs. */
  spawn(command: string, args: readonly string[], options: SpawnOptions): ChildProcess;
}

export function siteChild(site: string): SiteChild {
  return {
    site,
    spawn(command, args, options) {
      faultPoint({ seam: "child", site, op: "spawn", path: command });
      return spawnProcess(command, args, options);
    },
  };
}
