// What lspawn writes must be readable by other mail software, not just by our own tests: three
// awkward messages go through the real queue, send and lspawn into a Maildir and an mbox, and
// python3's `mailbox` module and Dovecot (imap, read-only) each must find exactly three messages
// with the right subjects and bytes. Body lines starting with `From ` must not split the mbox.

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inject, sendTestBed } from "../send/send-root.js";
import { waitFor } from "../runtime/test-root.js";
import { deliveryLines, makeLspawnRoot, waitForMessages } from "./lspawn-root.js";
import { crlfSize, readWithDovecot, readWithPython } from "./mail-readers.js";

const bed = sendTestBed();
const SENDER = "sender@elsewhere.test";

/** Each message as injected, and its body as an mbox must hold it (mboxrd quoting, final newline). */
const MESSAGES = [
  { subject: "plain", text: "Subject: plain\n\nhello\n", inMbox: "Subject: plain\n\nhello\n" },
  {
    subject: "from lines",
    text: "Subject: from lines\n\nFrom the start\n>From quoted\nFrom: not a separator\n\nFrom evil@host Thu Jan  1 00:00:00 1970\nSubject: injected\n\nfake\n",
    inMbox: "Subject: from lines\n\n>From the start\n>>From quoted\nFrom: not a separator\n\n>From evil@host Thu Jan  1 00:00:00 1970\nSubject: injected\n\nfake\n",
  },
  { subject: "no final newline", text: "Subject: no final newline\n\ngr\u00fc\u00dfe\nlast", inMbox: "Subject: no final newline\n\ngr\u00fc\u00dfe\nlast\n" },
];

const successes = (root: string): number => deliveryLines(root).filter((line) => line.includes(": success: ")).length;
const bySubject = <T extends { bytes: Buffer }>(list: readonly T[]): T[] =>
  [...list].sort((a, b) => subjectOf(a.bytes).localeCompare(subjectOf(b.bytes)));
const subjectOf = (bytes: Buffer): string => /^Subject: (.*)$/m.exec(bytes.toString("utf8"))?.[1] ?? "";

describe("delivered mailboxes, read by python3 and Dovecot", () => {
  it("a Maildir and an mbox hold exactly the three messages, byte for byte, with their subjects", async () => {
    const made = await makeLspawnRoot(bed);
    made.dotQmail("alice", ".qmail-box", "./mbox\n");
    await bed.start();
    // One at a time, so the mbox order is the injection order.
    for (const [i, message] of MESSAGES.entries()) {
      await inject(made.queueDir, SENDER, ["alice@example.test", "alice-box@example.test"], message.text);
      await waitFor(() => successes(made.root) === 2 * (i + 1), 10_000, `both deliveries of "${message.subject}"`);
    }
    const home = made.home("alice");
    const maildir = join(home, "Maildir");
    await waitForMessages(maildir, 3);
    const onDisk = readdirSync(join(maildir, "new")).map((name) => readFileSync(join(maildir, "new", name)));
    const files = bySubject(onDisk.map((bytes) => ({ bytes })));
    const wanted = [...MESSAGES].sort((a, b) => a.subject.localeCompare(b.subject));

    // Every Maildir file is Return-Path, Delivered-To, the queue's Received line, then the message as sent.
    files.forEach(({ bytes }, i) => {
      expect(bytes.toString("utf8")).toMatch(/^Return-Path: <sender@elsewhere\.test>\nDelivered-To: alice@example\.test\nReceived: [^\n]*\n/);
      expect(bytes.toString("utf8").endsWith(wanted[i]!.text)).toBe(true);
    });
    // The mbox message is the same queue message with its own Delivered-To and the quoting.
    const mboxBodies = MESSAGES.map((message) => {
      const received = /\nReceived: [^\n]*\n/.exec(files.find((f) => subjectOf(f.bytes) === message.subject)!.bytes.toString("utf8"))![0].slice(1);
      return Buffer.from(`Return-Path: <${SENDER}>\nDelivered-To: alice-box@example.test\n${received}${message.inMbox}`, "utf8");
    });

    const pyMaildir = bySubject(readWithPython("maildir", maildir));
    expect(pyMaildir.map((m) => [m.subject, m.subdir])).toEqual(wanted.map((m) => [m.subject, "new"]));
    expect(pyMaildir.map((m) => m.bytes)).toEqual(files.map((f) => f.bytes));

    const pyMbox = readWithPython("mbox", join(home, "mbox"));
    expect(pyMbox.map((m) => m.subject)).toEqual(MESSAGES.map((m) => m.subject));
    expect(pyMbox.map((m) => m.bytes)).toEqual(mboxBodies);
    for (const m of pyMbox) expect(m.from).toMatch(/^sender@elsewhere\.test \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);

    const dovecotMaildir = readWithDovecot("maildir", maildir, home);
    expect(dovecotMaildir.exists).toBe(3);
    const seen = bySubject(dovecotMaildir.messages);
    expect(seen.map((m) => m.bytes)).toEqual(files.map((f) => f.bytes));
    expect(seen.map((m) => m.size)).toEqual(files.map((f) => crlfSize(f.bytes)));

    const dovecotMbox = readWithDovecot("mbox", join(home, "mbox"), home);
    expect(dovecotMbox.exists).toBe(3);
    expect(dovecotMbox.messages.map((m) => m.bytes)).toEqual(mboxBodies);
    expect(dovecotMbox.messages.map((m) => m.size)).toEqual(mboxBodies.map(crlfSize));
  }, 60_000);
});
