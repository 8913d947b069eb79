import { closeSync, constants, mkdirSync, openSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeStatus } from "../../supervisors/daemontools/status-file.js";
import { describeStatus, svstatLine } from "../../supervisors/daemontools/svstat-format.js";
import { svstatBoth, tempDirPerTest } from "./debian-tools.js";

describe("svstat's words", () => {
  it("never prints a negative age when the status is in the future", () => {
    const status = { sinceMs: 10_000, pid: 0, paused: false, want: "down" as const };
    expect(describeStatus(status, false, 5_000)).toBe("down 0 seconds");
    expect(describeStatus(status, false, 12_999)).toBe("down 2 seconds");
  });
});

describe("svstat's errors, compared with Debian's svstat", () => {
  const tempRoot = tempDirPerTest("svstat");
  let root = "";
  const heldFds: number[] = [];
  beforeEach(() => {
    root = tempRoot();
  });
  afterEach(() => {
    for (const fd of heldFds.splice(0)) closeSync(fd);
  });

  /** DIR/supervise/ with an `ok` FIFO; `running` holds it open as a live supervise would. */
  function superviseDir(name: string, running: boolean): string {
    const dir = join(root, name);
    mkdirSync(join(dir, "supervise"), { recursive: true });
    execFileSync("mkfifo", [join(dir, "supervise", "ok")]);
    if (running) heldFds.push(openSync(join(dir, "supervise", "ok"), constants.O_RDWR | constants.O_NONBLOCK));
    return dir;
  }

  const cases: { name: string; make: () => string; expected: string }[] = [
    { name: "a missing directory", make: () => join(root, "missing"), expected: "unable to chdir: file does not exist" },
    {
      name: "a plain file",
      make: () => {
        writeFileSync(join(root, "file"), "");
        return join(root, "file");
      },
      expected: "unable to chdir: not a directory",
    },
    {
      name: "no supervise/ok",
      make: () => {
        mkdirSync(join(root, "bare"));
        return join(root, "bare");
      },
      expected: "unable to open supervise/ok: file does not exist",
    },
    { name: "ok without a reader", make: () => superviseDir("stopped", false), expected: "supervise not running" },
    {
      name: "a running supervise without a status file",
      make: () => superviseDir("nostatus", true),
      expected: "unable to open supervise/status: file does not exist",
    },
    {
      name: "a short status file",
      make: () => {
        const dir = superviseDir("short", true);
        writeFileSync(join(dir, "supervise", "status"), encodeStatus({ sinceMs: 0, pid: 1, paused: false, want: "up" }).subarray(0, 17));
        return dir;
      },
      expected: "unable to read supervise/status: bad format",
    },
    {
      name: "a status file with trailing bytes",
      make: () => {
        const dir = superviseDir("long", true);
        // An hour ahead: svstat counts a start still to come as 0 seconds, so the line does not
        // depend on how long Debian's svstat takes to start on a loaded machine.
        const status = encodeStatus({ sinceMs: Date.now() + 3_600_000, pid: 31337, paused: true, want: "down" });
        writeFileSync(join(dir, "supervise", "status"), Buffer.concat([status, Buffer.from("extra")]));
        return dir;
      },
      expected: "up (pid 31337) 0 seconds, paused, want down",
    },
  ];
  for (const c of cases) {
    it(`prints what Debian's svstat prints for ${c.name}`, async () => {
      const dir = c.make();
      const { debian, ours } = await svstatBoth(dir);
      expect(debian).toBe(`${dir}: ${c.expected}\n`);
      expect(ours).toBe(debian);
    });
  }

  it("reports a failed read of status (where Debian's svstat prints an all-zero record instead)", () => {
    // svstat 0.76 compares read()'s -1 with an unsigned size, so it never takes its own error
    // branch and formats an empty buffer ("down 4611686020… seconds"). tsqmail prints the error.
    const dir = superviseDir("statusdir", true);
    mkdirSync(join(dir, "supervise", "status"));
    expect(svstatLine(dir, Date.now())).toBe(`${dir}: unable to read supervise/status: is a directory`);
  });
});
