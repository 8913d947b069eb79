// Preprocessing on real queue files: the recipients (and their records' offsets) it hands the
// entry are exactly what its channel files say once written, as loadEntry reads them back — so a
// pass can skip reading the file, and a done marker written at a handed-over offset lands on its
// T byte, multi-byte addresses included. A message on one channel has its files written only by
// the first mark with something to record; until then todo/N stands for it.

import { lstat, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { LoadedEntry } from "../../machines/queue-entry.js";
import { ConstMap } from "../../src/config/constmap.js";
import { setFaultHook, systemError } from "../../src/io/faults.js";
import { siteFs } from "../../src/io/fs.js";
import { createQueue } from "../../src/queue/create-queue.js";
import { createDirSyncer } from "../../src/queue/dir-sync.js";
import { cleanTodo } from "../../src/queue/queue-clean.js";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { createSpareFiles } from "../../src/queue/spare-files.js";
import { markDone } from "../../src/services/send/done-marker.js";
import { loadEntry } from "../../src/services/send/queue-files.js";
import { domainSet } from "../../src/services/send/recipient-rewrite.js";
import { finishMessage } from "../../src/services/send/message-end.js";
import { preprocessTodo, writeEntry } from "../../src/services/send/todo-preprocess.js";

const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

async function queueWithTodo(id: number, recipients: readonly string[]) {
  const root = await mkdtemp(join(tmpdir(), "tsqmail-preprocess-"));
  roots.push(root);
  const layout = queueLayout(join(root, "queue"));
  await createQueue(layout.queueDir);
  await writeFile(layout.file("mess", id), "Subject: hi\n\nbody\n");
  const todo = ["u0", "p42", "Fsender@far.test", ...recipients.map((r) => `T${r}`)].map((record) => `${record}\0`).join("");
  await writeFile(layout.file("todo", id), todo);
  await writeFile(layout.file("intd", id), todo);
  const fs = siteFs("send");
  const deps = {
    fs,
    dirSync: createDirSyncer(fs),
    layout,
    spares: createSpareFiles(fs, layout),
    rewrite: () => ({ envnoathost: "here.test", percenthack: domainSet([]), locals: domainSet(["here.test"]), virtualdomains: new ConstMap() }),
    log: () => undefined,
    now: () => BIRTH,
    cleanTodo: (n: number) => cleanTodo(layout.queueDir, n),
  };
  const bounces: string[] = [];
  const markDeps = {
    ...deps,
    addBounceBlock: async (_: number, recipient: string) => void bounces.push(recipient),
    writeEntry: (n: number, entry: LoadedEntry) => writeEntry(deps, n, entry),
  };
  return { layout, fs, deps, markDeps, bounces };
}

/** A birth with a fraction of a second, as Date.now() gives. */
const BIRTH = Date.UTC(2026, 11, 8, 1, 2, 3, 456);

const present = (path: string): Promise<boolean> => lstat(path).then(() => true, () => false);

async function preprocessed(deps: Parameters<typeof preprocessTodo>[0], id: number) {
  const outcome = await preprocessTodo(deps, id);
  if (outcome.kind !== "preprocessed") throw new Error(`expected preprocessed, got ${outcome.kind}`);
  return outcome;
}

describe("todo preprocessing", () => {
  it("hands over each channel's recipients with their records' offsets, as loadEntry reads them back", async () => {
    const id = 5;
    const { layout, fs, deps } = await queueWithTodo(id, ["zoë@here.test", "bob@far.test", "ĵosé@here.test", "ann", "ü@elsewhere.test"]);
    const outcome = await preprocessed(deps, id);
    // Recipients on both channels: written at once, todo/N and intd/N gone.
    expect(outcome.durable).toBe(true);
    expect(await present(layout.file("todo", id))).toBe(false);
    expect(await present(layout.file("intd", id))).toBe(false);
    const { entry } = outcome;
    expect(entry.recipients.local.map((r) => r.recipient)).toEqual(["zoë@here.test", "ĵosé@here.test", "ann@here.test"]);
    expect(entry.recipients.remote.map((r) => r.recipient)).toEqual(["bob@far.test", "ü@elsewhere.test"]);

    for (const channel of ["local", "remote"] as const) {
      const bytes = await readFile(layout.file(channel, id));
      for (const { offset, recipient } of entry.recipients[channel]) {
        expect(String.fromCharCode(bytes[offset]!)).toBe("T");
        expect(bytes.toString("utf8", offset + 1, bytes.indexOf(0, offset))).toBe(recipient);
      }
    }
    const loaded: LoadedEntry = await loadEntry(fs, layout, id);
    expect(loaded.recipients).toEqual(entry.recipients);
    expect(loaded.birth).toBe(entry.birth);
    expect(loaded.sender).toBe("sender@far.test");
  });

  it("a message on one channel writes nothing: todo/N and intd/N stay, birth is now", async () => {
    const id = 6;
    const { layout, deps } = await queueWithTodo(id, ["ann@here.test", "bob@here.test"]);
    const outcome = await preprocessed(deps, id);
    expect(outcome.durable).toBe(false);
    expect(outcome.entry.birth).toBe(BIRTH);
    expect(outcome.entry.nextTry).toEqual({ local: BIRTH, remote: null });
    for (const name of ["info", "local", "remote"] as const) expect(await present(layout.file(name, id))).toBe(false);
    expect(await present(layout.file("todo", id))).toBe(true);
    expect(await present(layout.file("intd", id))).toBe(true);
  });

  it("a todo/N beside an info/N an interrupted write left is written out at once, over the leftovers", async () => {
    const id = 7;
    const { layout, fs, deps } = await queueWithTodo(id, ["ann@here.test"]);
    await writeFile(layout.file("info", id), "Fleftover\0");
    await writeFile(layout.file("remote", id), "Tstale@far.test\0");
    const outcome = await preprocessed(deps, id);
    expect(outcome.durable).toBe(true);
    expect(await present(layout.file("todo", id))).toBe(false);
    expect(await present(layout.file("remote", id))).toBe(false);
    const loaded = await loadEntry(fs, layout, id);
    expect(loaded.sender).toBe("sender@far.test");
    expect(loaded.recipients).toEqual(outcome.entry.recipients);
  });

  it("a first pass that delivers everything records nothing: no files, todo/N kept for the message's removal", async () => {
    const id = 8;
    const { layout, deps, markDeps } = await queueWithTodo(id, ["ann@here.test", "bob@here.test"]);
    const { entry } = await preprocessed(deps, id);
    const results = entry.recipients.local.map((r) => ({ ...r, status: "K" as const, report: "" }));
    const marked = await markDone(markDeps, { id, channel: "local", results, nextTry: BIRTH + 60_000, pending: 2, unwritten: entry });
    expect(marked).toEqual({ remaining: 0, durable: false });
    for (const name of ["info", "local"] as const) expect(await present(layout.file(name, id))).toBe(false);
    expect(await present(layout.file("todo", id))).toBe(true);

    const endDeps = { ...deps, bounceControl: { bouncefrom: "MAILER-DAEMON", bouncehost: "here.test", doublebouncehost: "here.test", doublebounceto: "postmaster" } };
    await finishMessage(endDeps, id, false);
    for (const name of ["todo", "intd", "mess"] as const) expect(await present(layout.file(name, id))).toBe(false);
  });

  it("a deferral writes the files first (info/N's mtime the birth), then the done marker lands on its record", async () => {
    const id = 9;
    const { layout, fs, deps, markDeps } = await queueWithTodo(id, ["ĵosé@here.test", "zoë@here.test", "ann@here.test"]);
    const { entry } = await preprocessed(deps, id);
    const [first, second, third] = entry.recipients.local;
    const results = [
      { ...first!, status: "K" as const, report: "" },
      { ...second!, status: "Z" as const, report: "" },
      { ...third!, status: "K" as const, report: "" },
    ];
    const marked = await markDone(markDeps, { id, channel: "local", results, nextTry: BIRTH + 60_000, pending: 3, unwritten: entry });
    expect(marked).toEqual({ remaining: 1, durable: true });
    expect(await present(layout.file("todo", id))).toBe(false);
    expect(await present(layout.file("intd", id))).toBe(false);
    const loaded = await loadEntry(fs, layout, id);
    expect(loaded.recipients.local).toEqual([second]);
    expect(loaded.birth).toBeCloseTo(BIRTH, 2);
    expect(loaded.nextTry.local).toBeCloseTo(BIRTH + 60_000, 2);
  });

  it("a write stopped at any call leaves todo/N, whose next preprocessing ends in the same files", async () => {
    const recipients = ["ann@here.test", "bob@here.test"];
    const calls = async (failAt: number): Promise<number> => {
      const id = 20 + failAt;
      const { layout, fs, deps, markDeps } = await queueWithTodo(id, recipients);
      const { entry } = await preprocessed(deps, id);
      let seen = 0;
      setFaultHook((point) => {
        if (point.seam === "fs" && seen++ === failAt) throw systemError("EIO", point);
      });
      const stopped = await writeEntry(deps, id, entry).then(() => false, () => true);
      setFaultHook(undefined);
      if (!stopped) return seen;
      // The next life: todo/N still there is preprocessed again, and converges; gone (the last
      // calls make its removal durable), the files it stood for are complete.
      const again = (await present(layout.file("todo", id))) ? await preprocessed(deps, id) : undefined;
      if (again !== undefined && !again.durable) {
        const results = again.entry.recipients.local.map((r, i) => ({ ...r, status: i === 0 ? ("Z" as const) : ("K" as const), report: "" }));
        await markDone(markDeps, { id, channel: "local", results, nextTry: BIRTH + 60_000, pending: 2, unwritten: again.entry });
      }
      expect(await present(layout.file("todo", id))).toBe(false);
      expect(await present(layout.file("remote", id))).toBe(false);
      const loaded = await loadEntry(fs, layout, id);
      expect(loaded.sender).toBe("sender@far.test");
      expect(loaded.recipients.local.map((r) => r.recipient)).toEqual(again?.durable === false ? ["ann@here.test"] : recipients);
      return seen;
    };
    const total = await calls(Number.MAX_SAFE_INTEGER);
    expect(total).toBeGreaterThan(8);
    for (let failAt = 0; failAt < total; failAt++) await calls(failAt);
  });

  it("a permanent failure at the first try writes the files before its bounce report, then removes the channel", async () => {
    const id = 10;
    const { layout, fs, deps, markDeps, bounces } = await queueWithTodo(id, ["ann@here.test"]);
    const { entry } = await preprocessed(deps, id);
    const results = entry.recipients.local.map((r) => ({ ...r, status: "D" as const, report: "no mailbox" }));
    const marked = await markDone(markDeps, { id, channel: "local", results, nextTry: BIRTH + 60_000, pending: 1, unwritten: entry });
    expect(marked).toEqual({ remaining: 0, durable: true });
    expect(bounces).toEqual(["ann@here.test"]);
    expect(await present(layout.file("todo", id))).toBe(false);
    expect(await present(layout.file("local", id))).toBe(false);
    expect((await loadEntry(fs, layout, id)).sender).toBe("sender@far.test");
  });
});
