// s/qmail's filters over real sockets, in the real smtpd worker: HELOCHECK with badhelo, every
// badmailfrom form, badrcptto, MFDNSCHECK against a DNS server on loopback, control/recipients
// (cdb and checker program), RECIPIENTS450, TARPITCOUNT/TARPITDELAY, localiphost, QREGEX with a
// catastrophic-backtracking pattern, and the junk-command limit.

import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildCdb } from "../../src/config/cdb-writer.js";
import { startLoopbackDns, type LoopbackDns } from "../net/loopback-dns.js";
import { RawClient, startSmtp } from "./smtpd-harness.js";

const RELAY_REFUSED = "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)";
const BAD_HELO = "550 sorry, invalid HELO/EHLO greeting (#5.7.1)";
const BAD_MAILFROM = "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)";
const BAD_RCPTTO = "553 sorry, your envelope recipient is in my badrcptto list (#5.7.1)";
const MUST_EXIST = "553 sorry, your envelope sender must exist (#5.7.1)";
const NO_MAILBOX = "550 sorry, no mailbox by that name (#5.7.1)";

/** Runs one session: the given lines, then QUIT; the replies after the greeting. */
async function session(port: number, lines: readonly string[]): Promise<string[]> {
  const client = new RawClient(port);
  client.send(`${lines.map((line) => `${line}\r\n`).join("")}QUIT\r\n`);
  await client.untilClosed(30_000);
  return client.finalLines().slice(1);
}

let dns: LoopbackDns | undefined;
afterEach(async () => {
  await dns?.close();
  dns = undefined;
});

describe("HELOCHECK and badhelo", () => {
  it("rejects at RCPT a listed, empty or missing greeting; exempts name!; relay clients pass", async () => {
    const smtp = await startSmtp(
      { smtpd: { HELOCHECK: "." }, relay: { HELOCHECK: ".", RELAYCLIENT: "" } },
      { files: { "control/badhelo": "mail.ok.bad.test!\n*.bad.test\nlocalhost\n" } },
    );
    const port = await smtp.port("smtpd");
    const transaction = ["MAIL FROM:<a@remote.test>", "RCPT TO:<bob@example.test>"];
    expect(await session(port, ["HELO x.bad.test", ...transaction])).toEqual(["250 mx.example.test", "250 ok", BAD_HELO, "221 mx.example.test"]);
    expect(await session(port, ["EHLO LOCALHOST", ...transaction]).then((r) => r.slice(1))).toEqual(["250 ok", BAD_HELO, "221 mx.example.test"]);
    expect(await session(port, ["HELO mail.ok.bad.test", ...transaction])).toEqual(["250 mx.example.test", "250 ok", "250 ok", "221 mx.example.test"]);
    expect(await session(port, ["HELO", ...transaction])).toEqual(["250 mx.example.test", "250 ok", BAD_HELO, "221 mx.example.test"]);
    expect(await session(port, transaction)).toEqual(["250 ok", BAD_HELO, "221 mx.example.test"]);
    expect(await session(await smtp.port("relay"), ["HELO x.bad.test", ...transaction])).toEqual(["250 mx.example.test", "250 ok", "250 ok", "221 mx.example.test"]);
    expect(smtp.log("smtpd")).toMatch(/smtpd: conn \d+ Reject::RCPT::Invalid_HELO P:ESMTP S:127\.0\.0\.1:- H:x\.bad\.test F:a@remote\.test T:bob@example\.test\n/);
  });

  it("HELOCHECK== : the greeting must be the client's host name (none known here: every HELO fails)", async () => {
    const smtp = await startSmtp({ smtpd: { HELOCHECK: "=" } });
    const replies = await session(await smtp.port("smtpd"), ["HELO 127.0.0.1", "MAIL FROM:<a@remote.test>", "RCPT TO:<bob@example.test>"]);
    expect(replies[2]).toBe(BAD_HELO);
  });

  it("HELOCHECK=A asks DNS: a name without an address is refused, one with an address passes", async () => {
    dns = await startLoopbackDns({ "ahost.test": [{ a: "192.0.2.1" }] });
    const smtp = await startSmtp({ smtpd: { HELOCHECK: "A", DNSSERVERS: dns.server, DNSTIMEOUT: "5" } });
    const port = await smtp.port("smtpd");
    const transaction = ["MAIL FROM:<a@remote.test>", "RCPT TO:<bob@example.test>"];
    expect((await session(port, ["HELO nohost.test", ...transaction]))[2]).toBe(BAD_HELO);
    expect((await session(port, ["HELO ahost.test", ...transaction]))[2]).toBe("250 ok");
    expect(dns.queries()).toBeGreaterThan(0);
  });
});

describe("badmailfrom and badrcptto", () => {
  it("applies every s/qmail form at RCPT, in file order", async () => {
    const badmailfrom = ["?boss@worse.test", "@worse.test", "@ours.test+", "@bank.test-", "*@*.spam.test", "!*@*.*", "exact@remote.test"].join("\n");
    const smtp = await startSmtp({ smtpd: {}, relay: { RELAYCLIENT: "" } }, { files: { "control/badmailfrom": `${badmailfrom}\n` } });
    const port = await smtp.port("smtpd");
    const verdict = async (sender: string, servicePort = port) => (await session(servicePort, ["HELO c.test", `MAIL FROM:<${sender}>`, "RCPT TO:<bob@example.test>"])).slice(1, 3);
    expect(await verdict("boss@worse.test")).toEqual(["250 ok", "250 ok"]);
    expect(await verdict("anyone@WORSE.test")).toEqual(["250 ok", BAD_MAILFROM]);
    expect(await verdict("me@ours.test")).toEqual(["250 ok", BAD_MAILFROM]);
    expect(await verdict("me@ours.test", await smtp.port("relay"))).toEqual(["250 ok", "250 ok"]);
    // REVERSE=0 in the harness: the client has no host name, so @bank.test- applies.
    expect(await verdict("x@bank.test")).toEqual(["250 ok", BAD_MAILFROM]);
    expect(await verdict("x@y.spam.test")).toEqual(["250 ok", BAD_MAILFROM]);
    expect(await verdict("x@nodot")).toEqual(["250 ok", BAD_MAILFROM]);
    expect(await verdict("Exact@remote.test")).toEqual(["250 ok", BAD_MAILFROM]);
    expect(await verdict("fine@remote.test")).toEqual(["250 ok", "250 ok"]);
    // The null sender (bounces) is never listed.
    expect(await verdict("")).toEqual(["250 ok", "250 ok"]);
    expect(smtp.queued()).toEqual([]);
  });

  it("svc -h picks up a changed badmailfrom for new sessions", async () => {
    const smtp = await startSmtp({ smtpd: {} });
    const port = await smtp.port("smtpd");
    const transaction = ["HELO c", "MAIL FROM:<late@remote.test>", "RCPT TO:<bob@example.test>"];
    expect((await session(port, transaction))[2]).toBe("250 ok");
    writeFileSync(join(smtp.root, "control", "badmailfrom"), "@remote.test\n");
    smtp.svc("h", ["smtpd"]);
    // The reload is asynchronous: new sessions see the new list once it has been read.
    let reply = "";
    for (let tries = 0; tries < 50 && reply !== BAD_MAILFROM; tries++) {
      reply = (await session(port, transaction))[2]!;
      if (reply !== BAD_MAILFROM) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(reply).toBe(BAD_MAILFROM);
  });

  it("badrcptto refuses exact, @domain and wildmat recipients, for relay clients too", async () => {
    const smtp = await startSmtp({ smtpd: {}, relay: { RELAYCLIENT: "" } }, { files: { "control/badrcptto": "root@example.test\n@trap.sub.example.test\n*-owner@*\n" } });
    for (const port of [await smtp.port("smtpd"), await smtp.port("relay")]) {
      const replies = await session(port, ["HELO c", "MAIL FROM:<a@remote.test>", "RCPT TO:<ROOT@example.test>", "RCPT TO:<x@trap.sub.example.test>", "RCPT TO:<l-owner@example.test>", "RCPT TO:<bob@example.test>"]);
      expect(replies.slice(2)).toEqual([BAD_RCPTTO, BAD_RCPTTO, BAD_RCPTTO, "250 ok", "221 mx.example.test"]);
    }
  });

  it("QREGEX: a catastrophic-backtracking pattern answers at once, and regular expressions reject as listed", async () => {
    const smtp = await startSmtp({ smtpd: { QREGEX: "1" } }, { files: { "control/badmailfrom": "^(a+)+$\n^[0-9]+@\n" } });
    const port = await smtp.port("smtpd");
    // V8's backtracking engine would take about 2^60 steps for this sender and stall the worker.
    const evil = `${"a".repeat(60)}!@remote.test`;
    const other = new RawClient(port);
    const replies = await session(port, ["HELO c", `MAIL FROM:<${evil}>`, "RCPT TO:<bob@example.test>", "MAIL FROM:<12345@remote.test>", "RCPT TO:<bob@example.test>"]);
    expect(replies.slice(1)).toEqual(["250 ok", "250 ok", "250 ok", BAD_MAILFROM, "221 mx.example.test"]);
    // The worker kept serving everyone meanwhile.
    expect(await other.replies(1)).toEqual(["220 mx.example.test ESMTP"]);
    other.socket.destroy();
  });
});

describe("MFDNSCHECK", () => {
  it("MX or A must exist: NXDOMAIN → 553 at RCPT, SERVFAIL → 451 at MAIL, ?-listed and relay clients skip it", async () => {
    dns = await startLoopbackDns({ "mx.test": [{ mx: "mail.mx.test", preference: 10 }], "aonly.test": [{ a: "192.0.2.2" }], "flaky.test": "servfail" });
    const env = { MFDNSCHECK: "", DNSSERVERS: dns.server, DNSTIMEOUT: "5" };
    const smtp = await startSmtp({ smtpd: env, relay: { ...env, RELAYCLIENT: "" } }, { files: { "control/badmailfrom": "?vip@gone.test\n" } });
    const port = await smtp.port("smtpd");
    const verdict = async (sender: string, servicePort = port) => (await session(servicePort, ["HELO c", `MAIL FROM:<${sender}>`, "RCPT TO:<bob@example.test>"])).slice(1, 3);
    expect(await verdict("a@mx.test")).toEqual(["250 ok", "250 ok"]);
    expect(await verdict("a@aonly.test")).toEqual(["250 ok", "250 ok"]);
    expect(await verdict("a@gone.test")).toEqual(["250 ok", MUST_EXIST]);
    expect(await verdict("a@flaky.test")).toEqual(["451 DNS temporary failure (#4.3.0)", "503 MAIL first (#5.5.1)"]);
    expect(await verdict("vip@gone.test")).toEqual(["250 ok", "250 ok"]);
    expect(await verdict("a@gone.test", await smtp.port("relay"))).toEqual(["250 ok", "250 ok"]);
    expect(await verdict("")).toEqual(["250 ok", "250 ok"]);
  });
});

describe("control/recipients, RECIPIENTS450 and the tarpit", () => {
  const cdb = buildCdb([["bob@example.test", ""], ["list-@example.test", ""]]);
  const files = { "control/recipients": "example.test:users/recipients.cdb\n", "users/recipients.cdb": cdb };

  it("verifies recipients of non-relay clients against the cdb, VERP prefixes included", async () => {
    const smtp = await startSmtp({ smtpd: {}, relay: { RELAYCLIENT: "" }, soft: { RECIPIENTS450: "" } }, { files });
    const rcpts = ["RCPT TO:<bob@example.test>", "RCPT TO:<BOB@deep.sub.example.test>", "RCPT TO:<list-x-y@example.test>", "RCPT TO:<alice@example.test>"];
    const replies = await session(await smtp.port("smtpd"), ["HELO c", "MAIL FROM:<a@remote.test>", ...rcpts]);
    expect(replies.slice(2, 6)).toEqual(["250 ok", NO_MAILBOX, "250 ok", NO_MAILBOX]);
    const relayed = await session(await smtp.port("relay"), ["HELO c", "MAIL FROM:<a@remote.test>", ...rcpts]);
    expect(relayed.slice(2, 6)).toEqual(["250 ok", "250 ok", "250 ok", "250 ok"]);
    const soft = await session(await smtp.port("soft"), ["HELO c", "MAIL FROM:<a@remote.test>", "RCPT TO:<alice@example.test>"]);
    expect(soft[2]).toBe("450 sorry, mailbox currently unavailable (#4.2.1)");
    expect(smtp.log("smtpd")).toMatch(/Reject::RCPT::Failed_Rcptto .* T:alice@example\.test\n/);
  });

  it("a checker program on fd 3 decides its domain; a checker that cannot run closes with 421", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsqmail-checker-"));
    const checker = join(dir, "checker.sh");
    writeFileSync(checker, '#!/bin/sh\naddr=$(head -c 512 <&3 | tr -d "\\000")\n[ "$addr" = "known@example.test" ] && exit 0\nexit 1\n');
    chmodSync(checker, 0o755);
    const smtp = await startSmtp({ smtpd: {} }, { files: { "control/recipients": `@example.test|${checker}\ndeep.sub.example.test|/nonexistent/checker\n` } });
    const port = await smtp.port("smtpd");
    const replies = await session(port, ["HELO c", "MAIL FROM:<a@remote.test>", "RCPT TO:<known@example.test>", "RCPT TO:<other@example.test>", "RCPT TO:<x@deep.sub.example.test>", "NOOP"]);
    expect(replies.slice(2)).toEqual(["250 ok", NO_MAILBOX, "421 unable to check recipients (#4.3.0)"]);
  });

  it("TARPITCOUNT/TARPITDELAY: later RCPTs wait; after n unknown recipients every RCPT gets 452", async () => {
    const smtp = await startSmtp({ smtpd: { TARPITCOUNT: "2", TARPITDELAY: "1" } }, { files });
    const client = new RawClient(await smtp.port("smtpd"));
    client.send("HELO c\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\n");
    await client.replies(4);
    const started = Date.now();
    client.send("RCPT TO:<x@example.test>\r\nRCPT TO:<y@example.test>\r\nRCPT TO:<bob@example.test>\r\nQUIT\r\n");
    await client.untilClosed(30_000);
    // The 2nd and 3rd RCPTs each waited a second; the 4th was refused without reaching the checks.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(client.finalLines().slice(4)).toEqual([NO_MAILBOX, NO_MAILBOX, "452 sorry, too many recipients (#4.5.3)", "221 mx.example.test"]);
  });

  it("TARPITDELAY=999: once in the tarpit, DATA is refused and the connection closed", async () => {
    const smtp = await startSmtp({ smtpd: { TARPITCOUNT: "1", TARPITDELAY: "999" } }, { files });
    const replies = await session(await smtp.port("smtpd"), ["HELO c", "MAIL FROM:<a@remote.test>", "RCPT TO:<bob@example.test>", "RCPT TO:<x@example.test>", "DATA", "NOOP"]);
    expect(replies.slice(2)).toEqual(["250 ok", NO_MAILBOX, "503 DATA command not accepted at this time (#5.5.1)"]);
    expect(smtp.queued()).toEqual([]);
  });
});

describe("localiphost and junk", () => {
  it("box@[our IP] becomes box@<localiphost>, and passes rcpthosts", async () => {
    const smtp = await startSmtp({ smtpd: {} }, { files: { "control/localiphost": "example.test\n" } });
    const replies = await session(await smtp.port("smtpd"), ["HELO c", "MAIL FROM:<a@remote.test>", "RCPT TO:<bob@[127.0.0.1]>", "RCPT TO:<bob@[192.0.2.99]>", "DATA", "hi", "."]);
    expect(replies.slice(2, 5)).toEqual(["250 ok", RELAY_REFUSED, "354 go ahead"]);
    expect(smtp.queued()[0]!.envelope).toMatch(/\0Tbob@example\.test\0$/);
  });

  it("MAXERRORS unknown or malformed commands: 421 and the connection is closed", async () => {
    const smtp = await startSmtp({ smtpd: { MAXERRORS: "3" } });
    const client = new RawClient(await smtp.port("smtpd"));
    client.send("FOO\r\nMAIL FROM:nobracket\r\nNOOP\r\nBAR\r\nNOOP\r\n");
    await client.untilClosed();
    expect(client.finalLines().slice(1)).toEqual([
      "500 unimplemented (#5.5.1)",
      "555 syntax error (#5.5.4)",
      "250 ok",
      "500 unimplemented (#5.5.1)",
      "421 too many unrecognized commands, closing connection (#4.7.0)",
    ]);
  });
});
