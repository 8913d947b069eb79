// send on real workers with the fake spawners: preprocessing and dispatch, K/Z/D with done
// markers on disk, bounces, and what happens when a spawner is not running.

import { readFileSync, existsSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { logText, waitFor } from "../runtime/test-root.js";
import { channelFile, deliveredLines, inject, leftovers, sendTestBed, type SendRoot, type SendRootOptions } from "./send-root.js";

const bed = sendTestBed();

async function run(options: SendRootOptions = {}): Promise<SendRoot> {
  const made = await bed.makeRoot(options);
  await bed.start();
  return made;
}

const sendLog = (): string => logText(bed.made.root, "send");

describe("send: dispatch to lspawn and rspawn", () => {
  it("preprocesses, delivers local and remote, marks each recipient done, keeps a Z for later", async () => {
    const { queueDir, deliveries } = await run();
    const id = await inject(queueDir, "ok-sender@remote.test", ["ok-a@example.test", "soft-b@example.test", "ok-c@far.test", "soft-d@far.test"]);
    await waitFor(() => (sendLog().match(/delivery \d+: (success|deferral)/g) ?? []).length === 4, 10_000, "four results");
    const log = sendLog();
    expect(log).toContain(`new msg ${id}`);
    expect(log).toMatch(new RegExp(`info msg ${id}: bytes \\d+ from <ok-sender@remote.test> qp \\d+ uid 1000`));
    expect(log).toMatch(new RegExp(`starting delivery \\d+: msg ${id} to local ok-a@example.test`));
    expect(log).toMatch(new RegExp(`starting delivery \\d+: msg ${id} to remote ok-c@far.test`));
    expect(log).toMatch(/delivery \d+: success: did_1\+0\+0\//);
    expect(log).toMatch(/delivery \d+: deferral: Temporary_failure_\(fake\)\.\/Try_again_later\./);
    expect(log).toMatch(/status: local [01]\/10 remote [01]\/20/);
    expect(deliveredLines(deliveries).sort()).toEqual([`ok-a@example.test ${id}`, `ok-c@far.test ${id}`]);
    await waitFor(() => readFileSync(channelFile(queueDir, "local", id), "latin1").startsWith("D"), 5000, "done marker");
    expect(readFileSync(channelFile(queueDir, "local", id), "latin1")).toBe("Dok-a@example.test\0Tsoft-b@example.test\0");
    expect(readFileSync(channelFile(queueDir, "remote", id), "latin1")).toBe("Dok-c@far.test\0Tsoft-d@far.test\0");
    expect(existsSync(`${queueDir}/todo/${id}`)).toBe(false);
    expect(existsSync(`${queueDir}/intd/${id}`)).toBe(false);
  });

  it("a message whose recipients all succeed is removed and logged as ended", async () => {
    const { queueDir } = await run();
    const id = await inject(queueDir, "someone@remote.test", ["ok-a@example.test", "ok-b@far.test"]);
    await waitFor(() => sendLog().includes(`end msg ${id}`), 10_000, "end msg");
    await waitFor(() => leftovers(queueDir).length === 0, 5000, "queue empty");
  });

  it("a permanent failure bounces to the sender in qmail's format, and the bounce is delivered", async () => {
    const { queueDir, deliveries } = await run();
    const id = await inject(queueDir, "ok-owner@far.test", ["hard-x@example.test", "ok-y@example.test"]);
    await waitFor(() => sendLog().includes(`end msg ${id}`), 10_000, "end msg");
    expect(sendLog()).toMatch(new RegExp(`delivery \\d+: failure: Sorry,_no_mailbox_here_by_that_name\\._\\(#5\\.1\\.1\\)/`));
    expect(sendLog()).toMatch(new RegExp(`bounce msg ${id} qp \\d+`));
    await waitFor(() => deliveredLines(deliveries).some((line) => line.startsWith("ok-owner@far.test ")), 10_000, "bounce delivered");
    expect(deliveredLines(deliveries).filter((line) => line.startsWith("ok-y@"))).toHaveLength(1);
    await waitFor(() => leftovers(queueDir).length === 0, 5000, "queue empty");
  });

  it("a delivery for a spawner that is not running is a deferral, retried on schedule", async () => {
    const { queueDir } = await run({ spawners: ["lspawn"] });
    const id = await inject(queueDir, "a@example.test", ["ok-x@far.test"]);
    await waitFor(() => sendLog().includes("deferral: rspawn_service_not_running."), 10_000, "deferral");
    const remote = channelFile(queueDir, "remote", id);
    await waitFor(() => statSync(remote).mtimeMs > Date.now() + 60_000, 5000, "next try persisted");
    const seenAt = Math.floor(Date.now() / 1000);
    const birth = Math.floor(statSync(channelFile(queueDir, "info", id)).mtimeMs / 1000);
    // The attempt happened somewhere between birth and now; under load that can be seconds later,
    // and qmail's formula then moves the next try: birth + (isqrt(attempt − birth) + 20)².
    const allowed = new Set<number>();
    for (let attempt = birth; attempt <= seenAt; attempt++) allowed.add(birth + (Math.floor(Math.sqrt(attempt - birth)) + 20) ** 2);
    expect(allowed).toContain(statSync(remote).mtimeMs / 1000);
  });
});
