// `tsqmail maildirmake` and `tsqmail maildir2mbox` run as real programs on real directories:
// the maildir's layout and modes, -q's maildirsize, and the move of messages into an mbox that
// python3's mailbox module then reads back.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { baseEnv, cli, runCli } from "./tools-harness.js";

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});
const fresh = (): string => (dir = mkdtempSync(join(tmpdir(), "tsqmail-maildir-tools-")));

describe("tsqmail maildirmake", () => {
  it("makes DIR with tmp, new and cur, mode 0700, and refuses an existing DIR", () => {
    const md = join(fresh(), "Maildir");
    expect(runCli(["maildirmake", md])).toMatchObject({ status: 0, stderr: "" });
    for (const path of [md, join(md, "tmp"), join(md, "new"), join(md, "cur")]) expect(statSync(path).mode & 0o777).toBe(0o700);
    const again = runCli(["maildirmake", md]);
    expect(again.status).toBe(111);
    expect(again.stderr).toMatch(/^tsqmail maildirmake: fatal: unable to mkdir .*Maildir: /);
    expect(runCli(["maildirmake"]).status).toBe(100);
  });

  it("-q writes maildirsize on a new maildir, and on an existing one recounts what is there", () => {
    const md = join(fresh(), "Maildir");
    expect(runCli(["maildirmake", "-q", "5000S,10C", md]).status).toBe(0);
    expect(readFileSync(join(md, "maildirsize"), "utf8")).toBe("5000S,10C\n0 0\n");
    writeFileSync(join(md, "new", "1.x.host,S=120"), "x".repeat(120));
    writeFileSync(join(md, "cur", "2.y.host:2,S"), "y".repeat(30));
    expect(runCli(["maildirmake", "-q", "100000S", md]).status).toBe(0);
    expect(readFileSync(join(md, "maildirsize"), "utf8")).toBe("100000S\n150 2\n");
    expect(readdirSync(join(md, "tmp"))).toEqual([]);
    expect(runCli(["maildirmake", "-q", "lots", md]).status).toBe(100);
  });
});

describe("tsqmail maildir2mbox", () => {
  it("appends new/ and cur/ oldest first with From_ lines and >From quoting, then empties the maildir", () => {
    const base = fresh();
    const md = join(base, "Maildir");
    runCli(["maildirmake", md]);
    writeFileSync(join(md, "new", "1700000100.M1P1.host"), "Return-Path: <a b@x.example>\nSubject: second\n\nFrom here\n>From there");
    writeFileSync(join(md, "cur", "1700000000.M1P1.host:2,S"), "Return-Path: <>\nSubject: first\n\nbody\n");
    writeFileSync(join(md, "new", "1700000200.M1P1.host"), "Subject: third\n\nno return path\n");
    const mbox = join(base, "mbox");
    writeFileSync(mbox, "From old@x.example Thu Jan  1 00:00:00 1970\nSubject: old\n\nold\n\n");
    const env = baseEnv({ MAILDIR: md, MAIL: mbox, MAILTMP: join(base, "mbox.tmp") });
    const run = runCli(["maildir2mbox"], { env });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(readFileSync(mbox, "latin1")).toBe(
      "From old@x.example Thu Jan  1 00:00:00 1970\nSubject: old\n\nold\n\n" +
        "From MAILER-DAEMON Tue Nov 14 22:13:20 2023\nReturn-Path: <>\nSubject: first\n\nbody\n\n" +
        "From a-b@x.example Tue Nov 14 22:15:00 2023\nReturn-Path: <a b@x.example>\nSubject: second\n\n>From here\n>>From there\n\n" +
        "From XXX Tue Nov 14 22:16:40 2023\nSubject: third\n\nno return path\n\n",
    );
    expect([...readdirSync(join(md, "new")), ...readdirSync(join(md, "cur"))]).toEqual([]);
    expect(existsSync(`${mbox}.lock`)).toBe(false);
    const subjects = execFileSync("python3", ["-c", "import mailbox,sys\nfor m in mailbox.mbox(sys.argv[1]): print(m['Subject'])", mbox], { encoding: "utf8" });
    expect(subjects).toBe("old\nfirst\nsecond\nthird\n");

    // Nothing to move: the mbox is not touched.
    const before = statSync(mbox).mtimeMs;
    expect(runCli(["maildir2mbox"], { env }).status).toBe(0);
    expect(statSync(mbox).mtimeMs).toBe(before);
  });

  it("waits for the mbox's lock, the dot-lock local delivery holds while it appends", async () => {
    const base = fresh();
    const md = join(base, "Maildir");
    runCli(["maildirmake", md]);
    writeFileSync(join(md, "new", "1700000000.M1P1.host"), "Subject: s\n\nb\n");
    const mbox = join(base, "mbox");
    writeFileSync(`${mbox}.lock`, "");
    const child = spawn(process.execPath, [cli, "maildir2mbox"], { env: baseEnv({ MAILDIR: md, MAIL: mbox, MAILTMP: join(base, "mbox.tmp") }) });
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(existsSync(mbox)).toBe(false);
    expect(readdirSync(join(md, "new"))).toHaveLength(1);
    unlinkSync(`${mbox}.lock`);
    expect(await exited).toBe(0);
    expect(readFileSync(mbox, "latin1")).toBe("From XXX Tue Nov 14 22:13:20 2023\nSubject: s\n\nb\n\n");
  });

  it("needs MAIL, MAILTMP and MAILDIR", () => {
    const base = fresh();
    const run = (env: Record<string, string>) => runCli(["maildir2mbox"], { env: baseEnv(env) });
    expect(run({})).toMatchObject({ status: 111, stderr: "tsqmail maildir2mbox: fatal: MAIL not set\n" });
    expect(run({ MAIL: join(base, "m") })).toMatchObject({ status: 111, stderr: "tsqmail maildir2mbox: fatal: MAILTMP not set\n" });
    expect(run({ MAIL: join(base, "m"), MAILTMP: join(base, "t") })).toMatchObject({ status: 111, stderr: "tsqmail maildir2mbox: fatal: MAILDIR not set\n" });
  });
});
