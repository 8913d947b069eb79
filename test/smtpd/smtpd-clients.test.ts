// Real SMTP clients against the smtpd and smtps workers: curl, python3's smtplib and swaks, each
// over plain SMTP, STARTTLS and SMTPS (implicit TLS), without AUTH to a local domain and with
// AUTH to a remote one; relaying is refused without AUTH. (nodemailer's runs are in
// smtpd.test.ts.) Also checks the s/qmail-style log lines these sessions leave.

import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startSmtp } from "./smtpd-harness.js";

interface Run {
  readonly code: number;
  readonly output: string;
}

/** Runs a client to its end without blocking the test's event loop (the runtime lives in it). */
function run(command: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

type Transport = "plain" | "starttls" | "smtps";
interface Send {
  readonly transport: Transport;
  readonly auth: boolean;
  readonly to: string;
  readonly tag: string;
}

const MESSAGE = (tag: string): string => `From: a@remote.test\r\nSubject: ${tag}\r\n\r\nsent by ${tag}\r\n`;

function curlArgs(ports: Ports, send: Send, file: string): string[] {
  const scheme = send.transport === "smtps" ? "smtps" : "smtp";
  const port = send.transport === "smtps" ? ports.smtps : ports.smtpd;
  const args = ["-sS", "-k", `${scheme}://127.0.0.1:${port}/curl.example`, "--mail-from", send.auth ? "alice@example.test" : "a@remote.test", "--mail-rcpt", send.to, "-T", file];
  if (send.transport === "starttls") args.push("--ssl-reqd");
  if (send.auth) args.push("--user", "alice:wonderland");
  return args;
}

function pythonArgs(ports: Ports, send: Send): string[] {
  const port = send.transport === "smtps" ? ports.smtps : ports.smtpd;
  const script = `
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
if "${send.transport}" == "smtps":
    s = smtplib.SMTP_SSL("127.0.0.1", ${port}, local_hostname="py.example", context=ctx)
else:
    s = smtplib.SMTP("127.0.0.1", ${port}, local_hostname="py.example")
    if "${send.transport}" == "starttls":
        s.starttls(context=ctx)
s.ehlo("py.example")
if ${send.auth ? "True" : "False"}:
    s.login("alice", "wonderland")
try:
    s.sendmail("${send.auth ? "alice@example.test" : "a@remote.test"}", ["${send.to}"], ${JSON.stringify(MESSAGE(send.tag))})
except smtplib.SMTPRecipientsRefused as refused:
    print("refused", refused.recipients); sys.exit(3)
s.quit()`;
  return ["-c", script];
}

function swaksArgs(ports: Ports, send: Send): string[] {
  const port = send.transport === "smtps" ? ports.smtps : ports.smtpd;
  const args = ["--server", "127.0.0.1", "--port", String(port), "--helo", "sw.example", "--from", send.auth ? "alice@example.test" : "a@remote.test", "--to", send.to, "--header", `Subject: ${send.tag}`, "--body", `sent by ${send.tag}`];
  if (send.transport === "starttls") args.push("--tls");
  if (send.transport === "smtps") args.push("--tlsc");
  if (send.auth) args.push("--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wonderland");
  return args;
}

interface Ports {
  readonly smtpd: number;
  readonly smtps: number;
}

const TRANSPORTS: readonly Transport[] = ["plain", "starttls", "smtps"];

/** swaks speaks TLS only with Perl's Net::SSLeay and IO::Socket::SSL (Debian: libnet-ssleay-perl, libio-socket-ssl-perl). */
// scripts/pretest.mjs installs them; without them this file fails rather than test less.
const swaksTls = await run("perl", ["-MNet::SSLeay", "-MIO::Socket::SSL", "-e", "1"]).then((result) => result.code === 0);
if (!swaksTls) throw new Error("smtpd-clients: swaks needs libnet-ssleay-perl and libio-socket-ssl-perl for STARTTLS and SMTPS (npm test's pretest installs them as root)");

type Client = "curl" | "python" | "swaks";

function clientRun(client: Client, ports: Ports, send: Send, file: string): Promise<Run> {
  if (client === "curl") return run("curl", curlArgs(ports, send, file));
  if (client === "python") return run("python3", pythonArgs(ports, send));
  return run("swaks", swaksArgs(ports, send));
}

describe("curl, python3 smtplib and swaks", () => {
  it.each(["curl", "python", "swaks"] as const)("%s sends over plain, STARTTLS and SMTPS, with and without AUTH; relaying is refused without AUTH", async (client) => {
    // AUTHCLEARTEXT lets the plain runs authenticate before TLS, as the clients under test need.
    const smtp = await startSmtp({ smtpd: { SMTPAUTH: "", AUTHCLEARTEXT: "1" }, smtps: { SMTPAUTH: "" } });
    const ports = { smtpd: await smtp.port("smtpd"), smtps: await smtp.port("smtps") };
    const dir = mkdtempSync(join(tmpdir(), "tsqmail-clients-"));
    const expected: Array<{ tag: string; to: string; protocol: string }> = [];
    for (const transport of TRANSPORTS) {
      for (const auth of [false, true]) {
        const tag = `${client}-${transport}-${auth ? "auth" : "anon"}`;
        const send: Send = { transport, auth, tag, to: auth ? `${tag}@far.test` : `${tag}@example.test` };
        const file = join(dir, `${tag}.eml`);
        writeFileSync(file, MESSAGE(tag));
        const result = await clientRun(client, ports, send, file);
        expect(result.code, `${tag}: ${result.output}`).toBe(0);
        expected.push({ tag, to: send.to, protocol: `ESMTP${transport === "plain" ? "" : "S"}${auth ? "A" : ""}` });
        if (!auth) {
          // The same client and transport, without AUTH, to a remote domain: refused.
          const refused = await clientRun(client, ports, { transport, auth: false, tag: `${tag}-relay`, to: "victim@far.test" }, file);
          expect(refused.code, `${tag} relay: ${refused.output}`).not.toBe(0);
          expect(refused.output, `${tag} relay`).toMatch(/553|isn't in my list of allowed rcpthosts/);
        }
      }
    }
    const queued = smtp.queued();
    expect(queued).toHaveLength(expected.length);
    for (const { tag, to, protocol } of expected) {
      const message = queued.find((entry) => entry.envelope.includes(`\0T${to}\0`));
      expect(message, tag).toBeDefined();
      expect(message!.mess, tag).toMatch(new RegExp(` with ${protocol}; `));
      expect(message!.mess, tag).toContain(`sent by ${tag}\n`);
    }
    expect(queued.some((entry) => entry.envelope.includes("victim@far.test"))).toBe(false);

    // One line per transaction and per connection, s/qmail style.
    const log = `${smtp.log("smtpd")}${smtp.log("smtps")}`;
    const helo = { curl: "curl\\.example", python: "py\\.example", swaks: "sw\\.example" }[client];
    expect(log).toMatch(new RegExp(`conn \\d+ Accept::DATA::Queued qp \\d+ P:ESMTPSA S:127\\.0\\.0\\.1:- H:${helo} F:alice@example\\.test T:${client}-\\w+-auth@far\\.test\n`));
    expect(log).toMatch(new RegExp(`conn \\d+ Reject::RCPT::Invalid_Relaying P:ESMTPS? S:127\\.0\\.0\\.1:- H:${helo} F:a@remote\\.test T:victim@far\\.test\n`));
    expect(log).toMatch(new RegExp(`conn \\d+ Accept::AUTH::(PLAIN|LOGIN) P:ESMTPS?A S:127\\.0\\.0\\.1:- H:${helo} A:alice\n`));
    expect(log).toMatch(new RegExp(`conn \\d+ End::CONN::221 P:ESMTPS?A? S:127\\.0\\.0\\.1:- H:${helo} A:(alice|-) queued 1\n`));
  }, 120_000);
});
