// `tsqmail inject` run as a real program against a real root: the header rewriting qmail-inject
// does (checked byte for byte with -n, and in the queue's mess file), the envelope it queues
// (todo/N), its flags, its environment variables and control files, and its errors.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { baseEnv, queuedMessages, runCli, tempRoot, withoutReceived, type TempRoot } from "./tools-harness.js";

let root: TempRoot | undefined;
afterEach(() => root?.remove());

const DATE = /^Date: \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d -0000\n/m;
const MESSAGE_ID = /^Message-ID: <\d{14}\.\d+\.qmail@[^>\n]+>\n/m;

/** The header without the Date and Message-ID inject adds (their values change with every run). */
const stable = (text: string): string => text.replace(DATE, "").replace(MESSAGE_ID, "");

describe("tsqmail inject", () => {
  it("rewrites addresses, adds the missing fields, drops Bcc and Content-Length, and queues to the header's recipients", () => {
    root = tempRoot();
    const input =
      "To: joe, bob@host, \"Ann X\" <ann@b+>\nCc: Friends: a@b.c, d;\nBcc: hidden\nSubject: hi\nContent-Length: 5\n\nbody\nFrom me";
    const env = baseEnv({ USER: "alice", NAME: "Alice A" });
    const run = runCli(["inject", "--root", root.root], { input, env });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const [queued, ...more] = queuedMessages(root.root);
    expect(more).toEqual([]);
    expect(queued!.sender).toBe("alice@mail.example.org");
    // qmail-inject reads each address list from right to left, and queues in that order.
    expect(queued!.recipients).toEqual([
      "ann@b.mail.example.org",
      "bob@host.mail.example.org",
      "joe@mail.example.org",
      "d@mail.example.org",
      "a@b.c",
      "hidden@mail.example.org",
    ]);
    expect(queued!.uid).toBe(String(process.getuid!()));
    const message = withoutReceived(queued!.message);
    expect(message).toMatch(DATE);
    expect(message).toMatch(/^Message-ID: <\d{14}\.\d+\.qmail@mail\.example\.org>\n/m);
    expect(stable(message)).toBe(
      'From: "Alice A" <alice@mail.example.org>\n' +
        "To: joe@mail.example.org, bob@host.mail.example.org,\n" +
        '  "Ann X" <ann@b.mail.example.org>\n' +
        "Cc: Friends: a@b.c, d@mail.example.org;\n" +
        "Subject: hi\n" +
        "\n" +
        "body\nFrom me\n",
    );
  });

  it("uses defaulthost, defaultdomain, plusdomain and idhost, each overridden by its QMAIL variable", () => {
    root = tempRoot();
    const control = (name: string, value: string) => writeFileSync(join(root!.root, "control", name), `${value}\n`);
    control("defaulthost", "dh.example");
    control("defaultdomain", "dd.example");
    control("plusdomain", "pd.example");
    control("idhost", "id.example");
    const input = "To: u, v@w, x@y+\nFrom: me\n\n";
    const files = runCli(["inject", "--root", root.root, "-n"], { input, env: baseEnv({ USER: "alice" }) });
    expect(files.status).toBe(0);
    expect(files.stdout).toMatch(/^Message-ID: <\d{14}\.\d+\.qmail@id\.example>\n/m);
    expect(stable(files.stdout)).toBe("Return-Path: <alice@dh.example>\nTo: u@dh.example, v@w.dd.example, x@y.pd.example\nFrom: me@dh.example\n\n");

    const env = baseEnv({ USER: "alice", QMAILDEFAULTHOST: "h2.example", QMAILDEFAULTDOMAIN: "d2.example", QMAILPLUSDOMAIN: "p2.example", QMAILIDHOST: "i2.example" });
    const vars = runCli(["inject", "--root", root.root, "-n"], { input, env });
    expect(vars.stdout).toMatch(/^Message-ID: <\d{14}\.\d+\.qmail@i2\.example>\n/m);
    expect(stable(vars.stdout)).toBe("Return-Path: <alice@h2.example>\nTo: u@h2.example, v@w.d2.example, x@y.p2.example\nFrom: me@h2.example\n\n");
  });

  it("takes the identity from QMAILUSER, QMAILHOST, QMAILNAME (and MAILUSER, MAILHOST, MAILNAME), and QMAILINJECT's letters", () => {
    root = tempRoot();
    const input = "Subject: s\n\nx\n";
    const q = runCli(["inject", "--root", root.root, "-n"], { input, env: baseEnv({ USER: "ignored", QMAILUSER: "qu", QMAILHOST: "qh.example", QMAILNAME: "Q Name", MAILUSER: "mu" }) });
    expect(stable(q.stdout)).toBe('Return-Path: <qu@qh.example>\nFrom: "Q Name" <qu@qh.example>\nCc: recipient list not shown: ;\nSubject: s\n\nx\n');
    const m = runCli(["inject", "--root", root.root, "-n"], { input, env: baseEnv({ MAILUSER: "mu", MAILHOST: "mh.example", MAILNAME: "M Name", QMAILINJECT: "c" }) });
    expect(stable(m.stdout)).toBe("Return-Path: <mu@mh.example>\nFrom: mu@mh.example (M Name)\nCc: recipient list not shown: ;\nSubject: s\n\nx\n");
    const verp = runCli(["inject", "--root", root.root, "-n"], { input: "From: a@b.example\nReturn-Path: <old@x.example>\nMessage-ID: <1@x>\nTo: t@x.example\n\n", env: baseEnv({ USER: "u", QMAILINJECT: "sfir" }) });
    // The VERP sender's local part holds an @, so printed it is quoted, as qmail's quote2 does.
    expect(stable(verp.stdout)).toBe('Return-Path: <"u-@mail.example.org-"@[]>\nFrom: u@mail.example.org\nTo: t@x.example\n\n');
  });

  it("-f sets the sender; without it the message's Return-Path does; -a, -h and -H choose the recipients", () => {
    root = tempRoot();
    const input = "Return-Path: <rp@x.example>\nTo: t@x.example\nBcc: b@x.example\n\nbody\n";
    expect(runCli(["inject", "--root", root.root, "-f", "f@x.example", "a1@x.example", "a2"], { input }).status).toBe(0);
    expect(runCli(["inject", "--root", root.root, "-h", "ignored@x.example"], { input }).status).toBe(0);
    expect(runCli(["inject", "--root", root.root, "-H", "-fother", "arg@x.example"], { input }).status).toBe(0);
    const byRecipients = queuedMessages(root.root)
      .map((q) => ({ sender: q.sender, recipients: q.recipients, header: withoutReceived(q.message).split("\n\n")[0]! }))
      .sort((a, b) => a.recipients[0]!.localeCompare(b.recipients[0]!));
    expect(byRecipients.map((q) => [q.sender, q.recipients])).toEqual([
      ["f@x.example", ["a1@x.example", "a2@mail.example.org"]],
      ["other@mail.example.org", ["arg@x.example", "t@x.example", "b@x.example"]],
      ["rp@x.example", ["t@x.example", "b@x.example"]],
    ]);
    // Return-Path and Bcc never reach the queued message.
    for (const q of byRecipients) expect(q.header).not.toMatch(/^(Return-Path|Bcc):/im);
  });

  it("for a resent message adds Resent- fields and takes recipients from Resent-To/Cc/Bcc only", () => {
    root = tempRoot();
    const input = "From: orig@x.example\nTo: orig-to@x.example\nDate: 1 Jan 2020 00:00:00 -0000\nMessage-ID: <a@b>\nResent-To: new\nResent-Bcc: secret@x.example\n\nb\n";
    expect(runCli(["inject", "--root", root.root], { input, env: baseEnv({ USER: "r" }) }).status).toBe(0);
    const [queued] = queuedMessages(root.root);
    expect(queued!.recipients).toEqual(["new@mail.example.org", "secret@x.example"]);
    const message = withoutReceived(queued!.message);
    expect(message).toMatch(/^Resent-Date: /m);
    expect(message).toMatch(/^Resent-Message-ID: <\d{14}\.\d+\.qmail@mail\.example\.org>\n/m);
    expect(message.replace(/^Resent-(Date|Message-ID): [^\n]*\n/gm, "")).toBe(
      "Resent-From: r@mail.example.org\nFrom: orig@x.example\nTo: orig-to@x.example\nDate: 1 Jan 2020 00:00:00 -0000\nMessage-ID: <a@b>\nResent-To: new@mail.example.org\n\nb\n",
    );
  });

  it("ends the header at a line that is no field, keeps an mbox From_ line as MBOX-Line, and keeps an unparseable To as it was", () => {
    root = tempRoot();
    const input = 'From sender Mon Jan  1 00:00:00 2024\nTo: "unterminated\nFrom: a@b.example\nthis is body text\nmore\n';
    const run = runCli(["inject", "--root", root.root, "-n", "x@y.example"], { input, env: baseEnv({ USER: "u" }) });
    expect(run.status).toBe(0);
    expect(stable(run.stdout)).toBe('Return-Path: <u@mail.example.org>\nMBOX-Line: From sender Mon Jan  1 00:00:00 2024\nTo: "unterminated\nFrom: a@b.example\n\nthis is body text\nmore\n');
  });

  it("fails with exit 100 on an unparseable From or recipient, and 111 naming file and line for a bad control file", () => {
    root = tempRoot();
    const badFrom = runCli(["inject", "--root", root.root, "t@x.example"], { input: "From: (unclosed\n\n" });
    expect(badFrom.status).toBe(100);
    expect(badFrom.stderr).toBe("tsqmail inject: fatal: unable to parse this line:\nFrom: (unclosed\n\n");
    const badRecipient = runCli(["inject", "--root", root.root, "a@)b"], { input: "\n" });
    expect(badRecipient.status).toBe(100);
    expect(badRecipient.stderr).toBe("tsqmail inject: fatal: unable to parse address: a@)b\n");
    const badOption = runCli(["inject", "--root", root.root, "-z"], { input: "\n" });
    expect(badOption.status).toBe(100);

    writeFileSync(join(root.root, "control/defaulthost"), "one\ntwo\n");
    const badControl = runCli(["inject", "--root", root.root, "t@x.example"], { input: "\n" });
    expect(badControl.status).toBe(111);
    expect(badControl.stderr).toMatch(/^tsqmail inject: fatal: unable to read controls: control\/defaulthost:2: /);
    expect(queuedMessages(root.root)).toEqual([]);
  });

  it("hands the message to $QMAILQUEUE when set, and reports its permanent refusal with exit 100", () => {
    root = tempRoot();
    const refuse = join(root.parent, "refuse");
    writeFileSync(refuse, "#!/bin/sh\ncat >/dev/null\nexit 31\n", { mode: 0o755 });
    const run = runCli(["inject", "--root", root.root, "t@x.example"], { input: "Subject: x\n\n", env: baseEnv({ QMAILQUEUE: refuse }) });
    expect(run.status).toBe(100);
    expect(run.stderr).toBe("tsqmail inject: fatal: mail server permanently rejected message (#5.3.0)\n");
    expect(queuedMessages(root.root)).toEqual([]);
  });
});
