// Remote delivery end to end in real workers: a message injected through the real enqueue, the
// real send and rspawn services, and an SMTP server on loopback (smtp-sink.ts) — routed there by
// smtproutes, or found through MX records on a DNS server on loopback. What send logs is
// qmail-remote's text as qmail-rspawn combines it; what the sink read is the wire itself.

import { afterEach, describe, expect, it } from "vitest";
import { unusedPort, waitFor } from "../runtime/test-root.js";
import { inject, leftovers, queuedIds } from "../send/send-root.js";
import { startLoopbackDns, type LoopbackDns } from "../net/loopback-dns.js";
import { rspawnBed } from "./rspawn-root.js";
import { startSmtpSink, type SinkPolicy, type SmtpSink } from "./smtp-sink.js";

const rspawn = rspawnBed();
let sink: SmtpSink | undefined;
let dns: LoopbackDns | undefined;

afterEach(async () => {
  await sink?.close();
  await dns?.close();
  sink = undefined;
  dns = undefined;
});

const startWith = (routes: string, env: Record<string, string> = {}): Promise<string> => rspawn.start(routes, env);

async function sinkAndRoute(policy: SinkPolicy = {}): Promise<string> {
  sink = await startSmtpSink("127.0.0.1", policy);
  return startWith(`remote.test:127.0.0.1:${sink.port}\nelsewhere.test:[127.0.0.1];${sink.port}`);
}

const deliveryLine = async (outcome: string): Promise<string> => (await rspawn.deliveryLines(outcome))[0]!;

describe("rspawn", () => {
  it("delivers to the routed server: EHLO with helohost, MAIL, RCPT, dot-stuffed CR LF data, QUIT once idle; K with the server's text", async () => {
    const queueDir = await sinkAndRoute();
    await inject(queueDir, "sender@elsewhere.test", ["ok@remote.test"], "Subject: t\n\n.dot line\nplain\n..two\n");
    expect(await deliveryLine("success")).toBe("127.0.0.1_accepted_message./Remote_host_said:_250_ok_queued_as_1/");
    await waitFor(() => sink!.connections[0]!.closed, 10_000, "the kept connection to be closed");
    expect(sink!.commands.slice(0, 4)).toEqual(["EHLO mail.example.test", "MAIL FROM:<sender@elsewhere.test>", "RCPT TO:<ok@remote.test>", "DATA"]);
    expect(sink!.transcripts[0]).toMatch(/\r\nSubject: t\r\n\r\n\.\.dot line\r\nplain\r\n\.\.\.two\r\n\.\r\nQUIT\r\n$/);
    expect(sink!.messages[0]).toMatch(/^Received: .*\r\nSubject: t\r\n\r\n\.dot line\r\nplain\r\n\.\.two\r\n$/);
    await waitFor(() => leftovers(queueDir).length === 0, 5000, "the queue to empty");
  }, 30_000);

  it("5xx at RCPT: D with the remote text, and a bounce to the sender", async () => {
    const queueDir = await sinkAndRoute({ rcpt: (address) => (address.startsWith("hard-") ? "550 5.1.1 no such user" : "250 ok") });
    await inject(queueDir, "sender@elsewhere.test", ["hard-bob@remote.test"]);
    expect(await deliveryLine("failure")).toBe("127.0.0.1_does_not_like_recipient./Remote_host_said:_550_5.1.1_no_such_user/Giving_up_on_127.0.0.1./");
    // The bounce goes out through rspawn too, to the same server, from <>.
    await waitFor(() => sink!.messages.length === 1, 10_000, "the bounce");
    expect(sink!.commands).toContain("MAIL FROM:<>");
    expect(sink!.commands).toContain("RCPT TO:<sender@elsewhere.test>");
    expect(sink!.messages[0]).toContain("<hard-bob@remote.test>:\r\n127.0.0.1 does not like recipient.\r\nRemote host said: 550 5.1.1 no such user\r\n");
  }, 30_000);

  it("4xx at RCPT: Z, and the message stays queued", async () => {
    const queueDir = await sinkAndRoute({ rcpt: () => "450-4.2.0 mailbox busy\r\n450 4.2.0 try later" });
    const id = await inject(queueDir, "sender@elsewhere.test", ["busy@remote.test"]);
    expect(await deliveryLine("deferral")).toBe("127.0.0.1_does_not_like_recipient./Remote_host_said:_450-4.2.0_mailbox_busy/450_4.2.0_try_later/Giving_up_on_127.0.0.1./");
    expect(queuedIds(queueDir)).toContain(id);
    expect(sink!.messages).toHaveLength(0);
  }, 30_000);

  it("a connection refused: Z #4.4.1", async () => {
    const port = await unusedPort();
    const queueDir = await startWith(`remote.test:127.0.0.1:${port}`);
    await inject(queueDir, "sender@elsewhere.test", ["x@remote.test"]);
    expect(await deliveryLine("deferral")).toBe("Sorry,_I_wasn't_able_to_establish_an_SMTP_connection._(#4.4.1)/");
  }, 30_000);

  it("a drop after the final dot: Z with 'Possible duplicate!'", async () => {
    const queueDir = await sinkAndRoute({ dropAfterDot: true });
    await inject(queueDir, "sender@elsewhere.test", ["x@remote.test"]);
    expect(await deliveryLine("deferral")).toBe("Connected_to_127.0.0.1_but_connection_died._Possible_duplicate!_(#4.4.2)/");
  }, 30_000);

  it("smuggling (security.md §1.1): a stored `X\\r.\\nMAIL FROM:<evil@x>` reaches the next hop as one message with no extra command", async () => {
    const queueDir = await sinkAndRoute();
    await inject(queueDir, "sender@elsewhere.test", ["ok@remote.test"], "Subject: s\n\nX\r.\nMAIL FROM:<evil@x>\nRCPT TO:<victim@remote.test>\nDATA\n");
    await deliveryLine("success");
    expect(sink!.messages).toHaveLength(1);
    expect(sink!.commands.filter((line) => /^(MAIL|RCPT|DATA)/.test(line))).toEqual(["MAIL FROM:<sender@elsewhere.test>", "RCPT TO:<ok@remote.test>", "DATA"]);
    expect(sink!.transcripts[0]!.match(/\r\n\.\r\n/g)).toHaveLength(1);
    expect(sink!.messages[0]).toContain("X\r\n.\r\nMAIL FROM:<evil@x>\r\n");
  }, 30_000);

  it("finds the server by MX on a DNS server on loopback, in preference order: a refused MX and one greeting 451 lead to the next", async () => {
    sink = await startSmtpSink("127.0.0.2");
    const busy = await startSmtpSink("127.0.0.3", { greeting: "451 busy, try another MX" }, sink.port);
    dns = await startLoopbackDns({
      "mx.test": [{ mx: "in.mx.test", preference: 10 }, { mx: "busy.mx.test", preference: 5 }, { mx: "down.mx.test", preference: 1 }],
      "down.mx.test": [{ a: "127.0.0.4" }],
      "busy.mx.test": [{ a: "127.0.0.3" }],
      "in.mx.test": [{ a: "127.0.0.2" }],
    });
    try {
      const queueDir = await startWith("", { DNSSERVERS: dns.server, PORT: String(sink.port) });
      await inject(queueDir, "sender@elsewhere.test", ["ok@mx.test"]);
      expect(await deliveryLine("success")).toBe("127.0.0.2_accepted_message./Remote_host_said:_250_ok_queued_as_1/");
      expect(busy.transcripts).toHaveLength(1);
      expect(busy.commands).toEqual([]);
      expect(sink.commands).toContain("RCPT TO:<ok@mx.test>");
    } finally {
      await busy.close();
    }
  }, 30_000);
});
