// send's schedule on real workers: retry times persisted as channel-file mtimes and honoured
// after a restart, svc -a, queuelifetime, concurrency limits, svc -h, and a corrupt message
// moved aside while the others are delivered.

import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { logText, sleep, waitFor } from "../runtime/test-root.js";
import { channelFile, deliveredLines, inject, queuedIds, sendTestBed } from "./send-root.js";

const bed = sendTestBed();
const sendLog = (): string => logText(bed.made.root, "send");
const count = (pattern: RegExp): number => (sendLog().match(pattern) ?? []).length;

describe("send: schedule", () => {
  it("retry times follow the formula, survive a restart (not retried early), and svc -a makes them due", async () => {
    const made = await bed.makeRoot();
    await bed.start();
    const id = await inject(made.queueDir, "a@example.test", ["soft-l@example.test", "soft-r@far.test"]);
    await waitFor(() => count(/deferral/g) === 2, 10_000, "two deferrals");
    const birth = Math.floor(statSync(channelFile(made.queueDir, "info", id)).mtimeMs / 1000);
    const local = channelFile(made.queueDir, "local", id);
    const remote = channelFile(made.queueDir, "remote", id);
    // birth + (isqrt(age at the pass) + chanskip)²: 100 s and 400 s for a pass within a second of
    // birth, a step further for each whole square of seconds a loaded machine took.
    const onSchedule = (file: string, chanskip: number): boolean => {
      const skip = Math.sqrt(statSync(file).mtimeMs / 1000 - birth) - chanskip;
      return Number.isInteger(skip) && skip >= 0 && skip ** 2 <= Date.now() / 1000 - birth;
    };
    await waitFor(() => onSchedule(remote, 20) && onSchedule(local, 10), 5000, "mtimes");
    const scheduled = [statSync(local).mtimeMs, statSync(remote).mtimeMs];

    await bed.stop();
    expect(sendLog()).toContain("status: exiting");
    expect([statSync(local).mtimeMs, statSync(remote).mtimeMs]).toEqual(scheduled);

    await bed.start();
    await sleep(1500);
    expect(count(/starting delivery/g)).toBe(2);
    bed.runtime.svc("a", ["send"]);
    await waitFor(() => count(/deferral/g) === 4, 10_000, "retried after svc -a");
    // The second pass started later than birth, so its next try is the formula's next step or later.
    await waitFor(() => statSync(remote).mtimeMs / 1000 >= birth + 400, 5000, "remote rescheduled");
  });

  it("a message older than queuelifetime turns a deferral into a failure with qmail's line, and bounces", async () => {
    const made = await bed.makeRoot({ control: { queuelifetime: "1" } });
    await bed.start();
    const id = await inject(made.queueDir, "soft-owner@far.test", ["soft-x@example.test"]);
    await waitFor(() => count(/deferral/g) === 1, 10_000, "first deferral");
    await sleep(2100);
    bed.runtime.svc("a", ["send"]);
    await waitFor(() => sendLog().includes(`end msg ${id}`), 10_000, "end msg");
    expect(sendLog()).toContain("failure: Temporary_failure_(fake)./Try_again_later./I'm_not_going_to_try_again;_this_message_has_been_in_the_queue_too_long./");
    // The bounce waits in the queue (its recipient defers too): read it there.
    await waitFor(() => queuedIds(made.queueDir).length === 1, 10_000, "bounce queued");
    const bounceId = queuedIds(made.queueDir)[0]!;
    // info/N is named before it is written: send logs "info msg N" once it is.
    await waitFor(() => sendLog().includes(`info msg ${bounceId}:`), 10_000, "the bounce's info file");
    const text = readFileSync(queueLayout(made.queueDir).file("mess", bounceId), "utf8");
    expect(text).toContain("Subject: failure notice\n");
    expect(text).toContain("<soft-x@example.test>:\nTemporary failure (fake).\nTry again later.\nI'm not going to try again; this message has been in the queue too long.\n");
    expect(readFileSync(channelFile(made.queueDir, "info", bounceId), "latin1")).toBe("F\0");
  });

  it("never runs more deliveries than concurrencylocal; concurrencyremote 0 holds the channel", async () => {
    const made = await bed.makeRoot({ control: { concurrencylocal: "2", concurrencyremote: "0" }, spawnEnv: { SLOW_MS: "200" } });
    await bed.start();
    const recipients = Array.from({ length: 6 }, (_, i) => `slow-${i}@example.test`);
    await inject(made.queueDir, "a@example.test", [...recipients, "ok-r@far.test"]);
    await waitFor(() => count(/delivery \d+: success/g) === 6, 15_000, "six local deliveries");
    const running = [...sendLog().matchAll(/status: local (\d+)\/2 remote (\d+)\/0/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(Math.max(...running.map(([local]) => local!))).toBe(2);
    expect(Math.max(...running.map(([, remote]) => remote!))).toBe(0);
    bed.runtime.svc("a", ["send"]);
    await sleep(500);
    expect(sendLog()).not.toContain("to remote");
  });

  it("svc -h rereads locals and virtualdomains; a bad file is reported and the last good values kept", async () => {
    const made = await bed.makeRoot();
    await bed.start();
    writeFileSync(join(made.root, "control", "virtualdomains"), "virt.test:alice\n");
    bed.runtime.svc("h", ["send"]);
    await sleep(300);
    await inject(made.queueDir, "a@example.test", ["ok-v@virt.test"]);
    await waitFor(() => sendLog().includes("to local alice-ok-v@virt.test"), 10_000, "virtual delivery");
    writeFileSync(join(made.root, "control", "virtualdomains"), "no colon here\n");
    writeFileSync(join(made.root, "control", "locals"), "example.test\n\u0000bad\n");
    bed.runtime.svc("h", ["send"]);
    await waitFor(() => sendLog().includes("alert: unable to reread controls"), 5000, "alert");
    await inject(made.queueDir, "a@example.test", ["ok-w@virt.test"]);
    await waitFor(() => sendLog().includes("to local alice-ok-w@virt.test"), 10_000, "old values kept");
  });

  it("a corrupt message is moved to queue/corrupt/N with a log line; the others are still delivered", async () => {
    const made = await bed.makeRoot();
    const layout = queueLayout(made.queueDir);
    const bad = 4242;
    writeFileSync(layout.file("mess", bad), "Subject: x\n\nbody\n");
    writeFileSync(layout.file("info", bad), "this is not an F record");
    writeFileSync(layout.file("local", bad), "Tok-bad@example.test\0");
    const badChannel = 4243;
    writeFileSync(layout.file("mess", badChannel), "Subject: y\n\nbody\n");
    writeFileSync(layout.file("info", badChannel), "Fa@example.test\0");
    writeFileSync(layout.file("remote", badChannel), "Xgarbage");
    await bed.start();
    const good = await inject(made.queueDir, "a@example.test", ["ok-good@example.test"]);
    await waitFor(() => sendLog().includes(`end msg ${good}`), 10_000, "good message delivered");
    await waitFor(() => sendLog().includes(`moved to corrupt/${badChannel}`), 5000, "second corrupt message");
    expect(sendLog()).toMatch(new RegExp(`warning: trouble with msg ${bad}: info/${bad}:_not_an_F_record; moved to corrupt/${bad}`));
    expect(readdirSync(join(made.queueDir, "corrupt", String(bad))).sort()).toEqual(["info", "local", "mess"]);
    expect(readdirSync(join(made.queueDir, "corrupt", String(badChannel))).sort()).toEqual(["info", "mess", "remote"]);
    expect(existsSync(layout.file("info", bad))).toBe(false);
    expect(deliveredLines(made.deliveries)).toEqual([`ok-good@example.test ${good}`]);
    expect(bed.runtime.status().find((s) => s.name === "send")?.starts).toBe(1);
  });
});


describe("send: trouble", () => {
  it("a message held off after a failed queue operation is retried at once by svc -a, not after 60 s", async () => {
    const made = await bed.makeRoot();
    await bed.start();
    const failing = (op: string) => ({ kind: "fs-eio" as const, seam: "fs" as const, site: "send", op, probability: 1, code: "EIO" });
    const injected = (): number => bed.runtime.faults.counts()["fs-eio"] ?? 0;
    // A plan reaches the worker by its own path, after svc -a perhaps. First todo/ scans fail too,
    // until the worker reports a fault; then only reads fail, so the message is found and its
    // preprocessing fails: it can never be delivered before a hold-off.
    bed.runtime.faults.install({ seed: 1, rules: [failing("read"), failing("readdir")], actions: [] });
    await waitFor(() => (bed.runtime.svc("a", ["send"]), injected() > 0), 10_000, "the plan in force");
    const id = await inject(made.queueDir, "a@example.test", ["ok-l@example.test"]);
    bed.runtime.faults.install({ seed: 1, rules: [failing("read")], actions: [] });
    await waitFor(() => (bed.runtime.svc("a", ["send"]), sendLog().includes(`warning: trouble with msg ${id}:`)), 10_000, "the hold-off");
    bed.runtime.faults.clear();
    // Each svc -a retries at once; the first after the plan's removal reaches the worker delivers.
    await waitFor(() => (bed.runtime.svc("a", ["send"]), sendLog().includes(`end msg ${id}`)), 20_000, "delivered well before the 60 s hold-off ends");
    expect(deliveredLines(made.deliveries)).toEqual([`ok-l@example.test ${id}`]);
  });
});
