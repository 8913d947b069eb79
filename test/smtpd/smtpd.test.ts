// The smtpd, submission and smtps services in real worker threads, on loopback, with real
// clients (nodemailer, python3's smtplib, swaks) and a raw socket for the attacks of security.md.

import { execFileSync } from "node:child_process";
import { connect as tlsConnect } from "node:tls";
import nodemailer from "nodemailer";
import { describe, expect, it } from "vitest";
import { RawClient, startSmtp } from "./smtpd-harness.js";
import { waitFor } from "../runtime/test-root.js";

const QUEUE_RECEIVED = /^Received: \(qmail \d+ invoked from network\); \d+ \w{3} \d{4} \d\d:\d\d:\d\d -0000\n/;

describe("plain SMTP", () => {
  it("nodemailer's message lands in the queue in qmail's format, s/qmail's Received line on top", async () => {
    const smtp = await startSmtp({ smtpd: {} });
    const port = await smtp.port("smtpd");
    const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true, name: "client.example.net" });
    const info = await transport.sendMail({ from: "sender@remote.test", to: "bob@example.test", subject: "hi", text: "line one\n.dotted line\n" });
    expect(info.response).toMatch(/^250 ok \d+ qp \d+$/);
    const [message, ...more] = smtp.queued();
    expect(more).toEqual([]);
    expect(message!.envelope).toMatch(/^u\d+\0p\d+\0Fsender@remote\.test\0Tbob@example\.test\0$/);
    expect(message!.mess).toMatch(QUEUE_RECEIVED);
    const afterQueueLine = message!.mess.replace(QUEUE_RECEIVED, "");
    expect(afterQueueLine).toMatch(/^Received: from unknown \(HELO client\.example\.net\) \(127\.0\.0\.1\)\n  by 127\.0\.0\.1 with ESMTP; \d+ \w{3} \d{4} \d\d:\d\d:\d\d -0000\n/);
    expect(afterQueueLine).toContain("Subject: hi\n");
    expect(afterQueueLine).not.toContain("\r");
    expect(afterQueueLine).toMatch(/\n\nline one\n\.dotted line\n$/);
  });

  it("answers each command with s/qmail's text, in order, when all are pipelined in one write", async () => {
    const smtp = await startSmtp({ smtpd: { DATABYTES: "5000" } });
    const client = new RawClient(await smtp.port("smtpd"));
    client.send(
      "EHLO c.test\r\nMAIL FROM:<a@remote.test> SIZE=100\r\nRCPT TO:<x@example.test>\r\nRCPT TO:<y@elsewhere.test>\r\n" +
        "RCPT TO:<z@deep.sub.example.test>\r\nDATA\r\nSubject: p\r\n\r\nbody\r\n.\r\nNOOP\r\nVRFY x\r\nHELP\r\nRSET\r\nFOO\r\nQUIT\r\n",
    );
    await client.untilClosed();
    const lines = client.text.split("\r\n");
    expect(lines.slice(0, 8)).toEqual(["220 mx.example.test ESMTP", "250-mx.example.test", "250-PIPELINING", "250-8BITMIME", "250-STARTTLS", "250-SMTPUTF8", "250 SIZE 5000", "250 ok"]);
    expect(lines.slice(8)).toEqual([
      "250 ok",
      "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
      "250 ok",
      "354 go ahead",
      expect.stringMatching(/^250 ok \d+ qp \d+$/),
      "250 ok",
      "252 send some mail, i'll try my best",
      "214 sqmail home page: http://fehcom.de/sqmail.html",
      "250 flushed",
      "500 unimplemented (#5.5.1)",
      "221 mx.example.test",
      "",
    ]);
    expect(smtp.queued()[0]!.envelope).toMatch(/\0Tx@example\.test\0Tz@deep\.sub\.example\.test\0$/);
  });

  it("refuses every relay trick of security.md §1.4, and RELAYCLIENT appends its suffix", async () => {
    const smtp = await startSmtp({ smtpd: {}, relay: { RELAYCLIENT: "-ext" } });
    const client = new RawClient(await smtp.port("smtpd"));
    const tricks = [
      "<@example.test:victim@remote.test>",
      "<victim@remote.test@example.test.evil>",
      "<victim@example.test.remote.test>",
      "<victim@badexample.test>",
      "<victim@example.test.>",
      "<victim@[127.0.0.1]>",
      '<"victim@remote.test"@elsewhere.test>',
    ];
    client.send(`HELO c\r\nMAIL FROM:<a@b.test>\r\n${tricks.map((t) => `RCPT TO:${t}\r\n`).join("")}RCPT TO:<victim%remote.test@example.test>\r\nRCPT TO:<"v@remote"@example.test>\r\nQUIT\r\n`);
    await client.untilClosed();
    const replies = client.finalLines().slice(3);
    expect(replies.slice(0, tricks.length)).toEqual(tricks.map(() => "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"));
    // Local: the percent hack and a quoted local part stay local parts of a local domain.
    expect(replies.slice(tricks.length)).toEqual(["250 ok", "250 ok", "221 mx.example.test"]);

    const relay = new RawClient(await smtp.port("relay"));
    relay.send("HELO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@anywhere.test>\r\nDATA\r\n\r\nhi\r\n.\r\nQUIT\r\n");
    await relay.untilClosed();
    expect(smtp.queued()[0]!.envelope).toMatch(/\0Tx@anywhere\.test-ext\0$/);
  });

  it("refuses MAIL and RCPT out of order and malformed, and caps a command line", async () => {
    const smtp = await startSmtp({ smtpd: { MAXRECIPIENTS: "1" } });
    const client = new RawClient(await smtp.port("smtpd"));
    client.send(`RCPT TO:<x@example.test>\r\nDATA\r\nMAIL FROM:a@b.test\r\nMAIL FROM:<a@b.test>\r\nDATA\r\nRCPT TO:<x@example.test>\r\nRCPT TO:<y@example.test>\r\nNOOP ${"x".repeat(5000)}\r\nQUIT\r\n`);
    await client.untilClosed();
    expect(client.finalLines().slice(1)).toEqual([
      "503 MAIL first (#5.5.1)",
      "503 MAIL first (#5.5.1)",
      "555 syntax error (#5.5.4)",
      "250 ok",
      "503 RCPT first (#5.5.1)",
      "250 ok",
      "452 sorry, too many recipients (#4.5.3)",
      "500 line too long (#5.5.2)",
      "221 mx.example.test",
    ]);
  });
});

describe("DATA", () => {
  const SMUGGLING = ["\n.\n", "\n.\r", "\r.\n", "\r.\r", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\r\n.\r", "\r\n.\r\r\n", "\r\r\n.\r\r\n"];

  it.each(SMUGGLING)("smuggling %j: no message at all is queued, 451 and the connection is closed", async (sequence) => {
    const smtp = await startSmtp({ smtpd: {} });
    const client = new RawClient(await smtp.port("smtpd"));
    client.send(
      `HELO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.test>\r\nDATA\r\nSubject: one\r\n\r\nfirst${sequence}` +
        "MAIL FROM:<forged@b.test>\r\nRCPT TO:<y@example.test>\r\nDATA\r\nSubject: two\r\n\r\nsecond\r\n.\r\nQUIT\r\n",
    );
    await client.untilClosed();
    expect(client.finalLines().at(-1)).toBe("451 Bare Line Feeds (LF) are not accepted in SMTP; CRLF is required according to RFC 2822.");
    expect(smtp.queued()).toEqual([]);
  });

  it("a NUL before the dot is body, not an end: one message with the rest in it", async () => {
    const smtp = await startSmtp({ smtpd: {} });
    const client = new RawClient(await smtp.port("smtpd"));
    client.send("HELO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.test>\r\nDATA\r\n\r\nfirst\r\n\x00.\r\nMAIL FROM:<f@b.test>\r\n.\r\nQUIT\r\n");
    await client.untilClosed();
    const queued = smtp.queued();
    expect(queued).toHaveLength(1);
    expect(queued[0]!.mess).toMatch(/\n\nfirst\n\x00\.\nMAIL FROM:<f@b\.test>\n$/);
  });

  it("over DATABYTES: 552 after the whole body was read, nothing queued, the session goes on", async () => {
    const smtp = await startSmtp({ smtpd: { DATABYTES: "1000" } });
    const client = new RawClient(await smtp.port("smtpd"));
    client.send(`HELO c\r\nMAIL FROM:<a@b.test> SIZE=2000\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.test>\r\nDATA\r\n${"y".repeat(70)}\r\n`.repeat(1));
    client.send(`${"z".repeat(70)}\r\n`.repeat(200));
    client.send(".\r\nNOOP\r\nQUIT\r\n");
    await client.untilClosed();
    expect(client.finalLines().slice(1)).toEqual([
      "250 mx.example.test",
      "552 sorry, that message size exceeds my databytes limit (#5.3.4)",
      "250 ok",
      "250 ok",
      "354 go ahead",
      "552 sorry, that message size exceeds my databytes limit (#5.3.4)",
      "250 ok",
      "221 mx.example.test",
    ]);
    expect(smtp.queued()).toEqual([]);
  });

  it("100 Received/Delivered-To lines: 554 too many hops, nothing queued; 99 are accepted", async () => {
    const smtp = await startSmtp({ smtpd: {} });
    const client = new RawClient(await smtp.port("smtpd"));
    const header = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? "Received: x\r\n" : "DELIVERED-To: y\r\n")).join("");
    const transaction = (n: number) => `MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.test>\r\nDATA\r\n${header(n)}\r\nbody\r\n.\r\n`;
    client.send(`HELO c\r\n${transaction(100)}${transaction(99)}QUIT\r\n`);
    await client.untilClosed();
    const replies = client.finalLines();
    expect(replies[5]).toBe("554 too many hops, this message is looping (#5.4.6)");
    expect(replies[9]).toMatch(/^250 ok \d+ qp \d+$/);
    expect(smtp.queued()).toHaveLength(1);
  });
});

describe("STARTTLS", () => {
  it("runs no command pipelined after STARTTLS, forgets the session, refuses a second STARTTLS", async () => {
    const smtp = await startSmtp({ smtpd: {} });
    const port = await smtp.port("smtpd");
    const client = new RawClient(port);
    await client.replies(1);
    client.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nSTARTTLS\r\nRSET\r\n");
    await client.replies(4);
    expect(client.finalLines()).toEqual(["220 mx.example.test ESMTP", "250 SIZE 0", "250 ok", "220 Ready to start TLS (#5.7.0)"]);
    const secure = tlsConnect({ socket: client.socket, rejectUnauthorized: false });
    let text = "";
    secure.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    await new Promise((resolve) => secure.once("secureConnect", resolve));
    secure.write("RCPT TO:<x@example.test>\r\nEHLO c\r\nSTARTTLS\r\nQUIT\r\n");
    await new Promise((resolve) => secure.once("close", resolve));
    // No 250 flushed from the injected RSET; the envelope from before TLS is gone.
    expect(text.split("\r\n").filter((l) => /^\d{3} /.test(l))).toEqual(["503 MAIL first (#5.5.1)", "250 SIZE 0", "503 TLS already active (#5.5.1)", "221 mx.example.test"]);
    expect(text).not.toContain("250-STARTTLS");
  });

  it("python3's smtplib sends over STARTTLS; the Received line says ESMTPS", async () => {
    const smtp = await startSmtp({ smtpd: {} });
    const port = await smtp.port("smtpd");
    execFileSync("python3", ["-c", `
import smtplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", ${port}, local_hostname="py.example")
s.starttls(context=ctx); s.ehlo("py.example")
s.sendmail("p@remote.test", ["bob@example.test"], "Subject: py\\r\\n\\r\\nfrom python\\r\\n")
s.quit()`]);
    const [message] = smtp.queued();
    expect(message!.mess).toMatch(/\nReceived: from unknown \(HELO py\.example\) \(127\.0\.0\.1\)\n  by 127\.0\.0\.1 with ESMTPS; /);
    expect(message!.mess).toMatch(/\n\nfrom python\n$/);
  });
});

describe("AUTH and submission", () => {
  it("submission refuses MAIL before STARTTLS and AUTH, and offers no AUTH in clear; nodemailer sends with STARTTLS + AUTH and may relay", async () => {
    const smtp = await startSmtp({ submission: { AUTHFAILDELAY: "0" } });
    const port = await smtp.port("submission");
    const raw = new RawClient(port);
    raw.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nAUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=\r\nQUIT\r\n");
    await raw.untilClosed();
    expect(raw.finalLines().slice(2)).toEqual(["535 STARTTLS required (#5.7.1)", "503 auth not available (#5.3.3)", "221 mx.example.test"]);
    expect(raw.text).not.toContain("AUTH");

    const transport = nodemailer.createTransport({ host: "127.0.0.1", port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: "alice", pass: "wonderland" }, name: "nm.example" });
    const info = await transport.sendMail({ from: "alice@example.test", to: "friend@far.test", subject: "s", text: "submitted" });
    expect(info.response).toMatch(/^250 ok \d+ qp \d+$/);
    const [message] = smtp.queued();
    expect(message!.envelope).toMatch(/\0Tfriend@far\.test\0$/);
    expect(message!.mess).toMatch(/\nReceived: from unknown \(HELO nm\.example\) \(alice@127\.0\.0\.1\)\n  by 127\.0\.0\.1 with ESMTPSA; /);
  });

  it("swaks authenticates with PLAIN, LOGIN and CRAM-MD5 (cleartext allowed by AUTHCLEARTEXT) and may then relay", async () => {
    const smtp = await startSmtp({ smtpd: { SMTPAUTH: "+cram", AUTHCLEARTEXT: "1" } });
    const port = await smtp.port("smtpd");
    for (const mechanism of ["PLAIN", "LOGIN", "CRAM-MD5"]) {
      const output = execFileSync("swaks", ["--server", "127.0.0.1", "--port", String(port), "--auth", mechanism, "--auth-user", "alice", "--auth-password", "wonderland", "--from", "alice@example.test", "--to", "friend@far.test", "--helo", "sw.example"], { encoding: "utf8" });
      expect(output).toContain("<-  235 ok, go ahead (#2.0.0)");
      expect(output).toMatch(/<- {2}250 ok \d+ qp \d+/);
    }
    const queued = smtp.queued();
    expect(queued).toHaveLength(3);
    expect(queued[2]!.mess).toMatch(/\nReceived: from unknown \(HELO sw\.example\) \(alice@127\.0\.0\.1\)\n  by 127\.0\.0\.1 with ESMTPA; /);
  });

  it("AUTH failures: wrong password 535 after the delay, authzid ≠ authcid 535, cancel 501, bad base64 501, unknown mechanism 504", async () => {
    const smtp = await startSmtp({ smtpd: { SMTPAUTH: "", AUTHCLEARTEXT: "1", AUTHFAILDELAY: "1" } });
    const client = new RawClient(await smtp.port("smtpd"));
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const started = Date.now();
    client.send(`EHLO c\r\nAUTH PLAIN ${b64("\0alice\0wrong")}\r\nAUTH PLAIN ${b64("bob\0alice\0wonderland")}\r\nAUTH LOGIN\r\n*\r\nAUTH PLAIN !!!\r\nAUTH GSSAPI\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@far.test>\r\n`);
    client.send(`RSET\r\nAUTH PLAIN ${b64("alice\0alice\0wonderland")}\r\nAUTH PLAIN x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@far.test>\r\nQUIT\r\n`);
    await client.untilClosed();
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(client.text).toContain("250-AUTH LOGIN PLAIN\r\n");
    expect(client.finalLines().slice(2)).toEqual([
      "535 authentication failed (#5.7.1)",
      "535 authentication failed (#5.7.1)",
      "334 VXNlcm5hbWU6",
      "501 auth exchange canceled (#5.0.0)",
      "501 malformed auth input (#5.5.4)",
      "504 auth type unimplemented (#5.5.1)",
      "250 ok",
      "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
      "250 flushed",
      "235 ok, go ahead (#2.0.0)",
      "503 you're already authenticated (#5.5.0)",
      "250 ok",
      "250 ok",
      "221 mx.example.test",
    ]);
  });

  it("smtps: implicit TLS from the first byte; nodemailer sends with AUTH", async () => {
    const smtp = await startSmtp({ smtps: { SMTPAUTH: "" } });
    const port = await smtp.port("smtps");
    const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: true, tls: { rejectUnauthorized: false }, auth: { user: "alice", pass: "wonderland" }, name: "nm.example" });
    const info = await transport.sendMail({ from: "alice@example.test", to: "x@far.test", subject: "s", text: "over smtps" });
    expect(info.response).toMatch(/^250 ok \d+ qp \d+$/);
    expect(smtp.queued()[0]!.mess).toMatch(/ with ESMTPSA; /);
  });
});

describe("smtpd under inspection", () => {
  it("each connection is an actor `smtpd:<port>/conn/<n>` whose states and events reach the bus", async () => {
    const smtp = await startSmtp({ smtpd: {} }, { certificate: false });
    const port = await smtp.port("smtpd");
    const client = new RawClient(port);
    client.send("EHLO client.example\r\nQUIT\r\n");
    await client.untilClosed();
    const id = `smtpd:${port}/conn/1`;
    await waitFor(() => smtp.records.some((r) => r.kind === "actor-end" && r.id === id), 5000, "the session to end");
    const mine = smtp.records.filter((r) => "id" in r && r.id === id);
    expect(mine[0]).toMatchObject({ kind: "actor", service: "smtpd", machine: expect.any(String) });
    expect(mine.filter((r) => r.kind === "snapshot").length).toBeGreaterThan(2);
    expect(mine.at(-1)).toMatchObject({ kind: "actor-end", status: "done" });
  });
});
