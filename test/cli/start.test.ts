// The whole program as a user runs it: `npm start` on a fresh root, daemontools' own svstat and
// svc against the running services, `tsqmail svc`/`svstat`, and a SIGTERM that ends it in < 5 s.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../runtime/test-root.js";
// The built module, as `tsqmail` loads it (CommonJS, read before the pool starts).
import { RUNTIME_THREAD_POOL_SIZE } from "../../dist/src/runtime/thread-pool.cjs";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const compiledTestService = join(repo, "dist/test/fixtures/services/test-service.js");
const cli = join(repo, "dist/src/cli/main.js");
/** The command as installed (package.json's bin). */
const command = join(repo, "src/cli/tsqmail");

let child: ChildProcess | undefined;
let root: string | undefined;

afterEach(() => {
  // npm start runs tsqmail under sh: end the whole process group, as a terminal would.
  if (child?.pid !== undefined) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
  child = undefined;
  root = undefined;
});

function addService(dir: string, name: string, env: Record<string, string> = {}): string {
  const serviceDir = join(dir, "service", name);
  mkdirSync(join(serviceDir, "env"), { recursive: true });
  writeFileSync(join(serviceDir, "module"), `${compiledTestService}\n`);
  for (const [key, value] of Object.entries(env)) writeFileSync(join(serviceDir, "env", key), `${value}\n`);
  return serviceDir;
}

/** A process's environment, as the kernel shows it. */
function environment(pid: string | number): string[] {
  return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
}

function tsqmail(...args: string[]): string {
  return execFileSync(process.execPath, [cli, ...args], { encoding: "utf8", stdio: "pipe", env: { ...process.env, TSQMAIL_ROOT: root } });
}

describe("tsqmail start", () => {
  it("npm start inits the root, brings every service up; daemontools' svstat and svc work on it; SIGTERM stops it in < 5 s", async () => {
    root = mkdtempSync(join(tmpdir(), "tsqmail-start-"));
    const alpha = addService(root, "alpha");
    addService(root, "beta");
    let stderr = "";
    const { MALLOC_ARENA_MAX: _unset, ...env } = process.env;
    child = spawn("npm", ["start", "--silent"], { cwd: repo, env: { ...env, TSQMAIL_ROOT: root }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes("tsqmail: running"), 20_000, "running");
    expect(stderr).toMatch(/alpha: up/);
    expect(stderr).toMatch(/beta: up/);
    expect(stderr).not.toMatch(/^  [a-z0-9-]+: (starting|down)$/m);

    expect(readFileSync(join(root, "control/me"), "utf8")).toBe("mail.example.test\n");
    expect(existsSync(join(root, "queue/todo"))).toBe(true);

    const debian = execFileSync("svstat", [alpha], { encoding: "utf8" });
    const shown = debian.match(new RegExp(`^${alpha}: up \\(pid (\\d+)\\) \\d+ seconds\\n$`));
    expect(shown).not.toBeNull();
    // The pid svstat shows is the tsqmail process hosting the service's thread.
    expect(readFileSync(`/proc/${shown![1]}/cmdline`, "utf8")).toContain("dist/src/cli/launch.cjs\0start");
    // The launcher sized libuv's pool before it started: its threads (named "node", as the main
    // thread and V8's helpers are) number at least the runtime's pool size; Node's default is 4.
    const taskNames = readdirSync(`/proc/${shown![1]}/task`).map((task) => readFileSync(`/proc/${shown![1]}/task/${task}/comm`, "utf8").trim());
    expect(taskNames.filter((name) => name === "node").length).toBeGreaterThanOrEqual(RUNTIME_THREAD_POOL_SIZE);
    // The command set glibc's malloc arenas for the process (src/cli/tsqmail says why).
    expect(environment(shown![1]!)).toContain("MALLOC_ARENA_MAX=4");
    // Every service is up: the built-in ones `npm start` made, and the two added here.
    const lines = tsqmail("svstat").trimEnd().split("\n");
    expect(lines.map((line) => line.split(":")[0])).toEqual(expect.arrayContaining(["alpha", "beta"]));
    for (const line of lines) expect(line).toMatch(/^[a-z0-9-]+: up \(pid \d+\) \d+ seconds$/);

    execFileSync("svc", ["-d", alpha]);
    await waitFor(() => execFileSync("svstat", [alpha], { encoding: "utf8" }).includes(": down "), 5000, "svc -d");
    expect(execFileSync("svstat", [alpha], { encoding: "utf8" })).toMatch(/: down \d+ seconds, normally up\n$/);

    tsqmail("svc", "-u", "alpha");
    await waitFor(() => tsqmail("svstat", "alpha").includes(": up "), 5000, "tsqmail svc -u");
    const treeText = tsqmail("svstat", "--tree");
    expect(treeText).toMatch(/^tsqmail \(one_for_one\)\n/);
    expect(treeText).toMatch(/\n└─ local \(one_for_one\)\n   ├─ alpha: up .*\[thread \d+, ready, 2 starts, last exit 0\]\n   └─ beta: up .*\[thread \d+, ready, 1 start\]\n$/);

    // SIGTERM to the process group, as systemd or a terminal sends it; tsqmail must be gone within 5 s.
    const stoppedAt = Date.now();
    process.kill(-child.pid!, "SIGTERM");
    await waitFor(() => !existsSync(`/proc/${shown![1]}`), 5000, "tsqmail to exit");
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    expect(execFileSync("svstat", [alpha], { encoding: "utf8" })).toBe(`${alpha}: supervise not running\n`);
    expect(readFileSync(join(root, "log/alpha/current"), "utf8")).toContain("stopping");
  }, 40_000);

  it("refuses a second runtime on the same root; HUP reloads, ALRM retries, TERM exits 0", async () => {
    root = mkdtempSync(join(tmpdir(), "tsqmail-start-"));
    addService(root, "alpha");
    let stderr = "";
    child = spawn(process.execPath, [cli, "start", "--root", root], { stdio: ["ignore", "ignore", "pipe"], detached: true });
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes("tsqmail: running"), 20_000, "running");
    let failure = "";
    try {
      tsqmail("start");
    } catch (error) {
      failure = String((error as { stderr?: string }).stderr);
    }
    expect(failure).toMatch(/unable to acquire .*service\/alpha\/supervise\/lock\.tsqmail: held by pid \d+/);
    expect(tsqmail("svstat", "alpha")).toMatch(/: up /);
    // The refused runtime left the running one's log alone (no `current` set aside as @….u).
    expect(readdirSync(join(root, "log/alpha")).filter((name) => name.endsWith(".u"))).toEqual([]);

    // SIGHUP reloads every service (svc -h), SIGALRM asks every one to retry now (svc -a).
    process.kill(child.pid!, "SIGHUP");
    process.kill(child.pid!, "SIGALRM");
    const alphaLog = join(root, "log/alpha/current");
    // Two different signals sent back to back may be dispatched in either order: require each.
    await waitFor(() => {
      const text = readFileSync(alphaLog, "utf8");
      return text.includes("signal hup") && text.includes("signal alrm");
    }, 5000, "hup and alrm in alpha's log");

    const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toContain("tsqmail: stopped");
  }, 40_000);

  it("the installed command execs node, so tsqmail keeps its pid and signals; an arena count the user set is kept", async () => {
    root = mkdtempSync(join(tmpdir(), "tsqmail-start-"));
    addService(root, "alpha");
    let stderr = "";
    child = spawn(command, ["start", "--root", root], { env: { ...process.env, MALLOC_ARENA_MAX: "2" }, stdio: ["ignore", "ignore", "pipe"], detached: true });
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes("tsqmail: running"), 20_000, "running");
    expect(readFileSync(`/proc/${child.pid}/cmdline`, "utf8")).toContain("dist/src/cli/launch.cjs\0start");
    expect(environment(child.pid!)).toContain("MALLOC_ARENA_MAX=2");
    const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toContain("tsqmail: stopped");
  }, 40_000);
});
