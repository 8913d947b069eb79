// AUTH against a checkpassword-compatible program (CHECKPASSWORD), as existing qmail setups do
// it, and the queue environment after AUTH: a QMAILQUEUE program sees AUTHUSER, AUTHPROTOCOL,
// TCPREMOTEINFO and the tcpserver variables. Real child processes, real sockets.

import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RawClient, startSmtp } from "./smtpd-harness.js";

const b64 = (text: string): string => Buffer.from(text).toString("base64");

/** A checkpassword: records what fd 3 carried, accepts carol/secret (exit 0), else exit 1. */
function checkpassword(dir: string): string {
  const path = join(dir, "checkpassword.sh");
  writeFileSync(
    path,
    `#!/bin/sh\nhead -c 512 <&3 | tr '\\000' '\\n' > "${dir}/fd3.$$"\nuser=$(sed -n 1p "${dir}/fd3.$$"); pass=$(sed -n 2p "${dir}/fd3.$$")\n` +
      `[ "$user" = carol ] && [ "$pass" = secret ] && exec "$@"\nexit 1\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** A qmail-queue replacement: reads message (fd 0) and envelope (fd 1), writes its environment down. */
function queueProgram(dir: string): string {
  const path = join(dir, "qq.sh");
  writeFileSync(path, `#!/bin/sh\ncat > "${dir}/message"\ncat <&1 > "${dir}/envelope"\nenv > "${dir}/env"\nexit 0\n`);
  chmodSync(path, 0o755);
  return path;
}

describe("CHECKPASSWORD", () => {
  it("PLAIN and LOGIN go to the program on fd 3 (user, password, timestamp); exit 0 accepts, 1 fails with 535", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsqmail-cpw-"));
    const smtp = await startSmtp({ smtpd: { SMTPAUTH: "", AUTHCLEARTEXT: "1", AUTHFAILDELAY: "0", CHECKPASSWORD: `${checkpassword(dir)} /bin/true` } });
    const client = new RawClient(await smtp.port("smtpd"));
    client.send(`EHLO c\r\nAUTH PLAIN ${b64("\0carol\0wrong")}\r\nAUTH PLAIN ${b64("\0alice\0wonderland")}\r\nAUTH LOGIN\r\n${b64("carol")}\r\n${b64("secret")}\r\nMAIL FROM:<carol@example.test>\r\nRCPT TO:<x@far.test>\r\nQUIT\r\n`);
    await client.untilClosed(30_000);
    expect(client.finalLines().slice(2)).toEqual([
      "535 authentication failed (#5.7.1)",
      // alice is a tsqmail user, but with CHECKPASSWORD set only the program decides.
      "535 authentication failed (#5.7.1)",
      "334 VXNlcm5hbWU6",
      "334 UGFzc3dvcmQ6",
      "235 ok, go ahead (#2.0.0)",
      "250 ok",
      "250 ok",
      "221 mx.example.test",
    ]);
    const records = readdirRecords(dir);
    expect(records).toContainEqual(["carol", "secret", expect.stringMatching(/^<\d+\.\d+@mx\.example\.test>$/)]);
    expect(records).toContainEqual(["carol", "wrong", expect.any(String)]);
  });

  it("a program that cannot run fails the AUTH, and the session goes on", async () => {
    const smtp = await startSmtp({ smtpd: { SMTPAUTH: "", AUTHCLEARTEXT: "1", AUTHFAILDELAY: "0", CHECKPASSWORD: "/nonexistent/checkpassword /bin/true" } });
    const client = new RawClient(await smtp.port("smtpd"));
    client.send(`EHLO c\r\nAUTH PLAIN ${b64("\0carol\0secret")}\r\nNOOP\r\nQUIT\r\n`);
    await client.untilClosed(30_000);
    expect(client.finalLines().slice(2)).toEqual(["535 authentication failed (#5.7.1)", "250 ok", "221 mx.example.test"]);
  });

  it("after AUTH the QMAILQUEUE program sees AUTHUSER, AUTHPROTOCOL, TCPREMOTEINFO and TCPREMOTEIP", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsqmail-qq-"));
    const smtp = await startSmtp({ smtpd: { SMTPAUTH: "", AUTHCLEARTEXT: "1", CHECKPASSWORD: `${checkpassword(dir)} /bin/true`, QMAILQUEUE: queueProgram(dir) } });
    const client = new RawClient(await smtp.port("smtpd"));
    client.send(`EHLO c\r\nAUTH PLAIN ${b64("\0carol\0secret")}\r\nMAIL FROM:<carol@example.test>\r\nRCPT TO:<x@far.test>\r\nDATA\r\nSubject: q\r\n\r\nbody\r\n.\r\nQUIT\r\n`);
    await client.untilClosed(30_000);
    expect(client.finalLines().at(-2)).toMatch(/^250 ok \d+ qp \d+$/);
    const env = readFileSync(join(dir, "env"), "utf8").split("\n");
    expect(env).toEqual(expect.arrayContaining(["AUTHUSER=carol", "AUTHPROTOCOL=PLAIN", "TCPREMOTEINFO=carol", "TCPREMOTEIP=127.0.0.1"]));
    expect(readFileSync(join(dir, "envelope"), "latin1")).toBe("Fcarol@example.test\0Tx@far.test\0\0");
    expect(readFileSync(join(dir, "message"), "latin1")).toMatch(/^Received: from unknown \(HELO c\) \(carol@127\.0\.0\.1\)\n  by 127\.0\.0\.1 with ESMTPA; /);
  });

  it("without AUTH the queue environment has no AUTHUSER", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsqmail-qq-"));
    const smtp = await startSmtp({ smtpd: { QMAILQUEUE: queueProgram(dir) } });
    const client = new RawClient(await smtp.port("smtpd"));
    client.send("HELO c\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n\r\nbody\r\n.\r\nQUIT\r\n");
    await client.untilClosed(30_000);
    expect(existsSync(join(dir, "env"))).toBe(true);
    const env = readFileSync(join(dir, "env"), "utf8");
    expect(env).toContain("TCPREMOTEIP=127.0.0.1\n");
    expect(env).not.toContain("AUTHUSER=");
  });
});

/** Every fd 3 record the checkpassword script wrote, as its fields. */
function readdirRecords(dir: string): string[][] {
  return readdirSync(dir)
    .filter((name) => name.startsWith("fd3."))
    .map((file) => readFileSync(join(dir, file), "latin1").split("\n").filter((field) => field !== ""));
}
