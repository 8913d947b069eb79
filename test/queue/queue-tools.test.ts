// The queue as the tools and recovery read it: scanQueue on messages laid down by hand in qmail's
// preprocessed format, and the qread, qstat, qmaint and tcpto commands run in-process on such
// queues — a healthy one, one corrupted in several ways, and --remove with and without a running
// send service.

import { closeSync, constants, openSync, statSync } from "node:fs";
import { mkdir, rename, unlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import type { Command } from "../../src/cli/command.js";
import { qmaint } from "../../src/cli/commands/qmaint.js";
import { qread } from "../../src/cli/commands/qread.js";
import { qstat } from "../../src/cli/commands/qstat.js";
import { formatTcpto } from "../../src/cli/commands/tcpto.js";
import { enqueue } from "../../src/queue/enqueue.js";
import { cleanTodo } from "../../src/queue/queue-clean.js";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { parseChannelRecords, scanQueue } from "../../src/queue/queue-scan.js";
import { chunks, queueFiles, tempQueue, type TempQueue } from "./queue-fixture.js";

let queue: TempQueue | undefined;
afterEach(async () => {
  await queue?.remove();
  queue = undefined;
});

const BIRTH = Date.UTC(2024, 1, 3, 4, 5, 6); // 3 Feb 2024 04:05:06
const NEXT_TRY = BIRTH + 400_000;

async function run(command: Command, root: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const sink = (append: (s: string) => void) => new Writable({ write(chunk, _enc, done) { append(String(chunk)); done(); } });
  const io = { stdin: process.stdin, stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), env: {} };
  const code = await command.run([...args, "--root", root], io);
  return { code, out, err };
}

async function enqueued(q: TempQueue, body: string): Promise<number> {
  const result = await enqueue(q.queueDir, chunks(body), { sender: "x@y", recipients: ["z@w"] }, { invokedBy: "network" });
  if (!result.ok || result.id === null) throw new Error(JSON.stringify(result));
  return result.id;
}

/** A message as qmail-send leaves it after preprocessing: info, channel files, todo and intd gone. */
async function preprocessed(q: TempQueue, sender: string, local: string, remote: string, bounce?: string): Promise<number> {
  const id = await enqueued(q, "Subject: s\n\nbody\n");
  const layout = queueLayout(q.queueDir);
  await writeFile(layout.file("info", id), `F${sender}\0`);
  if (local !== "") await writeFile(layout.file("local", id), local, "latin1");
  if (remote !== "") await writeFile(layout.file("remote", id), remote, "latin1");
  if (bounce !== undefined) await writeFile(layout.file("bounce", id), bounce);
  await cleanTodo(q.queueDir, id);
  await utimes(layout.file("info", id), BIRTH / 1000, BIRTH / 1000);
  for (const name of ["local", "remote"] as const) if ((name === "local" ? local : remote) !== "") await utimes(layout.file(name, id), NEXT_TRY / 1000, NEXT_TRY / 1000);
  return id;
}

describe("scanQueue", () => {
  it("reads state, info, records with done marks and offsets, next-try times and bounce presence", async () => {
    queue = await tempQueue();
    const a = await preprocessed(queue, "alice@example.net", "Dbob@example.org\0Tcarol@example.org\0", "Tdave@example.com\0", "<x@y>:\nno\n\n");
    const b = await enqueued(queue, "waiting\n");
    const scan = await scanQueue(queue.queueDir);
    expect(scan.problems).toEqual([]);
    const [first, second] = [...scan.messages].sort((m, n) => (m.id === a ? -1 : n.id === a ? 1 : 0));
    expect(first).toMatchObject({
      id: a,
      state: "preprocessed",
      todo: false,
      intd: false,
      bounce: true,
      info: { sender: "alice@example.net", birth: BIRTH },
      local: { nextTry: NEXT_TRY, recipients: [{ address: "bob@example.org", done: true, offset: 0 }, { address: "carol@example.org", done: false, offset: 17 }] },
      remote: { nextTry: NEXT_TRY, recipients: [{ address: "dave@example.com", done: false, offset: 0 }] },
    });
    expect(second).toMatchObject({ id: b, state: "todo", todo: true, intd: true, bounce: false });
    expect(second?.info).toBeUndefined();
  });

  it("parses channel records up to the first bad one and says where it is", () => {
    expect(parseChannelRecords(Buffer.from("Ta\0Xb\0Tc\0"))).toEqual({ records: [{ address: "a", done: false, offset: 0 }], error: "unknown record type at byte 3" });
    expect(parseChannelRecords(Buffer.from("Da\0Tb"))).toEqual({ records: [{ address: "a", done: true, offset: 0 }], error: "unterminated record at byte 3" });
  });
});

describe("qread and qstat", () => {
  it("print qmail-qread's and qmail-qstat's lines", async () => {
    queue = await tempQueue();
    const a = await preprocessed(queue, "alice@example.net", "Dbob@example.org\0Tcarol\x01@example.org\0", "Tdave@example.com\0", "<x@y>:\nno\n\n");
    const b = await preprocessed(queue, "", "", "Tpostmaster@example.com\0");
    await enqueued(queue, "not yet preprocessed\n");
    const layout = queueLayout(queue.queueDir);
    const size = (id: number) => statSync(layout.file("mess", id)).size;
    const lines = [
      [a, `3 Feb 2024 04:05:06 GMT  #${a}  ${size(a)}  <alice@example.net>  bouncing\n  done\tlocal\tbob@example.org\n\tlocal\tcarol_@example.org\n\tremote\tdave@example.com\n`],
      [b, `3 Feb 2024 04:05:06 GMT  #${b}  ${size(b)}  <> \n\tremote\tpostmaster@example.com\n`],
    ] as const;
    const expected = [...lines].sort((x, y) => x[0] - y[0]).map(([, text]) => text).join("");
    expect(await run(qread, queue.root)).toEqual({ code: 0, out: expected, err: "" });
    expect(await run(qstat, queue.root)).toEqual({ code: 0, out: "messages in queue: 3\nmessages in queue but not yet preprocessed: 1\n", err: "" });
  });
});

describe("qmaint", () => {
  it("exit 0 on a healthy queue", async () => {
    queue = await tempQueue();
    await preprocessed(queue, "alice@example.net", "Tbob@example.org\0", "");
    await enqueued(queue, "in todo\n");
    expect(await run(qmaint, queue.root)).toEqual({ code: 0, out: "2 messages, 0 problems\n", err: "" });
  });

  it("names each problem of a corrupted queue and exits 1", async () => {
    queue = await tempQueue();
    const layout = queueLayout(queue.queueDir);
    // All made before any is damaged: a removed mess file frees its inode, the next message's number.
    const badInfo = await preprocessed(queue, "a@b", "Tbob@example.org\0", "");
    const badRecords = await preprocessed(queue, "a@b", "Tbob@example.org\0Qbad\0", "");
    const noMess = await preprocessed(queue, "a@b", "Tbob@example.org\0", "");
    const orphan = await preprocessed(queue, "a@b", "", "Tr@example.com\0");
    const noIntd = await enqueued(queue, "todo only\n");
    const misplaced = await preprocessed(queue, "a@b", "Tbob@example.org\0", "");
    await writeFile(layout.file("info", badInfo), "Xgarbage");
    await unlink(layout.file("mess", noMess));
    await unlink(layout.file("info", orphan));
    await unlink(layout.file("intd", noIntd));
    const wrongSplit = (misplaced % 23 + 1) % 23;
    await rename(layout.file("info", misplaced), join(layout.splitDir("info", wrongSplit), String(misplaced)));
    await writeFile(join(layout.subdir("todo"), "notanumber"), "");
    await mkdir(join(layout.subdir("mess"), "99"));

    const { code, out } = await run(qmaint, queue.root);
    expect(code).toBe(1);
    const expected = [
      `bad-info: info/${badInfo % 23}/${badInfo}: does not start with F`,
      `bad-records: local/${badRecords % 23}/${badRecords}: unknown record type at byte 17`,
      `missing-mess: info/${noMess % 23}/${noMess}: no mess file for this message`,
      `missing-mess: local/${noMess % 23}/${noMess}: no mess file for this message`,
      `orphan: remote/${orphan % 23}/${orphan}: neither info nor todo for this message`,
      `todo-without-intd: todo/${noIntd}: no intd file`,
      `bad-split: info/${wrongSplit}/${misplaced}: belongs in info/${misplaced % 23}`,
      `orphan: local/${misplaced % 23}/${misplaced}: neither info nor todo for this message`, // its info is misplaced
      "bad-name: todo/notanumber: not a message number",
      "bad-name: mess/99: not a split subdirectory",
    ];
    const printed = out.trimEnd().split("\n");
    expect(printed.slice(0, -1).sort()).toEqual(expected.sort());
    expect(printed.at(-1)).toBe(`5 messages, ${expected.length} problems`);
  });

  it("--remove refuses while the send service runs, and removes every file of the message otherwise", async () => {
    queue = await tempQueue();
    const layout = queueLayout(queue.queueDir);
    const id = await preprocessed(queue, "a@b", "Tbob@example.org\0", "Tr@example.com\0", "<x@y>:\nno\n\n");
    const other = await enqueued(queue, "stays\n");
    const supervise = join(queue.root, "service", "send", "supervise");
    await mkdir(supervise, { recursive: true });

    await writeFile(join(supervise, "lock.tsqmail"), `${process.ppid}\n`); // a live process other than this one
    const locked = await run(qmaint, queue.root, "--remove", String(id));
    expect(locked.code).toBe(111);
    expect(locked.err).toContain(`lock.tsqmail held by pid ${process.ppid}`);
    await writeFile(join(supervise, "lock.tsqmail"), "2147483646\n"); // no such process: stale

    execFileSync("mkfifo", [join(supervise, "ok")]);
    const reader = openSync(join(supervise, "ok"), constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const watched = await run(qmaint, queue.root, "--remove", String(id));
      expect(watched.code).toBe(111);
      expect(watched.err).toContain("supervise/ok has a reader");
    } finally {
      closeSync(reader);
    }
    expect((await queueFiles(queue.queueDir)).filter((f) => f.endsWith(`/${id}`))).toHaveLength(5);

    const removed = await run(qmaint, queue.root, "--remove", String(id));
    expect(removed.code).toBe(0);
    expect(removed.out.trimEnd().split("\n")).toEqual([
      `removed local/${id % 23}/${id}`,
      `removed remote/${id % 23}/${id}`,
      `removed bounce/${id}`,
      `removed info/${id % 23}/${id}`,
      `removed mess/${id % 23}/${id}`,
    ]);
    expect((await queueFiles(queue.queueDir)).filter((f) => f.endsWith(`/${id}`))).toEqual([]);
    expect(await queueFiles(queue.queueDir)).toContain(`todo/${other}`);
    expect((await run(qmaint, queue.root, "--remove", String(id))).code).toBe(100);
  });
});

describe("tcpto", () => {
  it("prints records with a count as qmail-tcpto does", () => {
    const table = Buffer.alloc(1024);
    Buffer.from([192, 0, 2, 7]).copy(table, 0);
    table[4] = 3;
    table.writeUInt32LE(1_700_000_000, 8);
    Buffer.from([198, 51, 100, 1]).copy(table, 16); // count 0: a free slot, not shown
    Buffer.from([203, 0, 113, 9]).copy(table, 32);
    table[36] = 1;
    table.writeUInt32LE(1_700_000_100, 40);
    expect(formatTcpto(table, 1_700_000_060)).toBe(
      "192.0.2.7 timed out 60 seconds ago; # recent timeouts: 3\n203.0.113.9 timed out 0 seconds ago; # recent timeouts: 1\n",
    );
  });
});
