// UCSPITLS `?` and `@`: after STARTTLS, a client certificate that CAFILE's authority signed
// allows relaying; a self-signed one, or none, does not; `@` also requires TLS before MAIL.
// Real openssl-made certificates, python3's smtplib as the client.

import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeCertificates } from "../net/client-certificates.js";
import { RawClient, startSmtp } from "./smtpd-harness.js";

/** STARTTLS with an optional client certificate, then one relay attempt; prints the RCPT reply code. */
function relayAttempt(port: number, certificate: [string, string] | undefined): Promise<string> {
  const load = certificate === undefined ? "" : `ctx.load_cert_chain(${JSON.stringify(certificate[0])}, ${JSON.stringify(certificate[1])})`;
  const script = `
import smtplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
${load}
s = smtplib.SMTP("127.0.0.1", ${port}, local_hostname="branch.example")
s.starttls(context=ctx); s.ehlo("branch.example")
s.mail("a@branch.test")
code, text = s.rcpt("someone@far.test")
print(code, text.decode())
s.quit()`;
  return new Promise((resolve, reject) => {
    execFile("python3", ["-c", script], { timeout: 30_000 }, (error, stdout, stderr) => (error === null ? resolve(stdout.trim()) : reject(new Error(`${error.message}\n${stderr}`))));
  });
}

describe("client certificates (UCSPITLS ? and @)", () => {
  it("? : a CA-signed client certificate relays; a self-signed one or none is refused", async () => {
    const certificates = makeCertificates(mkdtempSync(join(tmpdir(), "tsqmail-certs-")));
    const smtp = await startSmtp({ smtpd: { UCSPITLS: "?", CAFILE: certificates.ca } });
    const port = await smtp.port("smtpd");
    expect(await relayAttempt(port, certificates.client)).toBe("250 ok");
    expect(await relayAttempt(port, certificates.rogue)).toBe("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)");
    expect(await relayAttempt(port, undefined)).toBe("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)");
  });

  it("@ : MAIL needs TLS first; then the certificate decides relaying", async () => {
    const certificates = makeCertificates(mkdtempSync(join(tmpdir(), "tsqmail-certs-")));
    const smtp = await startSmtp({ smtpd: { UCSPITLS: "@", CAFILE: certificates.ca } });
    const port = await smtp.port("smtpd");
    const plain = new RawClient(port);
    plain.send("HELO c\r\nMAIL FROM:<a@branch.test>\r\nQUIT\r\n");
    await plain.untilClosed();
    expect(plain.finalLines().slice(2)).toEqual(["535 STARTTLS required (#5.7.1)", "221 mx.example.test"]);
    expect(await relayAttempt(port, certificates.client)).toBe("250 ok");
    expect(await relayAttempt(port, certificates.rogue)).toMatch(/^553 /);
  });

  it("without CAFILE no certificate is trusted", async () => {
    const certificates = makeCertificates(mkdtempSync(join(tmpdir(), "tsqmail-certs-")));
    const smtp = await startSmtp({ smtpd: { UCSPITLS: "?" } });
    expect(await relayAttempt(await smtp.port("smtpd"), certificates.client)).toMatch(/^553 /);
  });
});
