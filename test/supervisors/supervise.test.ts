import { describe, expect, it } from "vitest";
import { Effect, Fiber, runFork } from "../../supervisors/fx.js";
import { createSupervisor, type SuperviseStatus } from "../../supervisors/supervise.js";
import { fakeChild, type FakeChild } from "./fake-child.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function harness(options: { normallyUp?: boolean; honoursTerm?: boolean; spacing?: number; stopTimeoutMs?: number } = {}) {
  const children: FakeChild[] = [];
  const statuses: SuperviseStatus[] = [];
  let readyCalls = 0;
  const supervisor = createSupervisor({
    name: "test",
    normallyUp: options.normallyUp ?? true,
    stopTimeoutMs: options.stopTimeoutMs ?? 200,
    minSpacingMs: options.spacing ?? 50,
    start: () => {
      const child = fakeChild({ honoursTerm: options.honoursTerm ?? true });
      children.push(child);
      return child;
    },
    onStatus: (status) => statuses.push(status),
  });
  const fiber = runFork(supervisor.run(() => readyCalls++));
  return { supervisor, children, statuses, fiber, readyCalls: () => readyCalls };
}

describe("supervise", () => {
  it("starts the child and reports ready", async () => {
    const h = harness();
    await sleep(20);
    expect(h.children).toHaveLength(1);
    expect(h.supervisor.status()).toMatchObject({ up: true, ready: true, want: "up", starts: 1 });
    expect(h.readyCalls()).toBe(1);
    await Effect.runPromise(Fiber.interrupt(h.fiber));
  });

  it("restarts after every exit but never faster than the spacing", async () => {
    const h = harness({ spacing: 100 });
    const started = Date.now();
    for (let i = 0; i < 4; i++) {
      while (h.children.length < i + 1) await sleep(5);
      h.children[i]!.exit({ code: 1 });
    }
    while (h.children.length < 5) await sleep(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 100 - 10);
    expect(h.supervisor.status().lastExit).toEqual({ code: 1 });
    await Effect.runPromise(Fiber.interrupt(h.fiber));
  });

  it("a down file keeps it down; u starts it, d stops it and keeps it down", async () => {
    const h = harness({ normallyUp: false });
    await sleep(20);
    expect(h.children).toHaveLength(0);
    expect(h.readyCalls()).toBe(1);
    expect(h.supervisor.status()).toMatchObject({ up: false, want: "down", normallyUp: false });
    h.supervisor.control("u");
    await sleep(20);
    expect(h.children).toHaveLength(1);
    h.supervisor.control("d");
    await sleep(100);
    expect(h.children[0]!.signals).toContain("term");
    expect(h.children).toHaveLength(1);
    expect(h.supervisor.status()).toMatchObject({ up: false, want: "down" });
    await Effect.runPromise(Fiber.interrupt(h.fiber));
  });

  it("o runs once: no restart after the exit", async () => {
    const h = harness({ normallyUp: false });
    h.supervisor.control("o");
    await sleep(20);
    expect(h.children).toHaveLength(1);
    expect(h.supervisor.status().want).toBe("none");
    h.children[0]!.exit({ code: 0 });
    await sleep(150);
    expect(h.children).toHaveLength(1);
    expect(h.supervisor.status().up).toBe(false);
    await Effect.runPromise(Fiber.interrupt(h.fiber));
  });

  it("passes h a i t and p c on, k kills, and paused is recorded", async () => {
    const h = harness({ honoursTerm: false, stopTimeoutMs: 300 });
    await sleep(20);
    h.supervisor.control("hai");
    h.supervisor.control("p");
    await sleep(20);
    expect(h.children[0]!.signals).toEqual(["hup", "alrm", "int", "pause"]);
    expect(h.supervisor.status().paused).toBe(true);
    h.supervisor.control("ck");
    await sleep(20);
    expect(h.children[0]!.signals.at(-1)).toBe("cont");
    expect(h.children[0]!.killed).toBe(true);
    await sleep(80);
    expect(h.children).toHaveLength(2);
    await Effect.runPromise(Fiber.interrupt(h.fiber));
  });

  it("kills a child that ignores d after the stop timeout", async () => {
    const h = harness({ honoursTerm: false, stopTimeoutMs: 100 });
    await sleep(20);
    h.supervisor.control("d");
    await sleep(30);
    expect(h.children[0]!.killed).toBe(false);
    await sleep(150);
    expect(h.children[0]!.killed).toBe(true);
    expect(h.supervisor.status().up).toBe(false);
    await Effect.runPromise(Fiber.interrupt(h.fiber));
  });

  it("x ends supervise once the child is down", async () => {
    const h = harness();
    await sleep(20);
    h.supervisor.control("x");
    await sleep(20);
    expect(h.fiber.unsafePoll()).toBeNull();
    h.supervisor.control("d");
    const exit = await Effect.runPromise(Fiber.await(h.fiber));
    expect(exit._tag).toBe("Success");
    expect(h.children).toHaveLength(1);
  });

  it("interrupting supervise stops the child gracefully", async () => {
    const h = harness();
    await sleep(20);
    await Effect.runPromise(Fiber.interrupt(h.fiber));
    expect(h.children[0]!.signals).toEqual(["term"]);
    expect(h.children[0]!.killed).toBe(false);
    expect(h.statuses.at(-1)).toMatchObject({ up: false });
  });
});
