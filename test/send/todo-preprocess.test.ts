// Preprocessing on real queue files: the recipients (and their records' offsets) it hands the
// entry are exactly what its channel files say, as loadEntry reads them back — so a pass can
// skip reading the file, and a done marker written at a handed-over offset lands on its T byte,
// multi-byte addresses included.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { LoadedEntry } from "../../machines/queue-entry.js";
import { ConstMap } from "../../src/config/constmap.js";
import { siteFs } from "../../src/io/fs.js";
import { createQueue } from "../../src/queue/create-queue.js";
import { createDirSyncer } from "../../src/queue/dir-sync.js";
import { cleanTodo } from "../../src/queue/queue-clean.js";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { createSpareFiles } from "../../src/queue/spare-files.js";
import { markDone } from "../../src/services/send/done-marker.js";
import { loadEntry } from "../../src/services/send/queue-files.js";
import { domainSet } from "../../src/services/send/recipient-rewrite.js";
import { preprocessTodo } from "../../src/services/send/todo-preprocess.js";

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
    cleanTodo: (n: number) => cleanTodo(layout.queueDir, n),
  };
  return { layout, fs, deps };
}

describe("todo preprocessing", () => {
  it("hands over each channel's recipients with their records' offsets, as loadEntry reads them back", async () => {
    const id = 5;
    const { layout, fs, deps } = await queueWithTodo(id, ["zoë@here.test", "bob@far.test", "ĵosé@here.test", "ann", "ü@elsewhere.test"]);
    const outcome = await preprocessTodo(deps, id);
    if (outcome.kind !== "preprocessed") throw new Error(`expected preprocessed, got ${outcome.kind}`);
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

  it("a done marker at a handed-over offset marks that recipient only; the reread file keeps the others", async () => {
    const id = 6;
    const { layout, fs, deps } = await queueWithTodo(id, ["ĵosé@here.test", "zoë@here.test", "ann@here.test"]);
    const outcome = await preprocessTodo(deps, id);
    if (outcome.kind !== "preprocessed") throw new Error(`expected preprocessed, got ${outcome.kind}`);
    const [first, second, third] = outcome.entry.recipients.local;
    const results = [
      { ...first!, status: "K" as const, report: "" },
      { ...second!, status: "Z" as const, report: "" },
      { ...third!, status: "K" as const, report: "" },
    ];
    const marked = await markDone({ fs, dirSync: deps.dirSync, layout, spares: deps.spares, addBounceBlock: async () => undefined }, { id, channel: "local", results, nextTry: Date.now() + 60_000, pending: 3 });
    expect(marked.remaining).toBe(1);
    expect((await loadEntry(fs, layout, id)).recipients.local).toEqual([second]);
  });
});
