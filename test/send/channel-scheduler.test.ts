// The per-channel scheduler: next-try order, concurrency slots, hold, svc -a, and the cost of a
// decision counted in heap comparisons (O(log n)), not timed.

import { afterEach, describe, expect, it } from "vitest";
import { clock } from "../../supervisors/clock.js";
import { ChannelScheduler } from "../../src/services/send/channel-scheduler.js";
import { JobHeap } from "../../src/services/send/job-heap.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

afterEach(() => clock.reset());

describe("channel scheduler", () => {
  it("gives turns in next-try order, only to due jobs, never more than the concurrency", async () => {
    const scheduler = new ChannelScheduler(2);
    const turns: string[] = [];
    const now = clock.now();
    // Two running deliveries fill the channel while the others queue up.
    scheduler.awaitTurn("busy1", 0, () => {});
    scheduler.awaitTurn("busy2", 0, () => {});
    const busy = [await scheduler.lease("busy1").acquire(), await scheduler.lease("busy2").acquire()];
    for (const [key, at] of [["c", now - 1], ["a", now - 3], ["later", now + 60_000], ["b", now - 2]] as const) {
      scheduler.awaitTurn(key, at, () => turns.push(key));
    }
    expect(turns).toEqual([]);
    busy[0]!();
    expect(turns).toEqual(["a"]);
    busy[1]!();
    expect(turns).toEqual(["a", "b"]);
    expect(scheduler.running).toBe(0);
    scheduler.lease("a").close();
    expect(turns).toEqual(["a", "b", "c"]);
    scheduler.lease("b").close();
    await tick();
    expect(turns).not.toContain("later");
    scheduler.makeAllDue();
    expect(turns).toContain("later");
  });

  it("holds everything at concurrency 0", async () => {
    const scheduler = new ChannelScheduler(0);
    let turned = false;
    scheduler.awaitTurn("x", 0, () => (turned = true));
    scheduler.makeAllDue();
    await tick();
    expect(turned).toBe(false);
  });

  it("a started pass asking for more slots is served before new turns", async () => {
    const scheduler = new ChannelScheduler(1);
    const turns: string[] = [];
    scheduler.awaitTurn("first", 0, () => turns.push("first"));
    const lease = scheduler.lease("first");
    const release = (await lease.acquire())!;
    const second = lease.acquire();
    scheduler.awaitTurn("other", 0, () => turns.push("other"));
    release();
    const release2 = await second;
    expect(turns).toEqual(["first"]);
    release2!();
    expect(turns).toEqual(["first", "other"]);
  });

  it("stop lets running deliveries end and refuses new slots", async () => {
    const scheduler = new ChannelScheduler(1);
    scheduler.awaitTurn("a", 0, () => {});
    const release = (await scheduler.lease("a").acquire())!;
    const waiting = scheduler.lease("a").acquire();
    let stopped = false;
    const stop = scheduler.stop().then(() => (stopped = true));
    expect(await waiting).toBeUndefined();
    await tick();
    expect(stopped).toBe(false);
    release();
    await stop;
    expect(stopped).toBe(true);
  });

  it("a withdrawn job never gets a turn", () => {
    const scheduler = new ChannelScheduler(1);
    const withdraw = scheduler.awaitTurn("gone", clock.now() + 1000, () => {
      throw new Error("turned");
    });
    withdraw();
    scheduler.makeAllDue();
    expect(scheduler.queued).toBe(0);
  });
});

describe("job heap cost per decision", () => {
  function costs(size: number): { push: number; pop: number; remove: number } {
    const heap = new JobHeap<{ key: string; at: number }>();
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < size; i++) heap.push({ key: String(i), at: random() });
    const pushes = 1000;
    let before = heap.comparisons;
    for (let i = 0; i < pushes; i++) heap.push({ key: `p${i}`, at: random() });
    const push = (heap.comparisons - before) / pushes;
    before = heap.comparisons;
    for (let i = 0; i < pushes; i++) heap.pop();
    const pop = (heap.comparisons - before) / pushes;
    before = heap.comparisons;
    for (let i = 0; i < pushes; i++) heap.remove(String(i * 7));
    const remove = (heap.comparisons - before) / pushes;
    let previous = -Infinity;
    while (heap.size > 0) {
      const next = heap.pop()!.at;
      expect(next).toBeGreaterThanOrEqual(previous);
      previous = next;
    }
    return { push, pop, remove };
  }

  it("pop and remove take at most 2·log2(n) + 2 comparisons; growing n 100× adds a constant, not a factor", () => {
    const small = costs(1_000);
    const large = costs(100_000);
    for (const [n, cost] of [[1_000, small], [100_000, large]] as const) {
      const bound = 2 * Math.log2(n + 1000) + 2;
      expect(cost.pop).toBeLessThanOrEqual(bound);
      expect(cost.remove).toBeLessThanOrEqual(bound);
      expect(cost.push).toBeLessThanOrEqual(Math.log2(n + 1000) + 1);
    }
    // log2 grows by log2(100) ≈ 6.6 from 1k to 100k: two comparisons per level at most.
    expect(large.pop - small.pop).toBeLessThanOrEqual(2 * Math.log2(100) + 1);
  });
});
