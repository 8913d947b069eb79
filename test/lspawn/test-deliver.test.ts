// notqmail's TEST.deliver checklist, automated: every message goes into the real queue through
// enqueue, the real send and lspawn services deliver it, and bounces travel the whole way back
// through the queue to a local mailbox. Items already proved in local-delivery.test.ts are not
// repeated here: local→local delivery, PoStMaStEr through the alias user, the .qmail-ext and
// -default cascade, the program environment, exit codes 0 99 100 64 111 3, &addr and bare-address
// forwards with NEWSENDER from -owner, the Delivered-To loop.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inject, leftovers, sendTestBed } from "../send/send-root.js";
import { logText, waitFor } from "../runtime/test-root.js";
import { deliveryLines, makeLspawnRoot, makeMaildir, newMessages, waitForDelivery, waitForMessages } from "./lspawn-root.js";

const bed = sendTestBed();

/** The queue holds nothing any more: every message, bounce and forward is finished. */
const queueEmpty = (queueDir: string): Promise<void> => waitFor(() => leftovers(queueDir).length === 0, 15_000, "an empty queue");

describe("TEST.deliver", () => {
  it("local error: the bounce, with a block per failed recipient and a copy of the message, reaches the local sender", async () => {
    const made = await makeLspawnRoot(bed);
    await bed.start();
    await inject(made.queueDir, "alice@example.test", ["nosuchuser@example.test", "alice-nothing@example.test"], "Subject: lost\n\nwhere to?\n");
    const [bounce] = await waitForMessages(join(made.home("alice"), "Maildir"), 1);
    expect(bounce).toMatch(/^Return-Path: <>\nDelivered-To: alice@example\.test\nReceived: .*\nDate: .*\nFrom: MAILER-DAEMON@mail\.example\.test\nTo: alice@example\.test\nSubject: failure notice\n\n/);
    expect(bounce).toContain("Hi. This is the qmail-send program at mail.example.test.\nI'm afraid I wasn't able to deliver your message to the following addresses.\n");
    // Both recipients fail with qmail-local's text: one has no account, the other no .qmail-nothing.
    for (const recipient of ["nosuchuser@example.test", "alice-nothing@example.test"]) {
      expect(bounce).toContain(`<${recipient}>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n`);
    }
    expect(bounce).toMatch(/--- Below this line is a copy of the message\.\n\nReturn-Path: <alice@example\.test>\nReceived: .*\nSubject: lost\n\nwhere to\?\n$/);
    // send logs a bounce once it is queued, in a batch of lines written within 20 ms: the bounce
    // itself may be delivered before that.
    await waitFor(() => /bounce msg \d+ qp \d+/.test(logText(made.root, "send")), 5000, "the bounce in send's log");
    await queueEmpty(made.queueDir);
  }, 30_000);

  it("double bounce: a bounce that cannot be delivered goes from #@[] to doublebounceto (postmaster, through the alias user)", async () => {
    const made = await makeLspawnRoot(bed);
    makeMaildir(join(made.home("alias"), "Maildir"));
    made.dotQmail("alias", ".qmail-postmaster", "./Maildir/\n");
    await bed.start();
    await inject(made.queueDir, "nobody-here@example.test", ["nosuchuser@example.test"], "Subject: twice\n\nlost twice\n");
    const [double] = await waitForMessages(join(made.home("alias"), "Maildir"), 1);
    expect(double).toMatch(/^Return-Path: <#@\[\]>\nDelivered-To: postmaster@mail\.example\.test\n/);
    expect(double).toContain("To: postmaster@mail.example.test\n");
    expect(double).toContain("I tried to deliver a bounce message to this address, but the bounce bounced!\n\n<nobody-here@example.test>:\nSorry, no mailbox here by that name. (#5.1.1)\n");
    // The original bounce follows, with its own copy of the first message inside.
    expect(double).toMatch(/--- Below this line is the original bounce\.\n\nReturn-Path: <>\n(.*\n)*<nosuchuser@example\.test>:\n(.*\n)*Subject: twice\n\nlost twice\n$/);
    await queueEmpty(made.queueDir);
  }, 30_000);

  it("triple bounce: when doublebounceto fails too, the bounce of the double bounce is discarded and the queue empties", async () => {
    const made = await makeLspawnRoot(bed);
    writeFileSync(join(made.root, "control", "doublebounceto"), "nobody-either\n");
    await bed.start();
    await inject(made.queueDir, "nobody-here@example.test", ["nosuchuser@example.test"]);
    await waitFor(() => /triple bounce: discarding bounce\/\d+/.test(logText(made.root, "send")), 15_000, "the triple bounce line");
    // Three failures: the message, its bounce, the double bounce to nobody-either.
    expect(deliveryLines(made.root).filter((line) => line.includes(": failure: Sorry,_no_mailbox_here_by_that_name."))).toHaveLength(3);
    expect(deliveryLines(made.root).some((line) => line.includes(": success: "))).toBe(false);
    await queueEmpty(made.queueDir);
    expect(logText(made.root, "send").match(/bounce msg \d+ qp \d+/g)).toHaveLength(2);
  }, 30_000);

  it("program exits 64 65 70 76 77 78 100 112 are permanent and bounce with the program's words; 0 delivers", async () => {
    const hard = [64, 65, 70, 76, 77, 78, 100, 112];
    const made = await makeLspawnRoot(bed);
    for (const code of hard) made.dotQmail("alice", `.qmail-e${code}`, `|echo refused with ${code}; exit ${code}\n`);
    made.dotQmail("alice", ".qmail-e0", '|cat > "$HOME/zero.out"\n');
    await bed.start();
    await inject(made.queueDir, "bob@example.test", [...hard, 0].map((code) => `alice-e${code}@example.test`));
    const [bounce] = await waitForMessages(join(made.home("bob"), "Maildir"), 1);
    for (const code of hard) expect(bounce).toContain(`<alice-e${code}@example.test>:\nrefused with ${code}\n\n`);
    expect(bounce).not.toContain("<alice-e0@example.test>");
    expect(deliveryLines(made.root).filter((line) => line.includes(": success: did_0+0+1/"))).toHaveLength(1);
    await queueEmpty(made.queueDir);
  }, 30_000);

  it("program exits 111 and 75, and a program killed by a signal, are temporary: nothing bounces and the message stays queued", async () => {
    const made = await makeLspawnRoot(bed);
    made.dotQmails("alice", { ".qmail-e111": "|echo later; exit 111\n", ".qmail-e75": "|echo tempfail; exit 75\n", ".qmail-killed": "|kill -KILL $$\n" });
    await bed.start();
    await inject(made.queueDir, "bob@example.test", ["alice-e111@example.test", "alice-e75@example.test", "alice-killed@example.test"]);
    await waitForDelivery(made.root, /deferral: later\//);
    await waitForDelivery(made.root, /deferral: tempfail\//);
    await waitForDelivery(made.root, /deferral: Program_crashed\._\(#4\.3\.0\)/);
    expect(deliveryLines(made.root).every((line) => line.includes(": deferral: "))).toBe(true);
    expect(leftovers(made.queueDir).some((file) => file.startsWith("local/"))).toBe(true);
    expect(newMessages(join(made.home("bob"), "Maildir"))).toEqual([]);
  }, 30_000);

  it("exit 99 stops the lines, yet forwards collected before it still go out", async () => {
    const made = await makeLspawnRoot(bed);
    makeMaildir(join(made.home("alice"), "never"));
    made.dotQmail("alice", ".qmail-stop", "&bob@example.test\n|exit 99\n./never/\n&bob-never@example.test\n");
    await bed.start();
    await inject(made.queueDir, "carol@elsewhere.test", ["alice-stop@example.test"]);
    const [forwarded] = await waitForMessages(join(made.home("bob"), "Maildir"), 1);
    expect(forwarded).toMatch(/^Return-Path: <carol@elsewhere\.test>\nDelivered-To: bob@example\.test\n(.*\n)*Delivered-To: alice-stop@example\.test\n/);
    expect(await waitForDelivery(made.root, /success: did_0\+1\+1\/qp_\d+\//)).toBeTruthy();
    await queueEmpty(made.queueDir);
    expect(newMessages(join(made.home("alice"), "never"))).toEqual([]);
    // The log line of the forward's delivery may reach the file just after its queue files went.
    await waitFor(() => deliveryLines(made.root).length >= 2, 5_000, "the forward's delivery line");
    expect(deliveryLines(made.root)).toHaveLength(2);
  }, 30_000);

  it("-owner: a forward's failure bounces to <local>-owner, not to the original sender", async () => {
    const made = await makeLspawnRoot(bed);
    makeMaildir(join(made.home("alice"), "owner"));
    made.dotQmails("alice", { ".qmail-list": "&nosuchuser@example.test\nbob@example.test\n", ".qmail-list-owner": "./owner/\n" });
    await bed.start();
    await inject(made.queueDir, "bob@example.test", ["alice-list@example.test"], "Subject: to the list\n\nhi\n");
    const [bounce] = await waitForMessages(join(made.home("alice"), "owner"), 1);
    expect(bounce).toMatch(/^Return-Path: <>\nDelivered-To: alice-list-owner@example\.test\n(.*\n)*To: alice-list-owner@example\.test\n/);
    expect(bounce).toContain("<nosuchuser@example.test>:\nSorry, no mailbox here by that name. (#5.1.1)\n");
    await queueEmpty(made.queueDir);
    // bob, the original sender, got the list's copy and no bounce.
    const bobs = newMessages(join(made.home("bob"), "Maildir"));
    expect(bobs).toHaveLength(1);
    expect(bobs[0]).toMatch(/^Return-Path: <alice-list-owner@example\.test>\n(.*\n)*Subject: to the list\n/);
  }, 30_000);

  it("-owner-default: forwards leave with a VERP sender, one per recipient; a bounce stays a bounce (empty NEWSENDER)", async () => {
    const made = await makeLspawnRoot(bed);
    makeMaildir(join(made.home("alice"), "owner"));
    made.dotQmails("alice", { ".qmail-vlist": "&bob@example.test\n", ".qmail-vlist-owner": "./owner/\n", ".qmail-vlist-owner-default": "./owner/\n" });
    await bed.start();
    await inject(made.queueDir, "carol@elsewhere.test", ["alice-vlist@example.test"], "Subject: verp\n\n1\n");
    const [verp] = await waitForMessages(join(made.home("bob"), "Maildir"), 1);
    expect(verp).toMatch(/^Return-Path: <alice-vlist-owner-bob=example\.test@example\.test>\n/);
    await inject(made.queueDir, "", ["alice-vlist@example.test"], "Subject: a bounce\n\n2\n");
    const both = await waitForMessages(join(made.home("bob"), "Maildir"), 2);
    expect(both.filter((message) => message.startsWith("Return-Path: <>\n"))).toHaveLength(1);
    await queueEmpty(made.queueDir);
    expect(newMessages(join(made.home("alice"), "owner"))).toEqual([]);
  }, 30_000);
});
