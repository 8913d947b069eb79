// lspawn end to end: messages go into the real queue (enqueue, or SMTP through smtpd), the real
// send service hands them to the real lspawn service, and the tests look at what landed on disk
// and what send logged (reports appear there with spaces as `_` and newlines as `/`).

import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { describe, expect, it } from "vitest";
import { inject, sendTestBed } from "../send/send-root.js";
import { listeningPort, logText, waitFor } from "../runtime/test-root.js";
import { makeLspawnRoot, makeMaildir, newMessages, waitForDelivery, waitForMessages } from "./lspawn-root.js";

const bed = sendTestBed();
const SENDER = "sender@elsewhere.test";

describe("lspawn", () => {
  it("delivers to a virtual user's Maildir/new with Return-Path and Delivered-To first", async () => {
    const made = await makeLspawnRoot(bed);
    await bed.start();
    await inject(made.queueDir, SENDER, ["alice@example.test"], "Subject: hi\n\nhello alice\n");
    const [message] = await waitForMessages(join(made.home("alice"), "Maildir"), 1);
    expect(message).toMatch(/^Return-Path: <sender@elsewhere\.test>\nDelivered-To: alice@example\.test\nReceived: .*\n(.*\n)*Subject: hi\n\nhello alice\n$/);
    expect(await waitForDelivery(made.root, /success: did_1\+0\+0\//)).toBeTruthy();
  }, 30_000);

  it("a message sent over SMTP lands in the Maildir", async () => {
    const made = await makeLspawnRoot(bed);
    const smtpd = join(made.root, "service", "smtpd");
    mkdirSync(join(smtpd, "env"), { recursive: true });
    writeFileSync(join(smtpd, "module"), "smtpd\n");
    writeFileSync(join(made.root, "control", "rcpthosts"), "example.test\n");
    for (const [key, value] of Object.entries({ IP: "127.0.0.1", PORT: "0", REVERSE: "0" })) writeFileSync(join(smtpd, "env", key), `${value}\n`);
    await bed.start();
    const port = await listeningPort(made.root, "smtpd", 10_000);
    const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
    await transport.sendMail({ from: SENDER, to: "bob@example.test", subject: "over smtp", text: "hello bob\n" });
    const [message] = await waitForMessages(join(made.home("bob"), "Maildir"), 1);
    expect(message).toMatch(/^Return-Path: <sender@elsewhere\.test>\nDelivered-To: bob@example\.test\n/);
    expect(message).toContain("Subject: over smtp");
  }, 30_000);

  it("follows .qmail-ext and the -default cascade, longest first", async () => {
    const made = await makeLspawnRoot(bed);
    for (const box of ["exact", "ab", "a", "all"]) makeMaildir(join(made.home("alice"), box));
    made.dotQmails("alice", { ".qmail-x-y": "./exact/\n", ".qmail-a-b-default": "./ab/\n", ".qmail-a-default": "./a/\n", ".qmail-default": "./all/\n" });
    await bed.start();
    await inject(made.queueDir, SENDER, ["alice-x-y@example.test", "alice-a-b-c@example.test", "alice-a-z@example.test", "alice-q@example.test", "Alice-X.Y@example.test"]);
    await waitForMessages(join(made.home("alice"), "exact"), 1);
    await waitForMessages(join(made.home("alice"), "ab"), 1);
    await waitForMessages(join(made.home("alice"), "a"), 1);
    // `X.Y` is looked up as `x:y`, which no file names: it falls to .qmail-default with `q`.
    await waitForMessages(join(made.home("alice"), "all"), 2);
    expect(newMessages(join(made.home("alice"), "Maildir"))).toEqual([]);
  }, 30_000);

  it("runs a program line with qmail's environment and the message on stdin, never splicing envelope data into the command", async () => {
    const made = await makeLspawnRoot(bed);
    made.dotQmail("alice", ".qmail-prog-default", '|env > "$HOME/env.out"; cat > "$HOME/stdin.out"\n');
    await bed.start();
    const hostile = "x;touch${IFS}pwned@elsewhere.test";
    await inject(made.queueDir, hostile, ["alice-prog-Foo-Bar@mail.example.test"], "Subject: prog\n\nbody\n");
    await waitForDelivery(made.root, /success: did_0\+0\+1\//);
    const env = Object.fromEntries(
      readFileSync(join(made.home("alice"), "env.out"), "utf8")
        .split("\n")
        .filter((line) => /^[A-Z0-9]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    expect(env).toMatchObject({
      SENDER: hostile,
      NEWSENDER: hostile,
      RECIPIENT: "alice-prog-Foo-Bar@mail.example.test",
      LOCAL: "alice-prog-Foo-Bar",
      HOST: "mail.example.test",
      HOST2: "mail.example",
      HOST3: "mail",
      HOST4: "mail",
      EXT: "prog-Foo-Bar",
      EXT2: "Foo-Bar",
      EXT3: "Bar",
      EXT4: "",
      DEFAULT: "Foo-Bar",
      USER: "alice",
      HOME: made.home("alice"),
      DTLINE: "Delivered-To: alice-prog-Foo-Bar@mail.example.test",
      RPLINE: `Return-Path: <${hostile}>`,
    });
    expect(env.UFLINE).toMatch(/^From x;touch\$\{IFS\}pwned@elsewhere\.test \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
    expect(readFileSync(join(made.home("alice"), "stdin.out"), "utf8")).toMatch(/^Received: .*\n(.*\n)*Subject: prog\n\nbody\n$/);
    expect(() => readFileSync(join(made.home("alice"), "pwned"))).toThrow();
  }, 30_000);

  it("maps program exit codes: 0 K, 99 K and stop, 100 and 64 D, 111 and others Z, with the program's output as report", async () => {
    const made = await makeLspawnRoot(bed);
    makeMaildir(join(made.home("alice"), "after"));
    made.dotQmails("alice", {
      ".qmail-stop": "|exit 99\n./after/\n",
      ".qmail-hard": "|echo no such list; exit 100\n",
      ".qmail-usage": "|exit 64\n",
      ".qmail-soft": "|echo busy; exit 111\n",
      ".qmail-other": "|exit 3\n",
    });
    await bed.start();
    await inject(made.queueDir, SENDER, ["alice-stop@example.test", "alice-hard@example.test", "alice-usage@example.test", "alice-soft@example.test", "alice-other@example.test"]);
    await waitForDelivery(made.root, /success: did_0\+0\+1\//);
    await waitForDelivery(made.root, /failure: no_such_list\//);
    await waitForDelivery(made.root, /deferral: busy\//);
    await waitFor(() => (logText(made.root, "send").match(/delivery \d+: failure:/g) ?? []).length === 2, 10_000, "two failures");
    await waitFor(() => (logText(made.root, "send").match(/delivery \d+: deferral:/g) ?? []).length >= 2, 10_000, "two deferrals");
    expect(newMessages(join(made.home("alice"), "after"))).toEqual([]);
  }, 30_000);

  it("forwards once at the end with Delivered-To added; NEWSENDER is the -owner address when .qmail-EXT-owner exists", async () => {
    const made = await makeLspawnRoot(bed);
    made.dotQmails("alice", { ".qmail-fwd": "&bob@example.test\n# a comment\nbob-copy@example.test\n", ".qmail-list": "&bob@example.test\n", ".qmail-list-owner": "./Maildir/\n" });
    made.dotQmail("bob", ".qmail-copy", "./Maildir/\n");
    await bed.start();
    await inject(made.queueDir, SENDER, ["alice-fwd@example.test"]);
    const forwarded = await waitForMessages(join(made.home("bob"), "Maildir"), 2);
    for (const message of forwarded) {
      expect(message).toMatch(/^Return-Path: <sender@elsewhere\.test>\nDelivered-To: bob(-copy)?@example\.test\nReceived: .*\n(.*\n)*Delivered-To: alice-fwd@example\.test\n/);
    }
    expect(await waitForDelivery(made.root, /success: did_0\+2\+0\/qp_\d+\//)).toBeTruthy();

    await inject(made.queueDir, SENDER, ["alice-list@example.test"]);
    const all = await waitForMessages(join(made.home("bob"), "Maildir"), 3);
    expect(all.filter((message) => message.startsWith("Return-Path: <alice-list-owner@example.test>\n"))).toHaveLength(1);
  }, 30_000);

  it("appends to an mbox with a From_ line, >From quoting, a final newline and an empty line", async () => {
    const made = await makeLspawnRoot(bed);
    made.dotQmail("alice", ".qmail-mbox", "./mbox\n");
    await bed.start();
    await inject(made.queueDir, "we ird@elsewhere.test", ["alice-mbox@example.test"], "Subject: q\n\nFrom here\n>From there\nFrom\nend");
    await waitForDelivery(made.root, /success: did_1\+0\+0\//);
    const mbox = readFileSync(join(made.home("alice"), "mbox"), "utf8");
    expect(mbox).toMatch(/^From we-ird@elsewhere\.test \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nReturn-Path: <we ird@elsewhere\.test>\nDelivered-To: alice-mbox@example\.test\n/);
    expect(mbox.endsWith("\n\n>From here\n>>From there\nFrom\nend\n\n")).toBe(true);
  }, 30_000);

  it("detects a loop by its own Delivered-To line: a permanent failure", async () => {
    const made = await makeLspawnRoot(bed);
    made.dotQmail("alice", ".qmail-loop", "&alice-loop@example.test\n");
    await bed.start();
    await inject(made.queueDir, SENDER, ["alice-loop@example.test"]);
    await waitForDelivery(made.root, /failure: This_message_is_looping:_it_already_has_my_Delivered-To_line\._\(#5\.4\.6\)/);
  }, 30_000);

  it("answers an unknown user with D 'Sorry, no mailbox here by that name. (#5.1.1)'; the alias user's .qmail-postmaster works", async () => {
    const made = await makeLspawnRoot(bed);
    makeMaildir(join(made.home("alias"), "Maildir"));
    made.dotQmail("alias", ".qmail-postmaster", "./Maildir/\n");
    await bed.start();
    await inject(made.queueDir, SENDER, ["nosuchuser@example.test", "PoStMaStEr@example.test"]);
    await waitForDelivery(made.root, /failure: Sorry,_no_mailbox_here_by_that_name\._\(#5\.1\.1\)/);
    const [message] = await waitForMessages(join(made.home("alias"), "Maildir"), 1);
    expect(message).toMatch(/^Return-Path: <sender@elsewhere\.test>\nDelivered-To: PoStMaStEr@example\.test\n/);
  }, 30_000);

  it("refuses (soft) a world-writable .qmail", async () => {
    const made = await makeLspawnRoot(bed);
    made.dotQmail("alice", ".qmail-open", "./Maildir/\n", 0o666);
    await bed.start();
    await inject(made.queueDir, SENDER, ["alice-open@example.test"]);
    await waitForDelivery(made.root, /deferral: Uh-oh:_\.qmail_file_is_writable\._\(#4\.7\.0\)/);
    expect(newMessages(join(made.home("alice"), "Maildir"))).toEqual([]);
  }, 30_000);

  it.runIf(process.getuid?.() === 0)("delivers for a system account as that account: files owned by it, programs run with its uid", async () => {
    const made = await makeLspawnRoot(bed);
    const sysHome = mkdtempSync(join(tmpdir(), "tsqmail-sysuser-"));
    try {
      chmodSync(sysHome, 0o755);
      makeMaildir(join(sysHome, "Maildir"));
      writeFileSync(join(sysHome, ".qmail-prog"), '|id -u > "$HOME/uid.out"; id -g >> "$HOME/uid.out"\n');
      for (const path of [sysHome, join(sysHome, ".qmail-prog"), ...["", "tmp", "new", "cur"].map((sub) => join(sysHome, "Maildir", sub))]) chownSync(path, 4321, 4322);
      writeFileSync(join(made.root, "passwd"), `sysuser:x:4321:4322::${sysHome}:/bin/sh\n`);
      await bed.start();
      await inject(made.queueDir, SENDER, ["sysuser@example.test", "sysuser-prog@example.test"]);
      await waitForMessages(join(sysHome, "Maildir"), 1);
      const [name] = readdirSync(join(sysHome, "Maildir", "new"));
      expect(statSync(join(sysHome, "Maildir", "new", name!))).toMatchObject({ uid: 4321, gid: 4322 });
      await waitForDelivery(made.root, /success: did_0\+0\+1\//);
      expect(readFileSync(join(sysHome, "uid.out"), "utf8")).toBe("4321\n4322\n");
      expect(statSync(join(sysHome, "uid.out")).uid).toBe(4321);
    } finally {
      rmSync(sysHome, { recursive: true, force: true });
    }
  }, 30_000);
});
