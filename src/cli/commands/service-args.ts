// A service as svc and svstat name it: by name (ROOT/service/NAME) or as a directory path
// (containing a `/`).

import { join } from "node:path";
import { rootPaths } from "../../root/paths.js";

export function serviceDirOf(root: string, nameOrDir: string): string {
  return nameOrDir.includes("/") ? nameOrDir : join(rootPaths(root).service, nameOrDir);
}
