// qmail-clean's duties on real queue files: cleanTodo, removeMessage (foop) and its refusal while
// anything refers to the message, and sweepStale with files backdated by utimes.

import { unlink, utimes, writeFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { enqueue } from "../../src/queue/enqueue.js";
import { cleanTodo, removeMessage, STALE_AFTER_MS, sweepStale } from "../../src/queue/queue-clean.js";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { chunks, queueFiles, tempQueue, type TempQueue } from "./queue-fixture.js";

let queue: TempQueue | undefined;
afterEach(async () => {
  await queue?.remove();
  queue = undefined;
});

async function queued(q: TempQueue): Promise<number> {
  const result = await enqueue(q.queueDir, chunks("hello\n"), { sender: "a@b", recipients: ["c@d"] }, { invokedBy: "network" });
  if (!result.ok || result.id === null) throw new Error(JSON.stringify(result));
  return result.id;
}

const backdate = (path: string, ms: number) => utimes(path, ms / 1000, ms / 1000);

describe("cleanTodo and removeMessage", () => {
  it("cleanTodo removes intd/N and todo/N; removeMessage then removes the mess file", async () => {
    queue = await tempQueue();
    const id = await queued(queue);
    const layout = queueLayout(queue.queueDir);
    await writeFile(layout.file("info", id), "Fa@b\0");
    await cleanTodo(queue.queueDir, id);
    expect(await queueFiles(queue.queueDir)).toEqual([`info/${id % 23}/${id}`, `mess/${id % 23}/${id}`]);
    await cleanTodo(queue.queueDir, id); // a second run after a crash: nothing left to do, no error

    await unlink(layout.file("info", id));
    await removeMessage(queue.queueDir, id);
    expect(await queueFiles(queue.queueDir)).toEqual([]);
    await removeMessage(queue.queueDir, id); // again after a crash: already gone, no error
  });
});

describe("sweepStale", () => {
  it("removes only what is older than 36 hours and not referred to, and reports it", async () => {
    queue = await tempQueue();
    const layout = queueLayout(queue.queueDir);
    const now = Date.now();
    const old = now - STALE_AFTER_MS - 60_000;
    const young = now - STALE_AFTER_MS + 60_000;

    const abandoned = await queued(queue); // never committed: todo gone, mess + intd left
    await unlink(layout.file("todo", abandoned));
    await backdate(layout.file("mess", abandoned), old);
    await backdate(layout.file("intd", abandoned), old);

    const recent = await queued(queue); // same, but young: kept
    await unlink(layout.file("todo", recent));
    await backdate(layout.file("mess", recent), young);
    await backdate(layout.file("intd", recent), young);

    const waiting = await queued(queue); // old but committed (todo/N): kept
    await backdate(layout.file("mess", waiting), old);
    await backdate(layout.file("intd", waiting), old);

    const preprocessed = await queued(queue); // old, preprocessed (info/N): kept
    await cleanTodo(queue.queueDir, preprocessed);
    await writeFile(layout.file("info", preprocessed), "Fa@b\0");
    await backdate(layout.file("mess", preprocessed), old);

    const strayIntd = 999_999_990; // intd without todo and without mess
    await writeFile(layout.file("intd", strayIntd), "u0\0p1\0Fa@b\0");
    await backdate(layout.file("intd", strayIntd), old);

    await writeFile(layout.pidFile("123.456.1"), "");
    await backdate(layout.pidFile("123.456.1"), old);
    await writeFile(layout.pidFile("124.456.1"), "");
    await writeFile(`${layout.splitDir("mess", 0)}/junk`, "");
    await writeFile(`${layout.splitDir("mess", 0)}/1`, ""); // 1 belongs in mess/1
    await writeFile(`${layout.subdir("intd")}/x.tmp`, "");

    const report = await sweepStale(queue.queueDir, now);
    expect([...report.removed].sort()).toEqual(
      ["pid/123.456.1", `mess/${abandoned % 23}/${abandoned}`, `intd/${abandoned}`, `intd/${strayIntd}`].sort(),
    );
    expect([...report.problems].sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: "intd/x.tmp", detail: "not a message number" },
      { path: "mess/0/1", detail: "belongs in mess/1" },
      { path: "mess/0/junk", detail: "not a message number" },
    ]);
    const left = await queueFiles(queue.queueDir);
    for (const id of [recent, waiting, preprocessed]) expect(left).toContain(`mess/${id % 23}/${id}`);
    expect(left).toContain("pid/124.456.1");
    expect(left).toContain(`intd/${recent}`);
    expect(left).toContain(`intd/${waiting}`);
  });
});
