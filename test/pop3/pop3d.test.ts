// pop3d and pop3s in real worker threads on loopback, spoken to byte by byte: qmail-popup's and
// qmail-pop3d's replies, Maildir semantics (order, sizes, UIDs, byte-stuffing, deletion only at
// QUIT, new/ → cur/), the maildrop lock, SASL, APOP, and the STLS injection of security.md §1.2.

import { createHash, createHmac } from "node:crypto";
import { readFileSync, utimesSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { describe, expect, it } from "vitest";
import { waitFor } from "../runtime/test-root.js";
import { RawPop3, startPop3 } from "./pop3-harness.js";

const MULTI = /\r\n\.\r\n$/;
const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

async function login(client: RawPop3, user = "alice", password = "wonderland"): Promise<void> {
  await client.until(/^\+OK .*\r\n/);
  expect(await client.command(`USER ${user}`)).toBe("+OK \r\n");
  expect(await client.command(`PASS ${password}`)).toBe("+OK \r\n");
}

describe("pop3d: qmail-pop3d's maildrop", () => {
  it("lists, retrieves with byte-stuffing, deletes only at QUIT and moves new/ to cur/", async () => {
    const pop = await startPop3({ pop3d: {} });
    const messages = ["Subject: one\n\nfirst body\n", "Subject: two\n\n.\n.leading dot\n..two dots\nlast line without LF", "Subject: three\nX: y\n\nl1\nl2\nl3\n"];
    const [first, second, third] = await pop.deliver(...messages);
    const client = new RawPop3(await pop.port("pop3d"));
    expect(await client.until(/\r\n/)).toBe("+OK mx.example.test POP3 ready\r\n");
    expect(await client.command("STAT")).toBe("-ERR authorization first\r\n");
    expect(await client.command("PASS x")).toBe("-ERR USER first\r\n");
    expect(await client.command("USER")).toBe("-ERR syntax error\r\n");
    expect(await client.command("NOOP")).toBe("+OK \r\n");
    expect(await client.command("USER alice")).toBe("+OK \r\n");
    expect(await client.command("PASS wonderland")).toBe("+OK \r\n");

    // qmail-pop3d's sizes are the files' sizes, LF line ends and all.
    const sizes = messages.map((message) => message.length);
    expect(await client.command("STAT")).toBe(`+OK 3 ${sizes[0]! + sizes[1]! + sizes[2]!}\r\n`);
    expect(await client.command("LIST", MULTI)).toBe(`+OK \r\n1 ${sizes[0]}\r\n2 ${sizes[1]}\r\n3 ${sizes[2]}\r\n.\r\n`);
    expect(await client.command("UIDL", MULTI)).toBe(`+OK \r\n1 ${first}\r\n2 ${second}\r\n3 ${third}\r\n.\r\n`);
    expect(await client.command("LIST 2")).toBe(`+OK 2 ${sizes[1]}\r\n`);
    // The RETR byte-stuffing case: a body line `.` would end the response early if not doubled.
    expect(await client.command("RETR 2", MULTI)).toBe("+OK \r\nSubject: two\r\n\r\n..\r\n..leading dot\r\n...two dots\r\nlast line without LF\r\n\r\n.\r\n");
    expect(await client.command("TOP 3 1", MULTI)).toBe("+OK \r\nSubject: three\r\nX: y\r\n\r\nl1\r\n\r\n.\r\n");
    expect(await client.command("TOP 3 0", MULTI)).toBe("+OK \r\nSubject: three\r\nX: y\r\n\r\n\r\n.\r\n");
    expect(await client.command("RETR 0")).toBe("-ERR messages are counted from 1\r\n");
    expect(await client.command("RETR 4")).toBe("-ERR not that many messages\r\n");
    expect(await client.command("RETR x")).toBe("-ERR syntax error\r\n");
    expect(await client.command("DELE 99999999999999999999999")).toBe("-ERR not that many messages\r\n");
    expect(await client.command("DELE 2")).toBe("+OK \r\n");
    expect(await client.command("DELE 2")).toBe("-ERR already deleted\r\n");
    expect(await client.command("RETR 2")).toBe("-ERR already deleted\r\n");
    expect(await client.command("LAST")).toBe("+OK 2\r\n");
    expect(await client.command("STAT")).toBe(`+OK 3 ${sizes[0]! + sizes[2]!}\r\n`);
    expect(await client.command("LIST", MULTI)).toBe(`+OK \r\n1 ${sizes[0]}\r\n3 ${sizes[2]}\r\n.\r\n`);
    expect(await client.command("RSET")).toBe("+OK \r\n");
    expect(await client.command("LAST")).toBe("+OK 0\r\n");
    expect(await client.command("DELE 1")).toBe("+OK \r\n");
    expect(await client.command("USER bob")).toBe("-ERR unimplemented\r\n");
    expect(await client.command("STLS")).toBe("-ERR unimplemented\r\n");
    expect(pop.files().every((file) => file.startsWith("new/"))).toBe(true);
    expect(await client.command("QUIT")).toBe("+OK \r\n");
    await client.untilClosed();
    expect(pop.files()).toEqual([`cur/${second}:2,`, `cur/${third}:2,`].sort());

    // The UIDs stay what they were after the move to cur/.
    const again = new RawPop3(await pop.port("pop3d"));
    await login(again);
    expect(await again.command("UIDL", MULTI)).toBe(`+OK \r\n1 ${second}\r\n2 ${third}\r\n.\r\n`);
    again.send("QUIT\r\n");
    await again.untilClosed();
  });

  it("a dropped connection deletes nothing, and one session at a time holds a maildrop", async () => {
    const pop = await startPop3({ pop3d: {} });
    await pop.deliver("Subject: a\n\nx\n", "Subject: b\n\ny\n");
    const before = pop.files();
    const port = await pop.port("pop3d");
    const first = new RawPop3(port);
    await login(first);
    expect(await first.command("DELE 1")).toBe("+OK \r\n");

    const second = new RawPop3(port);
    await second.until(/^\+OK .*\r\n/);
    await second.command("USER alice");
    expect(await second.command("PASS wonderland")).toBe("-ERR [IN-USE] maildrop already in use\r\n");
    await second.untilClosed();

    first.socket.destroy();
    await waitFor(() => !pop.files().some((file) => file.endsWith("pop3.lock")), 10_000, "the lock to go");
    const third = new RawPop3(port);
    await login(third);
    expect(await third.command("STAT")).toBe("+OK 2 28\r\n");
    third.send("QUIT\r\n");
    await third.untilClosed();
    expect(pop.files()).toEqual(before.map((file) => `cur/${file.slice(4)}:2,`));
  });

  it("a refused client that keeps its side of the connection open is cut off, and its slot is free again", async () => {
    const pop = await startPop3({ pop3d: { CONCURRENCY: "2" } });
    await pop.deliver("Subject: a\n\nx\n");
    const port = await pop.port("pop3d");
    const holder = new RawPop3(port);
    await login(holder);
    // The client reads the refusal but never closes its side (allowHalfOpen), as a stuck client might.
    const stubborn = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    let text = "";
    stubborn.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    stubborn.on("error", () => {});
    await waitFor(() => text.startsWith("+OK"), 15_000, "the greeting");
    stubborn.write("USER alice\r\nPASS wonderland\r\n");
    await waitFor(() => text.includes("-ERR [IN-USE]"), 15_000, "the refusal");
    // Both slots are taken (holder, stubborn) until the server cuts the stubborn connection, which
    // the listener's log records as the connection's end; then a new client is served, not refused.
    const ends = (): number => (pop.log("pop3d").match(/tcpserver: end /g) ?? []).length;
    await waitFor(() => ends() >= 1, 20_000, "the stubborn connection's end in the log");
    const next = new RawPop3(port);
    expect(await next.until(/\r\n/)).toMatch(/^\+OK /);
    stubborn.destroy();
    holder.send("QUIT\r\n");
    await holder.untilClosed();
  }, 60_000);

  it("a killed pop3d leaves a lock its next worker takes over at once; pop3s's lock it leaves alone", async () => {
    const pop = await startPop3({ pop3d: {} });
    await pop.deliver("Subject: a\n\nx\n");
    const holder = new RawPop3(await pop.port("pop3d"));
    await login(holder);
    const lock = join(pop.maildir, "pop3.lock");
    expect(readFileSync(lock, "latin1")).toMatch(new RegExp(`^${process.pid} pop3d \\d+\n$`));

    pop.svc("k", ["pop3d"]);
    await holder.untilClosed();
    const listening = (): string[] => [...pop.log("pop3d").matchAll(/listening on port (\d+)/g)].map((match) => match[1]!);
    await waitFor(() => listening().length === 2, 20_000, "pop3d listening again");
    const port = Number(listening()[1]);
    expect(readFileSync(lock, "latin1")).toMatch(/ pop3d /); // still there: nobody released it
    const next = new RawPop3(port);
    await login(next);
    expect(await next.command("STAT")).toBe("+OK 1 14\r\n");
    next.send("QUIT\r\n");
    await next.untilClosed();

    // A lock of another service of this process may have a live session behind it: it holds.
    writeFileSync(lock, `${process.pid} pop3s 1\n`);
    const refused = new RawPop3(port);
    await refused.until(/^\+OK .*\r\n/);
    await refused.command("USER alice");
    expect(await refused.command("PASS wonderland")).toBe("-ERR [IN-USE] maildrop already in use\r\n");
    await refused.untilClosed();
  }, 60_000);

  it("a lock file without a pid holds the maildrop only while its writer may still be writing it", async () => {
    const pop = await startPop3({ pop3d: {} });
    await pop.deliver("Subject: a\n\nx\n");
    const port = await pop.port("pop3d");
    const lock = join(pop.maildir, "pop3.lock");
    writeFileSync(lock, "");
    const early = new RawPop3(port);
    await early.until(/^\+OK .*\r\n/);
    await early.command("USER alice");
    expect(await early.command("PASS wonderland")).toBe("-ERR [IN-USE] maildrop already in use\r\n");
    await early.untilClosed();
    // An empty lock a minute old is what a failed write left behind: taken over.
    const past = Date.now() / 1000 - 60;
    utimesSync(lock, past, past);
    const late = new RawPop3(port);
    await login(late);
    expect(await late.command("STAT")).toBe("+OK 1 14\r\n");
    late.send("QUIT\r\n");
    await late.untilClosed();
  });

  it("a wrong password gets qmail-popup's failure after the delay, and the connection closes", async () => {
    const pop = await startPop3({ pop3d: {} });
    const client = new RawPop3(await pop.port("pop3d"));
    await client.until(/\r\n/);
    await client.command("USER alice");
    expect(await client.command("PASS wrong")).toBe("-ERR authorization failed\r\n");
    await client.untilClosed();
  });
});

describe("pop3d: CAPA, SASL and APOP", () => {
  it("CAPA follows the state; AUTH PLAIN and CRAM-MD5 log in; a foreign authzid fails", async () => {
    const pop = await startPop3({ pop3d: { POP3AUTH: "cram" } });
    const port = await pop.port("pop3d");
    const client = new RawPop3(port);
    await client.until(/\r\n/);
    expect(await client.command("CAPA", MULTI)).toBe("+OK capability list follows\r\nTOP\r\nUIDL\r\nPIPELINING\r\nRESP-CODES\r\nUSER\r\nSASL PLAIN CRAM-MD5\r\nSTLS\r\nIMPLEMENTATION tsqmail\r\n.\r\n");
    expect(await client.command("AUTH")).toBe("-ERR syntax error\r\n");
    expect(await client.command("AUTH LOGIN")).toBe("-ERR unrecognized authentication type\r\n");
    expect(await client.command("AUTH PLAIN")).toBe("+ \r\n");
    expect(await client.command("not base64!")).toBe("-ERR malformed authentication response\r\n");
    expect(await client.command("AUTH PLAIN")).toBe("+ \r\n");
    expect(await client.command("*")).toBe("-ERR authentication canceled\r\n");
    const challengeLine = await client.command("AUTH CRAM-MD5");
    const challenge = Buffer.from(challengeLine.slice(2).trim(), "base64").toString();
    expect(challenge).toMatch(/^<[0-9a-f-]+\.1@mx\.example\.test>$/);
    const digest = createHmac("md5", "wonderland").update(challenge).digest("hex");
    expect(await client.command(base64(`alice ${digest}`))).toBe("+OK \r\n");
    expect(await client.command("CAPA", MULTI)).toBe("+OK capability list follows\r\nTOP\r\nUIDL\r\nPIPELINING\r\nRESP-CODES\r\nIMPLEMENTATION tsqmail\r\n.\r\n");
    await client.command("QUIT");

    const plain = new RawPop3(port);
    await plain.until(/\r\n/);
    expect(await plain.command(`AUTH PLAIN ${base64("\0alice\0wonderland")}`)).toBe("+OK \r\n");
    await plain.command("QUIT");

    const foreign = new RawPop3(port);
    await foreign.until(/\r\n/);
    expect(await foreign.command(`AUTH PLAIN ${base64("bob\0alice\0wonderland")}`)).toBe("-ERR authorization failed\r\n");
    await foreign.untilClosed();
  });

  it("credentials sent by PASS, APOP and AUTH PLAIN never reach the inspection stream", async () => {
    const pop = await startPop3({ pop3d: { POP3AUTH: "apop" } }, { inspect: true });
    const port = await pop.port("pop3d");
    const userPass = new RawPop3(port);
    const banner = await userPass.until(/\r\n/);
    await login(userPass);
    await userPass.command("QUIT");
    const apop = new RawPop3(port);
    const timestamp = /<[^>]+>/.exec(await apop.until(/\r\n/))![0];
    const digest = createHash("md5").update(`${timestamp}wonderland`).digest("hex");
    expect(await apop.command(`APOP alice ${digest}`)).toMatch(/^\+OK/);
    await apop.command("QUIT");
    const initial = new RawPop3(port);
    await initial.until(/\r\n/);
    expect(await initial.command(`AUTH PLAIN ${base64("\0alice\0wonderland")}`)).toBe("+OK \r\n");
    await initial.command("QUIT");
    const exchange = new RawPop3(port);
    await exchange.until(/\r\n/);
    expect(await exchange.command("AUTH PLAIN")).toBe("+ \r\n");
    expect(await exchange.command(base64("\0alice\0wonderland"))).toBe("+OK \r\n");
    await exchange.command("QUIT");
    await waitFor(() => (pop.inspected().match(/"kind":"actor-end"/g) ?? []).length >= 4, 10_000, "the four sessions' ends");
    expect(banner).toMatch(/^\+OK/);
    const stream = pop.inspected();
    expect(stream).toContain('"[redacted]"');
    for (const secret of ["wonderland", digest, base64("\0alice\0wonderland")]) expect(stream).not.toContain(secret);
  });

  it("APOP is refused unless POP3AUTH names it; then the banner's timestamp salts the digest", async () => {
    const off = await startPop3({ pop3d: {} });
    const refused = new RawPop3(await off.port("pop3d"));
    await refused.until(/\r\n/);
    expect(await refused.command(`APOP alice ${"0".repeat(32)}`)).toBe("-ERR APOP not available\r\n");

    const on = await startPop3({ pop3d: { POP3AUTH: "apop" } });
    const port = await on.port("pop3d");
    const banners = await Promise.all([0, 1].map(async () => {
      const client = new RawPop3(port);
      return { client, banner: await client.until(/\r\n/) };
    }));
    const [stamp1, stamp2] = banners.map(({ banner }) => /^\+OK (<\d+\.\d+\.\d+@mx\.example\.test>)\r\n$/.exec(banner)![1]!);
    expect(stamp1).not.toBe(stamp2);
    const { client } = banners[0]!;
    const digest = createHash("md5").update(`${stamp1}wonderland`).digest("hex");
    expect(await client.command(`APOP alice ${digest}`)).toBe("+OK \r\n");
    const { client: wrong } = banners[1]!;
    expect(await wrong.command(`APOP alice ${digest}`)).toBe("-ERR authorization failed\r\n");
  });
});

/** Upgrades a raw client's socket to TLS, as a client does after `+OK` to STLS. */
function upgrade(client: RawPop3): Promise<{ tls: TLSSocket; text: () => string }> {
  let text = "";
  const tls = tlsConnect({ socket: client.socket, rejectUnauthorized: false, servername: "mx.example.test" });
  tls.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
  return new Promise((resolve, reject) => {
    tls.once("secureConnect", () => resolve({ tls, text: () => text }));
    tls.once("error", reject);
  });
}

describe("pop3d: STLS", () => {
  it("discards commands pipelined after STLS in plaintext (security.md §1.2): the injected USER does not count", async () => {
    const pop = await startPop3({ pop3d: {} });
    const client = new RawPop3(await pop.port("pop3d"));
    await client.until(/\r\n/);
    client.send("STLS\r\nUSER alice\r\nCAPA\r\n");
    await client.until(/\+OK begin TLS negotiation\r\n/);
    const { tls, text } = await upgrade(client);
    tls.write("PASS wonderland\r\n");
    await waitFor(() => text().includes("\r\n"), 10_000, "a reply inside TLS");
    expect(text()).toBe("-ERR USER first\r\n");
    expect(client.text).toBe(`${client.text.split("\r\n")[0]}\r\n+OK begin TLS negotiation\r\n`);
    tls.write("CAPA\r\n");
    await waitFor(() => text().endsWith(".\r\n"), 10_000, "CAPA");
    expect(text()).not.toContain("STLS");
    tls.write("STLS\r\n");
    await waitFor(() => text().endsWith("-ERR TLS already active\r\n"), 10_000, "a second STLS refused");
    tls.destroy();
  });

  it("UCSPITLS=! refuses every login before STLS", async () => {
    const pop = await startPop3({ pop3d: { UCSPITLS: "!" } });
    const client = new RawPop3(await pop.port("pop3d"));
    await client.until(/\r\n/);
    expect(await client.command("USER alice")).toBe("-ERR STLS first\r\n");
    expect(await client.command(`AUTH PLAIN ${base64("\0alice\0wonderland")}`)).toBe("-ERR STLS first\r\n");
    expect(await client.command("CAPA", MULTI)).not.toContain("USER");
  });
});
