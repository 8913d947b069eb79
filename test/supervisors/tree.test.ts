import { describe, expect, it } from "vitest";
import { Deferred, Effect, Fiber, runFork } from "../../supervisors/fx.js";
import { Escalated, runTree, type TreeChild, type TreeEvent } from "../../supervisors/tree.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A child whose runs are recorded and which can be made to fail from the test. */
function controllable(id: string, restart: TreeChild["restart"] = "permanent", readyDelayMs = 0) {
  const log: string[] = [];
  let fail: (() => void) | undefined;
  const child: TreeChild = {
    id,
    restart,
    run: (ready) =>
      Effect.gen(function* () {
        const stop = yield* Deferred.make<void, Error>();
        fail = () => Deferred.unsafeDone(stop, Effect.fail(new Error(`${id} crashed`)));
        log.push("start");
        if (readyDelayMs > 0) yield* Effect.sleep(readyDelayMs);
        ready();
        yield* Deferred.await(stop);
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => log.push("stop")))),
  };
  return { child, log, crash: () => fail?.() };
}

function run(spec: Parameters<typeof runTree>[0]) {
  let readyAt = 0;
  const fiber = runFork(runTree(spec)(() => (readyAt = Date.now())));
  return { fiber, readyAt: () => readyAt };
}

describe("supervision tree", () => {
  it("one_for_one restarts only the failed child", async () => {
    const a = controllable("a");
    const b = controllable("b");
    const { fiber } = run({ id: "n", strategy: "one_for_one", intensity: 3, periodMs: 5000, ordered: true, minSpacingMs: 10, children: [a.child, b.child] });
    await sleep(30);
    b.crash();
    await sleep(50);
    expect(a.log).toEqual(["start"]);
    expect(b.log).toEqual(["start", "start"]);
    await Effect.runPromise(Fiber.interrupt(fiber));
    expect(a.log.at(-1)).toBe("stop");
  });

  it("rest_for_one restarts the failed child and those started after it, in order", async () => {
    const events: TreeEvent[] = [];
    const [a, b, c] = [controllable("a"), controllable("b"), controllable("c")];
    const { fiber } = run({
      id: "n", strategy: "rest_for_one", intensity: 3, periodMs: 5000, ordered: true, minSpacingMs: 10,
      children: [a.child, b.child, c.child], onEvent: (e) => events.push(e),
    });
    await sleep(30);
    b.crash();
    await sleep(60);
    expect(a.log).toEqual(["start"]);
    expect(b.log).toEqual(["start", "start"]);
    expect(c.log).toEqual(["start", "stop", "start"]);
    expect(events).toContainEqual({ event: "restart", node: "n", children: ["b", "c"] });
    await Effect.runPromise(Fiber.interrupt(fiber));
  });

  it("one_for_all restarts everyone", async () => {
    const [a, b] = [controllable("a"), controllable("b")];
    const { fiber } = run({ id: "n", strategy: "one_for_all", intensity: 3, periodMs: 5000, ordered: false, minSpacingMs: 10, children: [a.child, b.child] });
    await sleep(30);
    b.crash();
    await sleep(60);
    expect(a.log).toEqual(["start", "stop", "start"]);
    expect(b.log).toEqual(["start", "start"]);
    await Effect.runPromise(Fiber.interrupt(fiber));
  });

  it("escalates after more than `intensity` restarts within the period", async () => {
    const a = controllable("a");
    const other = controllable("other");
    const { fiber } = run({ id: "pool", strategy: "one_for_one", intensity: 2, periodMs: 5000, ordered: true, minSpacingMs: 10, children: [other.child, a.child] });
    for (let i = 0; i < 3; i++) {
      await sleep(40);
      a.crash();
    }
    const exit = await Effect.runPromise(Fiber.await(fiber));
    expect(exit._tag).toBe("Failure");
    const error = exit._tag === "Failure" && exit.cause._tag === "Fail" ? exit.cause.error : undefined;
    expect(error).toBeInstanceOf(Escalated);
    expect(other.log.at(-1)).toBe("stop");
  });

  it("transient children are not restarted after a normal exit; temporary ones never; the node then ends", async () => {
    const done: TreeChild = { id: "t", restart: "transient", run: (ready) => Effect.sync(ready) };
    const temp = controllable("tmp", "temporary");
    const { fiber } = run({ id: "n", strategy: "one_for_one", intensity: 1, periodMs: 5000, ordered: true, minSpacingMs: 10, children: [done, temp.child] });
    await sleep(30);
    temp.crash();
    await sleep(50);
    expect(temp.log).toEqual(["start"]);
    const exit = await Effect.runPromise(Fiber.await(fiber));
    expect(exit._tag).toBe("Success");
  });

  it("keeps running while any child is still running", async () => {
    const done: TreeChild = { id: "t", restart: "transient", run: (ready) => Effect.sync(ready) };
    const stays = controllable("stays");
    const { fiber } = run({ id: "n", strategy: "one_for_one", intensity: 1, periodMs: 5000, ordered: true, minSpacingMs: 10, children: [done, stays.child] });
    await sleep(50);
    expect(fiber.unsafePoll()).toBeNull();
    await Effect.runPromise(Fiber.interrupt(fiber));
  });

  it("ordered nodes start a child only after the previous one is ready; stop in reverse order", async () => {
    const order: string[] = [];
    const child = (id: string, delay: number): TreeChild => ({
      id,
      restart: "permanent",
      run: (ready) =>
        Effect.gen(function* () {
          order.push(`start ${id}`);
          yield* Effect.sleep(delay);
          order.push(`ready ${id}`);
          ready();
          yield* Effect.never;
        }).pipe(Effect.onInterrupt(() => Effect.sync(() => order.push(`stop ${id}`)))),
    });
    const { fiber, readyAt } = run({ id: "n", strategy: "one_for_one", intensity: 1, periodMs: 5000, ordered: true, children: [child("a", 40), child("b", 10), child("c", 0)] });
    await sleep(100);
    expect(readyAt()).toBeGreaterThan(0);
    await Effect.runPromise(Fiber.interrupt(fiber));
    expect(order).toEqual(["start a", "ready a", "start b", "ready b", "start c", "ready c", "stop c", "stop b", "stop a"]);
  });
});
