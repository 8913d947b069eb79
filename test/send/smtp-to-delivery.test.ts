// SMTP in to delivery out inside one runtime: nodemailer → smtpd → the queue → send → lspawn.
// lock/trigger is removed once send has opened it, so no injector can write to the FIFO send
// reads: only smtpd's `wake` message can tell send at once (the other path, the 1500 s rescan, is
// far beyond this test's patience). The wake names the message, so send does not read todo/ for
// it: a stray todo/ file written after send's start-up scan stays unseen.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { describe, expect, it } from "vitest";
import { listeningPort, logText, waitFor } from "../runtime/test-root.js";
import { deliveredLines, sendTestBed } from "./send-root.js";

const bed = sendTestBed();

describe("smtpd to send", () => {
  it("a message accepted over SMTP is delivered at once, woken by smtpd's message rather than lock/trigger", async () => {
    const made = await bed.makeRoot({ spawners: ["lspawn"], control: { rcpthosts: "example.test" } });
    const smtpd = join(made.root, "service", "smtpd");
    mkdirSync(join(smtpd, "env"), { recursive: true });
    writeFileSync(join(smtpd, "module"), "smtpd\n");
    for (const [key, value] of Object.entries({ IP: "127.0.0.1", PORT: "0", REVERSE: "0" })) writeFileSync(join(smtpd, "env", key), `${value}\n`);
    // A todo/ file without its mess file is quarantined by whichever scan of todo/ finds it.
    const stray = (id: number): void => writeFileSync(join(made.queueDir, "todo", String(id)), "u0\0p1\0Fs@x.test\0Tr@example.test\0");
    stray(999001);
    await bed.start();
    rmSync(join(made.queueDir, "lock", "trigger"));
    await waitFor(() => logText(made.root, "send").includes("trouble with msg 999001"), 10_000, "the start-up scan");
    stray(999002);

    const port = await listeningPort(made.root, "smtpd", 10_000);
    const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
    const sent = await transport.sendMail({ from: "sender@elsewhere.test", to: "ok-alice@example.test", subject: "end to end", text: "hello\n" });
    expect(sent.response).toMatch(/^250 ok \d+ qp \d+/);

    await waitFor(() => deliveredLines(made.deliveries).some((line) => line.includes("ok-alice@example.test")), 5000, "the delivery");
    await waitFor(() => /delivery \d+: success/.test(logText(made.root, "send")), 5000, "send's success line");
    expect(logText(made.root, "send")).not.toContain("msg 999002");
    expect(logText(made.root, "send")).toMatch(/new msg \d+\n.*info msg \d+: bytes \d+ from <sender@elsewhere\.test> qp \d+ uid \d+\n.*starting delivery \d+: msg \d+ to local ok-alice@example\.test\n/);
  }, 30_000);
});
