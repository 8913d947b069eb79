// The remote-delivery statechart with fake side effects: which replies end the attempt with
// which letter and text, when the next host is tried, EHLO→HELO fallback, STARTTLS followed by a
// fresh EHLO, TLS required by tlsdestinations, AUTH only inside TLS (or to loopback), per-
// recipient results of a batch, PIPELINING (DATA in the group, and a 354 that must not be
// answered), MAIL parameters, a kept connection (RSET first — in the pipelined group when
// offered — a fresh connection when the kept one is dead), and QMTP's package with
// per-recipient replies.

import { createActor } from "xstate";
import { describe, expect, it } from "vitest";
import {
  answering,
  remoteDeliveryMachine,
  type Destination,
  type RemoteDeliveryInput,
  type RemoteDeliveryOutput,
  type Reply,
  type SessionFacts,
} from "../../machines/remote-delivery.js";

interface Script {
  readonly hosts?: readonly Destination[];
  /** ip → refuses the connection. */
  readonly refused?: readonly string[];
  /** Reply per command verb (GREETING for the greeting, DOT after the body), per ip or for any. */
  readonly replies: (ip: string, verb: string, line: string) => string;
  /** The first connect hands out a kept connection with these facts; `deadKept` makes its RSET fail. */
  readonly kept?: SessionFacts;
  readonly deadKept?: boolean;
  readonly input?: Partial<RemoteDeliveryInput>;
  /** QMTP's reply netstrings; undefined: the connection dies after the package. */
  readonly qmtpReplies?: readonly string[];
}

const host = (ip: string): Destination => ({ ip, port: 25, implicitTls: false });

async function run(script: Script): Promise<{ results: readonly RemoteDeliveryOutput[]; again: readonly number[]; output: RemoteDeliveryOutput; log: string[] }> {
  const log: string[] = [];
  let ip = "";
  let kept = script.kept;
  const reply = (text: string): Reply => ({ code: Number(text.slice(0, 3)), text });
  const answer = (line: string | undefined): Reply => {
    const verb = line === undefined ? (log.at(-1) === "body" ? "DOT" : "GREETING") : line.split(" ")[0]!;
    log.push(line ?? verb);
    if (verb === "RSET" && script.deadKept && log.filter((entry) => entry === "RSET").length === 1) throw new Error("connection closed");
    return reply(script.replies(ip, verb, line ?? ""));
  };
  const machine = remoteDeliveryMachine.provide({
    actions: {
      findHosts: answering(async () => ({ type: "HOSTS_FOUND", output: { ok: true, hosts: script.hosts ?? [host("192.0.2.1")] } })),
      connect: answering(async (request: { destination: Destination; fresh: boolean }) => {
        ip = request.destination.ip;
        if (kept !== undefined && !request.fresh) {
          const facts = kept;
          kept = undefined;
          log.push(`reuse ${ip}`);
          return { type: "CONNECTED", output: { kind: "reused", facts } };
        }
        log.push(`connect ${ip}`);
        return { type: "CONNECTED", output: (script.refused ?? []).includes(ip) ? { kind: "failed" } : { kind: "fresh" } };
      }),
      exchange: answering(async (request: { line: string | undefined }) => ({ type: "REPLY", output: answer(request.line) })),
      exchangeAll: answering(async (request: { lines: readonly string[] }) => {
        log.push(`pipelined ${request.lines.length}`);
        return { type: "REPLIES", output: request.lines.map(answer) };
      }),
      sendBody: answering(async () => (log.push("body"), { type: "BODY_SENT" })),
      startTls: answering(async () => (log.push("tls"), { type: "TLS_STARTED" })),
      authenticate: answering(async (request: { mechanisms: readonly string[] }) => ({ type: "REPLY", output: answer(`AUTH ${request.mechanisms[0]}`) })),
      qmtpSend: answering(async () => (log.push("package"), { type: "QMTP_SENT" })),
      qmtpReplies: answering(async (request: { count: number }) => {
        log.push(`replies ${request.count}`);
        if (script.qmtpReplies === undefined) throw new Error("connection closed");
        return { type: "QMTP_REPLIES", output: [...script.qmtpReplies] };
      }),
      quit: () => void log.push("QUIT"),
      hangUp: () => void log.push("hang up"),
      keep: () => void log.push("keep"),
    },
  });
  const input: RemoteDeliveryInput = { protocol: "smtp", sender: "s@a.test", recipients: ["r@b.test"], helohost: "me.test", tls: "opportunistic", auth: false, size: 100, eightBit: false, ...script.input };
  const actor = createActor(machine, { input });
  const done = new Promise<void>((resolve) => actor.subscribe({ complete: () => resolve() }));
  actor.start();
  await done;
  const { results, again } = actor.getSnapshot().output!;
  return { results, again, output: results[0]!, log };
}

const happy = (verb: string): string =>
  ({ GREETING: "220 hi", EHLO: "250-x\n250 8BITMIME", HELO: "250 x", MAIL: "250 ok", RCPT: "250 ok", DATA: "354 go", DOT: "250 queued", STARTTLS: "220 go", RSET: "250 reset", AUTH: "235 welcome" })[verb]!;
const ehlo = (...keywords: string[]) => (verb: string): string => (verb === "EHLO" ? ["250-x", ...keywords.slice(0, -1).map((k) => `250-${k}`), `250 ${keywords.at(-1)}`].join("\n") : happy(verb));

describe("remote-delivery machine", () => {
  it("the whole dialogue: K with the reply after the dot; the connection is kept, not QUIT", async () => {
    const { output, log } = await run({ replies: (_, verb) => happy(verb) });
    expect(output).toEqual({ status: "K", report: "192.0.2.1 accepted message.\nRemote host said: 250 queued\n" });
    expect(log).toEqual(["connect 192.0.2.1", "GREETING", "EHLO me.test", "MAIL FROM:<s@a.test>", "RCPT TO:<r@b.test>", "DATA", "body", "DOT", "keep"]);
  });

  it("EHLO refused: HELO; HELO refused: Z, my name was rejected", async () => {
    const { output, log } = await run({ replies: (_, verb) => (verb === "EHLO" ? "502 no" : verb === "HELO" ? "501 bad name" : happy(verb)) });
    expect(log.slice(2, 4)).toEqual(["EHLO me.test", "HELO me.test"]);
    expect(output).toEqual({ status: "Z", report: "Connected to 192.0.2.1 but my name was rejected.\nRemote host said: 501 bad name\n" });
  });

  it("greeting 5xx: D; 421: Z without trying the next host; other 4xx: the next host", async () => {
    const hosts = [host("192.0.2.1"), host("192.0.2.2")];
    const hard = await run({ hosts, replies: (ip, verb) => (verb === "GREETING" && ip === "192.0.2.1" ? "554 go away" : happy(verb)) });
    expect(hard.output).toEqual({ status: "D", report: "Connected to 192.0.2.1 but greeting failed.\nRemote host said: 554 go away\n" });
    const greylisted = await run({ hosts, replies: (ip, verb) => (verb === "GREETING" && ip === "192.0.2.1" ? "421 later" : happy(verb)) });
    expect(greylisted.output.status).toBe("Z");
    expect(greylisted.log).not.toContain("connect 192.0.2.2");
    const busy = await run({ hosts, replies: (ip, verb) => (verb === "GREETING" && ip === "192.0.2.1" ? "451 busy" : happy(verb)) });
    expect(busy.log).toContain("hang up");
    expect(busy.output).toEqual({ status: "K", report: "192.0.2.2 accepted message.\nRemote host said: 250 queued\n" });
  });

  it("a line break in the envelope: D for every recipient before any lookup or connection (no command injection)", async () => {
    const { results, log } = await run({ replies: (_, verb) => happy(verb), input: { recipients: ["ok@b.test", "r@b.test>\r\nRCPT TO:<victim@c.test"] } });
    expect(results.map((result) => result.status)).toEqual(["D", "D"]);
    expect(results[1]!.report).toContain("(#5.1.3)");
    expect(log).toEqual([]);
  });

  it("no host connects: Z #4.4.1", async () => {
    const { output } = await run({ hosts: [host("192.0.2.1")], refused: ["192.0.2.1"], replies: (_, verb) => happy(verb) });
    expect(output).toEqual({ status: "Z", report: "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n" });
  });

  it("MAIL and DATA failures: D for 5xx, Z for 4xx, with qmail's texts", async () => {
    expect((await run({ replies: (_, verb) => (verb === "MAIL" ? "553 no" : happy(verb)) })).output).toEqual({
      status: "D",
      report: "Connected to 192.0.2.1 but sender was rejected.\nRemote host said: 553 no\n",
    });
    expect((await run({ replies: (_, verb) => (verb === "DATA" ? "451 later" : happy(verb)) })).output).toEqual({
      status: "Z",
      report: "192.0.2.1 failed on DATA command.\nRemote host said: 451 later\n",
    });
    expect((await run({ replies: (_, verb) => (verb === "DOT" ? "552 too big" : happy(verb)) })).output).toEqual({
      status: "D",
      report: "192.0.2.1 failed after I sent the message.\nRemote host said: 552 too big\n",
    });
  });

  it("a batch: one transaction, each recipient's own result as qmail-rspawn combines the records", async () => {
    const rcpt = (line: string): string => (line.includes("hard") ? "550 no such user" : line.includes("busy") ? "451 busy" : "250 ok");
    const { results, log } = await run({ replies: (_, verb, line) => (verb === "RCPT" ? rcpt(line) : happy(verb)), input: { recipients: ["a@b.test", "hard@b.test", "busy@b.test", "c@b.test"] } });
    expect(log.filter((line) => line.startsWith("RCPT"))).toHaveLength(4);
    expect(log.filter((line) => line === "DATA")).toHaveLength(1);
    const accepted = { status: "K", report: "192.0.2.1 accepted message.\nRemote host said: 250 queued\n" };
    expect(results).toEqual([
      accepted,
      { status: "D", report: "192.0.2.1 does not like recipient.\nRemote host said: 550 no such user\n" },
      { status: "Z", report: "192.0.2.1 does not like recipient.\nRemote host said: 451 busy\n" },
      accepted,
    ]);
  });

  it("452 to some recipients while the message went to others: they are named for another transaction; not when nothing went", async () => {
    const tooMany = (line: string): string => (/[cd]@/.test(line) ? "452 4.5.3 too many recipients" : "250 ok");
    const some = await run({ replies: (_, verb, line) => (verb === "RCPT" ? tooMany(line) : happy(verb)), input: { recipients: ["a@b.test", "c@b.test", "b@b.test", "d@b.test"] } });
    expect(some.again).toEqual([1, 3]);
    expect(some.results[1]!.status).toBe("Z");
    const none = await run({ replies: (_, verb) => (verb === "RCPT" ? "452 4.5.3 too many recipients" : happy(verb)), input: { recipients: ["c@b.test"] } });
    expect(none.again).toEqual([]);
  });

  it("a batch where no recipient is accepted: no DATA, each refusal with 'Giving up'", async () => {
    const { results, log } = await run({ replies: (_, verb, line) => (verb === "RCPT" ? (line.includes("x@") ? "550 no" : "450 later") : happy(verb)), input: { recipients: ["x@b.test", "y@b.test"] } });
    expect(log).not.toContain("DATA");
    expect(results).toEqual([
      { status: "D", report: "192.0.2.1 does not like recipient.\nRemote host said: 550 no\nGiving up on 192.0.2.1.\n" },
      { status: "Z", report: "192.0.2.1 does not like recipient.\nRemote host said: 450 later\nGiving up on 192.0.2.1.\n" },
    ]);
  });

  it("PIPELINING offered: MAIL, every RCPT and DATA in one write, replies taken in order", async () => {
    const { results, log } = await run({ replies: (_, verb, line) => (verb === "RCPT" && line.includes("no@") ? "550 no" : ehlo("PIPELINING")(verb)), input: { recipients: ["yes@b.test", "no@b.test"] } });
    expect(log.slice(3)).toEqual(["pipelined 4", "MAIL FROM:<s@a.test>", "RCPT TO:<yes@b.test>", "RCPT TO:<no@b.test>", "DATA", "body", "DOT", "keep"]);
    expect(results.map((result) => result.status)).toEqual(["K", "D"]);
    const later = await run({ replies: (_, verb) => (verb === "DATA" ? "451 later" : ehlo("PIPELINING")(verb)) });
    expect(later.output).toEqual({ status: "Z", report: "192.0.2.1 failed on DATA command.\nRemote host said: 451 later\n" });
    expect(later.log.slice(-1)).toEqual(["keep"]);
  });

  it("PIPELINING, nobody accepted: a server that refuses the DATA keeps the connection; one that said 354 anyway is hung up on, no body", async () => {
    const pipelining = ehlo("PIPELINING");
    const refuseAll = (verb: string, dataReply: string): string => (verb === "RCPT" ? "550 no" : verb === "DATA" ? dataReply : pipelining(verb));
    const proper = await run({ replies: (_, verb) => refuseAll(verb, "554 no valid recipients") });
    expect(proper.output).toEqual({ status: "D", report: "192.0.2.1 does not like recipient.\nRemote host said: 550 no\nGiving up on 192.0.2.1.\n" });
    expect(proper.log.slice(-2)).toEqual(["DATA", "keep"]);
    const open = await run({ replies: (_, verb) => refuseAll(verb, "354 go") });
    expect(open.output).toEqual(proper.output);
    expect(open.log.slice(-2)).toEqual(["DATA", "hang up"]);
    const sender = await run({ replies: (_, verb) => (verb === "MAIL" ? "553 no" : pipelining(verb)) });
    expect(sender.output).toEqual({ status: "D", report: "Connected to 192.0.2.1 but sender was rejected.\nRemote host said: 553 no\n" });
    expect(sender.log.slice(-2)).toEqual(["DATA", "hang up"]);
  });

  it("MAIL parameters: SIZE when offered, BODY=8BITMIME for 8-bit bodies, SMTPUTF8 for UTF-8 addresses; a size over the limit is D", async () => {
    const all = ehlo("SIZE 1000", "8BITMIME", "SMTPUTF8");
    const { log } = await run({ replies: (_, verb) => all(verb), input: { eightBit: true, recipients: ["jörg@b.test"] } });
    expect(log).toContain("MAIL FROM:<s@a.test> SIZE=100 BODY=8BITMIME SMTPUTF8");
    const plain = await run({ replies: (_, verb) => ehlo("SIZE")(verb), input: { eightBit: true } });
    expect(plain.log).toContain("MAIL FROM:<s@a.test> SIZE=100");
    const big = await run({ replies: (_, verb) => all(verb), input: { size: 5000 } });
    expect(big.output).toEqual({ status: "D", report: "192.0.2.1 takes messages of at most 1000 bytes; this one has 5000. (#5.3.4)\n" });
    const noUtf8 = await run({ replies: (_, verb) => ehlo("8BITMIME")(verb), input: { recipients: ["jörg@b.test"] } });
    expect(noUtf8.output.status).toBe("D");
    expect(noUtf8.output.report).toContain("(#5.6.7)");
  });

  it("STARTTLS when offered: the handshake, then EHLO again; not used when TLS is off", async () => {
    const offer = ehlo("STARTTLS", "8BITMIME");
    const { log } = await run({ replies: (_, verb) => offer(verb) });
    expect(log.slice(1, 7)).toEqual(["GREETING", "EHLO me.test", "STARTTLS", "tls", "EHLO me.test", "MAIL FROM:<s@a.test>"]);
    const off = await run({ replies: (_, verb) => offer(verb), input: { tls: "off" } });
    expect(off.log).not.toContain("STARTTLS");
  });

  it("TLS required (tlsdestinations): no STARTTLS offered, or refused, is Z and nothing is sent", async () => {
    const none = await run({ replies: (_, verb) => happy(verb), input: { tls: "required" } });
    expect(none.output).toEqual({ status: "Z", report: "Connected to 192.0.2.1 but it offers no TLS, which tlsdestinations requires. (#4.7.1)\n" });
    expect(none.log).not.toContain("MAIL FROM:<s@a.test>");
    const refused = await run({ replies: (_, verb) => (verb === "STARTTLS" ? "454 not now" : ehlo("STARTTLS")(verb)), input: { tls: "required" } });
    expect(refused.output.status).toBe("Z");
    expect(refused.log).not.toContain("MAIL FROM:<s@a.test>");
  });

  it("AUTH inside TLS before MAIL; never in the clear to another host; in the clear to loopback", async () => {
    const offer = ehlo("STARTTLS", "AUTH LOGIN PLAIN");
    const secure = await run({ replies: (_, verb) => offer(verb), input: { auth: true } });
    expect(secure.log.slice(4, 8)).toEqual(["tls", "EHLO me.test", "AUTH LOGIN", "MAIL FROM:<s@a.test>"]);
    const clear = await run({ replies: (_, verb) => ehlo("AUTH PLAIN")(verb), input: { auth: true } });
    expect(clear.output).toEqual({ status: "Z", report: "Connected to 192.0.2.1 but will not send credentials without TLS. (#4.7.0)\n" });
    const local = await run({ hosts: [host("127.0.0.1")], replies: (_, verb) => ehlo("AUTH PLAIN")(verb), input: { auth: true } });
    expect(local.output.status).toBe("K");
    const rejected = await run({ hosts: [host("127.0.0.1")], replies: (_, verb) => (verb === "AUTH" ? "535 bad credentials" : ehlo("AUTH PLAIN")(verb)), input: { auth: true } });
    expect(rejected.output).toEqual({ status: "Z", report: "Connected to 127.0.0.1 but authentication was rejected.\nRemote host said: 535 bad credentials\n" });
  });

  it("a kept connection: RSET, then MAIL with the kept session's keywords; no greeting, no EHLO", async () => {
    const { output, log } = await run({ kept: { extensions: { SIZE: "1000" }, tlsActive: false, authenticated: false }, replies: (_, verb) => happy(verb) });
    expect(log.slice(0, 4)).toEqual(["reuse 192.0.2.1", "RSET", "MAIL FROM:<s@a.test> SIZE=100", "RCPT TO:<r@b.test>"]);
    expect(output.status).toBe("K");
  });

  it("a kept connection with PIPELINING: RSET goes in the one write with MAIL, the RCPTs and DATA", async () => {
    const { results, log } = await run({
      kept: { extensions: { PIPELINING: "" }, tlsActive: false, authenticated: false },
      replies: (_, verb, line) => (line.includes("gone") ? "550 no such user" : happy(verb)),
      input: { recipients: ["r@b.test", "gone@b.test"] },
    });
    expect(log).toEqual(["reuse 192.0.2.1", "pipelined 5", "RSET", "MAIL FROM:<s@a.test>", "RCPT TO:<r@b.test>", "RCPT TO:<gone@b.test>", "DATA", "body", "DOT", "keep"]);
    expect(results.map((result) => result.status)).toEqual(["K", "D"]);
    const refused = await run({ kept: { extensions: { PIPELINING: "" }, tlsActive: false, authenticated: false }, replies: (_, verb) => (verb === "MAIL" ? "553 no" : happy(verb)) });
    expect(refused.output).toEqual({ status: "D", report: "Connected to 192.0.2.1 but sender was rejected.\nRemote host said: 553 no\n" });
    expect(refused.log.slice(-1)).toEqual(["hang up"]);
  });

  it("a kept connection with PIPELINING that is dead or refuses RSET: no DATA on it, a fresh connection, no failure", async () => {
    const kept = { extensions: { PIPELINING: "" }, tlsActive: false, authenticated: false };
    const dead = await run({ kept, deadKept: true, replies: (_, verb) => happy(verb) });
    expect(dead.log.slice(0, 5)).toEqual(["reuse 192.0.2.1", "pipelined 4", "RSET", "hang up", "connect 192.0.2.1"]);
    expect(dead.output).toEqual({ status: "K", report: "192.0.2.1 accepted message.\nRemote host said: 250 queued\n" });
    let resets = 0;
    const refused = await run({ kept, replies: (_, verb) => (verb === "RSET" && resets++ === 0 ? "421 shutting down" : happy(verb)) });
    expect(refused.log.slice(0, 8)).toEqual(["reuse 192.0.2.1", "pipelined 4", "RSET", "MAIL FROM:<s@a.test>", "RCPT TO:<r@b.test>", "DATA", "hang up", "connect 192.0.2.1"]);
    expect(refused.log.filter((line) => line === "body")).toHaveLength(1);
    expect(refused.output.status).toBe("K");
  });

  it("a kept connection that turns out dead: a fresh connection to the same host, no failure", async () => {
    const { output, log } = await run({ kept: { extensions: {}, tlsActive: false, authenticated: false }, deadKept: true, replies: (_, verb) => happy(verb) });
    expect(log.slice(0, 5)).toEqual(["reuse 192.0.2.1", "RSET", "hang up", "connect 192.0.2.1", "GREETING"]);
    expect(output).toEqual({ status: "K", report: "192.0.2.1 accepted message.\nRemote host said: 250 queued\n" });
  });

  it("QMTP: one package, each recipient's result from its own reply netstring; closed without QUIT", async () => {
    const { results, log } = await run({
      replies: (_, verb) => happy(verb),
      input: { protocol: "qmtp", recipients: ["a@b.test", "b@b.test", "c@b.test"] },
      qmtpReplies: ["Kok 1700000000 qp 42", "Dsorry, no mailbox here by that name (#5.1.1)", "Zmailbox busy (#4.2.1)"],
    });
    expect(log).toEqual(["connect 192.0.2.1", "package", "replies 3", "hang up"]);
    expect(results).toEqual([
      { status: "K", report: "192.0.2.1 accepted message.\nRemote host said: ok 1700000000 qp 42\n" },
      { status: "D", report: "192.0.2.1 does not like recipient.\nRemote host said: sorry, no mailbox here by that name (#5.1.1)\n" },
      { status: "Z", report: "192.0.2.1 does not like recipient.\nRemote host said: mailbox busy (#4.2.1)\n" },
    ]);
  });

  it("QMTP: the connection dies after the whole package: Z 'Possible duplicate!' for every recipient", async () => {
    const { results } = await run({ replies: (_, verb) => happy(verb), input: { protocol: "qmtp", recipients: ["a@b.test", "b@b.test"] } });
    expect(results.map((result) => result.report)).toEqual(Array(2).fill("Connected to 192.0.2.1 but connection died. Possible duplicate! (#4.4.2)\n"));
  });
});
