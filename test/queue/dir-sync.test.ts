// Directory fsyncs made soon rather than waited for (changedSoon), on a real directory, the
// fsyncs watched through the fault seam.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { setFaultHook } from "../../src/io/faults.js";
import { siteFs } from "../../src/io/fs.js";
import { createDirSyncer } from "../../src/queue/dir-sync.js";
import { waitFor } from "../runtime/test-root.js";

let dir: string | undefined;
afterEach(async () => {
  setFaultHook(undefined);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("changedSoon", () => {
  it("starts one fsync for every change marked before it, with nobody waiting; waiting afterwards costs none", async () => {
    dir = await mkdtemp(join(tmpdir(), "dir-sync-"));
    const synced: string[] = [];
    setFaultHook((point) => {
      if (point.site === "dir-sync-test" && point.op === "fsync") synced.push(point.path ?? "");
    });
    const dirSync = createDirSyncer(siteFs("dir-sync-test"));
    const names = ["a", "b", "c"];
    for (const name of names) await writeFile(join(dir, name), name);
    // Marked one after another with no await between, so no timer can fire in between.
    const changes = names.map(() => dirSync.changedSoon(dir!, 50));
    expect(changes.map((change) => dirSync.isDurable(change))).toEqual([false, false, false]);
    await waitFor(() => changes.every((change) => dirSync.isDurable(change)), 5_000, "the changes to be durable");
    await Promise.all(changes.map((change) => dirSync.durable(change)));
    expect(synced).toEqual([dir]);
  });
});
