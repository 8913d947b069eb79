// The coalescing rule, with an operation (standing for a directory fsync) that finishes only
// when the test says.

import { describe, expect, it } from "vitest";
import { createCoalescer } from "../../src/queue/coalescer.js";

function controlled() {
  const pending: { dir: string; finish: (error?: Error) => void }[] = [];
  const operation = (dir: string) =>
    new Promise<void>((resolve, reject) => {
      pending.push({ dir, finish: (error) => (error ? reject(error) : resolve()) });
    });
  const coalescer = createCoalescer(operation);
  const sync = { changed: coalescer.mark, durable: coalescer.after, isDurable: coalescer.covered };
  return { sync, pending };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("createCoalescer", () => {
  it("an fsync that began before a change does not cover it; later changes share one fsync", async () => {
    const { sync, pending } = controlled();
    const first = sync.durable(sync.changed("/todo"));
    expect(pending).toHaveLength(1);

    const waits = [1, 2, 3].map(() => sync.durable(sync.changed("/todo")));
    let settled = 0;
    for (const w of waits) void w.then(() => settled++);
    expect(pending).toHaveLength(1); // one at a time

    pending[0]!.finish();
    await first;
    await tick();
    expect(settled).toBe(0); // the first fsync started before their links
    expect(pending).toHaveLength(2); // exactly one more for all three

    pending[1]!.finish();
    await Promise.all(waits);
    expect(pending).toHaveLength(2);
  });

  it("a change made while an fsync runs and awaited after a later one succeeded needs no new fsync", async () => {
    const { sync, pending } = controlled();
    const early = sync.changed("/mess/3");
    const running = sync.durable(early);
    const late = sync.changed("/mess/3"); // after fsync #1 began
    const other = sync.durable(sync.changed("/mess/3"));
    pending[0]!.finish();
    await running;
    await tick();
    expect([sync.isDurable(early), sync.isDurable(late)]).toEqual([true, false]);
    pending[1]!.finish();
    await other;
    expect(sync.isDurable(late)).toBe(true);
    await sync.durable(late); // covered by fsync #2, which began after it
    expect(pending).toHaveLength(2);
  });

  it("directories are independent, and a failed fsync rejects exactly its waiters", async () => {
    const { sync, pending } = controlled();
    const a = sync.durable(sync.changed("/a"));
    const b = sync.durable(sync.changed("/b"));
    expect(pending.map((p) => p.dir)).toEqual(["/a", "/b"]);
    pending[0]!.finish(new Error("EIO"));
    pending[1]!.finish();
    await expect(a).rejects.toThrow("EIO");
    await expect(b).resolves.toBeUndefined();
    const retry = sync.durable(sync.changed("/a")); // the failure proved nothing: a new fsync
    expect(pending).toHaveLength(3);
    pending[2]!.finish();
    await retry;
  });
});
