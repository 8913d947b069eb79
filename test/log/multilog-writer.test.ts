import { readdirSync, readFileSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setFaultHook, systemError } from "../../src/io/faults.js";
import { MultilogWriter, type MultilogOptions } from "../../src/log/multilog-writer.js";
import { runTool, tempDirPerTest } from "../daemontools/debian-tools.js";

const LABEL = /^@[0-9a-f]{24} /;

describe("multilog-style log directory", () => {
  const tempRoot = tempDirPerTest("multilog");
  let logDir = "";
  beforeEach(() => {
    logDir = join(tempRoot(), "log", "smtpd");
  });
  afterEach(() => setFaultHook(undefined));

  const open = (options: Partial<MultilogOptions> = {}) =>
    new MultilogWriter(logDir, { maxSize: 4096, keep: 10, ...options });
  const read = (name: string) => readFileSync(join(logDir, name), "utf8");
  const mode = (name: string) => statSync(join(logDir, name)).mode & 0o777;
  const rotated = () => readdirSync(logDir).filter((n) => n.startsWith("@")).sort();
  /** The text of every line kept, oldest first, labels removed. */
  const keptLines = () =>
    [...rotated(), "current"]
      .flatMap((name) => read(name).split("\n").slice(0, -1))
      .map((line) => line.replace(LABEL, ""));

  it("lays the directory out as multilog does and labels each line as soon as append returns", () => {
    const log = open({ now: () => 1_700_000_000_250 });
    log.append(["first", "second\n", "third\nfourth"]);
    expect(read("current")).toBe(
      ["first", "second", "third", "fourth"].map((l) => `@400000006553f10a0ee6b474 ${l}\n`).join(""),
    );
    expect(readdirSync(logDir).sort()).toEqual(["current", "lock", "state"]);
    expect(mode("current")).toBe(0o644);
    expect(mode("lock")).toBe(0o600);
    expect(statSync(logDir).mode & 0o777).toBe(0o700);
    log.close();
    expect(mode("current")).toBe(0o744);
  });

  it("rotates near the size limit, keeps N files in all, and loses no line", () => {
    const log = open({ keep: 1000 });
    let next = 1;
    for (let batch = 1; next <= 3000; batch = (batch % 7) + 1) {
      log.append(Array.from({ length: Math.min(batch, 3001 - next) }, () => `line ${next++}`));
    }
    log.close();
    const files = rotated();
    expect(files.length).toBeGreaterThan(20);
    for (const name of files) {
      expect(name).toMatch(/^@[0-9a-f]{24}\.s$/);
      const size = statSync(join(logDir, name)).size;
      expect(size).toBeGreaterThanOrEqual(4096 - 2000);
      expect(size).toBeLessThanOrEqual(4096);
      expect(read(name).endsWith("\n")).toBe(true);
      expect(mode(name)).toBe(0o744);
    }
    expect(keptLines()).toEqual(Array.from({ length: 3000 }, (_, i) => `line ${i + 1}`));
  });

  it("deletes the oldest files so that N remain, current included", () => {
    const log = open({ keep: 3 });
    for (let i = 1; i <= 2000; i += 1) log.append([`line ${i}`]);
    log.close();
    expect(rotated()).toHaveLength(2);
    const lines = keptLines();
    expect(lines.at(-1)).toBe("line 2000");
    // What is kept is an unbroken tail of what was written.
    const first = Number(lines[0]!.slice(5));
    expect(lines).toEqual(Array.from({ length: 2001 - first }, (_, i) => `line ${first + i}`));
  });

  it("splits only a line longer than the whole file, as multilog does, keeping every byte", () => {
    const log = open();
    const long = "x".repeat(9000);
    log.append(["before", long, "after"]);
    log.close();
    const all = [...rotated(), "current"].map(read).join("");
    expect(all.replace(/@[0-9a-f]{24} /g, "")).toBe(`before\n${long}\nafter\n`);
    for (const name of rotated()) expect(statSync(join(logDir, name)).size).toBeLessThanOrEqual(4096);
  });

  it("names rotated files in increasing order even when the clock stands still", () => {
    const log = open({ now: () => 1_700_000_000_000, keep: 100 });
    for (let i = 0; i < 400; i += 1) log.append([`a line that is long enough to fill files fast ${i}`]);
    log.close();
    const names = rotated();
    expect(names.length).toBeGreaterThan(3);
    expect(new Set(names).size).toBe(names.length);
    expect(keptLines()).toHaveLength(400);
  });

  it("appends to a current closed cleanly, and saves a crashed one (and a leftover previous) as .u", () => {
    const clean = open();
    clean.append(["one"]);
    clean.close();
    const reopened = open();
    reopened.append(["two"]);
    expect(rotated()).toEqual([]);
    // No close: as if the worker died. The next start must keep both lines, in order.
    writeFileSync(join(logDir, "previous"), "@400000006553f10a0ee6b474 older\n");
    chmodSync(join(logDir, "previous"), 0o744);
    const afterCrash = open();
    const saved = rotated();
    expect(saved).toHaveLength(2);
    for (const name of saved) expect(name).toMatch(/\.u$/);
    expect(saved.map(read).join("").replace(/@[0-9a-f]{24} /g, "")).toBe("older\none\ntwo\n");
    expect(read("current")).toBe("");
    expect(mode("current")).toBe(0o644);
    afterCrash.close();
  });

  it("loses no line when rotation fails halfway and the writer starts again", () => {
    const log = open({ keep: 1000 });
    let written = 0;
    setFaultHook((point) => {
      if (point.site === "log" && point.op === "link") throw systemError("EIO", point);
    });
    // A few hundred lines fill a 4096-byte file; the bound only keeps a broken writer from looping.
    expect(() => {
      while (written < 10_000) log.append([`line ${++written}`]);
    }).toThrow(/EIO/);
    setFaultHook(undefined);
    // The failed rotation left its lines in `previous`; a fresh writer saves them.
    expect(readdirSync(logDir)).toContain("previous");
    const restarted = open({ keep: 1000 });
    restarted.append([`line ${++written}`]);
    restarted.close();
    expect(readdirSync(logDir)).not.toContain("previous");
    expect(keptLines()).toEqual(Array.from({ length: written }, (_, i) => `line ${i + 1}`));
  });

  it("writes files Debian's tai64nlocal reads: every label becomes a local time", async () => {
    const log = open();
    for (let i = 1; i <= 300; i += 1) log.append([`line ${i}`]);
    log.close();
    const files = [...rotated(), "current"];
    expect(files.length).toBeGreaterThan(2);
    for (const name of files) {
      const { code, stdout } = await runTool("tai64nlocal", [], read(name));
      expect(code).toBe(0);
      const lines = stdout.split("\n").slice(0, -1);
      expect(lines.length).toBe(read(name).split("\n").length - 1);
      for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} line \d+$/);
    }
  });

  it("hands the directory to Debian's multilog and takes it back without a .u file", async () => {
    const ours = open();
    ours.append(["from tsqmail"]);
    ours.close();
    const debian = await runTool("multilog", ["t", "s4096", "n3", logDir], "from multilog\n");
    expect(debian.code).toBe(0);
    const again = open();
    again.append(["tsqmail again"]);
    again.close();
    expect(rotated()).toEqual([]);
    expect(keptLines()).toEqual(["from tsqmail", "from multilog", "tsqmail again"]);
  });
});
