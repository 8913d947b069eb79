import { closeSync, constants, mkdirSync, openSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { beforeEach, describe, expect, it } from "vitest";
import { parseSvcArgs, svc } from "../../supervisors/daemontools/svc-client.js";
import { runTool, tempDirPerTest } from "./debian-tools.js";

describe("tsqmail svc against Debian's svc", () => {
  const tempRoot = tempDirPerTest("svc-client");
  let root = "";
  beforeEach(() => {
    root = tempRoot();
  });

  it("collects clustered letters, drops repeats, and stops at `--` or the first directory", () => {
    expect(parseSvcArgs(["-dud", "-xd", "a", "-u", "b"])).toEqual({ letters: "dux", dirs: ["a", "-u", "b"] });
    expect(parseSvcArgs(["-t", "--", "-d"])).toEqual({ letters: "t", dirs: ["-d"] });
    expect(parseSvcArgs(["-", "x"])).toEqual({ letters: "", dirs: ["-", "x"] });
    expect(parseSvcArgs(["-dq", "a"])).toEqual({ illegal: "q" });
  });

  const cases: { name: string; args: (root: string) => string[]; silent?: true }[] = [
    { name: "an illegal option", args: (r) => ["-dq", join(r, "svc-dir")] },
    { name: "no directory", args: () => ["-d"], silent: true },
    { name: "a missing directory, then a plain file", args: (r) => ["-u", join(r, "missing"), join(r, "file")] },
    { name: "a directory without supervise/", args: (r) => ["-u", join(r, "bare")] },
    { name: "a supervise/control FIFO nobody reads", args: (r) => ["-h", join(r, "svc-dir")] },
    { name: "no letters", args: (r) => [join(r, "svc-dir")] },
    { name: "`-` as a directory", args: (r) => ["-", join(r, "bare")] },
  ];
  for (const c of cases) {
    it(`prints and exits as Debian's svc for ${c.name}`, async () => {
      mkdirSync(join(root, "bare"));
      writeFileSync(join(root, "file"), "");
      mkdirSync(join(root, "svc-dir", "supervise"), { recursive: true });
      execFileSync("mkfifo", [join(root, "svc-dir", "supervise", "control")]);
      const args = c.args(root);
      const debian = await runTool("svc", args);
      const ours = svc(args);
      expect(debian.stderr === "").toBe(c.silent === true);
      expect(ours.exitCode).toBe(debian.code);
      expect(ours.messages.map((line) => `${line}\n`).join("")).toBe(debian.stderr);
    });
  }

  it("writes the letters in one write to a control FIFO that has a reader", () => {
    mkdirSync(join(root, "supervise"));
    const control = join(root, "supervise", "control");
    execFileSync("mkfifo", [control]);
    const reader = openSync(control, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      expect(svc(["-pcp", "-k", root])).toEqual({ exitCode: 0, messages: [] });
      const bytes = Buffer.alloc(16);
      expect(bytes.subarray(0, readSync(reader, bytes)).toString("latin1")).toBe("pck");
    } finally {
      closeSync(reader);
    }
  });
});
