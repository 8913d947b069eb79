// Spare files on a real queue directory: a retired file keeps its inode in pid/ and becomes the
// next file written, empty; a preprocessed todo/N is kept the same way, but only when it is this
// process's own file with no other name; a spare that vanished is replaced by a new file, and a
// file an interrupted run left is written over; past its capacity a retired file is unlinked;
// and the sweep removes an earlier life's spares, quietly, keeping this life's. Spares beyond
// the few send keeps go to an injector, whose intd/N is then made of one; the injector's stock
// asks for more when it runs low, at most once a second.

import { chown, link, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { siteFs } from "../../src/io/fs.js";
import { createQueue } from "../../src/queue/create-queue.js";
import { cleanTodo, sweepStale } from "../../src/queue/queue-clean.js";
import { queueLayout, type QueueLayout } from "../../src/queue/queue-layout.js";
import { clock } from "../../supervisors/clock.js";
import { enqueue } from "../../src/queue/enqueue.js";
import { createSpareFiles, KEPT_FOR_SEND, SPARE_CAPACITY } from "../../src/queue/spare-files.js";
import { SpareStock, STOCK_CAPACITY } from "../../src/queue/spare-stock.js";

const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

async function emptyQueue(): Promise<QueueLayout> {
  const root = await mkdtemp(join(tmpdir(), "tsqmail-spares-"));
  roots.push(root);
  const layout = queueLayout(join(root, "queue"));
  await createQueue(layout.queueDir);
  return layout;
}

const fs = siteFs("send");

describe("spare files", () => {
  it("keep a retired file's inode in pid/ and give it to the next file, holding only the new bytes", async () => {
    const layout = await emptyQueue();
    const spares = createSpareFiles(fs, layout);
    const info = layout.file("info", 100);
    await writeFile(info, "Fold-sender@far.test\0", { mode: 0o600 });
    const inode = (await stat(info)).ino;

    expect(await spares.retire(info)).toBe(true);
    await expect(stat(info)).rejects.toMatchObject({ code: "ENOENT" });
    const kept = await readdir(layout.subdir("pid"));
    expect(kept).toHaveLength(1);
    expect((await stat(layout.pidFile(kept[0]!))).ino).toBe(inode);

    const local = layout.file("local", 200);
    await spares.write(local, Buffer.from("Tnew@h.test\0"));
    expect((await stat(local)).ino).toBe(inode);
    // Shorter than what the spare held: nothing of the old sender is left after the new bytes.
    expect(await readFile(local, "latin1")).toBe("Tnew@h.test\0");
    expect(await readdir(layout.subdir("pid"))).toEqual([]);
  });

  it("say a missing file was not there, and create a new file when the spare vanished", async () => {
    const layout = await emptyQueue();
    const spares = createSpareFiles(fs, layout);
    expect(await spares.retire(layout.file("info", 7))).toBe(false);

    await writeFile(layout.file("info", 8), "Fa@b\0");
    expect(await spares.retire(layout.file("info", 8))).toBe(true);
    for (const name of await readdir(layout.subdir("pid"))) await unlink(layout.pidFile(name)); // as a sweep elsewhere would
    await spares.write(layout.file("info", 9), Buffer.from("Fc@d\0"));
    const made = await stat(layout.file("info", 9));
    expect(await readFile(layout.file("info", 9), "latin1")).toBe("Fc@d\0");
    expect(made.mode & 0o777).toBe(0o600);
  });

  it("unlink what they have no room for", async () => {
    const layout = await emptyQueue();
    const spares = createSpareFiles(fs, layout);
    const count = SPARE_CAPACITY + 1;
    for (let id = 0; id < count; id++) await writeFile(layout.file("remote", id), "Tx@y\0");
    for (let id = 0; id < count; id++) expect(await spares.retire(layout.file("remote", id))).toBe(true);
    expect(await readdir(layout.subdir("pid"))).toHaveLength(SPARE_CAPACITY);
    for (let id = 0; id < count; id++) await expect(stat(layout.file("remote", id))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("of an earlier life are swept at once and unreported; this life's stay", async () => {
    const layout = await emptyQueue();
    const spares = createSpareFiles(fs, layout);
    await writeFile(layout.file("info", 3), "Fa@b\0");
    await spares.retire(layout.file("info", 3));
    const own = await readdir(layout.subdir("pid"));
    await writeFile(layout.pidFile("spare.1-1.1"), "Tleft@behind.test\0");
    await writeFile(layout.pidFile("4242.1700000000.1"), ""); // a young injection's pid file

    const report = await sweepStale(layout.queueDir, Date.now());
    expect(report.removed).toEqual([]);
    expect((await readdir(layout.subdir("pid"))).sort()).toEqual([...own, "4242.1700000000.1"].sort());
  });

  it("adopt a preprocessed todo/N once cleanTodo has removed its intd/N: its inode becomes the next file, mode 0600", async () => {
    const layout = await emptyQueue();
    const spares = createSpareFiles(fs, layout);
    const intd = layout.file("intd", 41);
    await writeFile(intd, "u0\0p1\0Fs@a.test\0Tr@b.test\0", { mode: 0o644 });
    await link(intd, layout.file("todo", 41));
    const inode = (await stat(intd)).ino;

    await cleanTodo(layout.queueDir, 41, spares.adopt);
    for (const name of ["intd", "todo"] as const) await expect(stat(layout.file(name, 41))).rejects.toMatchObject({ code: "ENOENT" });
    const kept = await readdir(layout.subdir("pid"));
    expect(kept).toHaveLength(1);
    const spare = await stat(layout.pidFile(kept[0]!));
    expect([spare.ino, spare.mode & 0o777, spare.nlink]).toEqual([inode, 0o600, 1]);

    await spares.write(layout.file("info", 42), Buffer.from("Fs@a.test\0"));
    expect((await stat(layout.file("info", 42))).ino).toBe(inode);
    expect(await readFile(layout.file("info", 42), "latin1")).toBe("Fs@a.test\0");
  });

  it("unlink rather than adopt a todo/N that still has another name", async () => {
    const layout = await emptyQueue();
    const spares = createSpareFiles(fs, layout);
    await writeFile(layout.file("intd", 5), "Fs@a.test\0");
    await link(layout.file("intd", 5), layout.file("todo", 5));
    expect(await spares.adopt(layout.file("todo", 5))).toBe(true);
    await expect(stat(layout.file("todo", 5))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readdir(layout.subdir("pid"))).toEqual([]);
    expect(await readFile(layout.file("intd", 5), "latin1")).toBe("Fs@a.test\0");
    expect(await spares.adopt(layout.file("todo", 6))).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)("unlink rather than adopt a todo/N another user owns (as root)", async () => {
    const layout = await emptyQueue();
    const spares = createSpareFiles(fs, layout);
    await writeFile(layout.file("todo", 9), "Fs@a.test\0");
    await chown(layout.file("todo", 9), 65534, 65534);
    expect(await spares.adopt(layout.file("todo", 9))).toBe(true);
    await expect(stat(layout.file("todo", 9))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readdir(layout.subdir("pid"))).toEqual([]);
  });

  it("write over a file an interrupted run left when no spare is at hand", async () => {
    const layout = await emptyQueue();
    const spares = createSpareFiles(fs, layout);
    const info = layout.file("info", 12);
    await writeFile(info, "Fan-older-and-longer-sender@far.test\0", { mode: 0o600 });
    const inode = (await stat(info)).ino;
    await spares.write(info, Buffer.from("Fs@a.test\0"));
    expect((await stat(info)).ino).toBe(inode);
    expect(await readFile(info, "latin1")).toBe("Fs@a.test\0");
  });

  it("go to an injector beyond the few send keeps, and become intd/N: written over, the spare name gone", async () => {
    const layout = await emptyQueue();
    const spares = createSpareFiles(fs, layout);
    for (let n = 0; n < KEPT_FOR_SEND + 2; n++) {
      await writeFile(layout.file("info", n), "F" + "x".repeat(300) + "\0");
      await spares.retire(layout.file("info", n));
    }
    const handed = spares.handOut(10);
    expect(handed).toHaveLength(2);
    expect(spares.handOut(10)).toEqual([]);

    const first = handed[0]!;
    const inode = (await stat(first)).ino;
    const envelope = { sender: "s@a.test", recipients: ["r@b.test"] };
    const queued = await enqueue(layout.queueDir, (async function* () {
      yield Buffer.from("Subject: x\n\nbody\n");
    })(), envelope, { invokedBy: "network", pullTrigger: false, spare: () => handed.shift() });
    if (!queued.ok || queued.id === null) throw new Error(`enqueue failed: ${JSON.stringify(queued)}`);
    const todo = layout.file("todo", queued.id);
    expect((await stat(todo)).ino).toBe(inode);
    expect(await readFile(todo, "latin1")).toBe(`u${process.getuid!()}\0p${process.pid}\0Fs@a.test\0Tr@b.test\0`);
    await expect(stat(first)).rejects.toMatchObject({ code: "ENOENT" });
    expect((await readdir(layout.subdir("pid"))).filter((name) => name.startsWith("spare."))).toHaveLength(KEPT_FOR_SEND + 1);

    // A spare swept away meanwhile: the next one, then a new file.
    await unlink(handed[0]!);
    const fallback = await enqueue(layout.queueDir, (async function* () {
      yield Buffer.from("Subject: y\n\nbody\n");
    })(), envelope, { invokedBy: "network", pullTrigger: false, spare: () => handed.shift() });
    if (!fallback.ok || fallback.id === null) throw new Error(`enqueue failed: ${JSON.stringify(fallback)}`);
    expect(await readFile(layout.file("todo", fallback.id), "latin1")).toBe(`u${process.getuid!()}\0p${process.pid}\0Fs@a.test\0Tr@b.test\0`);
    expect(handed).toEqual([]);
  });

  it("in an injector's stock are asked for when it runs low, at most once a second, and all kept", () => {
    const asks: number[] = [];
    const stock = new SpareStock((count) => asks.push(count));
    expect(stock.take()).toBeUndefined();
    expect(asks).toEqual([STOCK_CAPACITY]);
    expect(stock.take()).toBeUndefined();
    expect(asks).toHaveLength(1); // not again within the second
    stock.receive(["a", "b", "c"]);
    expect(stock.take()).toBe("c");
    clock.jump(1000);
    try {
      expect(stock.take()).toBe("b");
      expect(asks).toEqual([STOCK_CAPACITY, STOCK_CAPACITY - 1]);
    } finally {
      clock.reset();
    }
  });
});
