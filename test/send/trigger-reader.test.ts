// lock/trigger as send reads it, on a real FIFO: a byte from an outside writer wakes the reader
// at once, however many writers come and go; nothing wakes it without a byte; close gives the
// FIFO up; and a missing FIFO is a warning, not a failure.

import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { siteFs } from "../../src/io/fs.js";
import { readTrigger } from "../../src/services/send/trigger-reader.js";
import { waitFor } from "../runtime/test-root.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fifo(): string {
  const dir = mkdtempSync(join(tmpdir(), "tsqmail-trigger-"));
  dirs.push(dir);
  const path = join(dir, "trigger");
  execFileSync("mkfifo", ["-m", "622", path]);
  return path;
}

/** One byte, written as an injector does: open, write, close. */
function pull(path: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  writeSync(fd, "x");
  closeSync(fd);
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("lock/trigger", () => {
  it("wakes the reader for each injector's byte, and for none after it is closed", async () => {
    const path = fifo();
    let wakes = 0;
    const lines: string[] = [];
    const reader = await readTrigger(siteFs("send"), path, () => (wakes += 1), (line) => lines.push(line));
    await pause(300);
    expect(wakes).toBe(0);

    for (let i = 1; i <= 3; i++) {
      pull(path);
      await waitFor(() => wakes === i, 2_000, `wake ${i}`);
      await pause(50); // the writer is gone; the reader must not see an end of file
    }
    await reader.close();
    // Closed means the descriptor is gone: with no reader left, an injector cannot even open it.
    expect(() => pull(path)).toThrow(expect.objectContaining({ code: "ENXIO" }));
    await pause(100);
    expect(wakes).toBe(3);
    expect(lines).toEqual([]);
  });

  it("without the FIFO, logs a warning and still closes", async () => {
    const lines: string[] = [];
    const reader = await readTrigger(siteFs("send"), join(tmpdir(), "tsqmail-no-such-dir", "trigger"), () => {}, (line) => lines.push(line));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warning: unable to open lock\/trigger: ENOENT/);
    await reader.close();
  });
});
