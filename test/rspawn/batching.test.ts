// Batching and connection reuse in real workers against the loopback sink: the recipients of one
// message to one domain go in one transaction with per-recipient results; the next transaction
// to the same server takes the kept connection after RSET; a kept connection the server will not
// go on with is replaced by a fresh one without a false failure; QUIT once idle, and when the
// service stops. Also what the
// envelope looks like on the wire: PIPELINING, SIZE, BODY=8BITMIME, quoted local parts.

import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../runtime/test-root.js";
import { inject } from "../send/send-root.js";
import { rspawnBed } from "./rspawn-root.js";
import { startSmtpSink, type SinkPolicy, type SmtpSink } from "./smtp-sink.js";

const rspawn = rspawnBed();
let sink: SmtpSink | undefined;

afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

async function sinkAndRoute(policy: SinkPolicy = {}, env: Record<string, string> = {}): Promise<string> {
  sink = await startSmtpSink("127.0.0.1", policy);
  return rspawn.start(`remote.test:127.0.0.1;${sink.port}\nelsewhere.test:127.0.0.1;${sink.port}`, env);
}

const verbs = (commands: readonly string[]): string[] => commands.map((line) => line.split(/[ :]/)[0]!);

describe("rspawn batching and reuse", () => {
  it("three recipients of one message: one transaction, each result its own; the bounce then takes the kept connection after RSET", async () => {
    const queueDir = await sinkAndRoute({ rcpt: (address) => (address.startsWith("gone") ? "550 5.1.1 no such user" : "250 ok") });
    await inject(queueDir, "sender@elsewhere.test", ["a@remote.test", "gone@remote.test", "b@remote.test"]);
    expect(await rspawn.deliveryLines("success", 2)).toEqual(["127.0.0.1_accepted_message./Remote_host_said:_250_ok_queued_as_1/", "127.0.0.1_accepted_message./Remote_host_said:_250_ok_queued_as_1/"]);
    expect(await rspawn.deliveryLines("failure")).toEqual(["127.0.0.1_does_not_like_recipient./Remote_host_said:_550_5.1.1_no_such_user/"]);
    await waitFor(() => sink!.messages.length === 2, 15_000, "the bounce");
    expect(sink!.connections).toHaveLength(1);
    const commands = sink!.connections[0]!.commands;
    expect(verbs(commands).slice(0, 10)).toEqual(["EHLO", "MAIL", "RCPT", "RCPT", "RCPT", "DATA", "RSET", "MAIL", "RCPT", "DATA"]);
    expect(commands.filter((line) => line.startsWith("RCPT")).slice(0, 3).sort()).toEqual(["RCPT TO:<a@remote.test>", "RCPT TO:<b@remote.test>", "RCPT TO:<gone@remote.test>"]);
    expect(commands).toContain("MAIL FROM:<>");
    // Kept for IDLETIMEOUT (1 s here), then QUIT.
    await waitFor(() => sink!.connections[0]!.closed, 10_000, "QUIT after the idle time");
    expect(commands.at(-1)).toBe("QUIT");
  }, 60_000);

  it("a kept connection the server will not go on with (421 to RSET): the next message goes over a fresh one, no deferral", async () => {
    const queueDir = await sinkAndRoute({ rset: "421 4.3.2 shutting down" }, { IDLETIMEOUT: "30" });
    await inject(queueDir, "sender@elsewhere.test", ["one@remote.test"]);
    await rspawn.deliveryLines("success", 1);
    await inject(queueDir, "sender@elsewhere.test", ["two@remote.test"]);
    await rspawn.deliveryLines("success", 2);
    expect(rspawn.sendLog()).not.toMatch(/deferral|failure/);
    expect(sink!.connections).toHaveLength(2);
    // RSET went in one write with MAIL, RCPT and DATA (PIPELINING); after its 421 no body on that connection.
    const first = sink!.transcripts[0]!;
    expect(first.slice(first.lastIndexOf("RSET"))).toMatch(/^RSET\r\nMAIL FROM:<[^>]*>\r\nRCPT TO:<two@remote\.test>\r\nDATA\r\n$/);
    expect(sink!.messages).toHaveLength(2);
    expect(sink!.connections[1]!.commands).toContain("RCPT TO:<two@remote.test>");
  }, 60_000);

  it("452 too many recipients: the rest go in further transactions at once, over the same connection", async () => {
    const queueDir = await sinkAndRoute({ maxRcpts: 2 });
    await inject(queueDir, "sender@elsewhere.test", ["a@remote.test", "b@remote.test", "c@remote.test", "d@remote.test", "e@remote.test"]);
    await rspawn.deliveryLines("success", 5);
    expect(rspawn.sendLog()).not.toMatch(/deferral|failure/);
    expect(sink!.connections).toHaveLength(1);
    expect(sink!.messages).toHaveLength(3);
    expect(sink!.connections[0]!.commands.filter((line) => line === "RSET")).toHaveLength(2);
  }, 60_000);

  it("kept connections get QUIT when the service stops", async () => {
    const queueDir = await sinkAndRoute({}, { IDLETIMEOUT: "60" });
    await inject(queueDir, "sender@elsewhere.test", ["a@remote.test"]);
    await rspawn.deliveryLines("success", 1);
    expect(sink!.connections[0]!.closed).toBe(false);
    await rspawn.bed.stop();
    await waitFor(() => sink!.connections[0]!.closed, 10_000, "the kept connection to close");
    expect(sink!.connections[0]!.commands.at(-1)).toBe("QUIT");
  }, 60_000);

  it("PIPELINING offered: MAIL, the RCPTs and DATA arrive in one segment; not offered: MAIL alone", async () => {
    const queueDir = await sinkAndRoute();
    await inject(queueDir, "sender@elsewhere.test", ["a@remote.test", "b@remote.test"]);
    await rspawn.deliveryLines("success", 2);
    expect(sink!.connections[0]!.chunks.find((chunk) => chunk.startsWith("MAIL"))).toMatch(/^MAIL FROM:<sender@elsewhere\.test>[^\r]*\r\nRCPT TO:<[ab]@remote\.test>\r\nRCPT TO:<[ab]@remote\.test>\r\nDATA\r\n$/);
    await sink!.close();
    await rspawn.bed.stop();

    const queueDir2 = await sinkAndRoute({ ehlo: ["8BITMIME"] });
    await inject(queueDir2, "sender@elsewhere.test", ["a@remote.test"]);
    await rspawn.deliveryLines("success", 1);
    expect(sink!.connections[0]!.chunks.find((chunk) => chunk.startsWith("MAIL"))).toBe("MAIL FROM:<sender@elsewhere.test>\r\n");
  }, 60_000);

  it("SIZE and BODY=8BITMIME when offered and the body has 8-bit bytes; a local part that needs quoting is quoted", async () => {
    const queueDir = await sinkAndRoute({ ehlo: ["SIZE 10000000", "8BITMIME"] });
    await inject(queueDir, "sender@elsewhere.test", ["john doe@remote.test"], "Subject: caf\u00e9\n\nd\u00e9j\u00e0 vu\n");
    await rspawn.deliveryLines("success", 1);
    const commands = sink!.connections[0]!.commands;
    expect(commands.find((line) => line.startsWith("MAIL"))).toMatch(/^MAIL FROM:<sender@elsewhere\.test> SIZE=\d+ BODY=8BITMIME$/);
    expect(commands).toContain('RCPT TO:<"john doe"@remote.test>');
  }, 60_000);
});
