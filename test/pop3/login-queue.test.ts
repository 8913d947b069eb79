// LoginQueue (src/services/pop3d/login-queue.ts): never more checks at once than its limit, the
// rest started in arrival order, a failed check's error passed on and its slot freed.

import { describe, expect, it } from "vitest";
import { LoginQueue } from "../../src/services/pop3d/login-queue.js";

/** A check that runs until the test settles it. */
function gate(): { promise: Promise<string>; resolve(value: string): void; reject(error: Error): void } {
  let resolve!: (value: string) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<string>((ok, fail) => ((resolve = ok), (reject = fail)));
  return { promise, resolve, reject };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("LoginQueue", () => {
  it("runs at most `limit` checks at once, the rest in arrival order", async () => {
    const queue = new LoginQueue(2);
    const gates = [gate(), gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const results = gates.map((g, i) =>
      queue.run(() => {
        started.push(i);
        return g.promise;
      }),
    );
    await settled();
    expect(started).toEqual([0, 1]);
    expect(queue.size).toEqual({ running: 2, waiting: 3 });

    gates[1]!.reject(new Error("checker failed"));
    await expect(results[1]).rejects.toThrow("checker failed");
    await settled();
    expect(started).toEqual([0, 1, 2]);

    gates[0]!.resolve("zero");
    expect(await results[0]).toBe("zero");
    await settled();
    expect(started).toEqual([0, 1, 2, 3]);
    expect(queue.size).toEqual({ running: 2, waiting: 1 });

    for (const i of [2, 3, 4]) gates[i]!.resolve(`r${i}`);
    expect(await Promise.all(results.slice(2))).toEqual(["r2", "r3", "r4"]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(queue.size).toEqual({ running: 0, waiting: 0 });
  });

  it("refuses a limit that is not a positive integer", () => {
    expect(() => new LoginQueue(0)).toThrow("login queue limit must be a positive integer, not 0");
    expect(() => new LoginQueue(1.5)).toThrow(RangeError);
  });
});
