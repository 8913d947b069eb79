// The configuration issue's promise for a real service, end to end: a malformed control file
// keeps smtpd from starting and its log names the file and line; on svc -h a broken file is
// logged and the last good configuration stays in force, and a mended file takes effect.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RawClient, startSmtp } from "../smtpd/smtpd-harness.js";
import { addService, logText, makeRoot, waitFor } from "../runtime/test-root.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { createQueue } from "../../src/queue/create-queue.js";

/** One SMTP transaction's RCPT reply for `recipient`. */
async function rcptReply(port: number, recipient: string): Promise<string> {
  const client = new RawClient(port);
  client.send(`HELO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<${recipient}>\r\nQUIT\r\n`);
  const replies = await client.replies(5);
  return replies[3] ?? "";
}

describe("a malformed control file and a real smtpd", () => {
  it("keeps smtpd from starting, naming the file and line, and the runtime says which service", async () => {
    const made = makeRoot([]);
    const runtime = createRuntime({ root: made.root, env: { PATH: process.env.PATH } });
    try {
      mkdirSync(join(made.root, "control"));
      writeFileSync(join(made.root, "control", "me"), "mx.example.test\n");
      writeFileSync(join(made.root, "control", "rcpthosts"), "example.test\nbad example\n");
      await createQueue(join(made.root, "queue"));
      const dir = addService(made.root, { name: "smtpd", env: { IP: "127.0.0.1", PORT: "0", REVERSE: "0" } });
      writeFileSync(join(dir, "module"), "smtpd\n");
      await expect(runtime.start({ readyTimeoutMs: 3000 })).rejects.toThrow(/smtpd: .*control\/rcpthosts:2: unexpected whitespace/);
      expect(logText(made.root, "smtpd")).toContain('control/rcpthosts:2: unexpected whitespace in "bad example"');
      expect(logText(made.root, "smtpd")).not.toMatch(/listening on port/);
    } finally {
      await runtime.stop();
      made.cleanup();
    }
  }, 30_000);

  it("on svc -h keeps the last good rcpthosts while the file is broken, and takes the mended one", async () => {
    const smtp = await startSmtp({ smtpd: {} }, { certificate: false });
    const port = await smtp.port("smtpd");
    expect(await rcptReply(port, "x@other.test")).toMatch(/^553 /);

    writeFileSync(join(smtp.root, "control", "rcpthosts"), "example.test\nother.test\nbad example\n");
    smtp.svc("h", ["smtpd"]);
    await waitFor(() => /control\/rcpthosts:3: unexpected whitespace.*keeping the settings in force/.test(smtp.log("smtpd")), 10_000, "the reload warning");
    expect(await rcptReply(port, "x@other.test")).toMatch(/^553 /);
    expect(await rcptReply(port, "x@example.test")).toMatch(/^250 /);

    writeFileSync(join(smtp.root, "control", "rcpthosts"), "example.test\nother.test\n");
    smtp.svc("h", ["smtpd"]);
    // The reload is asynchronous: ask until the mended file is in force.
    let reply = "";
    for (let tries = 0; tries < 50 && !reply.startsWith("250 "); tries++) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      reply = await rcptReply(port, "x@other.test");
    }
    expect(reply).toMatch(/^250 /);
  }, 30_000);
});
