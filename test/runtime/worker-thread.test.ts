// What a service's worker thread starts as: named after its service in the system's thread list
// (supervisors/thread-name.ts), and without the host's module hooks (supervisors/worker-exec-argv.ts)
// but with its other options, or with none when Node refuses them in a worker's list.

import { execFile } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { createRuntime } from "../../src/runtime/runtime.js";
import { workerExecArgv } from "../../supervisors/worker-exec-argv.js";
import { logText, makeRoot, waitFor } from "./test-root.js";

const THREAD_SERVICE = fileURLToPath(new URL("../fixtures/services/thread-service.ts", import.meta.url));
const HOOKED_HOST = fileURLToPath(new URL("../fixtures/hooked-host.ts", import.meta.url));

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function threadNames(): string[] {
  const names: string[] = [];
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      names.push(readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim());
    } catch {
      // the thread ended while we looked
    }
  }
  return names;
}

describe("a service's worker thread", () => {
  it("carries its service's name in the thread list, cut to Linux's 15 bytes, and the options it was given", async () => {
    const services = ["qmtpd-threadtst", "a-much-longer-service-name"];
    const made = makeRoot(services.map((name) => ({ name })));
    cleanups.push(made.cleanup);
    for (const name of services) writeFileSync(join(made.root, "service", name, "module"), `${THREAD_SERVICE}\n`);
    const before = threadNames();
    expect(before).not.toContain("qmtpd-threadtst");
    const runtime = createRuntime({ root: made.root });
    cleanups.push(() => runtime.stop());
    await runtime.start();
    for (const name of services) await waitFor(() => logText(made.root, name).includes("execArgv"), 20_000, `${name}'s execArgv line`);
    // Node's own inheritance when the host (here vitest's process) loads no hooks; none when it does.
    const expected = workerExecArgv(process.execArgv) ?? process.execArgv;
    for (const name of services) expect(logText(made.root, name)).toContain(`execArgv ${JSON.stringify(expected)}`);
    const names = threadNames();
    expect(names).toContain("qmtpd-threadtst");
    expect(names).toContain("a-much-longer-s");
    await runtime.stop();
    await waitFor(() => !threadNames().includes("qmtpd-threadtst"), 20_000, "the named thread to end with its service");
  }, 60_000);
});

describe("a host started with module hooks", () => {
  /** The execArgv the service's worker reports, under a real `node --import tsx` host with `options`. */
  async function workerOptions(options: readonly string[]): Promise<string[]> {
    const made = makeRoot([{ name: "hooked" }]);
    cleanups.push(made.cleanup);
    writeFileSync(join(made.root, "service", "hooked", "module"), `${THREAD_SERVICE}\n`);
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", ...options, HOOKED_HOST, made.root], { timeout: 60_000 });
    return JSON.parse(/^hooked (.*)$/m.exec(stdout)![1]!) as string[];
  }

  it("gives its workers its other options, without the hooks", async () => {
    expect(await workerOptions(["--no-deprecation", "--trace-warnings"])).toEqual(["--no-deprecation", "--trace-warnings"]);
  }, 90_000);

  it("gives them none when Node refuses one of those in a worker (a per-process option)", async () => {
    expect(await workerOptions(["--no-deprecation", "--max-semi-space-size=4"])).toEqual([]);
  }, 90_000);
});

describe("workerExecArgv", () => {
  it("leaves out module hooks in any spelling, with their modules, and keeps the rest in order", () => {
    for (const hooks of [["--import", "tsx"], ["--require=./apm.cjs"], ["-r", "x.cjs"], ["--loader", "l.mjs"], ["--experimental-loader=e.mjs"]]) {
      expect(workerExecArgv(["--cpu-prof", ...hooks, "--no-warnings"])).toEqual(["--cpu-prof", "--no-warnings"]);
    }
  });

  it("lets a host without hooks pass its options on as Node does", () => {
    expect(workerExecArgv(["--max-old-space-size=512", "--enable-source-maps", "--title=mail"])).toBeUndefined();
    expect(workerExecArgv([])).toBeUndefined();
  });
});
