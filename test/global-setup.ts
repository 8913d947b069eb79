// Builds dist/ once before the suite with `npm run build` (tsc, then scripts/bundle.mjs): the CLI
// tests run `tsqmail` as a real program, and its worker threads load compiled JavaScript (Node 20
// cannot load a .ts worker entry).

import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: fileURLToPath(new URL("..", import.meta.url)), stdio: "inherit" });
}
