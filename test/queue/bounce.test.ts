// Bounces end to end on real queue files: reports appended to bounce/N in qmail's block format,
// the bounce composed from them and from the mess file (streamed), checked byte for byte for a
// single, double and triple bounce, the `-@[]` rules, VERP, and the log-text escaping.

import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { appendBounceReport, bounceBlock, readBounceReport, removeBounceReport } from "../../src/queue/bounce-report.js";
import { composeBounce, quoteAddress } from "../../src/queue/bounce-message.js";
import { enqueue } from "../../src/queue/enqueue.js";
import { escapeLogText } from "../../src/queue/log-text.js";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { verpSender } from "../../src/queue/verp.js";
import { chunks, tempQueue, type TempQueue } from "./queue-fixture.js";

let queue: TempQueue | undefined;
afterEach(async () => {
  await queue?.remove();
  queue = undefined;
});

const NOW = Date.UTC(2024, 0, 5, 3, 4, 5); // 5 Jan 2024 03:04:05
const control = { bouncefrom: "MAILER-DAEMON", bouncehost: "mx.example.org", doublebouncehost: "example.org", doublebounceto: "postmaster" };

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

/** A queued message whose body has a 200 000-byte line and every byte value. */
async function queuedOriginal(q: TempQueue): Promise<{ id: number; messageFile: string; mess: Buffer }> {
  const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const result = await enqueue(q.queueDir, chunks("Subject: test\n\n", "x".repeat(200_000), "\n", binary, "\nend\n"), { sender: "alice@example.net", recipients: ["bob@example.org"] }, { invokedBy: "network" });
  if (!result.ok || result.id === null) throw new Error(JSON.stringify(result));
  const messageFile = queueLayout(q.queueDir).file("mess", result.id);
  const mess = await readFile(messageFile);
  expect(mess.includes(binary)).toBe(true);
  return { id: result.id, messageFile, mess };
}

describe("bounce/N blocks", () => {
  it("writes <recipient>:, the text with a final newline, empty lines inside turned into /, then an empty line", async () => {
    queue = await tempQueue();
    await appendBounceReport(queue.queueDir, 77, "bob@example.org", "Sorry, no mailbox here by that name. (#5.1.1)");
    await appendBounceReport(queue.queueDir, 77, "odd\nname@example.org", "Remote host said: 550 no\n\nsecond paragraph\n\n\nthird\n");
    expect((await readBounceReport(queue.queueDir, 77))?.toString("latin1")).toBe(
      "<bob@example.org>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n" +
        "<odd_name@example.org>:\nRemote host said: 550 no\n/second paragraph\n//third\n\n",
    );
    await removeBounceReport(queue.queueDir, 77);
    expect(await readBounceReport(queue.queueDir, 77)).toBeUndefined();
    await removeBounceReport(queue.queueDir, 77); // already gone: not an error
  });

  it("keeps qmail's edges: an empty text adds no newline, and the block's last newline is never rewritten", () => {
    expect(bounceBlock("a@b", "").toString()).toBe("<a@b>:\n\n");
    expect(bounceBlock("a@b", "x\n\n").toString()).toBe("<a@b>:\nx\n\n\n");
  });
});

describe("composeBounce", () => {
  it("single bounce: from <> to the sender, qmail's text, the blocks, then the original streamed", async () => {
    queue = await tempQueue();
    const original = await queuedOriginal(queue);
    await appendBounceReport(queue.queueDir, original.id, "bob@example.org", "Sorry, no mailbox here by that name. (#5.1.1)");
    const report = (await readBounceReport(queue.queueDir, original.id)) as Buffer;
    const bounce = composeBounce({ sender: "alice@example.net", report, messageFile: original.messageFile, control, now: NOW });
    if (bounce.discard) throw new Error("discarded");
    expect(bounce.envelope).toEqual({ sender: "", recipients: ["alice@example.net"] });
    const expectedHead =
      "Date: 5 Jan 2024 03:04:05 -0000\n" +
      "From: MAILER-DAEMON@mx.example.org\n" +
      "To: alice@example.net\n" +
      "Subject: failure notice\n" +
      "\n" +
      "Hi. This is the qmail-send program at mx.example.org.\n" +
      "I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
      "This is a permanent error; I've given up. Sorry it didn't work out.\n" +
      "\n" +
      "<bob@example.org>:\n" +
      "Sorry, no mailbox here by that name. (#5.1.1)\n" +
      "\n" +
      "--- Below this line is a copy of the message.\n" +
      "\n" +
      "Return-Path: <alice@example.net>\n";
    const body = await collect(bounce.body);
    expect(body.equals(Buffer.concat([Buffer.from(expectedHead, "latin1"), original.mess]))).toBe(true);

    // The bounce goes into the queue through enqueue like any message.
    const again = composeBounce({ sender: "alice@example.net", report, messageFile: original.messageFile, control, now: NOW });
    if (again.discard) throw new Error("discarded");
    const queued = await enqueue(queue.queueDir, again.body, again.envelope, { invokedBy: "bounce" });
    if (!queued.ok || queued.id === null) throw new Error(JSON.stringify(queued));
    const layout = queueLayout(queue.queueDir);
    expect((await readFile(layout.file("todo", queued.id), "latin1")).split("\0").slice(2)).toEqual(["F", "Talice@example.net", ""]);
    expect((await readFile(layout.file("mess", queued.id))).subarray(-original.mess.length).equals(original.mess)).toBe(true);
  });

  it("double bounce: the sender was <>, so from #@[] to doublebounceto@doublebouncehost with the double-bounce text", async () => {
    queue = await tempQueue();
    const original = await queuedOriginal(queue);
    const report = bounceBlock("alice@example.net", "Sorry, I couldn't find any host named example.net. (#5.1.2)");
    const bounce = composeBounce({ sender: "", report, messageFile: original.messageFile, control, now: NOW });
    if (bounce.discard) throw new Error("discarded");
    expect(bounce.envelope).toEqual({ sender: "#@[]", recipients: ["postmaster@example.org"] });
    const expectedHead =
      "Date: 5 Jan 2024 03:04:05 -0000\n" +
      "From: MAILER-DAEMON@mx.example.org\n" +
      "To: postmaster@example.org\n" +
      "Subject: failure notice\n" +
      "\n" +
      "Hi. This is the qmail-send program at mx.example.org.\n" +
      "I tried to deliver a bounce message to this address, but the bounce bounced!\n" +
      "\n" +
      "<alice@example.net>:\n" +
      "Sorry, I couldn't find any host named example.net. (#5.1.2)\n" +
      "\n" +
      "--- Below this line is the original bounce.\n" +
      "\n" +
      "Return-Path: <>\n";
    expect((await collect(bounce.body)).equals(Buffer.concat([Buffer.from(expectedHead, "latin1"), original.mess]))).toBe(true);
  });

  it("triple bounce: a bounce of a double bounce (sender #@[]) is discarded", () => {
    expect(composeBounce({ sender: "#@[]", report: Buffer.from("x"), messageFile: "/nonexistent", control, now: NOW })).toEqual({ discard: true });
  });

  it("a sender ending in -@[] loses that suffix; -@[] alone becomes a double bounce", async () => {
    queue = await tempQueue();
    const original = await queuedOriginal(queue);
    const verp = composeBounce({ sender: "owner-@lists.example-@[]", report: Buffer.alloc(0), messageFile: original.messageFile, control, now: NOW });
    if (verp.discard) throw new Error("discarded");
    expect(verp.envelope).toEqual({ sender: "", recipients: ["owner-@lists.example"] });
    expect((await collect(verp.body)).toString("latin1")).toContain("\nTo: owner-@lists.example\n");
    const bare = composeBounce({ sender: "-@[]", report: Buffer.alloc(0), messageFile: original.messageFile, control, now: NOW });
    expect(bare.discard === false && bare.envelope).toEqual({ sender: "#@[]", recipients: ["postmaster@example.org"] });
  });

  it("quotes local parts as qmail does, and no CR or LF from a sender or control file reaches a header", async () => {
    expect(quoteAddress("a b@x.y")).toBe('"a b"@x.y');
    expect(quoteAddress('q"x@x.y')).toBe('"q\\"x"@x.y');
    expect(quoteAddress(".dot@x.y")).toBe('".dot"@x.y');
    expect(quoteAddress("a..b@x.y")).toBe('"a..b"@x.y');
    expect(quoteAddress("plain+tag=1@x.y")).toBe("plain+tag=1@x.y");
    expect(quoteAddress("noat")).toBe("noat");
    queue = await tempQueue();
    const original = await queuedOriginal(queue);
    const bounce = composeBounce({
      sender: "evil\r\nBcc: victim@x@example.net",
      report: Buffer.alloc(0),
      messageFile: original.messageFile,
      control: { ...control, bouncefrom: "MAILER DAEMON\r", bouncehost: "mx.example.org\r" },
      now: NOW,
    });
    if (bounce.discard) throw new Error("discarded");
    const text = (await collect(bounce.body)).toString("latin1");
    const head = text.slice(0, text.indexOf("\n\n"));
    expect(head).toBe(
      "Date: 5 Jan 2024 03:04:05 -0000\n" +
        'From: "MAILER DAEMON\\_"@mx.example.org_\n' +
        'To: "evil\\_\\_Bcc: victim@x"@example.net\n' +
        "Subject: failure notice",
    );
    expect(text).toContain('\nReturn-Path: <"evil\\_\\_Bcc: victim@x"@example.net>\n');
  });

  it("a message file that cannot be opened fails the body, so the injection fails and is retried", async () => {
    const bounce = composeBounce({ sender: "a@b", report: Buffer.alloc(0), messageFile: "/nonexistent/mess", control, now: NOW });
    if (bounce.discard) throw new Error("discarded");
    await expect(collect(bounce.body)).rejects.toThrow(/ENOENT/);
  });
});

describe("VERP and log text", () => {
  it("P@H-@[] becomes P<box>=<domain>@H per recipient; other senders are unchanged", () => {
    expect(verpSender("owner-list-@lists.example.org-@[]", "bob@example.net")).toBe("owner-list-bob=example.net@lists.example.org");
    expect(verpSender("owner@h-@[]", "a@b@c")).toBe("ownera@b=c@h");
    expect(verpSender("owner-@h-@[]", "nodomain")).toBe("owner-@h-@[]");
    expect(verpSender("noat-@[]", "bob@example.net")).toBe("noat-@[]");
    expect(verpSender("alice@example.net", "bob@example.net")).toBe("alice@example.net");
    expect(verpSender("", "bob@example.net")).toBe("");
  });

  it("escapes like qmail-send's logsafe: \\n to /, %, space, controls and 8-bit bytes to _, capped at 10000 bytes", () => {
    expect(escapeLogText("Sorry, no mailbox here by that name. (#5.1.1)\n")).toBe("Sorry,_no_mailbox_here_by_that_name._(#5.1.1)/");
    expect(escapeLogText("u%x@y\tz\r\x7f\u00e9")).toBe("u_x@y_z____");
    expect(escapeLogText(Buffer.from([0x41, 0x00, 0xff]))).toBe("A__");
    expect(escapeLogText("a".repeat(20000))).toHaveLength(10000);
  });
});
