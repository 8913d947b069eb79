// Must reach: zero loss under SIGKILL. The real `tsqmail start` (compiled) runs send and a fake
// lspawn while an injector process queues messages in a loop; the whole runtime is SIGKILLed at
// random moments (at least 20 times) and restarted each time. At the end every message whose
// enqueue succeeded has been delivered at least once; deliveries beyond the first are counted as
// duplicates (at-least-once, as qmail) and reported.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { sleep, waitFor } from "../runtime/test-root.js";
import { deliveredLines, leftovers, makeSendRoot, type SendRoot } from "./send-root.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(repo, "dist/src/cli/main.js");
const injectorScript = join(repo, "dist/test/fixtures/injector.js");

let made: SendRoot | undefined;
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) killGroup(child, "SIGKILL");
  children.clear();
  made?.cleanup();
  made = undefined;
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

function startTsqmail(root: string): { child: ChildProcess; exited: Promise<void>; output: () => string } {
  let output = "";
  const child = spawn(process.execPath, [cli, "start", "--root", root], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  children.add(child);
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  void exited.then(() => children.delete(child));
  return { child, exited, output: () => output };
}

describe("zero loss under SIGKILL", () => {
  it("every message whose enqueue succeeded is delivered, across 20+ SIGKILLs of the whole runtime", async () => {
    made = await makeSendRoot({ compiled: true, spawners: ["lspawn"] });
    const okFile = join(made.root, "enqueued");
    const injector = spawn(process.execPath, [injectorScript, made.queueDir, okFile, "20000", "50", "example.test"], {
      stdio: ["ignore", "pipe", "inherit"],
      detached: true,
    });
    children.add(injector);
    let injected = "";
    injector.stdout!.on("data", (chunk: Buffer) => (injected += chunk.toString()));
    const injectorDone = new Promise<void>((resolve) => injector.on("exit", () => resolve()));

    let kills = 0;
    let injecting = true;
    void injectorDone.then(() => (injecting = false));
    while (injecting || kills < 20) {
      const run = startTsqmail(made.root);
      await sleep(300 + Math.random() * 1500);
      killGroup(run.child, "SIGKILL");
      await run.exited;
      kills++;
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    expect(injected).toMatch(/injected \d+ failed 0/);

    const promised = readFileSync(okFile, "utf8").split("\n").filter((line) => line !== "");
    const final = startTsqmail(made.root);
    const deliveredSet = (): Set<string> => new Set(deliveredLines(made!.deliveries).map((line) => line.split(" ")[0]!));
    const undelivered = (): string[] => promised.filter((n) => !deliveredSet().has(`ok-${n}@example.test`));
    await waitFor(() => undelivered().length === 0, 30_000, "every promised message delivered").catch((error: Error) => {
      const corrupt = join(made!.queueDir, "corrupt");
      const moved = existsSync(corrupt) ? readdirSync(corrupt).join(" ") : "nothing";
      throw new Error(`${error.message}: ${undelivered().length} undelivered; queue holds ${leftovers(made!.queueDir).join(" ")}; corrupt/ holds ${moved}`);
    });
    // Nothing may stay queued. A crash between unlinking info/N and removing mess/N leaves the mess
    // file to the 36-hour sweep, as in qmail (it cannot be told from an injection in progress).
    const stillQueued = (): string[] => leftovers(made!.queueDir).filter((path) => !path.startsWith("mess/") && !path.startsWith("intd/"));
    await waitFor(() => stillQueued().length === 0, 20_000, "queue empty");
    killGroup(final.child, "SIGTERM");
    await final.exited;

    const lines = deliveredLines(made.deliveries).map((line) => line.split(" ")[0]!);
    const missing = undelivered();
    const duplicates = lines.length - new Set(lines).size;
    const orphans = leftovers(made.queueDir);
    console.log(`sigkill: ${kills} kills, ${promised.length} messages enqueued, ${lines.length} deliveries, ${duplicates} duplicates, ${missing.length} missing, ${orphans.length} files left for the 36 h sweep: ${orphans.join(" ")}`);
    expect(missing).toEqual([]);
    expect(orphans.every((path) => path.startsWith("mess/") || path.startsWith("intd/"))).toBe(true);
    expect(existsSync(join(made.queueDir, "corrupt"))).toBe(false);
  }, 90_000);
});
