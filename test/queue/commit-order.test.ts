// qmail-queue's commit order, proved by failing each file-system step of one enqueue in turn
// (through the fault seam) and checking the exit code and exactly what is left in the queue.

import { readFile, stat } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { setFaultHook, systemError, type FaultPoint } from "../../src/io/faults.js";
import { enqueue } from "../../src/queue/enqueue.js";
import { chunks, queueFiles, tempQueue, type TempQueue } from "./queue-fixture.js";

let queue: TempQueue | undefined;
afterEach(async () => {
  setFaultHook(undefined);
  await queue?.remove();
  queue = undefined;
});

type Match = (point: FaultPoint, nth: number) => boolean;

/** Fails every enqueue fault point that `match` picks; `nth` counts earlier points with the same op. */
function failWhere(match: Match, code = "EIO"): FaultPoint[] {
  const seen = new Map<string, number>();
  const failed: FaultPoint[] = [];
  setFaultHook((point) => {
    if (point.site !== "enqueue") return;
    const nth = (seen.get(point.op) ?? 0) + 1;
    seen.set(point.op, nth);
    if (match(point, nth)) {
      failed.push(point);
      throw systemError(code, point);
    }
  });
  return failed;
}

/** Matches the first point picked by `match` after intd/N was opened (its file ops carry no path). */
function afterIntdOpen(match: Match): Match {
  let opened = false;
  let matched = false;
  return (p, nth) => {
    if (p.op === "open" && p.path?.includes("/queue/intd/") === true) opened = true;
    else if (opened && !matched && match(p, nth)) return (matched = true);
    return false;
  };
}

const under = (dir: string) => (p: FaultPoint) => p.path?.includes(`/queue/${dir}/`) === true || p.path?.endsWith(`/queue/${dir}`) === true;

const BODY = "Subject: order\n\nbody\n";
const run = () =>
  enqueue(queue!.queueDir, chunks(BODY), { sender: "s@x", recipients: ["r@y"] }, { invokedBy: "network" });

/** The queue's files with the message number replaced by N, so cases can be written down. */
async function leftovers(): Promise<string[]> {
  return (await queueFiles(queue!.queueDir)).map((f) =>
    f.startsWith("pid/") ? "pid/*" : f.replace(/^mess\/\d+\/\d+$/, "mess/N").replace(/\/\d+$/, "/N"),
  );
}

describe("enqueue's commit order under injected faults", () => {
  const cases: [string, number, string[], Match][] = [
    ["every pid/ name fails to create", 63, [], (p) => p.op === "open" && under("pid")(p)],
    ["fstat of the pid file", 63, ["pid/*"], (p) => p.op === "fstat"],
    ["link pid → mess/<N%23>/N", 64, ["pid/*"], (p) => p.op === "link" && under("mess")(p)],
    ["unlink of the pid file", 63, ["mess/N", "pid/*"], (p) => p.op === "unlink" && under("pid")(p)],
    ["writing the mess file", 53, [], (p, nth) => p.op === "write" && nth === 1],
    ["fsync of the mess file", 53, [], (p, nth) => p.op === "fsync" && nth === 1],
    ["fsync of the mess subdirectory", 53, [], (p) => p.op === "fsync" && under("mess")(p)],
    ["creating intd/N", 65, ["mess/N"], (p) => p.op === "open" && under("intd")(p)],
    ["writing intd/N", 53, [], afterIntdOpen((p) => p.op === "write")],
    ["fsync of intd/N", 53, [], afterIntdOpen((p) => p.op === "fsync" && p.path === undefined)],
    ["link intd/N → todo/N", 66, ["intd/N", "mess/N"], (p) => p.op === "link" && under("todo")(p)],
  ];

  it.each(cases)("%s → exit %d, nothing in todo/", async (_, exit, left, match) => {
    queue = await tempQueue();
    const failed = failWhere(match, exit === 53 ? "ENOSPC" : "EIO");
    const result = await run();
    expect(failed.length).toBeGreaterThan(0);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.exit).toBe(exit);
    expect(await leftovers()).toEqual(left);
  });

  it("tries nine pid/ names before giving up, so one collision is survived", async () => {
    queue = await tempQueue();
    const allFailed = failWhere((p) => p.op === "open" && under("pid")(p), "EEXIST");
    expect(await run()).toMatchObject({ ok: false, exit: 63 });
    expect(new Set(allFailed.map((p) => p.path)).size).toBe(9);
    const oneFailed = failWhere((p, nth) => p.op === "open" && nth === 1, "EEXIST");
    expect((await run()).ok).toBe(true);
    expect(oneFailed).toHaveLength(1);
  });

  it("leaves a complete mess file behind on 65, as qmail-queue does (the 36 h cleanup removes it)", async () => {
    queue = await tempQueue();
    failWhere((p) => p.op === "open" && under("intd")(p));
    await run();
    const [mess] = (await queueFiles(queue.queueDir)).filter((f) => f.startsWith("mess/"));
    expect((await readFile(`${queue.queueDir}/${mess}`, "latin1")).endsWith(BODY)).toBe(true);
  });

  it("53 truncates before unlinking; an unlink that fails stops the cleanup (intd emptied, mess untouched)", async () => {
    queue = await tempQueue();
    failWhere((p, nth) => (p.op === "write" && nth === 2) || (p.op === "unlink" && under("intd")(p)));
    const result = await run();
    expect(result).toMatchObject({ ok: false, exit: 53 });
    const files = await queueFiles(queue.queueDir);
    expect(files.map((f) => f.replace(/\d+$/, "N").replace(/mess\/\d+/, "mess"))).toEqual(["intd/N", "mess/N"]);
    const [intd, mess] = files as [string, string];
    expect((await stat(`${queue.queueDir}/${intd}`)).size).toBe(0);
    expect((await readFile(`${queue.queueDir}/${mess}`, "latin1")).endsWith(BODY)).toBe(true);
  });

  it("a body read error → 54 and everything made is removed", async () => {
    queue = await tempQueue();
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.from("Subject: half\n");
      throw new Error("connection reset");
    }
    const result = await enqueue(queue.queueDir, broken(), { sender: "s", recipients: ["r"] }, { invokedBy: "network" });
    expect(result).toEqual({ ok: false, exit: 54, text: "Zqq read error (#4.3.0)" });
    expect(await queueFiles(queue.queueDir)).toEqual([]);
  });

  it("a failed fsync of todo/ reports 66 — the only failure after which todo/N exists", async () => {
    queue = await tempQueue();
    failWhere((p) => p.op === "fsync" && p.path?.endsWith("/queue/todo") === true);
    const result = await run();
    expect(result).toMatchObject({ ok: false, exit: 66 });
    expect(await leftovers()).toEqual(["intd/N", "mess/N", "todo/N"]);
  });

  it("errors after the commit (trigger, closing files) do not change success", async () => {
    queue = await tempQueue();
    const failed = failWhere((p) => under("lock")(p) || p.op === "close");
    const result = await run();
    expect(result.ok).toBe(true);
    expect(failed.map((p) => p.op)).toContain("close");
    expect(await leftovers()).toEqual(["intd/N", "mess/N", "todo/N"]);
  });

  it("fsyncs todo/ through one handle kept open for a burst, reopened after a failed fsync", async () => {
    queue = await tempQueue();
    const todoOpens = (): number => seen.filter((p) => p === "open todo").length;
    const seen: string[] = [];
    let failNextTodoSync = false;
    setFaultHook((p) => {
      if (p.site !== "enqueue" || p.path === undefined) return;
      const point = `${p.op} ${p.path.slice(queue!.queueDir.length + 1)}`;
      seen.push(point);
      if (point === "fsync todo" && failNextTodoSync) {
        failNextTodoSync = false;
        throw systemError("EIO", p);
      }
    });
    for (let i = 0; i < 5; i++) expect((await run()).ok).toBe(true);
    expect(seen.filter((p) => p === "fsync todo")).toHaveLength(5);
    expect(todoOpens()).toBe(1);
    failNextTodoSync = true;
    expect(await run()).toMatchObject({ ok: false, exit: 66 });
    expect((await run()).ok).toBe(true);
    expect(todoOpens()).toBe(2);
  });

  it("the fault points of a clean run respect qmail-queue's order; nothing is linked into todo/ before every fsync", async () => {
    queue = await tempQueue();
    const seen: string[] = [];
    setFaultHook((p) => {
      if (p.site !== "enqueue") return;
      const where = p.path === undefined ? "" : ` ${p.path.slice(queue!.queueDir.length + 1).replace(/\d+/g, "N")}`;
      seen.push(`${p.op}${where}`);
    });
    await run();
    const at = (point: string, from = 0): number => {
      const i = seen.indexOf(point, from);
      expect(i, `${point} in ${seen.join(", ")}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    // Steps 1-4's writes strictly in order; then the fsyncs of both files and of mess/N, together.
    const order = ["open pid/N.N.N", "fstat", "link mess/N/N", "unlink pid/N.N.N", "write", "open intd/N", "write"];
    const lastWrite = order.reduce((from, point) => at(point, from) + 1, 0) - 1;
    const fsyncs = seen.flatMap((p, i) => (p === "fsync" || p === "fsync mess/N" ? [i] : []));
    expect(fsyncs).toHaveLength(3);
    const todoLink = at("link todo/N");
    for (const i of fsyncs) {
      expect(i).toBeGreaterThan(lastWrite);
      expect(i).toBeLessThan(todoLink);
    }
    expect(at("fsync todo")).toBeGreaterThan(todoLink);
    expect(at("open lock/trigger")).toBeGreaterThan(at("fsync todo"));
    expect(seen.filter((p) => p.startsWith("link"))).toEqual(["link mess/N/N", "link todo/N"]);
  });
});
