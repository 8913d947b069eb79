// qmtpd and qmtps as qmail-qmtpd answers: per-recipient replies in order, rcpthosts and
// RELAYCLIENT, databytes, the LF and CRLF forms, several packages on one connection, the
// Received line, and hostile netstrings that must leave nothing in the queue.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeCertificates } from "../net/client-certificates.js";
import { debianTcprules } from "../net/listener-harness.js";
import { waitFor } from "../runtime/test-root.js";
import { NetstringClient, qmtpPackage, startRoot } from "./netstring-root.js";

const K = /^Kok \d+ qp \d+$/;
const RCPTHOSTS = "Dsorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)";
const CANT_HANDLE = "Dsorry, I can't handle that recipient (#5.1.3)";

describe("qmtpd", () => {
  it("answers each recipient in order and queues the message for the accepted ones only", async () => {
    const node = await startRoot({ qmtpd: {} });
    const client = new NetstringClient(await node.port("qmtpd"));
    const long = `${"x".repeat(990)}@example.test`;
    client.send(qmtpPackage("\nSubject: hi\n\nhello\n", "sender@elsewhere.test", ["alice@example.test", "victim@elsewhere.test", long, "bob@a.sub.example.test", "nul\0@example.test"]));
    const replies = await client.waitReplies(5);
    expect(replies[0]).toMatch(K);
    expect(replies.slice(1)).toEqual([RCPTHOSTS, CANT_HANDLE, replies[0], CANT_HANDLE]);
    const [queued] = node.queued();
    expect(queued!.envelope).toMatch(/Fsender@elsewhere\.test\0Talice@example\.test\0Tbob@a\.sub\.example\.test\0$/);
    expect(queued!.mess).toMatch(/^Received: \(qmail \d+ invoked from network\); .*\nReceived: from unknown \(127\.0\.0\.1\)\n  by 127\.0\.0\.1 with QMTP; .*\nSubject: hi\n\nhello\n$/);
    expect(node.queued()).toHaveLength(1);
  });

  it("converts CRLF when the message starts with CR, keeps a lone CR, and serves several packages on one connection", async () => {
    const node = await startRoot({ qmtpd: {} });
    const client = new NetstringClient(await node.port("qmtpd"));
    client.send(qmtpPackage("\rSubject: one\r\n\r\nbare\rcr\r\n", "a@elsewhere.test", ["alice@example.test"]));
    client.send(qmtpPackage("\nSubject: two\n\nlf\n", "b@elsewhere.test", ["bob@example.test"]));
    const replies = await client.waitReplies(2);
    expect(replies).toEqual([expect.stringMatching(K), expect.stringMatching(K)]);
    // Queue order is by inode number, not arrival: compare the set of messages.
    const messages = node.queued().map((m) => m.mess.slice(m.mess.indexOf("Subject")));
    expect(messages.sort()).toEqual(["Subject: one\n\nbare\rcr\n", "Subject: two\n\nlf\n"]);
    client.socket.end();
    await client.untilClosed();
  });

  it("refuses every recipient for a bad sender, and for a message over databytes; nothing queued", async () => {
    const node = await startRoot({ qmtpd: {} }, { files: { "control/databytes": "20" } });
    const client = new NetstringClient(await node.port("qmtpd"));
    client.send(qmtpPackage("\nshort\n", "bad\0sender@elsewhere.test", ["alice@example.test", "victim@elsewhere.test"]));
    client.send(qmtpPackage(`\n${"y".repeat(21)}`, "ok@elsewhere.test", ["alice@example.test"]));
    client.send(qmtpPackage(`\r${"z\r\n".repeat(7)}`, "ok@elsewhere.test", ["alice@example.test"]));
    const replies = await client.waitReplies(4);
    expect(replies).toEqual(["Dunacceptable sender (#5.1.7)", RCPTHOSTS, "Dsorry, that message size exceeds my databytes limit (#5.3.4)", expect.stringMatching(K)]);
    // The CRLF message is 21 bytes on the wire but 14 after conversion, which is what counts.
    expect(node.queued()).toHaveLength(1);
    expect(node.queueFiles().filter((f) => f.startsWith("mess/"))).toHaveLength(1);
  });

  it("RELAYCLIENT from the rules skips rcpthosts and is appended to each recipient", async () => {
    const node = await startRoot({ qmtpd: {} });
    debianTcprules(join(node.root, "service", "qmtpd", "rules.cdb"), '127.0.0.1:allow,RELAYCLIENT="-r"\n');
    node.runtime.svc("h", ["qmtpd"]);
    const port = await node.port("qmtpd");
    await waitFor(() => /reloaded service\/qmtpd\/rules\.cdb/.test(node.log("qmtpd")), 15_000, "the rules reloaded");
    const client = new NetstringClient(port);
    client.send(qmtpPackage("\nrelayed\n", "me@example.test", ["far@elsewhere.test"]));
    expect((await client.waitReplies(1))[0]).toMatch(K);
    expect(node.queued()[0]!.envelope).toContain("Tfar@elsewhere.test-r\0");
  });

  it.each([
    ["a non-digit length", "5x:hello,"],
    ["a huge length", "999999999999:"],
    ["a missing comma", "7:\nhello\n;"],
    ["an empty message", "0:,"],
    ["a first byte other than LF or CR", "7:Xhello\n,"],
    ["a malformed recipient list", Buffer.concat([Buffer.from("7:\nhello\n,3:a@b,"), Buffer.from("9:3:xyz;12,")]).toString("latin1")],
    ["a recipient running past the end of its list", "7:\nhello\n,3:a@b,5:9:x,,,"],
  ])("closes on %s without a reply and queues nothing", async (_, bytes) => {
    const node = await startRoot({ qmtpd: {} });
    const client = new NetstringClient(await node.port("qmtpd"));
    client.send(bytes);
    await client.untilClosed();
    expect(client.replies).toEqual([]);
    await waitFor(() => /end protocol-error: /.test(node.log("qmtpd")), 10_000, "the protocol error in the log");
    expect(node.queueFiles()).toEqual([]);
  });

  it("a client that disconnects mid-package leaves nothing in the queue", async () => {
    const node = await startRoot({ qmtpd: {} });
    const client = new NetstringClient(await node.port("qmtpd"));
    const whole = qmtpPackage(`\n${"body line\n".repeat(10_000)}`, "a@elsewhere.test", ["alice@example.test"]);
    for (const cut of [50_000, whole.length - 30, whole.length - 1]) {
      const partial = new NetstringClient(await node.port("qmtpd"));
      partial.send(whole.subarray(0, cut));
      await new Promise((resolve) => setTimeout(resolve, 200));
      partial.socket.destroy();
    }
    client.send(qmtpPackage("\nafter\n", "a@elsewhere.test", ["alice@example.test"]));
    await client.waitReplies(1);
    // Each cut-off session logs its end once its abandoned files are removed.
    await waitFor(() => (node.log("qmtpd").match(/end protocol-error: malformed netstring: truncated/g) ?? []).length === 3, 15_000, "three truncated sessions");
    // Only the message sent whole: one mess file, its intd and todo entries, nothing of the others.
    expect(node.queued()).toHaveLength(1);
    expect(node.queueFiles()).toHaveLength(3);
  });
});

describe("qmtps", () => {
  it("speaks QMTP inside TLS and says so in the Received line", async () => {
    const node = await startRoot({ qmtps: {} });
    const client = new NetstringClient(await node.port("qmtps"), true);
    client.send(qmtpPackage("\nSubject: tls\n\nsecret\n", "a@elsewhere.test", ["alice@example.test"]));
    expect((await client.waitReplies(1))[0]).toMatch(K);
    expect(node.queued()[0]!.mess).toMatch(/with QMTPS; /);
  });

  it("with CAFILE, a client certificate its CA issued relays; a self-signed one, or none, does not", async () => {
    const certificates = makeCertificates(mkdtempSync(join(tmpdir(), "tsqmail-qmtps-ca-")));
    const node = await startRoot({ qmtps: { CAFILE: certificates.ca } });
    const port = await node.port("qmtps");
    const relay = async (tls: true | [string, string]): Promise<string> => {
      const client = new NetstringClient(port, tls === true ? true : { cert: readFileSync(tls[0]), key: readFileSync(tls[1]) });
      client.send(qmtpPackage("\nSubject: relay\n\nfrom a branch\n", "a@branch.test", ["someone@far.test"]));
      const [reply] = await client.waitReplies(1);
      client.socket.end();
      return reply!;
    };
    expect(await relay(certificates.client)).toMatch(K);
    expect(await relay(certificates.rogue)).toBe(RCPTHOSTS);
    expect(await relay(true)).toBe(RCPTHOSTS);
    expect(node.queued().map((m) => m.envelope)).toEqual([expect.stringContaining("\0Tsomeone@far.test\0")]);
  });
});
