// Supervision on real worker threads: daemontools' restart rate and control letters, and
// failures contained to the worker that failed.

import { afterEach, describe, expect, it } from "vitest";
import { createRuntime, type Runtime } from "../../src/runtime/runtime.js";
import type { InspectionRecord } from "../../supervisors/inspection-record.js";
import { logText, makeRoot, sleep, waitFor } from "./test-root.js";

let runtime: Runtime | undefined;
let cleanup: (() => void) | undefined;

afterEach(async () => {
  await runtime?.stop();
  cleanup?.();
  runtime = undefined;
  cleanup = undefined;
});

function status(name: string) {
  const found = runtime!.status().find((s) => s.name === name);
  if (found === undefined) throw new Error(`no status for ${name}`);
  return found;
}

describe("supervise on real workers", () => {
  it("a service that throws at start is started 5 ± 1 times in 5 s, and its log says why", async () => {
    const made = makeRoot([{ name: "broken", env: { MODE: "throw-at-start" } }]);
    cleanup = made.cleanup;
    runtime = createRuntime({ root: made.root });
    const starts: number[] = [];
    runtime.subscribe((r: InspectionRecord) => {
      if (r.kind === "supervisor" && r.service === "broken" && r.event === "start") starts.push(r.at);
    });
    await expect(runtime.start({ readyTimeoutMs: 5000 })).rejects.toThrow(/broken: .*refusing to start/);
    const first = starts[0]!;
    const within = starts.filter((at) => at - first < 5000).length;
    expect(within).toBeGreaterThanOrEqual(4);
    expect(within).toBeLessThanOrEqual(6);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(990);
    expect(logText(made.root, "broken")).toContain("refusing to start (test)");
    // The line the service logged just before it threw survived the crash.
    expect(logText(made.root, "broken")).toContain("started mode=throw-at-start");
  }, 20_000);

  it("svc -d stops it, -u resumes it, -o runs it once, -x ends supervise once down", async () => {
    const made = makeRoot([{ name: "svc", env: { MODE: "steady", GREETING: "hello from envdir" } }]);
    cleanup = made.cleanup;
    runtime = createRuntime({ root: made.root });
    const treeEvents: InspectionRecord[] = [];
    runtime.subscribe((r) => {
      if (r.kind === "supervisor" && (r.service === "local" || r.service === "tsqmail")) treeEvents.push(r);
    });
    await runtime.start();
    expect(logText(made.root, "svc")).toContain("started mode=steady greeting=hello from envdir");
    const firstThread = status("svc").childId;
    expect(firstThread).toBeGreaterThan(0);

    runtime.svc("d", ["svc"]);
    await waitFor(() => !status("svc").up, 5000, "down");
    expect(status("svc")).toMatchObject({ want: "down", ready: false, childId: 0 });
    expect(logText(made.root, "svc")).toContain("stopping");
    await sleep(1200);
    expect(status("svc").up).toBe(false);

    runtime.svc("u", ["svc"]);
    await waitFor(() => status("svc").ready, 5000, "up again");
    expect(status("svc").childId).not.toBe(firstThread);

    runtime.svc("d", ["svc"]);
    await waitFor(() => !status("svc").up, 5000, "down again");
    runtime.svc("o", ["svc"]);
    await waitFor(() => status("svc").ready, 5000, "once");
    expect(status("svc").want).toBe("none");
    runtime.svc("t", ["svc"]);
    await waitFor(() => !status("svc").up, 5000, "once ended");
    await sleep(1300);
    expect(status("svc").up).toBe(false);
    const starts = status("svc").starts;

    runtime.svc("x", ["svc"]);
    await expect(runtime.ended).resolves.toBeUndefined();
    expect(starts).toBe(3);
    // The tree saw supervise end normally and did not restart it; then its branch ended too.
    expect(treeEvents.map((r) => (r.kind === "supervisor" ? [r.service, r.event, r.detail] : []))).toEqual([
      ["local", "exit", { event: "child-exit", child: "svc", failed: false }],
      ["tsqmail", "exit", { event: "child-exit", child: "local", failed: false }],
    ]);
  }, 30_000);

  it("a down file keeps a service down until svc -u", async () => {
    const made = makeRoot([{ name: "lazy", down: true }]);
    cleanup = made.cleanup;
    runtime = createRuntime({ root: made.root });
    await runtime.start();
    expect(status("lazy")).toMatchObject({ up: false, normallyUp: false, want: "down", starts: 0 });
    runtime.svc("u", ["lazy"]);
    await waitFor(() => status("lazy").ready, 5000, "up");
    expect(status("lazy").normallyUp).toBe(false);
  });

  it("passes h, a, p, c on to the service", async () => {
    const made = makeRoot([{ name: "sig" }]);
    cleanup = made.cleanup;
    runtime = createRuntime({ root: made.root });
    await runtime.start();
    runtime.svc("hapc", ["sig"]);
    await waitFor(() => logText(made.root, "sig").includes("signal cont"), 5000, "signals");
    const lines = logText(made.root, "sig").split("\n").filter((l) => l.includes(" signal "));
    expect(lines.map((l) => l.split(" signal ")[1])).toEqual(["hup", "alrm", "pause", "cont"]);
  });

  it("terminate, process.exit, a thrown timer and heap exhaustion in one worker leave the others up", async () => {
    const made = makeRoot([
      { name: "bystander" },
      { name: "exits", env: { MODE: "exit-after-ready" } },
      { name: "throws", env: { MODE: "throw-later" } },
      { name: "oom", env: { MODE: "oom" } },
    ]);
    cleanup = made.cleanup;
    runtime = createRuntime({ root: made.root, resourceLimits: { maxOldGenerationSizeMb: 48 } });
    const exits: Record<string, unknown[]> = {};
    runtime.subscribe((r) => {
      if (r.kind === "supervisor" && r.event === "exit") (exits[r.service] ??= []).push(r.detail);
    });
    await runtime.start().catch(() => {});
    const bystander = status("bystander").childId;
    await waitFor(() => (exits.exits?.length ?? 0) >= 2 && (exits.throws?.length ?? 0) >= 2 && (exits.oom?.length ?? 0) >= 1, 40_000, "crashes");
    // They have shown their failures; keep them from churning the CPU for the rest of the test.
    runtime.svc("d", ["exits", "throws", "oom"]);
    expect(exits.exits![0]).toMatchObject({ code: 7 });
    expect(logText(made.root, "exits")).toContain("started mode=exit-after-ready");
    expect(logText(made.root, "throws")).toMatch(/started mode=throw-later[\s\S]*thrown from a timer/);
    expect(exits.throws![0]).toMatchObject({ code: 1, error: expect.stringContaining("thrown from a timer") });
    expect(exits.oom![0]).toMatchObject({ code: 1, error: expect.stringMatching(/ERR_WORKER_OUT_OF_MEMORY|out of memory/i) });

    runtime.svc("k", ["bystander"]);
    await waitFor(() => status("bystander").ready && status("bystander").childId !== bystander, 5000, "bystander restarted");
    const restarted = status("bystander").childId;
    await sleep(1500);
    expect(status("bystander")).toMatchObject({ up: true, ready: true, childId: restarted });
    expect(exits.bystander).toHaveLength(1);
    runtime.svc("h", ["bystander"]);
    await waitFor(() => logText(made.root, "bystander").includes("signal hup"), 5000, "bystander answers");
  }, 90_000);

  it("stops within the deadline even when a service hangs in its stop", async () => {
    const made = makeRoot([{ name: "fine" }, { name: "hangs", env: { MODE: "hang-on-term" } }]);
    cleanup = made.cleanup;
    runtime = createRuntime({ root: made.root, serviceStopTimeoutMs: 1000 });
    await runtime.start();
    const started = Date.now();
    await runtime.stop({ timeoutMs: 5000 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(runtime.status().every((s) => !s.up)).toBe(true);
    expect(logText(made.root, "fine")).toContain("stopping");
  });
});

describe("messages between services", () => {
  it("a body moves from one worker to another by transfer, never copied on the way", async () => {
    const made = makeRoot([{ name: "sender" }, { name: "receiver" }]);
    cleanup = made.cleanup;
    runtime = createRuntime({ root: made.root });
    await runtime.start();
    expect(runtime.send("sender", { forward: "receiver", bytes: 1_000_000 })).toBe(true);
    await waitFor(() => logText(made.root, "receiver").includes("body from sender"), 5000, "body delivered");
    expect(logText(made.root, "sender")).toContain("sent 1000000 bytes to receiver, detached here: true");
    expect(logText(made.root, "receiver")).toContain("body from sender: 1000000 bytes, last byte 7");
    // The main thread's hop moves the buffer too: a body the host sends is detached here after.
    const body = new Uint8Array(4096).fill(7).buffer;
    expect(runtime.send("receiver", { body }, [body])).toBe(true);
    expect(body.byteLength).toBe(0);
    await waitFor(() => logText(made.root, "receiver").includes("body from host: 4096 bytes"), 5000, "host body delivered");
    expect(runtime.send("nobody", {})).toBe(false);
  });
});
