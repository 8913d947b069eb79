// The project's files are found from the package root, whichever module asks: from the source
// tree the .ts modules, from compiled code (tsc's output or a bundle's chunk) those under dist/.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { ownModule, ownPath, packageFile, packageRoot, runningFromSource } from "../../supervisors/project-files.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));

describe("project files", () => {
  it("finds the package root and, from source, the .ts modules under it", () => {
    expect(join(packageRoot, "/")).toBe(repo);
    expect(JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")).name).toBe("tsqmail");
    expect(runningFromSource).toBe(true);
    expect(ownModule("supervisors/worker-runtime").href).toBe(pathToFileURL(join(repo, "supervisors/worker-runtime.ts")).href);
    expect(existsSync(ownModule("src/services/smtpd/service"))).toBe(true);
    expect(existsSync(ownPath("machines/smtp-session.ts"))).toBe(true);
    expect(existsSync(packageFile("src/inspect/page/index.html"))).toBe(true);
  });

  it("compiled, it names the compiled modules under dist/", async () => {
    // The suite's global set-up has built dist/.
    const compiledModule = join(repo, "dist/supervisors/project-files.js");
    const compiled = (await import(pathToFileURL(compiledModule).href)) as typeof import("../../supervisors/project-files.js");
    expect(compiled.runningFromSource).toBe(false);
    expect(compiled.packageRoot).toBe(packageRoot);
    expect(compiled.ownModule("supervisors/worker-runtime").href).toBe(pathToFileURL(join(repo, "dist/supervisors/worker-runtime.js")).href);
    expect(existsSync(compiled.ownModule("src/services/smtpd/service"))).toBe(true);
  });
});
