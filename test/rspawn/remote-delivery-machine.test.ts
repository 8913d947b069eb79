// The remote-delivery statechart with fake side effects: which replies end the attempt with
// which letter and text, when the next host is tried, EHLO→HELO fallback, and STARTTLS followed
// by a fresh EHLO.

import { createActor, fromPromise } from "xstate";
import { describe, expect, it } from "vitest";
import { remoteDeliveryMachine, type Destination, type RemoteDeliveryOutput, type Reply } from "../../machines/remote-delivery.js";

interface Script {
  readonly hosts?: readonly Destination[];
  /** ip → refuses the connection. */
  readonly refused?: readonly string[];
  /** Reply per command verb (GREETING for the greeting, DOT after the body), per ip or for any. */
  readonly replies: (ip: string, verb: string) => string;
  readonly tls?: boolean;
}

async function run(script: Script, recipient = "r@b.test"): Promise<{ output: RemoteDeliveryOutput; log: string[] }> {
  const log: string[] = [];
  let ip = "";
  const reply = (text: string): Reply => ({ code: Number(text.slice(0, 3)), text });
  const machine = remoteDeliveryMachine.provide({
    actors: {
      findHosts: fromPromise(async () => ({ ok: true as const, hosts: script.hosts ?? [{ ip: "192.0.2.1", port: 25 }] })),
      connect: fromPromise<boolean, Destination>(async ({ input }) => {
        log.push(`connect ${input.ip}`);
        ip = input.ip;
        return !(script.refused ?? []).includes(input.ip);
      }),
      exchange: fromPromise<Reply, { line: string | undefined }>(async ({ input }) => {
        const verb = input.line === undefined ? (log.at(-1) === "body" ? "DOT" : "GREETING") : input.line.split(" ")[0]!;
        log.push(input.line ?? verb);
        return reply(script.replies(ip, verb));
      }),
      sendBody: fromPromise(async () => void log.push("body")),
      startTls: fromPromise(async () => void log.push("tls")),
    },
    actions: { quit: () => void log.push("QUIT"), hangUp: () => void log.push("hang up") },
  });
  const actor = createActor(machine, { input: { sender: "s@a.test", recipient, helohost: "me.test", tls: script.tls ?? true } });
  const done = new Promise<void>((resolve) => actor.subscribe({ complete: () => resolve() }));
  actor.start();
  await done;
  return { output: actor.getSnapshot().output!, log };
}

const happy = (verb: string): string =>
  ({ GREETING: "220 hi", EHLO: "250-x\n250 PIPELINING", HELO: "250 x", MAIL: "250 ok", RCPT: "250 ok", DATA: "354 go", DOT: "250 queued", STARTTLS: "220 go" })[verb]!;

describe("remote-delivery machine", () => {
  it("the whole dialogue: K with the reply after the dot", async () => {
    const { output, log } = await run({ replies: (_, verb) => happy(verb) });
    expect(output).toEqual({ status: "K", report: "192.0.2.1 accepted message.\nRemote host said: 250 queued\n" });
    expect(log).toEqual(["connect 192.0.2.1", "GREETING", "EHLO me.test", "MAIL FROM:<s@a.test>", "RCPT TO:<r@b.test>", "DATA", "body", "DOT", "QUIT"]);
  });

  it("EHLO refused: HELO; HELO refused: Z, my name was rejected", async () => {
    const { output, log } = await run({ replies: (_, verb) => (verb === "EHLO" ? "502 no" : verb === "HELO" ? "501 bad name" : happy(verb)) });
    expect(log.slice(2, 4)).toEqual(["EHLO me.test", "HELO me.test"]);
    expect(output).toEqual({ status: "Z", report: "Connected to 192.0.2.1 but my name was rejected.\nRemote host said: 501 bad name\n" });
  });

  it("greeting 5xx: D; 421: Z without trying the next host; other 4xx: the next host", async () => {
    const hosts = [{ ip: "192.0.2.1", port: 25 }, { ip: "192.0.2.2", port: 25 }];
    const hard = await run({ hosts, replies: (ip, verb) => (verb === "GREETING" && ip === "192.0.2.1" ? "554 go away" : happy(verb)) });
    expect(hard.output).toEqual({ status: "D", report: "Connected to 192.0.2.1 but greeting failed.\nRemote host said: 554 go away\n" });
    const greylisted = await run({ hosts, replies: (ip, verb) => (verb === "GREETING" && ip === "192.0.2.1" ? "421 later" : happy(verb)) });
    expect(greylisted.output.status).toBe("Z");
    expect(greylisted.log).not.toContain("connect 192.0.2.2");
    const busy = await run({ hosts, replies: (ip, verb) => (verb === "GREETING" && ip === "192.0.2.1" ? "451 busy" : happy(verb)) });
    expect(busy.log).toContain("hang up");
    expect(busy.output).toEqual({ status: "K", report: "192.0.2.2 accepted message.\nRemote host said: 250 queued\n" });
  });

  it("a line break in the envelope: D before any lookup or connection (no command injection)", async () => {
    const { output, log } = await run({ replies: (_, verb) => happy(verb) }, "r@b.test>\r\nRCPT TO:<victim@c.test");
    expect(output.status).toBe("D");
    expect(output.report).toContain("(#5.1.3)");
    expect(log).toEqual([]);
  });

  it("no host connects: Z #4.4.1", async () => {
    const { output } = await run({ hosts: [{ ip: "192.0.2.1", port: 25 }], refused: ["192.0.2.1"], replies: (_, verb) => happy(verb) });
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

  it("STARTTLS when offered: the handshake, then EHLO again; not offered again after it; not used when TLS is off", async () => {
    const offer = (verb: string): string => (verb === "EHLO" ? "250-x\n250-STARTTLS\n250 8BITMIME" : happy(verb));
    const { log } = await run({ replies: (_, verb) => offer(verb) });
    expect(log.slice(1, 7)).toEqual(["GREETING", "EHLO me.test", "STARTTLS", "tls", "EHLO me.test", "MAIL FROM:<s@a.test>"]);
    const off = await run({ tls: false, replies: (_, verb) => offer(verb) });
    expect(off.log).not.toContain("STARTTLS");
  });
});
