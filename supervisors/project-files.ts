// Where the project's own files are. Modules that load other modules or files by path (worker
// entries, service modules, child-process scripts, the inspector's page) find them from the
// package root, not from their own URL: the worker bundles (scripts/bundle.mjs) put code
// that several workers share in dist/chunks/, where a module's own import.meta.url says nothing
// about the layout around it. From the TypeScript sources (tests, tsx) modules are .ts files
// under the root; otherwise the compiled .js files under dist/.

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const runningFromSource = import.meta.url.endsWith(".ts");

/** The extension of the project's loadable modules in this build: .ts from source, .js from dist/. */
export const ownExtension = runningFromSource ? ".ts" : ".js";

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The package's root directory (holding package.json), as a path. */
export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

const rootUrl = pathToFileURL(`${packageRoot}/`);
const buildUrl = new URL(runningFromSource ? "./" : "dist/", rootUrl);

/** A file as shipped in the package, not compiled (`src/inspect/page/`). */
export function packageFile(path: string): URL {
  return new URL(path, rootUrl);
}

/** A path in the loadable build (`machines/`): under the root from source, under dist/ otherwise. */
export function ownPath(path: string): URL {
  return new URL(path, buildUrl);
}

/** The project's module at `path`, given from the root without extension (`supervisors/worker-runtime`). */
export function ownModule(path: string): URL {
  return ownPath(`${path}${ownExtension}`);
}
