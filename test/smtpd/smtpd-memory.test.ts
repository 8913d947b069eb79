// What idle connections and a large message cost the smtpd worker: what 1 000 idle connections
// add to the runtime's RSS and the worker's live heap, 10 000 held without errors, and a 50 MB
// message streamed into the queue while the worker's heap grows by less than 20 MB. The clients run in a child
// process (fixtures/idle-clients.mjs) so their sockets are not counted as the server's; the
// runtime is not inspected, as a production runtime without subscribers is not.

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../runtime/test-root.js";
import { RawClient, startSmtp, type SmtpRoot } from "./smtpd-harness.js";

const IDLE_CLIENTS = fileURLToPath(new URL("./fixtures/idle-clients.mjs", import.meta.url));
const MB = 1024 * 1024;

// A full collection before each reading, so garbage is not counted as cost: in this thread by
// `collect`, in the smtpd worker (started after this flag is set, so it has `gc` too) by its
// memory-query handler.
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

/** This process's open-file limits (soft, hard), as a child shell inherits them. */
function fileLimits(): { soft: number; hard: number } {
  const text = execFileSync("sh", ["-c", "ulimit -n; ulimit -Hn"], { encoding: "utf8" }).split("\n");
  const value = (line: string | undefined) => (line === "unlimited" ? Number.POSITIVE_INFINITY : Number(line));
  return { soft: value(text[0]), hard: value(text[1]) };
}

interface Clients {
  readonly child: ChildProcess;
  readonly lines: string[];
  close(): Promise<number | null>;
}

/** Starts `count` idle clients in a child (its file limit raised to fit) and waits until all are greeted. */
async function idleClients(port: number, count: number): Promise<Clients> {
  const child = spawn("sh", ["-c", `ulimit -n ${count + 500} 2>/dev/null; exec "$0" "$@"`, process.execPath, IDLE_CLIENTS, String(port), String(count)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => lines.push(line));
  await waitFor(() => lines.some((line) => line.startsWith("ready") || line.startsWith("error")) || child.exitCode !== null, 50_000, `${count} greetings`);
  return {
    child,
    lines,
    async close() {
      child.stdin!.end();
      const [code] = (await once(child, "exit")) as [number | null];
      return code;
    },
  };
}

/** The smtpd log's newest text: `current` and the file rotated last (a report may just have moved). */
function recentLog(smtp: SmtpRoot): string {
  const dir = join(smtp.root, "log", "smtpd");
  const rotated = readdirSync(dir).filter((name) => name.startsWith("@")).sort().at(-1);
  return `${rotated === undefined ? "" : readFileSync(join(dir, rotated), "utf8")}${smtp.log("smtpd")}`;
}

let reports = 0;

/** The smtpd worker's own report (its numbered `memory-query` answer in the log). */
async function workerMemory(smtp: SmtpRoot): Promise<{ heapUsed: number; sessions: number }> {
  const wanted = new RegExp(`smtpd: memory report ${++reports} heapUsed (\\d+) rss \\d+ sessions (\\d+)`);
  expect(smtp.send("smtpd", { type: "memory-query" })).toBe(true);
  let match: RegExpExecArray | null = null;
  await waitFor(() => (match = wanted.exec(recentLog(smtp))) !== null, 10_000, "the memory report");
  return { heapUsed: Number(match![1]), sessions: Number(match![2]) };
}

function rss(): number {
  collect();
  return process.memoryUsage().rss;
}

describe("smtpd memory", () => {
  // Each test starts a new service, whose reports count from 1 again.
  beforeEach(() => {
    reports = 0;
  });

  // The goal is ≤ 20 MB RSS. Measured here: ≈ 8.3 KB of live worker heap per idle session
  // (the XState actor and its system, the socket, its stream with one re-armed timer, the
  // listener's record; the session settings are shared) and 10–13.5 MB RSS with the young
  // generation capped at 4 MB. The bounds hold what is achieved, so a regression fails
  // (docs/smtpd.md, Memory).
  it("1 000 idle connections: live worker heap ≤ 10 KB each, RSS added ≤ 16 MB", async () => {
    const smtp = await startSmtp({ smtpd: { CONCURRENCY: "2000" } }, { inspect: false, certificate: false, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    const port = await smtp.port("smtpd");
    // Warm up: the first sessions load code and fill caches that are not per-connection cost.
    const warm = await idleClients(port, 50);
    expect(await warm.close()).toBe(0);
    // The warm-up sessions end once the worker has seen their sockets close.
    for (let tries = 0; (await workerMemory(smtp)).sessions > 0; tries++) {
      expect(tries).toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const heapBefore = (await workerMemory(smtp)).heapUsed;
    const baseline = rss();
    const clients = await idleClients(port, 1000);
    expect(clients.lines).toEqual(["ready 1000"]);
    const after = await workerMemory(smtp);
    expect(after.sessions).toBe(1000);
    const added = rss() - baseline;
    const heapAdded = after.heapUsed - heapBefore;
    console.info(`smtpd: 1000 idle connections added ${(added / MB).toFixed(1)} MB RSS, ${(heapAdded / 1000 / 1024).toFixed(1)} KB of live worker heap each`);
    expect(heapAdded).toBeLessThanOrEqual(1000 * 10 * 1024);
    expect(added).toBeLessThanOrEqual(16 * MB);
    expect(await clients.close()).toBe(0);
  }, 60_000);

  const limits = fileLimits();
  const enough = limits.soft >= 10_600;
  if (!enough) console.warn(`smtpd-memory: skipping 10 000 connections: this process may open only ${limits.soft} files (hard limit ${limits.hard}); run the tests with ulimit -n 11000 or more`);
  it.skipIf(!enough)("10 000 idle connections are held without errors, and a new client is still served", async () => {
    const smtp = await startSmtp({ smtpd: { CONCURRENCY: "10500", PERIP: "10500" } }, { inspect: false, certificate: false });
    const port = await smtp.port("smtpd");
    const clients = await idleClients(port, 10_000);
    expect(clients.lines).toEqual(["ready 10000"]);
    expect((await workerMemory(smtp)).sessions).toBe(10_000);
    const client = new RawClient(port);
    client.send("NOOP\r\nQUIT\r\n");
    await client.untilClosed(20_000);
    expect(client.finalLines()).toEqual(["220 mx.example.test ESMTP", "250 ok", "221 mx.example.test"]);
    expect(await clients.close()).toBe(0);
    expect(smtp.log("smtpd")).not.toMatch(/error|warning/i);
  }, 60_000);

  it("a 50 MB message streams into the queue while the worker's heap grows by less than 20 MB", async () => {
    const smtp = await startSmtp({ smtpd: {} }, { inspect: false, certificate: false });
    const client = new RawClient(await smtp.port("smtpd"));
    client.send("HELO big.example\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n");
    await client.replies(4);
    const baseline = (await workerMemory(smtp)).heapUsed;
    let peak = baseline;
    const sampling = setInterval(() => void workerMemory(smtp).then((m) => (peak = Math.max(peak, m.heapUsed)), () => {}), 250);
    const line = `${"x".repeat(998)}\r\n`;
    const chunk = Buffer.from(line.repeat(1024), "latin1");
    const total = 50 * MB;
    for (let sent = 0; sent < total; sent += chunk.length) {
      // Wait for the kernel to take each chunk: the server reads at its own pace.
      if (!client.socket.write(chunk)) await once(client.socket, "drain");
    }
    client.send(".\r\nQUIT\r\n");
    await client.untilClosed(50_000);
    clearInterval(sampling);
    peak = Math.max(peak, (await workerMemory(smtp)).heapUsed);
    console.info(`smtpd: 50 MB message, worker heap peak +${((peak - baseline) / MB).toFixed(1)} MB`);
    expect(client.finalLines().slice(-2)[0]).toMatch(/^250 ok \d+ qp \d+$/);
    const [message] = smtp.queued();
    expect(message!.mess.length).toBeGreaterThan(total - 1024 * 1024);
    expect(peak - baseline).toBeLessThan(20 * MB);
  }, 60_000);
});
