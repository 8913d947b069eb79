// Arguments shared by svc and svstat: `--root DIR` anywhere before the service names, and a
// service given by name (ROOT/service/NAME) or as a directory path (containing a `/`).

import { join } from "node:path";
import { chooseRoot, rootPaths } from "../../root/paths.js";
import { UsageError } from "../command.js";

export function rootOption(args: readonly string[], env: NodeJS.ProcessEnv): { root: string; rest: string[] } {
  const rest: string[] = [];
  let rootFlag: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--root") {
      rootFlag = args[++i];
      if (rootFlag === undefined) throw new UsageError("--root needs a directory");
    } else if (arg.startsWith("--root=")) {
      rootFlag = arg.slice("--root=".length);
    } else {
      rest.push(arg);
    }
  }
  return { root: chooseRoot(rootFlag, env), rest };
}

export function serviceDirOf(root: string, nameOrDir: string): string {
  return nameOrDir.includes("/") ? nameOrDir : join(rootPaths(root).service, nameOrDir);
}
