// Compiles dist/ once before the suite: the CLI tests run `tsqmail` as a real program, and its
// worker threads load compiled JavaScript (Node 20 cannot load a .ts worker entry).

import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  const root = fileURLToPath(new URL("..", import.meta.url));
  execFileSync(process.execPath, [fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url)), "-p", "tsconfig.json"], {
    cwd: root,
    stdio: "inherit",
  });
}
