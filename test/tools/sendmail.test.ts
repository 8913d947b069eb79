// `tsqmail sendmail` as MUAs and scripts call it — and as a program run through a symlink named
// sendmail or mailq — against a real root: the flags it maps to inject, the ones it accepts and
// ignores, -bp, and its usage errors.

import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { baseEnv, cli, queuedMessages, runCli, tempRoot, withoutReceived, type TempRoot } from "./tools-harness.js";

let root: TempRoot | undefined;
afterEach(() => root?.remove());

describe("tsqmail sendmail", () => {
  it("-t -f -F with the ignorable -oi -oem -odi -i: recipients from arguments and header, sender and From from -f and -F", () => {
    root = tempRoot();
    const input = "To: t@x.example\nBcc: b@x.example\nSubject: s\n\nbody\n";
    const run = runCli(["sendmail", "--root", root.root, "-oi", "-oem", "-odi", "-i", "-t", "-fme@sender.example", "-F", "Mia Example", "a@x.example"], {
      input,
      env: baseEnv({ USER: "someone", NAME: "Not Used" }),
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const [queued] = queuedMessages(root.root);
    expect(queued!.sender).toBe("me@sender.example");
    expect(queued!.recipients).toEqual(["a@x.example", "t@x.example", "b@x.example"]);
    expect(withoutReceived(queued!.message)).toMatch(/^From: "Mia Example" <me@sender\.example>\n/m);
    expect(withoutReceived(queued!.message)).not.toMatch(/^Bcc:/m);
  });

  it("without -t takes only the arguments as recipients", () => {
    root = tempRoot();
    const run = runCli(["sendmail", "--root", root.root, "-oi", "only@x.example"], { input: "To: header@x.example\n\nb\n", env: baseEnv({ USER: "u" }) });
    expect(run.status).toBe(0);
    const [queued] = queuedMessages(root.root);
    expect(queued!.recipients).toEqual(["only@x.example"]);
    expect(queued!.sender).toBe("u@mail.example.org");
  });

  it("run through a symlink named sendmail it is sendmail, with the root from $TSQMAIL_ROOT; mailq and -bp list the queue as qread does", () => {
    root = tempRoot();
    const link = join(root.parent, "sendmail");
    symlinkSync(cli, link);
    const env = baseEnv({ TSQMAIL_ROOT: root.root, USER: "u" });
    const run = runCli(["-oi", "-t"], { program: link, input: "To: viaLink@x.example\n\nb\n", env });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(queuedMessages(root.root).map((q) => q.recipients)).toEqual([["viaLink@x.example"]]);

    const mailqLink = join(root.parent, "mailq");
    symlinkSync(cli, mailqLink);
    const qread = runCli(["qread"], { env });
    const bp = runCli(["-bp"], { program: link, env });
    const mailq = runCli([], { program: mailqLink, env });
    expect(qread.status).toBe(0);
    expect([bp.status, bp.stdout]).toEqual([0, qread.stdout]);
    expect([mailq.status, mailq.stdout]).toEqual([0, qread.stdout]);
  });

  it("refuses -bs and unknown flags with exit 100 and queues nothing", () => {
    root = tempRoot();
    for (const flag of ["-bs", "-Z"]) {
      const run = runCli(["sendmail", "--root", root.root, flag, "a@x.example"], { input: "\n" });
      expect(run.status).toBe(100);
      expect(run.stderr).toMatch(/^tsqmail sendmail: .*\nusage: /);
    }
    expect(queuedMessages(root.root)).toEqual([]);
  });
});
