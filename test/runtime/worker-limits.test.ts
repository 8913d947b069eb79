// Per-service worker heap limits (src/runtime/worker-limits.ts): `service/NAME/limits` reaches the
// service's worker thread — over the runtime's own resourceLimits, key by key, and for that
// service only; a malformed file is refused naming its file and line; `tsqmail init` writes
// the listeners' defaults (a small young generation for the quiet ones, a capped one for smtpd, none
// for send and the spawners), which the runtime then reads.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { initRoot } from "../../src/root/init.js";
import { rootPaths } from "../../src/root/paths.js";
import { createRuntime, type Runtime, type RuntimeOptions } from "../../src/runtime/runtime.js";
import { readServiceDefinition } from "../../src/runtime/service-definition.js";
import { logText, makeRoot, waitFor } from "./test-root.js";

const LIMITS_SERVICE = fileURLToPath(new URL("../fixtures/services/limits-service.ts", import.meta.url));

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function root(services: Readonly<Record<string, string | undefined>>): string {
  const made = makeRoot(Object.keys(services).map((name) => ({ name })));
  cleanups.push(made.cleanup);
  for (const [name, limits] of Object.entries(services)) {
    const dir = join(made.root, "service", name);
    writeFileSync(join(dir, "module"), `${LIMITS_SERVICE}\n`);
    if (limits !== undefined) writeFileSync(join(dir, "limits"), limits);
  }
  return made.root;
}

/** What the service's worker says it was started with. */
async function workerLimits(rootDir: string, name: string): Promise<Record<string, number>> {
  let match: RegExpExecArray | null = null;
  await waitFor(() => (match = /limits (\{.*\})/.exec(logText(rootDir, name))) !== null, 20_000, `${name}'s limits line`);
  return JSON.parse(match![1]!) as Record<string, number>;
}

function start(rootDir: string, options: Partial<RuntimeOptions> = {}): Runtime {
  const runtime = createRuntime({ root: rootDir, ...options });
  cleanups.push(() => runtime.stop());
  return runtime;
}

describe("service/NAME/limits", () => {
  it("sets that service's worker limits, over the runtime's, key by key", async () => {
    const dir = root({
      small: "# pop3-like: a small young generation\nmaxYoungGenerationSizeMb=3\n\nstackSizeMb = 2.5\n",
      plain: undefined,
    });
    const runtime = start(dir, { resourceLimits: { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 200 } });
    await runtime.start();
    expect(await workerLimits(dir, "small")).toMatchObject({ maxYoungGenerationSizeMb: 3, maxOldGenerationSizeMb: 200, stackSizeMb: 2.5 });
    expect(await workerLimits(dir, "plain")).toMatchObject({ maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 200 });
  }, 60_000);

  it("refuses a malformed file, naming it and the line", async () => {
    const cases: Array<[string, string]> = [
      ["maxYoungGenerationSizeMb=3\nmaxOldGenerationSizeMb=lots\n", "service/bad/limits:2: maxOldGenerationSizeMb: not a positive number of MB: \"lots\""],
      ["maxYoungGenerationSizeMb=0\n", "service/bad/limits:1: maxYoungGenerationSizeMb: not a positive number of MB: \"0\""],
      ["\nmaxYoungGenerationSizeMb 3\n", "service/bad/limits:2: expected name=value: \"maxYoungGenerationSizeMb 3\""],
      ["youngMb=3\n", "service/bad/limits:1: unknown limit \"youngMb\""],
      ["stackSizeMb=1\nstackSizeMb=2\n", "service/bad/limits:2: stackSizeMb set twice"],
      ["stackSizeMb=-1\n", "service/bad/limits:1: stackSizeMb: not a positive number of MB: \"-1\""],
    ];
    for (const [text, message] of cases) {
      const dir = root({ bad: text });
      await expect(readServiceDefinition(rootPaths(dir), "bad", {})).rejects.toThrow(message);
    }
    // And the runtime does not start on it.
    const runtime = start(root({ bad: "maxOldGenerationSizeMb=x\n" }));
    await expect(runtime.start()).rejects.toThrow("service/bad/limits:1");
  }, 60_000);

  it("tsqmail init gives the quiet listeners a small young generation, smtpd a capped one, and none to the queue's services", async () => {
    const made = makeRoot([]);
    cleanups.push(made.cleanup);
    await initRoot({ root: made.root, domain: "example.test", listen: "127.0.0.1", basePort: 20000 });
    const paths = rootPaths(made.root);
    for (const name of ["pop3d", "pop3s", "submission", "smtps", "qmtpd", "qmtps", "qmqpd"]) {
      expect((await readServiceDefinition(paths, name, {})).limits, name).toEqual({ maxYoungGenerationSizeMb: 3 });
    }
    expect((await readServiceDefinition(paths, "smtpd", {})).limits).toEqual({ maxYoungGenerationSizeMb: 8 });
    for (const name of ["send", "lspawn", "rspawn"]) expect((await readServiceDefinition(paths, name, {})).limits, name).toBeUndefined();
  }, 60_000);
});
