// qmail-clean's duties on real queue files: cleanTodo, removeMessage (foop) and when it may take
// the mess file (watched and failed through the fault seam), and sweepStale with files backdated
// by utimes.

import { unlink, utimes, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { setFaultHook, systemError, type FaultPoint } from "../../src/io/faults.js";
import { enqueue } from "../../src/queue/enqueue.js";
import { cleanTodo, removeMessage, STALE_AFTER_MS, sweepStale } from "../../src/queue/queue-clean.js";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { waitFor } from "../runtime/test-root.js";
import { chunks, queueFiles, tempQueue, type TempQueue } from "./queue-fixture.js";

let queue: TempQueue | undefined;
afterEach(async () => {
  setFaultHook(undefined);
  await queue?.remove();
  queue = undefined;
});

async function queued(q: TempQueue): Promise<number> {
  const result = await enqueue(q.queueDir, chunks("hello\n"), { sender: "a@b", recipients: ["c@d"] }, { invokedBy: "network" });
  if (!result.ok || result.id === null) throw new Error(JSON.stringify(result));
  return result.id;
}

const backdate = (path: string, ms: number) => utimes(path, ms / 1000, ms / 1000);

/** The directory fsyncs queue-clean makes from now on; those of `failing` fail with EIO. */
function watchDirSyncs(failing?: string): string[] {
  const synced: string[] = [];
  setFaultHook((point: FaultPoint) => {
    if (point.site !== "clean" || point.op !== "fsync" || point.path === undefined) return;
    synced.push(point.path);
    if (point.path === failing) throw systemError("EIO", point);
  });
  return synced;
}

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

  it("cleanTodo's removals are made durable unasked, and removeMessage takes the mess file only once they are", async () => {
    queue = await tempQueue();
    const layout = queueLayout(queue.queueDir);
    const id = await queued(queue);
    const synced = watchDirSyncs(layout.subdir("todo"));
    await cleanTodo(queue.queueDir, id);
    // Nobody waits for them, yet both directories are fsync'd soon after (todo/'s fsync fails here).
    await waitFor(() => synced.includes(layout.subdir("intd")) && synced.includes(layout.subdir("todo")), 5_000, "the fsyncs of intd/ and todo/");

    // While the removal of todo/N is not durable, the mess file stays: a crash could bring todo/N
    // back beside a new message that took the freed inode number.
    await expect(removeMessage(queue.queueDir, id)).rejects.toThrow("EIO");
    expect(existsSync(layout.file("mess", id))).toBe(true);
    // It also fsync'd, once in this life, every directory an earlier life may have removed a name from.
    // intd/'s such fsync queues behind the one its removal started, so it is its second.
    const splitDirs = (["info", "local", "remote"] as const).map((name) => layout.splitDir(name, id));
    const intdSyncs = (): number => synced.filter((dir) => dir === layout.subdir("intd")).length;
    await waitFor(() => [layout.subdir("bounce"), ...splitDirs].every((dir) => synced.includes(dir)) && intdSyncs() === 2, 5_000, "the fsyncs for earlier lives");

    const seen = watchDirSyncs(); // todo/'s fsyncs succeed again
    await removeMessage(queue.queueDir, id);
    expect(existsSync(layout.file("mess", id))).toBe(false);
    // Only todo/ again (the other fsyncs had succeeded); the mess file's own removal is not waited for.
    expect(seen).toEqual([layout.subdir("todo")]);
  });

  it("removes mess files whose other names went in an earlier life of the worker after one fsync of each of their directories", async () => {
    queue = await tempQueue();
    const layout = queueLayout(queue.queueDir);
    const ids = [await queued(queue), await queued(queue)];
    for (const id of ids) {
      await unlink(layout.file("todo", id));
      await unlink(layout.file("intd", id));
    }
    const seen = watchDirSyncs();
    for (const id of ids) await removeMessage(queue.queueDir, id);
    expect(await queueFiles(queue.queueDir)).toEqual([]);
    const dirs = new Set([layout.subdir("todo"), layout.subdir("intd"), layout.subdir("bounce")]);
    for (const id of ids) for (const name of ["info", "local", "remote"] as const) dirs.add(layout.splitDir(name, id));
    expect([...seen].sort()).toEqual([...dirs].sort());
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
