import { closeSync, constants, openSync, readSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { enqueue } from "../../src/queue/enqueue.js";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { chunks, queueFiles, tempQueue, type TempQueue } from "./queue-fixture.js";

let queue: TempQueue | undefined;
afterEach(async () => {
  await queue?.remove();
  queue = undefined;
});

const ENQUEUED_AT = Date.UTC(2024, 2, 5, 7, 8, 9); // 5 Mar 2024 07:08:09
const myUid = process.getuid?.() ?? 0;

describe("enqueue writes qmail's files byte for byte", () => {
  it("mess/<N%23>/N is the Received line then the body; intd/N and todo/N are one file with the envelope", async () => {
    queue = await tempQueue();
    const result = await enqueue(
      queue.queueDir,
      chunks("Subject: hi\r\n", "\r\nbody\x00\xff bytes\n"),
      { sender: "alice@example.org", recipients: ["bob@example.net", "carol@example.com"] },
      { invokedBy: "network", now: () => ENQUEUED_AT },
    );
    expect(result).toEqual({ ok: true, id: expect.any(Number), qp: process.pid });
    if (!result.ok || result.id === null) return;
    const id = result.id;
    const layout = queueLayout(queue.queueDir);

    const mess = await readFile(layout.file("mess", id));
    expect(mess.toString("latin1")).toBe(
      `Received: (qmail ${process.pid} invoked from network); 5 Mar 2024 07:08:09 -0000\n` +
        "Subject: hi\r\n\r\nbody\x00\xff bytes\n",
    );
    expect((await stat(layout.file("mess", id))).ino).toBe(id); // N is the inode number

    const todo = await readFile(layout.file("todo", id));
    expect(todo.toString("latin1")).toBe(
      `u${myUid}\0p${process.pid}\0Falice@example.org\0Tbob@example.net\0Tcarol@example.com\0`,
    );
    expect((await stat(layout.file("todo", id))).ino).toBe((await stat(layout.file("intd", id))).ino);
    expect(await queueFiles(queue.queueDir)).toEqual([`intd/${id}`, `mess/${id % 23}/${id}`, `todo/${id}`].sort());
    const umask = process.umask();
    expect((await stat(layout.file("mess", id))).mode & 0o777).toBe(0o644 & ~umask);
  });

  it.each([
    ["alias", "by alias", myUid],
    ["bounce", "for bounce", myUid],
    [{ uid: 1234 }, "by uid 1234", 1234],
  ] as const)("invoked %j: Received says '%s', the u record %d", async (invokedBy, who, uid) => {
    queue = await tempQueue();
    const result = await enqueue(queue.queueDir, chunks("x\n"), { sender: "", recipients: ["r@x"] }, {
      invokedBy,
      now: () => Date.UTC(2031, 11, 25, 23, 59, 5),
    });
    if (!result.ok || result.id === null) throw new Error(JSON.stringify(result));
    const layout = queueLayout(queue.queueDir);
    expect((await readFile(layout.file("mess", result.id), "latin1")).split("\n")[0]).toBe(
      `Received: (qmail ${process.pid} invoked ${who}); 25 Dec 2031 23:59:05 -0000`,
    );
    expect(await readFile(layout.file("todo", result.id), "latin1")).toBe(`u${uid}\0p${process.pid}\0F\0Tr@x\0`);
  });

  it("streams a large body in many chunks without losing or reordering a byte", async () => {
    queue = await tempQueue();
    const piece = Buffer.alloc(100_003);
    for (let i = 0; i < piece.length; i++) piece[i] = (i * 7) & 0xff;
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 50; i++) yield piece.subarray(0, (i * 9973) % piece.length);
    }
    let expectedLength = 0;
    for (let i = 0; i < 50; i++) expectedLength += (i * 9973) % piece.length;
    const result = await enqueue(queue.queueDir, body(), { sender: "s@x", recipients: ["r@y"] }, { invokedBy: "network" });
    if (!result.ok || result.id === null) throw new Error(JSON.stringify(result));
    const mess = await readFile(queueLayout(queue.queueDir).file("mess", result.id));
    const bodyStart = mess.indexOf("\n") + 1;
    expect(mess.length - bodyStart).toBe(expectedLength);
    let at = bodyStart;
    for (let i = 0; i < 50; i++) {
      const n = (i * 9973) % piece.length;
      expect(mess.subarray(at, at + n).equals(piece.subarray(0, n))).toBe(true);
      at += n;
    }
  });

  it("writes one byte to lock/trigger after the commit, and succeeds when nobody listens", async () => {
    queue = await tempQueue();
    const layout = queueLayout(queue.queueDir);
    const noReader = await enqueue(queue.queueDir, chunks("a\n"), { sender: "s", recipients: ["r"] }, { invokedBy: "network" });
    expect(noReader.ok).toBe(true); // ENXIO on the FIFO is ignored

    const reader = openSync(layout.trigger, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const result = await enqueue(queue.queueDir, chunks("b\n"), { sender: "s", recipients: ["r"] }, { invokedBy: "network" });
      expect(result.ok).toBe(true);
      const got = Buffer.alloc(8);
      expect(readSync(reader, got)).toBe(1);
      expect(got[0]).toBe(0);
    } finally {
      closeSync(reader);
    }
  });

  it("leaves lock/trigger alone when the injector wakes the send service itself (pullTrigger: false)", async () => {
    queue = await tempQueue();
    const layout = queueLayout(queue.queueDir);
    const reader = openSync(layout.trigger, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const result = await enqueue(queue.queueDir, chunks("c\n"), { sender: "s", recipients: ["r"] }, { invokedBy: "network", pullTrigger: false });
      expect(result.ok).toBe(true);
      expect(readSync(reader, Buffer.alloc(8))).toBe(0); // no writer ever came: end of file, no byte
      expect(await readFile(layout.file("todo", result.ok ? result.id! : 0), "latin1")).toContain("Tr\0");
    } finally {
      closeSync(reader);
    }
  });

  it("200 concurrent enqueues in one process get distinct ids and intact files", async () => {
    queue = await tempQueue();
    const layout = queueLayout(queue.queueDir);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        enqueue(
          queue!.queueDir,
          chunks(`Message-Id: <${i}@test>\n\n`, `body ${i}\n`.repeat(i % 7 + 1)),
          { sender: `s${i}@x`, recipients: [`r${i}@y`, `also${i}@z`] },
          { invokedBy: "network", now: () => ENQUEUED_AT },
        ),
      ),
    );
    const ids = results.map((r) => (r.ok ? r.id : null));
    expect(ids.every((id) => typeof id === "number")).toBe(true);
    expect(new Set(ids).size).toBe(200);
    for (const [i, id] of (ids as number[]).entries()) {
      expect(await readFile(layout.file("mess", id), "latin1")).toBe(
        `Received: (qmail ${process.pid} invoked from network); 5 Mar 2024 07:08:09 -0000\n` +
          `Message-Id: <${i}@test>\n\n` +
          `body ${i}\n`.repeat(i % 7 + 1),
      );
      expect(await readFile(layout.file("todo", id), "latin1")).toBe(
        `u${myUid}\0p${process.pid}\0Fs${i}@x\0Tr${i}@y\0Talso${i}@z\0`,
      );
    }
    const files = await queueFiles(queue.queueDir);
    expect(files.filter((f) => f.startsWith("pid/"))).toEqual([]);
    expect(files.filter((f) => f.startsWith("todo/"))).toHaveLength(200);
    expect(files).toHaveLength(600);
  });

  it("rejects a bad envelope before touching the disk", async () => {
    queue = await tempQueue();
    const tooLong = await enqueue(queue.queueDir, chunks("x"), { sender: "a".repeat(1003), recipients: [] }, { invokedBy: "network" });
    expect(tooLong).toEqual({ ok: false, exit: 11, text: "Denvelope address too long for qq (#5.1.3)" });
    const smuggled = await enqueue(queue.queueDir, chunks("x"), { sender: "a@b", recipients: ["x@y\0Tvictim@z"] }, { invokedBy: "network" });
    expect(smuggled).toEqual({ ok: false, exit: 31, text: "Dmail server permanently rejected message (#5.3.0)" });
    expect(await queueFiles(queue.queueDir)).toEqual([]);
  });

  it("does not run QMAILQUEUE when it is empty", async () => {
    queue = await tempQueue();
    const result = await enqueue(queue.queueDir, chunks("x\n"), { sender: "s", recipients: ["r"] }, {
      invokedBy: "network",
      env: { QMAILQUEUE: "" },
    });
    if (!result.ok || result.id === null) throw new Error(JSON.stringify(result));
    expect(await queueFiles(queue.queueDir)).toContain(`todo/${result.id}`);
  });
});
