// s/qmail's route and TLS extras in real workers against the loopback sink: AUTH to a smarthost
// from `relay|user|pass` (in the clear only to loopback; inside STARTTLS otherwise), `!@` routing
// bounces, control/outgoingip and domainips, control/tlsdestinations (TLS required → deferral when the server
// offers none; the certificate checked against the listed CA and name), and SMTPS (TLS from the
// first byte, as a route to port 465 asks).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSecureContext, type SecureContext } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureServerCertificate } from "../../src/root/server-certificate.js";
import { SmtpConnection } from "../../src/services/rspawn/smtp-connection.js";
import { waitFor } from "../runtime/test-root.js";
import { inject } from "../send/send-root.js";
import { rspawnBed } from "./rspawn-root.js";
import { startSmtpSink, type SmtpSink } from "./smtp-sink.js";

const rspawn = rspawnBed();
const sinks: SmtpSink[] = [];
let dir: string;
let secureContext: SecureContext;
/** The sink's certificate alone: the CA a tlsdestinations line names. */
let caFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsqmail-rtls-"));
  await ensureServerCertificate(dir, "sink.test");
  const pem = readFileSync(join(dir, "servercert.pem"));
  secureContext = createSecureContext({ key: pem, cert: pem });
  caFile = join(dir, "sink-ca.pem");
  writeFileSync(caFile, /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/.exec(pem.toString())![0]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.close();
});

async function sink(...args: Parameters<typeof startSmtpSink>): Promise<SmtpSink> {
  const started = await startSmtpSink(...args);
  sinks.push(started);
  return started;
}

describe("rspawn routes, AUTH and TLS", () => {
  it("relay|user|pass: AUTH before MAIL, here in the clear because the relay is this host (loopback)", async () => {
    const relay = await sink("127.0.0.1", { auth: { user: "relayuser", pass: "se:cr|et" } });
    const queueDir = await rspawn.start(`:127.0.0.1|relayuser|se:cr|et;${relay.port}`);
    await inject(queueDir, "sender@here.test", ["far@away.test"]);
    await rspawn.deliveryLines("success");
    expect(relay.connections[0]!.authenticated).toBe("relayuser");
    const commands = relay.connections[0]!.commands;
    expect(commands.findIndex((line) => line.startsWith("AUTH PLAIN"))).toBeLessThan(commands.findIndex((line) => line.startsWith("MAIL")));
  }, 60_000);

  it("a relay that offers AUTH only inside TLS: STARTTLS, EHLO again, then AUTH; wrong credentials defer", async () => {
    const relay = await sink("127.0.0.1", { tls: { context: secureContext }, auth: { user: "u", pass: "p" } });
    const queueDir = await rspawn.start(`right.test:127.0.0.1|u|p;${relay.port}\nwrong.test:127.0.0.1|u|nope;${relay.port}`);
    await inject(queueDir, "sender@here.test", ["a@right.test"]);
    await rspawn.deliveryLines("success");
    expect(relay.connections[0]).toMatchObject({ tls: true, authenticated: "u" });
    await inject(queueDir, "sender@here.test", ["a@wrong.test"]);
    expect(await rspawn.deliveryLines("deferral")).toEqual(["Connected_to_127.0.0.1_but_authentication_was_rejected./Remote_host_said:_535_5.7.8_bad_credentials/"]);
  }, 60_000);

  it("!@ sends bounces to their own relay; outgoingip is the address connections come from", async () => {
    const main = await sink("127.0.0.1", { rcpt: () => "550 5.1.1 unknown" });
    const bounces = await sink("127.0.0.1");
    const queueDir = await rspawn.start(`:127.0.0.1;${main.port}\n!@:127.0.0.1;${bounces.port}`, {}, { outgoingip: "127.0.0.5" });
    await inject(queueDir, "sender@here.test", ["x@away.test"]);
    await rspawn.deliveryLines("failure");
    await waitFor(() => bounces.messages.length === 1, 15_000, "the bounce at the !@ relay");
    expect(bounces.commands).toContain("MAIL FROM:<>");
    expect(main.commands).not.toContain("MAIL FROM:<>");
    expect(main.connections[0]!.peer).toBe("127.0.0.5");
  }, 60_000);

  it("domainips: a sender's domain picks the local address and the EHLO name", async () => {
    const relay = await sink("127.0.0.1");
    const queueDir = await rspawn.start(`:127.0.0.1;${relay.port}`, {}, { outgoingip: "127.0.0.5", domainips: "bound.test:127.0.0.6|helo.bound.test" });
    await inject(queueDir, "someone@bound.test", ["x@away.test"]);
    await rspawn.deliveryLines("success");
    expect(relay.connections[0]!.peer).toBe("127.0.0.6");
    expect(relay.connections[0]!.commands[0]).toBe("EHLO helo.bound.test");
  }, 60_000);

  it("tlsdestinations: a listed destination that offers no TLS is deferred; nothing is sent", async () => {
    const plain = await sink("127.0.0.1");
    const queueDir = await rspawn.start(`sink.test:127.0.0.1;${plain.port}`, {}, { tlsdestinations: "sink.test:" });
    await inject(queueDir, "sender@here.test", ["a@sink.test"]);
    expect(await rspawn.deliveryLines("deferral")).toEqual(["Connected_to_127.0.0.1_but_it_offers_no_TLS,_which_tlsdestinations_requires._(#4.7.1)/"]);
    expect(plain.commands.some((line) => line.startsWith("MAIL"))).toBe(false);
  }, 60_000);

  it("tlsdestinations with a CA: the certificate is checked — the right name is delivered, another name deferred", async () => {
    const secure = await sink("127.0.0.1", { tls: { context: secureContext } });
    const queueDir = await rspawn.start(`sink.test:127.0.0.1;${secure.port}\nother.test:127.0.0.1;${secure.port}`, {}, { tlsdestinations: `sink.test:${caFile}\nother.test:${caFile}` });
    await inject(queueDir, "sender@here.test", ["a@sink.test"]);
    await rspawn.deliveryLines("success");
    expect(secure.connections[0]!.tls).toBe(true);
    await inject(queueDir, "sender@here.test", ["b@other.test"]);
    const [deferral] = await rspawn.deliveryLines("deferral");
    expect(deferral).toMatch(/^Connected_to_127\.0\.0\.1_but_the_TLS_handshake_failed:.*other\.test.*\(#4\.4\.2\)\/$/);
  }, 60_000);

  it("SMTPS: TLS from the first byte, the greeting read inside it", async () => {
    const smtps = await sink("127.0.0.1", { tls: { context: secureContext, implicit: true } });
    const connection = await SmtpConnection.open(
      { ip: "127.0.0.1", port: smtps.port, implicitTls: true },
      { site: "test", timeoutConnectMs: 2000, timeoutRemoteMs: 5000 },
      { servername: "sink.test", ca: readFileSync(caFile), name: "sink.test" },
    );
    expect(await connection.exchange(undefined)).toEqual({ code: 220, text: "220 sink.test ESMTP" });
    expect((await connection.exchange("EHLO me.test")).code).toBe(250);
    expect(smtps.connections[0]!.tls).toBe(true);
    connection.quit();
  }, 15_000);
});
