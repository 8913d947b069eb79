// Builds dist/ once before the suite, as `npm run build` does (tsc, then scripts/bundle.mjs): the
// CLI tests run `tsqmail` as a real program, and its worker threads load compiled JavaScript
// (Node 20 cannot load a .ts worker entry).

import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const run = (script: string, args: readonly string[]): void => void execFileSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], { cwd: root, stdio: "inherit" });
  run("../node_modules/typescript/bin/tsc", ["-p", "tsconfig.json"]);
  run("../scripts/bundle.mjs", []);
}
